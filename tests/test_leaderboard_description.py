"""What a reader needs to read a board's rows, through the CLI and HTTP: two M3 builds that
differ only in w and languages register under different default names, and each board shows
the build (builder version, w and languages, seed, config, a link to its card), the declared
chance level and M3's CLIP ceiling 1/w as reference levels, and n per entry."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .conftest import run_cli
from .test_leaderboard_support import serve

LANGUAGES = ("en", "el", "hi", "ja", "uk")
#: six classes of a release-format translations.json in five languages: a fast M3 build
CLASSES = {
    "tench": ("n01440764", 0, ("tench", "γλήνι", "टेंच", "テンチ", "лин")),
    "goldfish": ("n01443537", 1, ("goldfish", "χρυσόψαρο", "सुनहरी मछली", "金魚", "золота рибка")),
    "strawberry": ("n07745940", 949, ("strawberry", "φράουλα", "स्ट्रॉबेरी", "イチゴ", "полуниця")),
    "orange": ("n07747607", 950, ("orange", "πορτοκάλι", "संतरा", "オレンジ", "апельсин")),
    "lemon": ("n07749582", 951, ("lemon", "λεμόνι", "नींबू", "レモン", "лимон")),
    "banana": ("n07753592", 954, ("banana", "μπανάνα", "केला", "バナナ", "банан")),
}
TEST_N = 20
W2, W5 = "m3-w2-en.el-complete-test", "m3-w5-en.el.hi.ja.uk-complete-test"


@pytest.fixture(scope="module")
def m3(tmp_path_factory) -> tuple[Path, dict[int, Path]]:
    """The lexicon and two tiny M3 builds from it, --languages 2 and --languages 5."""
    root = tmp_path_factory.mktemp("m3desc")
    lexicon = root / "translations.json"
    entries = {
        name: {"synset_id": synset, "cls_id": cls_id, **dict(zip(LANGUAGES, words, strict=True))}
        for name, (synset, cls_id, words) in CLASSES.items()
    }
    lexicon.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    builds = {}
    for w in (2, 5):
        builds[w] = root / f"w{w}"
        run_cli(
            *("build", "m3", "--translations", lexicon, "--languages", w, "--test-n", TEST_N),
            *("--train-n", 0, "--val-n", 0, "--audio-pool", 1, "--image-pool", 1),
            *("--image-size", 16, "--images", "procedural", "--executor", "serial", "-q"),
            *("--out", builds[w]),
        )
    return lexicon, builds


def test_two_m3_builds_register_apart_and_their_boards_say_how_to_read_a_row(m3, tmp_path):
    """`leaderboard add` names each build by builder, w and languages, config and split, so
    the two do not collide; the w=5 board shows its build, chance 1/6 (six classes) and the
    CLIP ceiling 1/w = 1/5 as reference levels (also as rows under the entries), n of the
    oracle's entry, and links its dataset card, which the server serves as text; the index
    shows each benchmark's chance; the JSON API carries the same description."""
    lexicon, builds = m3
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    names = [run_cli("leaderboard", "add", builds[w], "--db", db).stdout for w in (2, 5)]
    assert f"registered {W2}:" in names[0] and f"registered {W5}:" in names[1]
    results = tmp_path / "oracle.json"
    run_cli(
        *("evaluate", builds[5], "--model", "m3-oracle", "--model-arg", f"lexicon={lexicon}"),
        *("--bootstrap", "100", "-q", "--out", results),
    )
    token = run_cli("leaderboard", "token", "ann", "--db", db).stdout.strip()
    with serve(db) as url:
        run_cli("submit", results, "--server", url, "--token", token)
        index = httpx.get(url + "/").text
        page = httpx.get(f"{url}/b/{W5}").text
        card = httpx.get(f"{url}/b/{W5}/card")
        api = httpx.get(f"{url}/api/v1/leaderboard/{W5}").json()
    assert W2 in index and W5 in index and index.count(">1/6</td>") == 2
    assert "builder m3 " in page and "build <code>w5-en.el.hi.ja.uk</code>" in page
    assert "seed 0" in page and "en, el, hi, ja, uk" in page  # the build config's languages
    assert "chance 1/6 = 0.1667" in page and "CLIP ceiling 1/w = 1/5 = 0.2000" in page
    assert page.count('class="level"') == 2  # the same two levels as rows under the entries
    assert f'<td class="num n" data-value="{TEST_N}">{TEST_N}</td>' in page
    assert f'href="/b/{W5}/card"' in page
    assert card.status_code == 200 and card.headers["content-type"].startswith("text/plain")
    assert card.text == (builds[5] / "README.md").read_text("utf-8")
    about = api["benchmark"]
    assert about["label"] == "w5-en.el.hi.ja.uk" and about["seed"] == 0
    assert [level["label"] for level in about["levels"]] == [
        "chance 1/6",
        "CLIP ceiling 1/w = 1/5",
    ]
    assert "card" not in about and [e["n"] for e in api["verified"]] == [TEST_N]
