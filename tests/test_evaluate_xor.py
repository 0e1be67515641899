"""`symile-bench evaluate / validate / compare / report` end to end on a built XOR dataset (p = 1,
so b = a XOR c exactly): known answers, the two ways in agreeing exactly, the missing-modality
protocol, and one clear error per kind of bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from safetensors.numpy import save_file

import symile_bench
from symile_bench.manifest import read_manifest

from .conftest import run_cli
from .evaluate_fixtures import comparable, load_json, use_test_models

ORACLE = "xor-oracle"
N, D = 2000, 5
FAST = ("--bootstrap", "300", "-q")


@pytest.fixture(scope="module")
def xor(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("xor") / "p1"
    run_cli(
        "build",
        "xor",
        "--p",
        "1.0",
        "--train-n",
        "10",
        "--val-n",
        "10",
        "--test-n",
        str(N),
        "-q",
        "--out",
        out,
    )
    return out


@pytest.fixture(scope="module")
def oracle(xor, tmp_path_factory) -> Path:
    """The oracle through the model path, with the missing-modality protocol; the embeddings it
    produced are saved for re-scoring."""
    out = tmp_path_factory.mktemp("oracle")
    run_cli(
        "evaluate",
        xor,
        "--model",
        ORACLE,
        "--missing-protocol",
        "--out",
        out / "r.json",
        "--save-embeddings",
        out / "emb",
        *FAST,
    )
    return out


@pytest.fixture(scope="module")
def constant(xor, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("constant") / "r.json"
    run_cli("evaluate", xor, "--model", "constant", "--out", out, *FAST)  # entry-point name
    return out


def signs(x: np.ndarray) -> np.ndarray:
    return (1.0 - 2.0 * x).astype(np.float32)


def test_perfect_encoder_scores_one_and_results_name_the_split(xor, oracle):
    """The oracle's top-1 is exactly 1 with a degenerate interval; the results name the split's
    manifest fingerprint; every query's first predicted id is the code of its own b."""
    res = load_json(oracle / "r.json")
    top1 = next(r for r in res["rows"] if r["metric"] == "top1" and r["condition"] is None)
    assert (top1["value"], top1["ci_low"], top1["ci_high"], top1["n"]) == (1.0, 1.0, 1.0, N)
    manifest = read_manifest(xor)
    assert res["dataset"]["split_fingerprint"] == manifest.split("p1.0", "test").fingerprint
    assert res["dataset"]["fingerprint"] == manifest.fingerprint
    assert res["task"]["query_modalities"] == ["a", "c"] and res["task"]["target_modality"] == "b"
    assert res["task"]["candidates"]["size"] == 2**D
    b = np.array(symile_bench.load(xor, split="test")["b"])
    codes = b @ (1 << np.arange(D - 1, -1, -1))
    pred = next(p for p in res["predictions"] if p["condition"] is None)
    assert [t[0] for t in pred["top_k"]] == codes.tolist()
    assert pred["query_ids"] == list(range(N))
    ok = run_cli("validate", oracle / "r.json", "--dataset", xor)
    assert "verified" in ok.stdout


def test_constant_encoder_scores_chance_within_its_interval(constant):
    """All scores tie, so the tie rule ranks b uniformly: chance 1/32 lies in the top-1
    bootstrap interval, and every one of the 32 candidates is somebody's top-1 prediction."""
    res = load_json(constant)
    row = next(r for r in res["rows"] if r["metric"] == "top1")
    assert row["ci_low"] <= 1 / 2**D <= row["ci_high"] and row["ci_high"] < 2 / 2**D, row
    assert {t[0] for t in res["predictions"][0]["top_k"]} == set(range(2**D))
    assert res["model"]["name"] == "constant"


def test_embeddings_path_equals_model_path(xor, oracle, tmp_path):
    """The same embeddings given as files — a.npy aligned, c.parquet keyed by row in shuffled
    order, b.candidates.safetensors — give identical rows and predictions to the model path."""
    ds = symile_bench.load(xor, split="test")
    emb = tmp_path / "emb"
    emb.mkdir()
    np.save(emb / "a.npy", signs(np.array(ds["a"])))
    order = np.random.default_rng(1).permutation(N)
    c = signs(np.array(ds["c"]))[order]
    pq.write_table(pa.table({"row": order, "embedding": list(c)}), emb / "c.parquet")
    codes = np.arange(2**D)
    vectors = (codes[:, None] >> np.arange(D - 1, -1, -1)) & 1
    save_file({"embedding": signs(vectors)}, str(emb / "b.candidates.safetensors"))
    run_cli(
        "evaluate",
        xor,
        "--embeddings",
        emb,
        "--name",
        "xor-oracle",
        "--out",
        tmp_path / "e.json",
        *FAST,
    )
    model = load_json(oracle / "r.json")
    model["rows"] = [r for r in model["rows"] if r["condition"] is None]
    model["predictions"] = [p for p in model["predictions"] if p["condition"] is None]
    model["task"]["missing_protocol"] = None
    files = load_json(tmp_path / "e.json")
    assert comparable(files) == comparable(model)
    assert files["model"]["name"] == "xor-oracle" and files["model"]["scoring"] == "mip"


def test_missing_protocol_one_row_per_observed_subset(xor, oracle, tmp_path):
    """Every non-empty subset of (a, c) is a condition; with one of them missing b is
    undetermined and the oracle falls to chance. Re-scoring the saved embeddings (incl. the
    <modality>.missing files) reproduces every row."""
    res = load_json(oracle / "r.json")
    assert res["task"]["missing_protocol"] == "v1"
    conditions = {r["condition"] for r in res["rows"]}
    assert conditions == {None, "observed=a", "observed=c"}
    assert {p["condition"] for p in res["predictions"]} == conditions
    for cond in ("observed=a", "observed=c"):
        row = next(r for r in res["rows"] if r["metric"] == "top1" and r["condition"] == cond)
        assert row["ci_low"] <= 1 / 2**D <= row["ci_high"]
    saved = sorted(p.name for p in (oracle / "emb").iterdir())
    assert saved == [
        "a.missing.npy",
        "a.npy",
        "b.candidates.npy",
        "c.missing.npy",
        "c.npy",
        "model.json",
    ]
    run_cli(
        "evaluate",
        xor,
        "-e",
        oracle / "emb",
        "--missing-protocol",
        "-o",
        tmp_path / "again.json",
        *FAST,
    )
    assert comparable(load_json(tmp_path / "again.json")) == comparable(res)


def test_any_direction_with_the_same_rules(xor, tmp_path):
    """--target a: queries (b, c), candidates all 2^d vectors; the oracle is exact again."""
    run_cli("evaluate", xor, "-m", "xor-oracle", "--target", "a", "-o", tmp_path / "r.json", *FAST)
    res = load_json(tmp_path / "r.json")
    assert res["task"]["query_modalities"] == ["b", "c"]
    assert next(r for r in res["rows"] if r["metric"] == "top1")["value"] == 1.0


def _bad_embeddings(xor: Path, tmp: Path, edit: str) -> Path:
    ds = symile_bench.load(xor, split="test")
    a, c = signs(np.array(ds["a"])), signs(np.array(ds["c"]))
    if edit == "length":
        a = a[:-1]
    elif edit == "dimension":
        c = np.concatenate([c, np.ones((N, 1), np.float32)], axis=1)
    elif edit == "nan":
        a[17, 2] = np.nan
    elif edit == "inf":
        c[3, 0] = np.inf
    emb = tmp / edit
    emb.mkdir()
    np.save(emb / "a.npy", a)
    np.save(emb / "c.npy", c)
    np.save(emb / "b.candidates.npy", signs((np.arange(32)[:, None] >> np.arange(4, -1, -1)) & 1))
    return emb


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("length", r"a\.npy: has 1999 rows of embeddings, expected 2000"),
        ("dimension", r"embedding dimensions differ \(a 5, c 6, b 5\)"),
        ("nan", r"a\.npy: 1 rows contain NaN or inf, first row 17"),
        ("inf", r"c\.npy: 1 rows contain NaN or inf, first row 3"),
    ],
)
def test_bad_embeddings_get_one_clear_error(xor, tmp_path, edit, message):
    emb = _bad_embeddings(xor, tmp_path, edit)
    proc = run_cli("evaluate", xor, "-e", emb, "-o", tmp_path / "r.json", "-q", check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "tests.evaluate_fixtures:NoB"], "does not encode modality 'b'"),
        (["-m", "tests.evaluate_fixtures:KeyErrorOnB"], "cannot encode modality 'b'"),
        (["-m", "constant", "-e", "x"], "exactly one of --model"),
        (["-m", "no.such.module:f"], "cannot import module 'no.such.module'"),
    ],
)
def test_bad_model_options_get_one_clear_error(xor, tmp_path, monkeypatch, args, message):
    use_test_models(monkeypatch)
    proc = run_cli("evaluate", xor, *args, "-o", tmp_path / "r.json", "-q", check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and message in lines[0], proc.stderr


def test_validate_refuses_an_unknown_schema_version(oracle, tmp_path):
    raw = load_json(oracle / "r.json")
    raw["schema_version"] = 99
    bad = tmp_path / "future.json"
    bad.write_text(json.dumps(raw))
    proc = run_cli("validate", bad, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1
    assert "schema_version 99 is not supported" in lines[0] and "upgrade" in lines[0]


def test_validate_catches_rows_that_disagree_with_predictions(oracle, tmp_path):
    raw = load_json(oracle / "r.json")
    raw["predictions"][0]["ranks"][0] = 2  # rank 2, but its top-1 id is correct
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(raw))
    proc = run_cli("validate", edited, check=False)
    assert proc.returncode == 1 and "says 1.0 but predictions" in proc.stderr


def test_compare_is_paired_and_refuses_different_data(oracle, constant, tmp_path):
    """Oracle vs constant: a large, significant difference; a file from other data (another
    split fingerprint) or without predictions is refused with a clear message."""
    proc = run_cli("compare", oracle / "r.json", constant, "--bootstrap", "300")
    line = next(ln for ln in proc.stdout.splitlines() if "top1" in ln)
    assert "+0.9" in line and "0.0033" in line  # p = 1 / (300 + 1)
    other = load_json(constant)
    other["dataset"]["split_fingerprint"] = "0" * 64
    (tmp_path / "other.json").write_text(json.dumps(other))
    proc = run_cli("compare", oracle / "r.json", tmp_path / "other.json", check=False)
    assert proc.returncode == 1 and "different data" in proc.stderr
    other = load_json(constant)
    other["predictions"] = []
    (tmp_path / "nopred.json").write_text(json.dumps(other))
    proc = run_cli("compare", oracle / "r.json", tmp_path / "nopred.json", check=False)
    assert proc.returncode == 1 and "no per-query predictions" in proc.stderr


def test_report_prints_a_table_and_writes_a_png(oracle, constant, tmp_path):
    proc = run_cli("report", oracle / "r.json", constant, "--plot", tmp_path / "p.png")
    assert "xor-oracle" in proc.stdout and "constant" in proc.stdout
    assert "observed=a" in proc.stdout and "1.0000" in proc.stdout
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
