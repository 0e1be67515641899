"""The class lexicon: embedded default, release/Babel-ImageNet readers, checks and language sets.

Fixtures are written in each source's real on-disk format (translations.json as the Symile-M3
release's source_data.py writes it; Babel-ImageNet as its script writes babel_imagenet-*.json).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from symile_bench.errors import ConfigError, SourceError
from symile_bench.lexicon import (
    LANGUAGES,
    PAPER_LANGUAGE_SETS,
    WITHIN_CLASS,
    WITHIN_LANGUAGE,
    Lexicon,
    imagenet1k_names,
    imagenet1k_synset_ids,
    load_default,
    load_lexicon,
    read_babel_imagenet,
    read_lexicon_tsv,
    read_translations_json,
    resolve_languages,
)

# (cls_id, WordNet ID) pairs read from a public copy of Keras' imagenet_class_index.json.
KNOWN_IMAGENET = {
    0: "n01440764",  # tench
    1: "n01443537",  # goldfish
    134: "n02012849",  # crane (bird)
    291: "n02129165",  # lion
    388: "n02510455",  # giant panda
    517: "n03126707",  # crane (machine)
    638: "n03710637",  # maillot
    639: "n03710721",  # maillot, tank suit ("swimsuit" in the release)
    949: "n07745940",  # strawberry
    999: "n15075141",  # toilet tissue
}


def entry(synset: str, cls_id: int, **words: str) -> dict:
    """One translations.json value, keys in the release's order (synset_id, languages, cls_id)."""
    return {"synset_id": synset, **words, "cls_id": cls_id}


def ten(ar, el, en, hi, ja, ko, te, th, uk, zh) -> dict:
    return {
        "ar": ar,
        "el": el,
        "en": en,
        "hi": hi,
        "ja": ja,
        "ko": ko,
        "te": te,
        "th": th,
        "uk": uk,
        "zh-CN": zh,
    }


RELEASE_FIXTURE = {
    "tench": entry(
        "n01440764",
        0,
        **ten("التنش", "γλήνι", "tench", "टेंच", "テンチ", "텐치", "టెంచ్", "ปลาเทนช์", "лин", "丁鱥"),
    ),
    "goldfish": entry(
        "n01443537",
        1,
        **ten(
            "سمكة ذهبية",
            "χρυσόψαρο",
            "goldfish",
            "सुनहरी मछली",
            "金魚",
            "금붕어",
            "బంగారు చేప",
            "ปลาทอง",
            "золота рибка",
            "金鱼",
        ),
    ),
    "crane bird": entry(
        "n02012849",
        134,
        **ten(
            "كركي",
            "γερανός πουλί",
            "crane bird",
            "सारस",
            "ツル",
            "두루미",
            "కొంగ",
            "นกกระเรียน",
            "журавель",
            "鹤",
        ),
    ),
    "crane machine": entry(
        "n03126707",
        517,
        **ten(
            "رافعة",
            "γερανός",
            "crane machine",
            "क्रेन",
            "クレーン",
            "기중기",
            "క్రేన్",
            "ปั้นจั่น",
            "кран",
            "起重机",
        ),
    ),
    "swimsuit": entry(
        "n03710721",
        639,
        **ten(
            "ملابس سباحة",
            "μαγιό",
            "swimsuit",
            "स्विमसूट",
            "水着",
            "수영복",
            "ఈత దుస్తులు",
            "ชุดว่ายน้ำ",
            "купальник",
            "泳衣",
        ),
    ),
}


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=4), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- embedded default


def test_default_is_clean_for_all_ten_languages():
    """The shipped lexicon can build Symile-M3-10 as is: full coverage, no repeated word."""
    lex = load_default()
    report = lex.check()
    assert report.languages == LANGUAGES
    assert report.ok, [c.describe() for c in report.collisions] + [
        p.message for p in report.problems
    ]
    assert all(c.present == c.total == len(lex) for c in report.coverage.values())
    assert lex.source == "embedded" and "MIT" in lex.license


def test_default_size_emoji_and_speech_forms():
    """>= 100 classes, each with its own emoji, kana for ja, tone-digit pinyin for zh, no '_'."""
    lex = load_default()
    assert len(lex) >= 100
    assert lex.emoji is not None and len(set(lex.emoji)) == len(lex) and all(lex.emoji)
    assert all(re.fullmatch(r"[\u3040-\u309f\u30a0-\u30ff]+", k) for k in lex.speech["ja"])
    assert all(re.fullmatch(r"[a-z]+[1-5]( [a-z]+[1-5])*", p) for p in lex.speech["zh"])
    assert not any("_" in w for col in lex.words.values() for w in col)
    assert lex.english == lex.words["en"]
    assert len(set(lex.english)) == len(lex)


def test_default_classes_are_real_imagenet_indices():
    """cls_id/synset pairs match public ImageNet-1k indices, and ids follow sorted-wnid order."""
    lex = load_default()
    pairs = dict(zip(lex.cls_id.tolist(), lex.synset_id, strict=True))
    for cls_id, wnid in KNOWN_IMAGENET.items():
        if cls_id in pairs:
            assert pairs[cls_id] == wnid
    assert {0, 1, 517, 639} <= set(pairs)  # tench, goldfish, crane (machine), swimsuit
    assert list(lex.synset_id) == sorted(lex.synset_id)  # standard order = sorted WordNet IDs
    assert lex.cls_id.dtype == np.int64 and np.all(np.diff(lex.cls_id) > 0)


def test_packaged_imagenet_table_matches_public_index():
    """The full 1,000-class table: sorted, unique, spot-checked, release names unique."""
    wnids = imagenet1k_synset_ids()
    assert len(wnids) == 1000 and list(wnids) == sorted(set(wnids))
    for cls_id, wnid in KNOWN_IMAGENET.items():
        assert wnids[cls_id] == wnid
    names = imagenet1k_names()
    assert (names[134], names[517], names[639]) == ("crane bird", "crane machine", "swimsuit")
    assert len(set(names)) == 1000


def test_fingerprint_is_stable_and_content_sensitive(tmp_path):
    """Same content -> same fingerprint (wherever it was read from); any change -> different."""
    lex = load_default()
    fp = lex.fingerprint()
    assert re.fullmatch(r"[0-9a-f]{64}", fp) and fp == load_default().fingerprint()
    assert lex.restrict(["en", "el"]).fingerprint() != fp
    assert lex.restrict(["en", "el"]).fingerprint() == lex.restrict(["el", "en"]).fingerprint()


def test_lexicon_tsv_round_trip_and_edit_detection(tmp_path):
    """An edited copy of the embedded TSV loads as a TSV lexicon; a repeated word is caught."""
    from importlib import resources

    text = (
        resources.files("symile_bench.lexicon").joinpath("default_lexicon.tsv").read_text("utf-8")
    )
    copy = tmp_path / "mine.tsv"
    copy.write_text(text, encoding="utf-8")
    lex = load_lexicon(copy)
    assert lex.source == "embedded" and lex.origin == str(copy)
    assert lex.fingerprint() == load_default().fingerprint()
    copy.write_text(
        text.replace("\tγλήνι\t", "\tχρυσόψαρο\t"), encoding="utf-8"
    )  # tench = goldfish in el
    report = read_lexicon_tsv(copy).check(["el", "en"])
    [col] = report.collisions
    assert (col.kind, col.word, col.cls_ids, col.languages) == (
        WITHIN_LANGUAGE,
        "χρυσόψαρο",
        (0, 1),
        ("el",),
    )


# ----------------------------------------------------------------------------- translations.json


def test_release_translations_json_loads_and_restricts(tmp_path):
    """The release format (zh-CN key, English-name keys, both cranes, swimsuit) loads by cls_id."""
    path = write_json(tmp_path / "translations.json", RELEASE_FIXTURE)
    lex = read_translations_json(path)
    assert lex.source == "translations.json" and "non-commercial" in lex.license
    assert lex.cls_id.tolist() == [0, 1, 134, 517, 639]
    assert lex.english == ("tench", "goldfish", "crane bird", "crane machine", "swimsuit")
    assert lex.synset_id[2:4] == ("n02012849", "n03126707")
    assert lex.words["zh"][3] == "起重机" and lex.speech == {} and lex.emoji is None
    assert lex.check().ok
    small = lex.restrict(resolve_languages("2"))
    assert tuple(small.words) == ("en", "el") and len(small) == 5
    assert small.words["el"][2] == "γερανός πουλί"
    assert load_lexicon(path).fingerprint() == lex.fingerprint()


def test_translations_cls_id_is_looked_up_when_absent_and_mismatch_is_reported(tmp_path):
    """No cls_id -> taken from the synset; a cls_id that contradicts its synset is a problem."""
    data = {k: dict(v) for k, v in RELEASE_FIXTURE.items()}
    del data["swimsuit"]["cls_id"]
    data["tench"]["cls_id"] = 2  # wrong: n01440764 is 0
    lex = read_translations_json(write_json(tmp_path / "t.json", data))
    assert 639 in lex.cls_id.tolist()
    kinds = [(p.kind, p.cls_id) for p in lex.check(["en", "el"]).problems]
    assert kinds == [("synset-mismatch", 2)]


def test_collisions_are_reported_with_words_and_classes(tmp_path):
    """Same word for two classes in one language, and ja == zh within a class, are both named."""
    data = {k: dict(v) for k, v in RELEASE_FIXTURE.items()}
    data["crane bird"]["el"] = "γερανός"  # = crane machine's el word
    data["goldfish"]["ja"] = "金鱼"  # = goldfish's zh word
    report = read_translations_json(write_json(tmp_path / "t.json", data)).check()
    assert not report.ok
    found = {(c.kind, c.word, c.languages, c.cls_ids, c.english) for c in report.collisions}
    assert found == {
        (WITHIN_LANGUAGE, "γερανός", ("el",), (134, 517), ("crane bird", "crane machine")),
        (WITHIN_CLASS, "金鱼", ("ja", "zh"), (1,), ("goldfish",)),
    }
    described = " ".join(c.describe() for c in report.collisions)
    assert "'γερανός'" in described and "134 (crane bird)" in described and "517" in described


def test_missing_language_is_reported_and_refused_by_restrict(tmp_path):
    """A class without a 'te' word: coverage shows it; restrict names class, language, file, fix."""
    data = {k: dict(v) for k, v in RELEASE_FIXTURE.items()}
    del data["crane bird"]["te"]
    path = write_json(tmp_path / "translations.json", data)
    lex = read_translations_json(path)
    cov = lex.check().coverage["te"]
    assert (cov.present, cov.total, cov.missing_cls_ids) == (4, 5, (134,))
    with pytest.raises(SourceError) as err:
        lex.restrict(["en", "te"])
    msg = str(err.value)
    assert "'te'" in msg and "134" in msg and "crane bird" in msg and str(path) in msg
    assert "drop_incomplete" in msg
    kept = lex.restrict(["en", "te"], drop_incomplete=True)
    assert kept.cls_id.tolist() == [0, 1, 517, 639]
    assert lex.restrict(["en", "el"]).cls_id.tolist() == [0, 1, 134, 517, 639]  # te not needed


def test_restrict_names_a_language_the_source_lacks(tmp_path):
    data = {
        k: {kk: vv for kk, vv in v.items() if kk != "zh-CN"} for k, v in RELEASE_FIXTURE.items()
    }
    lex = read_translations_json(write_json(tmp_path / "t.json", data))
    with pytest.raises(SourceError, match=r"no 'zh' words at all"):
        lex.restrict(["en", "zh"])
    with pytest.raises(ConfigError, match="xx"):
        lex.restrict(["en", "xx"])


# ----------------------------------------------------------------------------- Babel-ImageNet


def test_babel_imagenet_release_format(tmp_path):
    """{LANG: [[indices], [labels]]}: synsets/English from ImageNet, partial coverage, NC."""
    babel = {
        "EL": [[0, 134, 517], ["γλήνι", "γερανός (πουλί)", "γερανός"]],
        "JA": [[0, 134], ["テンチ", "ツル"]],
        "ZH": [[134, 517], ["鹤", "起重机"]],
        "FR": [[0, 1], ["tanche", "poisson rouge"]],  # not one of ours: ignored
        "BAT_SMG": [[0], ["lynas"]],
    }
    lex = read_babel_imagenet(write_json(tmp_path / "babel_imagenet-298.json", babel))
    assert lex.source == "babel-imagenet" and "Non-Commercial" in lex.license
    assert lex.cls_id.tolist() == [0, 134, 517]
    assert lex.synset_id == ("n01440764", "n02012849", "n03126707")
    assert lex.english == ("tench", "crane bird", "crane machine")
    assert lex.words["en"] == lex.english  # Babel-ImageNet's JSON has no EN labels
    assert lex.words["ja"] == ("テンチ", "ツル", "")
    assert lex.speech == {} and lex.emoji is None
    report = lex.check(["en", "el", "ja", "zh"])
    assert report.coverage["ja"].missing_cls_ids == (517,)
    assert report.coverage["zh"].missing_cls_ids == (0,)
    assert lex.restrict(["en", "el"]).words["el"] == ("γλήνι", "γερανός (πουλί)", "γερανός")
    assert lex.restrict(["el", "ja"], drop_incomplete=True).cls_id.tolist() == [0, 134]
    assert load_lexicon(tmp_path / "babel_imagenet-298.json").source == "babel-imagenet"


def test_babel_imagenet_raw_crawl_picks_first_sense(tmp_path):
    """Several senses per class: the first is kept; '_' in a lemma becomes a space."""
    el = [[] for _ in range(1000)]
    el[1] = [{"lemma": "χρυσό_ψάρι", "source": "WIKI"}, {"lemma": "χρυσόψαρο"}]
    el[2] = ["λευκός_καρχαρίας", "καρχαρίας"]
    lex = read_babel_imagenet(write_json(tmp_path / "crawl.json", {"EL": el}))
    assert lex.cls_id.tolist() == [1, 2]
    assert lex.words["el"] == ("χρυσό ψάρι", "λευκός καρχαρίας")


# ----------------------------------------------------------------------------- sniffing


def test_load_lexicon_sniffs_and_names_bad_files(tmp_path):
    assert load_lexicon(None) is load_default()
    assert (
        load_lexicon(write_json(tmp_path / "a.json", RELEASE_FIXTURE)).source == "translations.json"
    )
    bad = write_json(tmp_path / "other.json", {"tench": "tinca"})
    with pytest.raises(SourceError, match=re.escape(str(bad))):
        load_lexicon(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(SourceError, match=r"not valid JSON .* line 1"):
        load_lexicon(broken)
    with pytest.raises(SourceError, match="does not exist"):
        load_lexicon(tmp_path / "nope.json")


def test_lexicon_rejects_misaligned_columns():
    with pytest.raises(ValueError, match="entries for 2 classes"):
        Lexicon(
            cls_id=[0, 1],
            synset_id=("a", "b"),
            english=("x", "y"),
            words={"en": ("x",)},
            speech={},
            emoji=None,
            source="test",
            license="-",
        )


# ----------------------------------------------------------------------------- language sets


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("2", ("en", "el")),
        (5, ("en", "el", "hi", "ja", "uk")),
        ("10", LANGUAGES),
        ("en,el,ja", ("en", "el", "ja")),
        (" ja , zh-CN ", ("ja", "zh")),
        (["uk", "ar"], ("uk", "ar")),
    ],
)
def test_resolve_languages(spec, expected):
    assert resolve_languages(spec) == expected
    assert PAPER_LANGUAGE_SETS[10] == LANGUAGES


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [
        ("en,fr", r"unknown language code 'fr'.*ar, el, en, hi, ja, ko, te, th, uk, zh"),
        ("en,el,en", r"'en' is given twice"),
        ("en", r"at least 2"),
        (3, r"3 is not one of the paper's sets"),
        ("", r"at least 2"),
    ],
)
def test_resolve_languages_errors(spec, pattern):
    with pytest.raises(ConfigError, match=pattern):
        resolve_languages(spec)
