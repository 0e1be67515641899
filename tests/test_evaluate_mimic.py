"""`symile-bench evaluate` on a MIMIC-shaped dataset directory (the builder's columns: hadm_id,
ecg Array2D, labs as percentiles + missingness bits, cxr Image, 10 stored candidates): the
per-query candidate sets, hadm_id as query and candidate id, embeddings keyed by hadm_id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import symile_bench

from .conftest import run_cli
from .evaluate_fixtures import comparable, load_json, use_test_models, write_mimic_dir

MODEL = "tests.evaluate_fixtures:mimic_id_oracle"


@pytest.fixture(scope="module")
def mimic(tmp_path_factory) -> Path:
    return write_mimic_dir(tmp_path_factory.mktemp("mimic"))


@pytest.fixture(autouse=True)
def _test_models(monkeypatch):
    use_test_models(monkeypatch)


def test_stored_candidates_hadm_ids_and_keyed_embeddings(mimic, tmp_path):
    """The id oracle finds each admission's own CXR among its 10 candidates (top-1 = 1.0);
    predictions are keyed by hadm_id and name stored candidates; the predictions re-score
    against the answer key; the saved embeddings, re-keyed by hadm_id in another order, give
    identical results through --embeddings."""
    run_cli(
        "evaluate",
        mimic,
        "-m",
        MODEL,
        "-o",
        tmp_path / "r.json",
        "--bootstrap",
        "200",
        "--save-embeddings",
        tmp_path / "emb",
        "-q",
    )
    res = load_json(tmp_path / "r.json")
    assert res["task"]["query_modalities"] == ["ecg", "labs"]
    assert res["task"]["candidates"]["kind"] == "per_query"
    assert res["task"]["candidates"]["size"] == 10
    assert next(r for r in res["rows"] if r["metric"] == "top1")["value"] == 1.0
    test = symile_bench.load(mimic, split="test")
    pred = res["predictions"][0]
    assert pred["query_ids"] == test["hadm_id"]
    for own, top, cands in zip(pred["query_ids"], pred["top_k"], test["candidates"], strict=True):
        assert top[0] == own and sorted(top) == sorted(cands)
    run_cli("validate", tmp_path / "r.json", "--dataset", mimic)

    emb = tmp_path / "emb"
    order = np.random.default_rng(0).permutation(len(test))
    hadm = np.array(test["hadm_id"])[order]
    for name in ("ecg", "cxr"):
        values = np.load(emb / f"{name}.npy")[order]
        pq.write_table(
            pa.table({"hadm_id": hadm, "embedding": list(values)}), emb / f"{name}.parquet"
        )
        (emb / f"{name}.npy").unlink()
    run_cli("evaluate", mimic, "-e", emb, "-o", tmp_path / "e.json", "--bootstrap", "200", "-q")
    assert comparable(load_json(tmp_path / "e.json")) == comparable(res)


def test_a_split_without_candidate_sets_is_refused(mimic, tmp_path):
    proc = run_cli(
        "evaluate",
        mimic,
        "-m",
        MODEL,
        "--split",
        "train",
        "-o",
        tmp_path / "r.json",
        "-q",
        check=False,
    )
    assert proc.returncode == 1
    assert "no stored candidate sets" in proc.stderr and "test split" in proc.stderr
