"""Symile-M3 built offline: every row obeys the generating process, the information structure
holds (audio + text identify the class; text alone cannot beat 1/w), media decode, and builds
are deterministic."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pytest
from scipy.stats import chi2_contingency, chisquare

import symile_bench
from symile_bench.lexicon import PAPER_LANGUAGE_SETS, load_default
from symile_bench.manifest import read_manifest

from .conftest import run_cli
from .source_fixtures import write_translations_json

LANGS = PAPER_LANGUAGE_SETS[5]
OLD_BUILD = Path(__file__).parent / "data" / "m3-1.0.0"
SMALL = [
    "--languages",
    "5",
    "--train-n",
    "6000",
    "--val-n",
    "1000",
    "--test-n",
    "2000",
    "--audio-pool",
    "12",
    "--image-pool",
    "2",
    "--image-size",
    "64",
    "--shard-rows",
    "1500",
    "--missing-prob",
    "0.5,audio:0.2/image:0.65/text:0.0",
    "-q",
]


@pytest.fixture(scope="module")
def m3(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("m3") / "w5"
    run_cli("build", "m3", *SMALL, "--out", out)
    return out


@pytest.fixture(scope="module")
def word_index() -> dict[str, tuple[str, int]]:
    """word -> (language, cls_id); unambiguous because the lexicon has no repeated word."""
    lex = load_default()
    index = {}
    for lang in LANGS:
        for cls_id, word in zip(lex.cls_id, lex.words[lang], strict=True):
            assert word not in index
            index[word] = (lang, int(cls_id))
    return index


def columns(out: Path, config: str, split: str, names: list[str]) -> dict[str, list]:
    table = symile_bench.load(out, config=config, split=split).with_format("arrow")[:]
    return {n: table[n].to_pylist() for n in names}


def test_every_row_follows_the_generating_process(m3, word_index):
    lex = load_default()
    name_of = {
        (lang, int(c)): w
        for lang in LANGS
        for c, w in zip(lex.cls_id, lex.words[lang], strict=True)
    }
    for split in ("train", "validation", "test"):
        rows = columns(m3, "complete", split, ["lang", "text", "cls_id", "target_text", "cls"])
        for lang, text, cls_id, target, _ in zip(*rows.values(), strict=True):
            words = text.split("_")
            assert len(words) == 5
            pairs = [word_index[w] for w in words]
            assert len({p[0] for p in pairs}) == 5  # five distinct languages
            assert len({p[1] for p in pairs}) == 5  # five distinct classes
            matches = [w for w in words if w == name_of[(lang, cls_id)]]
            assert matches == [target]


def test_language_and_class_are_uniform(m3):
    rows = columns(m3, "complete", "train", ["lang", "cls_id"])
    lang_counts = Counter(rows["lang"])
    assert set(lang_counts) == set(LANGS)
    assert chisquare(list(lang_counts.values())).pvalue > 1e-3
    n_classes = len(load_default().cls_id)
    counts = np.bincount(np.unique(rows["cls_id"], return_inverse=True)[1], minlength=n_classes)
    assert len(set(rows["cls_id"])) == n_classes
    assert chisquare(counts).pvalue > 1e-3


def test_audio_and_text_together_identify_the_class_text_alone_does_not(m3, word_index):
    rows = columns(m3, "complete", "train", ["lang", "text", "cls_id"])
    n = len(rows["lang"])
    texts = [[word_index[w] for w in t.split("_")] for t in rows["text"]]
    # (lang, text) -> the class of the word written in the audio's language: always right.
    recovered = [
        next(c for lw, c in words if lw == lang)
        for lang, words in zip(rows["lang"], texts, strict=True)
    ]
    assert recovered == rows["cls_id"]
    # text alone: any fixed rule (by position, or by language) is right about 1/w of the time
    truth = np.array(rows["cls_id"])
    se = np.sqrt(0.2 * 0.8 / n)
    for position in range(5):
        acc = np.mean([words[position][1] for words in texts] == truth)
        assert abs(acc - 0.2) < 4 * se, (position, acc)
    for lang in LANGS:
        acc = np.mean([next(c for lw, c in words if lw == lang) for words in texts] == truth)
        assert abs(acc - 0.2) < 4 * se, (lang, acc)


def test_audio_clip_is_independent_of_class(m3):
    rows = columns(m3, "complete", "train", ["lang", "audio_id", "cls_id"])
    en = [(a, c % 4) for lang, a, c in zip(*rows.values(), strict=True) if lang == "en"]
    ids = sorted({a for a, _ in en})
    table = np.zeros((len(ids), 4))
    for a, bucket in en:
        table[ids.index(a), bucket] += 1
    assert len(ids) == 12  # the whole per-language pool is in use
    assert chi2_contingency(table).pvalue > 1e-3
    assert all(a.startswith("espeak:") for a in rows["audio_id"])


def test_load_dataset_decodes_audio_and_image(m3, monkeypatch):
    """An inline build of builder 1.1.0 (--audio-format auto) stores MP3 clips, as 1.0.0 did."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    assert read_manifest(m3).builder_version == "1.1.0"
    test = datasets.load_dataset(str(m3), "complete", split="test")
    assert test.num_rows == 2000
    row = test[0]
    assert row["audio"].metadata.codec == "mp3"
    samples = row["audio"].get_all_samples()
    assert samples.sample_rate > 0 and samples.data.numel() > 0
    assert row["image"].size == (64, 64)
    assert isinstance(test.features["audio"], datasets.Audio)
    assert isinstance(test.features["image"], datasets.Image)


def test_a_version_1_0_0_build_still_verifies_and_loads(tmp_path, monkeypatch):
    """A directory written by builder 1.0.0 (tests/data/m3-1.0.0: a pooled build of 3 test
    rows made at commit cff24a9, whose pool holds MP3 clips) still verifies, and its media
    still decode, through `symile_bench.load` and `datasets.load_dataset`."""
    old = tmp_path / "m3-1.0.0"
    shutil.copytree(OLD_BUILD, old)
    assert read_manifest(old).builder_version == "1.0.0"
    assert "4 files match the manifest" in run_cli("verify", old).stdout
    rows = symile_bench.load(old, "complete", "test")
    assert rows.num_rows == 3
    for row in rows:
        samples = row["audio"].get_all_samples()
        assert samples.sample_rate == 22_050 and samples.data.numel() > 22_050 // 2
        assert row["image"].size == (16, 16)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    pools = datasets.load_dataset(str(old), "audio-pool", split="pool")
    assert pools[0]["audio"].metadata.codec == "mp3"
    assert pools[0]["audio"].get_all_samples().sample_rate == 22_050


def test_version_1_1_0_asked_for_mp3_writes_the_media_of_1_0_0(tmp_path):
    """1.1.0 changed only the default clip codec of pooled builds: with the options of the
    1.0.0 build and --audio-format mp3, every pool and shard file is byte-identical to it
    (the images, whose rendering 1.1.0 made faster, included)."""
    out = tmp_path / "new"
    run_cli(
        *("build", "m3", "--translations", write_translations_json(tmp_path / "t.json")),
        *("--languages", "en,el", "--train-n", 0, "--val-n", 0, "--test-n", 3),
        *("--audio-pool", 1, "--image-pool", 1, "--image-size", 16, "--images", "procedural"),
        *("--storage", "pooled", "--audio-format", "mp3", "-q", "--out", out),
    )
    assert read_manifest(out).builder_version == "1.1.0"
    old = sorted(p.relative_to(OLD_BUILD) for p in OLD_BUILD.rglob("*.arrow"))
    assert old == sorted(p.relative_to(out) for p in out.rglob("*.arrow")) and len(old) == 4
    for name in old:
        assert (out / name).read_bytes() == (OLD_BUILD / name).read_bytes(), name


def test_missing_variants_mask_train_and_val_only(m3):
    manifest = read_manifest(m3)
    assert list(manifest.variants) == ["complete", "missing0.5", "missing-a0.2-i0.65-t0.0"]
    rows = columns(
        m3,
        "missing0.5",
        "train",
        ["audio_missing", "image_missing", "text_missing", "audio", "text"],
    )
    flags = np.array([rows["audio_missing"], rows["image_missing"], rows["text_missing"]]).T
    n = len(flags)
    assert abs(flags.mean() - 0.5) < 4 * np.sqrt(0.25 / flags.size)
    complete = (~flags).all(axis=1).mean()
    assert abs(complete - 0.125) < 4 * np.sqrt(0.125 * 0.875 / n)
    assert all((a is None) == m for a, m in zip(rows["audio"], rows["audio_missing"], strict=True))
    assert all((t is None) == m for t, m in zip(rows["text"], rows["text_missing"], strict=True))
    per_mod = columns(
        m3,
        "missing-a0.2-i0.65-t0.0",
        "validation",
        ["audio_missing", "image_missing", "text_missing"],
    )
    assert not any(per_mod["text_missing"])
    assert 0.55 < np.mean(per_mod["image_missing"]) < 0.75
    test = columns(m3, "missing0.5", "test", ["audio_missing", "image_missing", "text_missing"])
    assert not any(test["audio_missing"] + test["image_missing"] + test["text_missing"])
    # variants share the same samples: only the masks differ
    base = columns(m3, "complete", "train", ["cls_id", "lang"])
    masked = columns(m3, "missing0.5", "train", ["cls_id", "lang"])
    assert base == masked


def test_card_states_task_chance_and_sources(m3):
    card = (m3 / "README.md").read_text()
    n = len(load_default().cls_id)
    assert f"1/{n}" in card and "1/5 = 0.200" in card
    assert "Noto Color Emoji" in card and "espeak-ng" in card
    assert "12.5%" in card  # complete samples at missing prob 0.5


def test_deterministic_across_workers_and_resumable(tmp_path):
    args = [
        "build",
        "m3",
        "--languages",
        "2",
        "--train-n",
        "900",
        "--val-n",
        "100",
        "--test-n",
        "300",
        "--audio-pool",
        "4",
        "--image-pool",
        "1",
        "--image-size",
        "32",
        "--shard-rows",
        "200",
        "-q",
    ]
    run_cli(*args, "--workers", "1", "--out", tmp_path / "a")
    run_cli(*args, "--workers", "2", "--out", tmp_path / "b")
    files_a = {
        p.relative_to(tmp_path / "a"): p.read_bytes()
        for p in sorted((tmp_path / "a").rglob("*.arrow"))
    }
    files_b = {
        p.relative_to(tmp_path / "b"): p.read_bytes()
        for p in sorted((tmp_path / "b").rglob("*.arrow"))
    }
    assert files_a == files_b and len(files_a) > 8
    assert read_manifest(tmp_path / "a").fingerprint == read_manifest(tmp_path / "b").fingerprint
    # lose a pool and a shard: the rerun rebuilds exactly those
    (tmp_path / "a" / "pools" / "audio-en-000.arrow").unlink()
    next((tmp_path / "a" / "data").rglob("train-00002-*.arrow")).unlink()
    proc = run_cli(*args[:-1], "--out", tmp_path / "a")
    assert "2 files written" in proc.stdout
    assert read_manifest(tmp_path / "a").fingerprint == read_manifest(tmp_path / "b").fingerprint


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--languages", "en,xx"], "unknown language code 'xx'"),
        (["--languages", "en"], "at least 2"),
        (["--languages", "2", "--words", "3"], "--words 3"),
        (["--missing-prob", "1.5"], "--missing-prob"),
    ],
)
def test_bad_options_get_one_clear_line(tmp_path, args, needle):
    proc = run_cli("build", "m3", *args, "--out", tmp_path / "x", check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
