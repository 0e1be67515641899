"""The `gram` and `triangle` scorers (symile_bench/harness/volumes.py): their scores equal a
direct, slow computation from the normalised vectors (a determinant of their Gram matrix; the
triangle's area from its vertices), and they rank exactly like a full sort of those scores for
every candidate plan, target, chunking, thread count and backend. They reach the harness
through the scorer registry's lazy built-in entries (`module:attribute`, imported when first
named), the way a third-party scorer's entry point would.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symile_bench.errors import HarnessInputError
from symile_bench.harness.ranking import rank_candidate_sets, rank_candidates
from symile_bench.harness.scorers import Scorer

from .test_harness_scoring import brute_rank

ROOT = Path(__file__).resolve().parents[1]
HAS_TORCH = importlib.util.find_spec("torch") is not None


def declared_scorer(name: str) -> Scorer:
    """The scorer the registry finds under ``name``."""
    from symile_bench.harness.scorers import SCORERS

    scorer = SCORERS.get(name)
    assert isinstance(scorer, Scorer)
    return scorer


def unit_rows(vectors):
    return np.array([v / np.linalg.norm(v) for v in vectors])


def slow_gram(vectors):
    """Minus sqrt(det G), G the Gram matrix of the normalised vectors (np.linalg.det)."""
    v = unit_rows(vectors)
    return -math.sqrt(max(np.linalg.det(v @ v.T), 0.0))


def slow_triangle(vectors):
    """Minus the simplex content of the normalised vertices: for three, the triangle's area by
    Heron's formula from its side lengths; otherwise sqrt(det(E E^T)) / (k-1)! for the edges E
    from the first vertex (one query modality: the segment length)."""
    v = unit_rows(vectors)
    if len(v) == 3:
        a, b, c = (np.linalg.norm(v[i] - v[j]) for i, j in ((0, 1), (1, 2), (2, 0)))
        s = (a + b + c) / 2
        return -math.sqrt(max(s * (s - a) * (s - b) * (s - c), 0.0))
    e = v[1:] - v[0]
    return -math.sqrt(max(np.linalg.det(e @ e.T), 0.0)) / math.factorial(len(e))


SLOW = {"gram": slow_gram, "triangle": slow_triangle}


def slow_scores(name, queries, cands):
    return np.array(
        [[SLOW[name]([q[i] for q in queries] + [c]) for c in cands] for i in range(len(queries[0]))]
    )


def test_both_load_lazily_by_name_like_a_plugins_scorer():
    """Proves the registry knows both names without importing their module, and imports it
    (a `module:attribute` entry, as an entry point is) only when a name is asked for."""
    code = (
        "import sys\n"
        "from symile_bench.harness.scorers import SCORERS\n"
        "assert {'gram', 'triangle'} <= set(SCORERS.names())\n"
        "assert 'symile_bench.harness.volumes' not in sys.modules\n"
        "SCORERS.get('gram')\n"
        "assert 'symile_bench.harness.volumes' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    for name in ("gram", "triangle"):
        scorer = declared_scorer(name)
        assert scorer.name == name and scorer.score_block is not None
        assert scorer.needs_one_dimension


@pytest.mark.parametrize("name", ["gram", "triangle"])
@pytest.mark.parametrize("n_query_modalities", [1, 2, 3])
def test_scores_equal_the_slow_geometric_definition(name, n_query_modalities):
    rng = np.random.default_rng(n_query_modalities)
    queries = [rng.standard_normal((6, 5)) * rng.uniform(0.1, 9) for _ in range(n_query_modalities)]
    cands = rng.standard_normal((11, 5)) * 3
    expect = slow_scores(name, queries, cands)
    scorer = declared_scorer(name)
    np.testing.assert_allclose(scorer.score_matrix(queries, cands), expect, atol=1e-12)
    if HAS_TORCH:
        import torch

        got = scorer.block([torch.from_numpy(q) for q in queries], torch.from_numpy(cands), torch)
        np.testing.assert_allclose(got.numpy(), expect, atol=1e-12)


def test_triangle_area_from_the_cross_product_in_three_dimensions():
    """0.5 |(b - a) x (c - a)| on the unit sphere of R^3, the TRIANGLE paper's own picture."""
    rng = np.random.default_rng(5)
    a, b, c = (rng.standard_normal((8, 3)) for _ in range(3))
    ua, ub, uc = (unit_rows(x) for x in (a, b, c))
    area = 0.5 * np.linalg.norm(
        np.cross(ub[:, None] - ua[:, None], uc[None] - ua[:, None]), axis=-1
    )
    np.testing.assert_allclose(
        declared_scorer("triangle").score_matrix([a, b], c), -area, atol=1e-12
    )


def runs():
    """Chunkings, thread counts and backends every ranking must agree across."""
    out = [dict(memory_budget=b, threads=t) for b, t in ((1 << 30, 1), (1 << 30, 2), (4096, 2))]
    if HAS_TORCH:
        out += [dict(backend="torch", device="cpu", memory_budget=b) for b in (1 << 30, 4096)]
    return out


@pytest.mark.parametrize("name", ["gram", "triangle"])
def test_ranks_equal_a_full_sort_of_the_slow_scores_for_every_plan_and_target(name):
    """A shared pool (correct by label) and per-query sets, with each of the three modalities as
    the target and the other two as queries; every chunking, thread count and backend."""
    rng = np.random.default_rng(7)
    n, m, d = 24, 300, 4
    modalities = [rng.standard_normal((max(n, m), d)) for _ in range(3)]
    labels = rng.integers(0, 7, m)
    q_labels = labels[rng.integers(0, m, n)]
    ids = rng.integers(0, m, (n, 6))
    col = rng.integers(0, 6, n)
    scorer = declared_scorer(name)
    for target in range(3):
        queries = [modalities[i][:n] for i in range(3) if i != target]
        cands = modalities[target][:m]
        full = slow_scores(name, queries, cands)
        expect, orders = brute_rank(full, labels[None, :] == q_labels[:, None])
        for run in runs():
            r = rank_candidates(
                queries, cands, query_labels=q_labels, candidate_labels=labels, scorer=scorer, **run
            )
            assert r.scorer == name
            np.testing.assert_array_equal(r.ranks, expect)
            np.testing.assert_array_equal(r.top_k, np.array([o[:10] for o in orders]))
            np.testing.assert_allclose(r.top_k_scores, np.take_along_axis(full, r.top_k, 1))
        set_expect, _ = brute_rank(np.take_along_axis(full, ids, 1), np.arange(6) == col[:, None])
        for backend in ["numpy", "torch"] if HAS_TORCH else ["numpy"]:
            sets = rank_candidate_sets(queries, cands, ids, col, scorer=scorer, backend=backend)
            np.testing.assert_array_equal(sets.ranks, set_expect)


@pytest.mark.parametrize("name", ["gram", "triangle"])
def test_identical_embeddings_tie_at_zero_and_score_chance(name):
    """Coinciding vectors have volume and area 0 up to float32 rounding (a negative square
    clamped, never NaN): every candidate gets the same score, and the tie rule ranks them
    uniformly, so top-1 is chance."""
    n, m = 4000, 8
    ones = np.ones((n, 5), dtype=np.float32)
    r = rank_candidates(
        [ones, ones],
        np.ones((m, 5), np.float32),
        query_labels=np.zeros(n, int),
        scorer=declared_scorer(name),
        top_k=1,
    )
    assert np.all(r.top_k_scores == r.top_k_scores[0, 0]) and abs(r.top_k_scores[0, 0]) < 1e-3
    assert abs(np.mean(r.ranks == 1) - 1 / m) < 0.02


def test_embeddings_of_different_sizes_are_one_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(HarnessInputError, match="dimension"):
        rank_candidates(
            [rng.standard_normal((5, 4))],
            rng.standard_normal((8, 3)),
            query_labels=np.zeros(5, int),
            scorer=declared_scorer("gram"),
        )


def test_cli_evaluates_an_xor_build_with_each_scoring(tmp_path: Path):
    """`symile-bench evaluate --scoring gram|triangle` finds the scorers through the registry
    and writes results whose model.scoring names them."""

    def cli(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "symile_bench", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    cli(
        "build",
        "xor",
        "--d",
        "3",
        "--p",
        "1.0",
        "--train-n",
        "10",
        "--val-n",
        "10",
        "--test-n",
        "400",
        "--workers",
        "1",
        "--out",
        "xor",
        "-q",
    )
    emb = tmp_path / "emb"
    emb.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "c"):
        np.save(emb / f"{name}.npy", rng.standard_normal((400, 6)).astype(np.float32))
    bits = np.array(list(itertools.product([0, 1], repeat=3)), dtype=np.float32)
    np.save(emb / "b.candidates.npy", np.hstack([1 - 2 * bits, 1 - 2 * bits]))
    for scoring in ("gram", "triangle"):
        out = f"{scoring}.json"
        cli(
            "evaluate",
            "xor",
            "--embeddings",
            "emb",
            "--scoring",
            scoring,
            "--bootstrap",
            "100",
            "--out",
            out,
            "-q",
        )
        results = json.loads((tmp_path / out).read_text())
        assert results["model"]["scoring"] == scoring
        assert any(r["metric"] == "top1" for r in results["rows"])
