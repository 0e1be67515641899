"""Each distinct candidate scored once (#25 point 5): when a shared pool repeats candidates
(identical embedding and label), ranking the distinct ones and recovering every rank, top-k and
tie from the repeats gives exactly what ranking every candidate gives, for every scorer, any
number of threads and any tie seed; the compiled tie keys are ``tie_keys``."""

from __future__ import annotations

import numpy as np
import pytest

from symile_bench.harness.ranking import rank_candidates
from symile_bench.harness.repeats import _key, group_candidates
from symile_bench.harness.ties import seed_constant, tie_keys

from .test_harness_scoring import brute_rank


def repeated_pool(rng, n_distinct, m, d, n_labels, low=-1, high=2, dtype=np.float32):
    """``m`` candidates drawn from ``n_distinct`` small-integer rows (exact ties between
    different rows too), each distinct row with one label, so candidates repeat."""
    base = rng.integers(low, high, (n_distinct, d)).astype(dtype)
    labels = rng.integers(0, n_labels, n_distinct)
    pick = rng.integers(0, n_distinct, m)
    return base[pick], labels[pick]


def both(queries, cands, **kw):
    """The same ranking with the distinct path and with every candidate scored."""
    on = rank_candidates(queries, cands, **kw)
    off = rank_candidates(queries, cands, **kw, distinct=False)
    assert "groups" in on.extra and "groups" not in off.extra  # each path really ran
    return on, off


def assert_same(a, b):
    np.testing.assert_array_equal(a.ranks, b.ranks)
    np.testing.assert_array_equal(a.top_k, b.top_k)
    np.testing.assert_array_equal(a.top_k_scores, b.top_k_scores)
    np.testing.assert_array_equal(a.n_correct, b.n_correct)
    np.testing.assert_array_equal(a.n_candidates, b.n_candidates)


@pytest.mark.parametrize("trial", range(12))
def test_repeated_candidates_rank_exactly_as_a_full_sort(trial):
    """Random pools of few distinct integer rows (groups of very different sizes, ties within
    and across groups, several labels per score), any k (0, below, at and above a group's
    size) and tie seed: ranks and top-k equal a full sort by (score desc, tie key asc), and
    the path that scores every candidate agrees."""
    rng = np.random.default_rng(trial)
    n_distinct = int(rng.integers(2, 40))
    m = int(rng.integers(2 * n_distinct, 500))
    n, d = int(rng.integers(1, 90)), int(rng.integers(1, 4))
    cands, labels = repeated_pool(rng, n_distinct, m, d, n_labels=int(rng.integers(1, 6)))
    queries = [rng.integers(-1, 2, (n, d)).astype(np.float32) for _ in range(2)]
    q_labels = labels[rng.integers(0, m, n)]
    k, seed = int(rng.integers(0, 40)), int(rng.integers(0, 3))
    on, off = both(
        queries, cands, query_labels=q_labels, candidate_labels=labels, top_k=k, tie_seed=seed
    )
    scores = (queries[0] * queries[1]).astype(np.float64) @ cands.T.astype(np.float64)
    expect, orders = brute_rank(scores, labels[None, :] == q_labels[:, None], seed)
    np.testing.assert_array_equal(on.ranks, expect)
    np.testing.assert_array_equal(on.top_k, np.array([o[: min(k, m)] for o in orders]))
    assert_same(on, off)


@pytest.mark.parametrize("scorer", ["mip", "pairwise", "gram", "triangle"])
def test_every_scorer_gives_the_same_results_on_repeated_float_candidates(scorer):
    """float32 embeddings of M3's shape (a few hundred distinct images behind 3,000 rows,
    labels by image): every scorer's ranks, top-k and reported scores (offsets included) are
    bit-identical with and without the distinct path, for 1 and 2 threads."""
    rng = np.random.default_rng(3)
    distinct = rng.standard_normal((300, 8)).astype(np.float32)
    pick = rng.integers(0, 300, 3000)
    cands, labels = distinct[pick], (pick % 97)
    n = 400
    queries = [rng.standard_normal((n, 8)).astype(np.float32) for _ in range(2)]
    queries[1] += cands[rng.integers(0, 3000, n)]
    q_labels = labels[rng.integers(0, 3000, n)]
    kw = dict(query_labels=q_labels, candidate_labels=labels, scorer=scorer)
    ref = rank_candidates(queries, cands, **kw, distinct=False, threads=1)
    for threads in (1, 2):
        on, off = both(queries, cands, **kw, threads=threads)
        assert_same(on, ref)
        assert_same(off, ref)
    assert (ref.ranks == 1).any() and (ref.ranks > 30).any()


def test_a_constant_model_ties_everything_and_still_ranks_exactly():
    """Every candidate identical (one group per label): each query's order is its tie order
    alone, so its rank and top-k come from the hashes of the members, as in a full sort."""
    rng = np.random.default_rng(9)
    m, n = 700, 120
    labels = rng.integers(0, 4, m)
    q_labels = labels[rng.integers(0, m, n)]
    ones = np.ones((n, 5), dtype=np.float32)
    on, off = both([ones, ones], np.ones((m, 5), np.float32), query_labels=q_labels,
                   candidate_labels=labels, tie_seed=4)  # fmt: skip
    expect, orders = brute_rank(np.zeros((n, m)), labels[None, :] == q_labels[:, None], 4)
    np.testing.assert_array_equal(on.ranks, expect)
    np.testing.assert_array_equal(on.top_k, np.array([o[:10] for o in orders]))
    assert_same(on, off)
    assert on.extra["groups"] == len(np.unique(labels))


def test_signed_zeros_form_two_groups_that_tie_as_floats():
    """-0.0 and +0.0 differ as bits (two groups) but score equal: their members interleave in
    tie-key order, as in a full sort."""
    rng = np.random.default_rng(2)
    values = np.array([-0.0, 0.0, 1.0, -2.0], dtype=np.float64)
    c = rng.choice(values, 600)[:, None]
    labels = rng.integers(0, 3, 600)
    q = rng.choice(np.array([1.0, -1.0]), 50)[:, None]
    q_labels = labels[rng.integers(0, 600, 50)]
    on, off = both([q], c, query_labels=q_labels, candidate_labels=labels, top_k=400)
    expect, orders = brute_rank(q * c[:, 0][None, :], labels[None, :] == q_labels[:, None])
    np.testing.assert_array_equal(on.ranks, expect)
    np.testing.assert_array_equal(on.top_k, np.array([o[:400] for o in orders]))
    assert_same(on, off)


def test_groups_only_where_rows_and_labels_repeat():
    """A group is one (embedding bytes, label): the same row under two labels is two groups;
    a pool with too few repeats is scored candidate by candidate (None)."""
    rows = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])
    groups = group_candidates(rows, np.array([0, 0, 0, 1, 0, 0]))
    assert groups is not None
    np.testing.assert_array_equal(groups.first, [0, 2, 3])
    np.testing.assert_array_equal(groups.labels, [0, 0, 1])
    np.testing.assert_array_equal(groups.multiplicity, [3, 2, 1])
    np.testing.assert_array_equal(groups.members, [0, 1, 5, 2, 4, 3])
    assert group_candidates(rows, np.arange(6)) is None
    assert group_candidates(np.ones((4, 3)), np.zeros(4, int)) is None  # one group


def test_compiled_tie_keys_equal_tie_keys():
    """The ranking pass's compiled key is ``tie_keys`` for any query, candidate and seed."""
    rng = np.random.default_rng(0)
    q = rng.integers(0, 2**31, 200)
    c = rng.integers(0, 2**31, 200)
    for seed in (0, 1, 2**40 + 3):
        compiled = [_key(int(a), int(b), seed_constant(seed)) for a, b in zip(q, c, strict=True)]
        np.testing.assert_array_equal(np.array(compiled, dtype=np.uint64), tie_keys(q, c, seed))


def test_a_blind_pool_groups_and_keeps_the_top_k_of_any_answer_key():
    """A blind split ranks with a placeholder answer key (``SharedPool.rank``): every
    candidate correct, so repeated candidates group; its top-k is the top-k under the real
    labels (which the distinct path also groups) and under one label per candidate (which
    stops grouping): the top-k depends on scores and ties only."""
    rng = np.random.default_rng(4)
    cands, labels = repeated_pool(rng, 30, 900, 3, n_labels=5)
    n = 60
    queries = [rng.integers(-1, 2, (n, 3)).astype(np.float32)]
    blind, _ = both(
        queries, cands, query_labels=np.zeros(n, int), candidate_labels=np.zeros(900, int)
    )
    real, _ = both(queries, cands, query_labels=labels[:n], candidate_labels=labels)
    apart = rank_candidates(queries, cands, query_labels=np.zeros(n, int))
    assert "groups" not in apart.extra
    np.testing.assert_array_equal(blind.top_k, real.top_k)
    np.testing.assert_array_equal(blind.top_k, apart.top_k)
