"""`symile-bench lexicon check` (the sub-app, through typer's CliRunner): exit codes and output."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from symile_bench.lexicon.cli import lexicon_app

runner = CliRunner()


def release_entry(synset, cls_id, el, en, ja, zh):
    return {
        "synset_id": synset,
        "ar": f"ar-{en}",
        "el": el,
        "en": en,
        "hi": f"hi-{en}",
        "ja": ja,
        "ko": f"ko-{en}",
        "te": f"te-{en}",
        "th": f"th-{en}",
        "uk": f"uk-{en}",
        "zh-CN": zh,
        "cls_id": cls_id,
    }


def test_default_is_clean_exit_0():
    result = runner.invoke(lexicon_app, ["check"])
    assert result.exit_code == 0, result.output
    assert "embedded" in result.output and "0 collisions" in result.output
    result = runner.invoke(lexicon_app, ["check", "default", "--languages", "5"])
    assert result.exit_code == 0 and "5 languages" in result.output


def test_colliding_file_exit_1_and_names_the_word(tmp_path):
    path = tmp_path / "translations.json"
    path.write_text(
        json.dumps(
            {
                "crane bird": release_entry(
                    "n02012849", 134, "γερανός", "crane bird", "ツル", "鹤"
                ),
                "crane machine": release_entry(
                    "n03126707", 517, "γερανός", "crane machine", "クレーン", "起重机"
                ),
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    result = runner.invoke(lexicon_app, ["check", str(path), "--languages", "en,el,ja,zh"])
    assert result.exit_code == 1, result.output
    assert "γερανός" in result.output and "within-language" in result.output
    assert "134 crane bird" in result.output and "517 crane machine" in result.output


def test_missing_entries_exit_1(tmp_path):
    entry = release_entry("n01440764", 0, "γλήνι", "tench", "テンチ", "丁鱥")
    del entry["te"]
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps(
            {
                "tench": entry,
                "goldfish": release_entry("n01443537", 1, "χρυσόψαρο", "goldfish", "金魚", "金鱼"),
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    result = runner.invoke(lexicon_app, ["check", str(path)])
    assert result.exit_code == 1 and "1 missing" in result.output
    assert runner.invoke(lexicon_app, ["check", str(path), "-l", "en,el"]).exit_code == 0


def test_unusable_input_exit_2_with_message(tmp_path):
    result = runner.invoke(lexicon_app, ["check", "--languages", "en,fr"])
    assert result.exit_code == 2 and "unknown language code 'fr'" in result.output
    missing = tmp_path / "none.json"
    result = runner.invoke(lexicon_app, ["check", str(missing)])
    assert result.exit_code == 2 and str(missing) in result.output


def test_help_explains_every_option():
    result = runner.invoke(lexicon_app, ["check", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())  # undo rich's box and wrapping
    assert "--languages" in text and "paper's sets" in text and "translations.json" in text
