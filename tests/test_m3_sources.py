"""Symile-M3 from the real sources (translations.json, ILSVRC, Common Voice), gTTS fallback
offline, and the errors that name the fix when a source or system package is missing."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import symile_bench
from symile_bench.manifest import read_manifest

from .conftest import run_cli
from .source_fixtures import CLASSES, write_common_voice, write_ilsvrc, write_translations_json

TINY = [
    "--train-n",
    "200",
    "--val-n",
    "50",
    "--test-n",
    "100",
    "--image-size",
    "32",
    "--shard-rows",
    "100",
    "-q",
]


def test_build_from_translations_imagenet_and_common_voice(tmp_path):
    lexicon = write_translations_json(tmp_path / "translations.json")
    imagenet = write_ilsvrc(tmp_path / "imagenet")
    voice = write_common_voice(tmp_path / "cv", {"en": "en", "el": "el"})
    out = tmp_path / "out"
    run_cli(
        "build",
        "m3",
        "--languages",
        "en,el",
        "--translations",
        lexicon,
        "--imagenet",
        imagenet,
        "--common-voice",
        voice,
        "--audio-pool",
        "10",
        "--image-pool",
        "2",
        *TINY,
        "--out",
        out,
    )
    rows = symile_bench.load(out, split="train").with_format("arrow")[:].to_pylist()
    by_cls = {c[0]: c for c in CLASSES}
    assert {r["cls_id"] for r in rows} == set(by_cls)  # both cranes and the swimsuit included
    for r in rows:
        _, synset, _, en, el = by_cls[r["cls_id"]]
        assert r["synset_id"] == synset and r["cls"] == en
        assert r["target_text"] == (en if r["lang"] == "en" else el)
        assert r["image_id"].startswith(f"imagenet:{synset}_")
        assert r["audio_id"].startswith(f"common-voice:{r['lang']}:common_voice_{r['lang']}_")
        assert not r["audio_id"].endswith("_4.mp3")  # the zero-duration clip was dropped
    card = (out / "README.md").read_text()
    assert "ImageNet" in card and "Common Voice" in card and "translations.json" in card


def test_gtts_offline_falls_back_to_espeak_with_a_warning(tmp_path):
    proc = run_cli(
        "build",
        "m3",
        "--languages",
        "2",
        "--tts",
        "gtts",
        "--audio-pool",
        "2",
        "--image-pool",
        "1",
        *TINY,
        "--out",
        tmp_path / "fb",
    )
    assert "falling back to espeak-ng" in proc.stderr
    assert read_manifest(tmp_path / "fb").config["tts"] == "espeak"
    proc = run_cli(
        "build",
        "m3",
        "--languages",
        "2",
        "--tts",
        "gtts",
        "--no-fallback",
        *TINY,
        "--out",
        tmp_path / "nofb",
        check=False,
    )
    assert proc.returncode != 0 and "gTTS" in proc.stderr
    assert not (tmp_path / "nofb" / "manifest.json").exists()


def one_line_error(*args: str | Path, env: dict | None = None) -> str:
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "symile_bench", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_lexicon_missing_a_language_or_class_is_named(tmp_path):
    lexicon = write_translations_json(tmp_path / "t.json")
    line = one_line_error(
        "build",
        "m3",
        "--languages",
        "en,ja",
        "--translations",
        lexicon,
        "--images",
        "procedural",
        "--out",
        tmp_path / "o",
    )
    assert "'ja'" in line and "t.json" in line
    gap = write_translations_json(tmp_path / "gap.json", drop=("el", 517))
    line = one_line_error(
        "build",
        "m3",
        "--languages",
        "en,el",
        "--translations",
        gap,
        "--images",
        "procedural",
        "--out",
        tmp_path / "o2",
    )
    assert "517" in line and "el" in line


def test_imagenet_without_a_synset_folder_names_the_first_missing(tmp_path):
    lexicon = write_translations_json(tmp_path / "t.json")
    imagenet = write_ilsvrc(tmp_path / "imagenet", skip="n02012849")
    line = one_line_error(
        "build",
        "m3",
        "--languages",
        "en,el",
        "--translations",
        lexicon,
        "--imagenet",
        imagenet,
        "--out",
        tmp_path / "o",
    )
    assert "n02012849" in line


def test_missing_espeak_and_missing_font_name_the_debian_package(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": str(bare)}
    assert shutil.which("espeak-ng", path=env["PATH"]) is None
    line = one_line_error("build", "m3", "--out", tmp_path / "o", env=env)
    assert "apt-get install espeak-ng" in line
    env = {**os.environ, "SYMILE_BENCH_EMOJI_FONT": str(tmp_path / "missing.ttf")}
    line = one_line_error("build", "m3", "--out", tmp_path / "o2", env=env)
    assert "fonts-noto-color-emoji" in line


def test_a_common_voice_locale_smaller_than_the_pool_is_reused_with_a_warning(tmp_path):
    """--audio-pool 60 spans three pool files; a 4-clip locale fills only the first, and the
    others are empty (typed, not a null-typed Arrow error): rows reuse the 4 clips."""
    voice = write_common_voice(tmp_path / "cv", {"en": "en", "el": "el"})
    out = tmp_path / "out"
    proc = run_cli(
        "build", "m3", "--languages", "en,el", "--common-voice", voice, "--audio-pool", "60",
        "--image-pool", "2", *TINY, "--out", out,
    )  # fmt: skip
    for locale in ("en", "el"):
        assert (
            f"Common Voice locale '{locale}' has 4 usable validated clips, fewer than "
            "--audio-pool 60" in " ".join(proc.stderr.split())
        )
    rows = symile_bench.load(out, split="train").with_format("arrow")[:].to_pylist()
    used = {r["audio_id"] for r in rows}
    assert len(used) == 8 and all(a.startswith("common-voice:") for a in used)


def test_a_common_voice_locale_without_clips_is_one_line(tmp_path):
    voice = write_common_voice(tmp_path / "cv", {"en": "en"})
    write_common_voice(tmp_path / "cv", {"el": "el"}, clips=0)  # one zero-duration clip only
    out = tmp_path / "out"
    proc = run_cli(
        "build", "m3", "--languages", "en,el", "--common-voice", voice, *TINY, "--out", out,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    message = " ".join(proc.stderr.split())
    assert "Common Voice locale 'el'" in message and "has 0 usable validated clips" in message
    assert not out.exists()
