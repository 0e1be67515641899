"""The query-subset diagnostic: `evaluate --query-subsets` scores the target from each single
query modality with the other left out of the score (checked against a direct computation for
every registered scorer), `report --diagnostic` shows it with what each objective's score can
detect, and each scorer's declared interaction holds numerically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

import symile_bench
from symile_bench.harness.diagnostic import IMPLICATIONS
from symile_bench.harness.scorers import get_scorer, score_matrix

from .conftest import run_cli
from .evaluate_fixtures import load_json

N, D, DIM = 400, 5, 6
SCORERS = ("mip", "pairwise", "gram", "triangle")
FAST = ("--bootstrap", "200", "-q")


@pytest.fixture(scope="module")
def xor(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("xor") / "p1"
    run_cli(
        "build", "xor", "--p", "1.0", "--train-n", "10", "--val-n", "10",
        "--test-n", str(N), "-q", "--out", out,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def embeddings(xor, tmp_path_factory) -> tuple[Path, dict[str, np.ndarray], np.ndarray]:
    """Random embeddings of a and c per row and of the 32 b candidates, and each row's b code."""
    rng = np.random.default_rng(7)
    emb = tmp_path_factory.mktemp("emb")
    vectors = {m: rng.normal(size=(N, DIM)).astype(np.float32) for m in ("a", "c")}
    vectors["b"] = rng.normal(size=(2**D, DIM)).astype(np.float32)
    np.save(emb / "a.npy", vectors["a"])
    np.save(emb / "c.npy", vectors["c"])
    save_file({"embedding": vectors["b"]}, str(emb / "b.candidates.safetensors"))
    b = np.array(symile_bench.load(xor, split="test")["b"])
    return emb, vectors, b @ (1 << np.arange(D - 1, -1, -1))


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def direct_two_vector_score(scoring: str, q: np.ndarray, cands: np.ndarray) -> np.ndarray:
    """Scores [N, 32] of one query vector against each candidate, from the definitions: MIP and
    CLIP of two vectors are their dot product, GRAM minus the area sqrt(det G) of the 2x2 Gram
    matrix of the unit vectors, TRIANGLE (two vertices) minus the distance between them."""
    if scoring in ("mip", "pairwise"):
        return q.astype(np.float64) @ cands.astype(np.float64).T
    u, v = _unit(q), _unit(cands)
    out = np.empty((len(u), len(v)))
    for i in range(len(u)):
        for j in range(len(v)):
            if scoring == "gram":
                m = np.stack([u[i], v[j]])
                out[i, j] = -np.sqrt(max(np.linalg.det(m @ m.T), 0.0))
            else:
                out[i, j] = -np.linalg.norm(u[i] - v[j])
    return out


@pytest.mark.parametrize("scoring", SCORERS)
def test_single_query_conditions_rank_by_the_two_vector_score(xor, embeddings, scoring, tmp_path):
    """Proves `queries=a` and `queries=c` rank every query's true b exactly where the
    definition of the scorer on two vectors puts it, while the all-queries rows are those of a
    run without --query-subsets."""
    emb, vectors, codes = embeddings
    args = ("evaluate", xor, "--embeddings", emb, "--scoring", scoring, *FAST)
    run_cli(*args, "--query-subsets", "--out", tmp_path / "s.json")
    run_cli(*args, "--out", tmp_path / "plain.json")
    res, plain = load_json(tmp_path / "s.json"), load_json(tmp_path / "plain.json")
    blocks = {p["condition"]: p for p in res["predictions"]}
    assert set(blocks) == {None, "queries=a", "queries=c"}
    assert blocks[None] == plain["predictions"][0]
    assert [r for r in res["rows"] if r["condition"] is None] == plain["rows"]
    for m in ("a", "c"):
        s = direct_two_vector_score(scoring, vectors[m], vectors["b"])
        truth = s[np.arange(N), codes]
        expected = 1 + (s > truth[:, None] + 1e-9).sum(1)
        assert blocks[f"queries={m}"]["ranks"] == expected.tolist(), (scoring, m)


def test_report_diagnostic_shows_where_accuracy_comes_from(xor, tmp_path):
    """Proves the XOR oracle scores 1 from (a, c) and chance from either alone, and that
    `report --diagnostic` prints that with the joint gain and the objective's implication."""
    oracle = tmp_path / "oracle.json"
    run_cli(
        "evaluate", xor, "--model", "xor-oracle",
        "--query-subsets", "--out", oracle, *FAST,
    )  # fmt: skip
    rows = {r["condition"]: r for r in load_json(oracle)["rows"] if r["metric"] == "top1"}
    assert rows[None]["value"] == 1.0
    for single in ("queries=a", "queries=c"):
        assert rows[single]["ci_low"] <= 1 / 32 <= rows[single]["ci_high"], rows[single]
    shown = run_cli("report", oracle, "--diagnostic").stdout
    assert "all − best subset" in shown and "all: a, c" in shown
    assert " ".join(IMPLICATIONS["joint"].split()[:6]) in " ".join(shown.split())
    plain = tmp_path / "plain.json"
    run_cli("evaluate", xor, "--model", "constant", "--out", plain, *FAST)
    refused = run_cli("report", plain, "--diagnostic", check=False)
    assert refused.returncode != 0 and "--query-subsets" in refused.stderr


def _rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q


@pytest.mark.parametrize("scoring", SCORERS)
def test_declared_interaction_holds(scoring):
    """Proves each scorer's declared interaction: a score that is a function of the pairwise
    inner products is unchanged when one rotation turns every vector (and MIP, declared
    joint, is changed); a sum of per-pair terms has a zero three-way mixed difference (and
    GRAM's and TRIANGLE's have not)."""
    rng = np.random.default_rng(3)
    interaction = get_scorer(scoring).interaction
    assert interaction in IMPLICATIONS
    x, y, z = (rng.normal(size=(8, 4)) for _ in range(3))
    rot = _rotation(rng, 4)
    before = score_matrix([x, y], z, scoring)
    after = score_matrix([x @ rot, y @ rot], z @ rot, scoring)
    assert np.allclose(before, after, atol=1e-9) == (interaction != "joint"), scoring
    x2, y2 = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    z2 = rng.normal(size=(8, 4))

    def s(a, b, c):  # one query pair row i against candidate row i
        return np.diag(score_matrix([a, b], c, scoring))

    mixed = (
        s(x, y, z) - s(x2, y, z) - s(x, y2, z) - s(x, y, z2)
        + s(x2, y2, z) + s(x2, y, z2) + s(x, y2, z2) - s(x2, y2, z2)
    )  # fmt: skip
    assert np.allclose(mixed, 0.0, atol=1e-9) == (interaction == "additive-pairwise"), scoring
