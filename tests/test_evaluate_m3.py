"""`symile-bench evaluate` on a small built Symile-M3 (2 languages, a 0.5 missingness variant):
an oracle that reads metadata is exact and gets per-language rows; the per-class candidate rule;
the missing-modality protocol at test time; the train-time curve in `report`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import symile_bench

from .conftest import run_cli
from .evaluate_fixtures import load_json

TEST_N = 200
FAST = ("--bootstrap", "300", "-q")


@pytest.fixture(scope="module")
def m3(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("m3") / "w2"
    run_cli(
        "build",
        "m3",
        "--languages",
        "2",
        "--train-n",
        "50",
        "--val-n",
        "50",
        "--test-n",
        str(TEST_N),
        "--audio-pool",
        "4",
        "--image-pool",
        "1",
        "--image-size",
        "32",
        "--shard-rows",
        "100",
        "--missing-prob",
        "0.5",
        "-q",
        "--out",
        out,
    )
    return out


def rows(res: dict, metric: str = "top1", condition: str | None = None) -> dict:
    return {
        r["language"]: r
        for r in res["rows"]
        if r["metric"] == metric and r["condition"] == condition
    }


def test_oracle_is_exact_with_per_language_rows_and_missing_conditions(m3, tmp_path):
    """All test images as candidates: the oracle's top-1 is 1.0 pooled and per language (en, el,
    whose n add up). With only audio observed the image is undetermined; with only text it is
    one of the w = 2 classes the text names, so it lands between."""
    run_cli(
        "evaluate", m3, "-m", "m3-oracle", "--missing-protocol", "-o", tmp_path / "r.json", *FAST
    )
    res = load_json(tmp_path / "r.json")
    assert res["task"]["query_modalities"] == ["audio", "text"]
    assert res["task"]["candidates"]["size"] == TEST_N
    full = rows(res)
    assert set(full) == {None, "en", "el"}
    assert all(r["value"] == 1.0 for r in full.values())
    assert full["en"]["n"] + full["el"]["n"] == full[None]["n"] == TEST_N
    lang = np.array(symile_bench.load(m3, config="complete", split="test")["lang"])
    assert full["en"]["n"] == int((lang == "en").sum())
    audio, text = rows(res, condition="observed=audio")[None], rows(res, condition="observed=text")
    assert audio["value"] < 0.1 < text[None]["value"] < 1.0
    assert set(text) == {None, "en", "el"}


def test_per_class_candidates_and_the_train_time_curve(m3, tmp_path):
    """--candidates per-class: one image per class, the oracle still exact. --trained-on records
    the variant's fraction of complete training samples (counted from its *_missing flags), and
    `report` shows it as the train-time table and plots it."""
    for config in ("complete", "missing0.5"):
        run_cli(
            "evaluate",
            m3,
            "-m",
            "m3-oracle",
            "--candidates",
            "per-class",
            "--trained-on",
            config,
            "--name",
            "oracle",
            "-o",
            tmp_path / f"{config}.json",
            *FAST,
        )
    res = load_json(tmp_path / "missing0.5.json")
    test = symile_bench.load(m3, config="complete", split="test")
    assert res["task"]["candidates"]["rule"] == "per-class"
    assert res["task"]["candidates"]["size"] == len(set(test["cls_id"]))
    assert rows(res)[None]["value"] == 1.0
    train = symile_bench.load(m3, config="missing0.5", split="train")
    flags = np.array([train[f"{m}_missing"] for m in ("audio", "image", "text")])
    trained = res["model"]["trained_on"]
    assert trained["config"] == "missing0.5" and trained["rows"] == 50
    assert trained["complete_fraction"] == pytest.approx(1 - flags.any(axis=0).mean())
    assert load_json(tmp_path / "complete.json")["model"]["trained_on"]["complete_fraction"] == 1
    proc = run_cli(
        "report",
        tmp_path / "complete.json",
        tmp_path / "missing0.5.json",
        "--plot",
        tmp_path / "curve.png",
        "--no-languages",
    )
    assert "train-time missing modalities" in proc.stdout and "100.0" in proc.stdout
    assert (tmp_path / "curve.png").stat().st_size > 1000
    run_cli("validate", tmp_path / "missing0.5.json", "--dataset", m3)
