"""Zero-shot scoring: scorers against brute force, ranks and the tie rule, chunking, backends,
and the behaviours the benchmarks rely on (perfect / constant encoders, M3's three-way task)."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

from symile_bench.errors import HarnessInputError
from symile_bench.harness.bootstrap import bootstrap_mean
from symile_bench.harness.metrics import outcomes
from symile_bench.harness.ranking import rank_candidate_sets, rank_candidates
from symile_bench.harness.scorers import (
    SCORERS,
    Scorer,
    get_scorer,
    register_scorer,
    score_matrix,
    scorer_names,
)
from symile_bench.harness.ties import tie_keys

# ---------------------------------------------------------------------------- brute force


def brute_scores(queries, cands, kind):
    n, m = len(queries[0]), len(cands)
    out = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            vecs = [q[i] for q in queries] + [cands[j]]
            if kind == "mip":
                out[i, j] = sum(np.prod([v[k] for v in vecs]) for k in range(len(cands[j])))
            else:
                out[i, j] = sum(float(x @ y) for x, y in itertools.combinations(vecs, 2))
    return out


def brute_rank(scores, correct_mask, seed=0):
    """Sort every full row by (score desc, tie key asc); 1-based rank of the first correct."""
    ranks, orders = [], []
    for i, row in enumerate(scores):
        keys = tie_keys(i, np.arange(len(row)), seed)
        order = np.lexsort((keys, -row))
        orders.append(order)
        ranks.append(np.flatnonzero(correct_mask[i, order])[0] + 1)
    return np.array(ranks), orders


def int_embeddings(rng, shape, low=-1, high=2):
    """Small integers stored as float64: scores are exact and ties are frequent."""
    return rng.integers(low, high, size=shape).astype(np.float64)


# ---------------------------------------------------------------------------- scorers


@pytest.mark.parametrize("kind", ["mip", "pairwise"])
@pytest.mark.parametrize("n_query_modalities", [1, 2, 3])
def test_scores_equal_a_python_loop(kind, n_query_modalities):
    """mip = Σ_k Π_j q_j[k] c[k]; pairwise = sum of all pairwise dot products (query–query
    pairs included): the combined-vector matmul equals the definition computed by hand."""
    rng = np.random.default_rng(n_query_modalities)
    queries = [rng.standard_normal((7, 5)) for _ in range(n_query_modalities)]
    cands = rng.standard_normal((9, 5))
    np.testing.assert_allclose(
        score_matrix(queries, cands, kind), brute_scores(queries, cands, kind), rtol=1e-12
    )


def test_pairwise_ranks_ignore_the_query_only_constant_but_reported_scores_include_it():
    rng = np.random.default_rng(3)
    queries = [rng.standard_normal((20, 6)) for _ in range(2)]
    cands = rng.standard_normal((15, 6))
    full = brute_scores(queries, cands, "pairwise")
    r = rank_candidates(queries, cands, query_labels=np.arange(20) % 15, scorer="pairwise")
    expect, orders = brute_rank(full, np.arange(15)[None, :] == (np.arange(20) % 15)[:, None])
    np.testing.assert_array_equal(r.ranks, expect)
    top = np.array([o[:10] for o in orders])
    np.testing.assert_array_equal(r.top_k, top)
    np.testing.assert_allclose(r.top_k_scores, np.take_along_axis(full, top, axis=1))


# ---------------------------------------------------------------------------- ranks and ties


@pytest.mark.parametrize("m", [40, 1500, 2500])  # whole rows; groups with tail + leftovers; groups
@pytest.mark.parametrize("kind", ["mip", "pairwise"])
def test_ranks_and_top_k_equal_brute_force_sort_including_ties(m, kind):
    """Integer embeddings make many exact ties; ranks and top-10 equal a full sort by
    (score desc, tie key asc), with several correct candidates per query (labels)."""
    rng = np.random.default_rng(m)
    n, d, n_labels = 60, 4, 7
    queries = [int_embeddings(rng, (n, d)) for _ in range(2)]
    cands = int_embeddings(rng, (m, d))
    cand_labels = rng.integers(0, n_labels, m)
    q_labels = rng.integers(0, n_labels, n)
    r = rank_candidates(
        queries, cands, query_labels=q_labels, candidate_labels=cand_labels, scorer=kind
    )
    full = score_matrix(queries, cands, kind)
    expect, orders = brute_rank(full, cand_labels[None, :] == q_labels[:, None])
    np.testing.assert_array_equal(r.ranks, expect)
    np.testing.assert_array_equal(r.top_k, np.array([o[:10] for o in orders]))
    np.testing.assert_array_equal(r.n_correct, np.bincount(cand_labels, minlength=7)[q_labels])


def test_float32_ranks_equal_a_sort_of_the_same_float32_scores():
    """Real-valued float32 embeddings (ties only by rounding): ranks equal the brute-force
    order of the float32 scores the block computes, for strong and weak queries alike."""
    rng = np.random.default_rng(7)
    m, d, n = 6007, 16, 80
    cands = rng.standard_normal((m, d)).astype(np.float32)
    target = rng.integers(0, m, n)
    strength = np.linspace(0, 3, n, dtype=np.float32)[:, None]  # weak ... strong queries
    q = (strength * cands[target] + rng.standard_normal((n, d))).astype(np.float32)
    r = rank_candidates([q], cands, query_labels=target)
    s = (q @ cands.T).astype(np.float64)
    best = s[np.arange(n), target]
    above = (s > best[:, None]).sum(1)
    tied_before = np.array(
        [
            np.count_nonzero(
                tie_keys(i, np.flatnonzero(s[i] == best[i]), 0) < tie_keys(i, target[i], 0)
            )
            for i in range(n)
        ]
    )
    np.testing.assert_array_equal(r.ranks, 1 + above + tied_before)
    assert (r.ranks == 1).any() and (r.ranks > 100).any()


# d = 1: the score is the product itself, so -0.0 survives (a BLAS sum starts at +0.0)
_PRODUCT = Scorer("product", score=lambda qs, c: qs[0] * c[:, 0][None, :])


@pytest.mark.parametrize("scorer", ["mip", _PRODUCT], ids=["mip", "product"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_counts_are_exact_for_scores_of_every_sign_and_signed_zeros(dtype, scorer):
    """The compiled counts (inside the groups that reach best, or over the whole row) are
    exact: scores that repeat exactly, negative and positive bests, and -0.0 beside +0.0 (equal
    as floats, not as bits) rank exactly as a full sort. d = 1 and queries of +-1 make the
    scores the candidate values themselves (or their negations)."""
    rng = np.random.default_rng(5)
    m, n = 3000, 300  # wide enough for the group plan; several sub-blocks and count chunks
    values = np.array([-3.5, -1.0, -0.0, 0.25, 2.0], dtype=dtype)
    c = np.where(rng.random(m) < 0.7, rng.choice(values, m), rng.standard_normal(m)).astype(dtype)
    c[-1] = 0.0  # the only +0.0: tied with every -0.0 (as floats) though their bits differ
    q = rng.choice(np.array([1.0, -1.0], dtype=dtype), n)[:, None]
    # labels 0-9 hold the negative values, 10-39 the others, 40 the +0.0 alone: every sign of
    # best occurs, and best = +-0.0 with its ties only among the other zero's bit pattern
    cand_labels = np.where(
        np.signbit(c) & (c != 0), rng.integers(0, 10, m), rng.integers(10, 40, m)
    )
    cand_labels[-1] = 40
    q_labels = np.where(np.arange(n) % 5 == 0, 40, rng.integers(0, 40, n))
    r = rank_candidates(
        [q],
        c[:, None],
        query_labels=q_labels,
        candidate_labels=cand_labels,
        memory_budget=m * np.dtype(dtype).itemsize * 100,
        scorer=scorer,
    )
    scores = (q * c[None, :]).astype(np.float64)
    expect, orders = brute_rank(scores, cand_labels[None, :] == q_labels[:, None])
    best = np.array(
        [scores[i, o[e - 1]] for i, (o, e) in enumerate(zip(orders, expect, strict=True))]
    )
    assert (best > 0).any() and (best < 0).any() and (best == 0).any()
    np.testing.assert_array_equal(r.ranks, expect)
    np.testing.assert_array_equal(r.top_k, np.array([o[:10] for o in orders]))


def test_threads_do_not_change_results():
    """Rows of a block split over threads rank exactly as in one thread."""
    rng = np.random.default_rng(13)
    n, m, d = 700, 4000, 8
    cands = rng.standard_normal((m, d)).astype(np.float32)
    labels = rng.integers(0, 300, m)
    q_labels = labels[rng.integers(0, m, n)]
    queries = [rng.standard_normal((n, d)).astype(np.float32) for _ in range(2)]
    kw = dict(query_labels=q_labels, candidate_labels=labels, memory_budget=m * 4 * 256)
    one = rank_candidates(queries, cands, **kw, threads=1)
    for threads in (2, 3):
        other = rank_candidates(queries, cands, **kw, threads=threads)
        np.testing.assert_array_equal(other.ranks, one.ranks)
        np.testing.assert_array_equal(other.top_k, one.top_k)
        np.testing.assert_array_equal(other.top_k_scores, one.top_k_scores)
    assert (one.ranks == 1).any() and (one.ranks > 100).any()


def test_chunked_equals_unchunked():
    """Query chunking and candidate chunking (tiny memory budget) give the same ranks and
    top-k as one block."""
    rng = np.random.default_rng(11)
    n, m, d = 70, 1500, 3
    queries = [int_embeddings(rng, (n, d), -2, 3) for _ in range(2)]
    cands = int_embeddings(rng, (m, d), -2, 3)
    labels = rng.integers(0, 50, m)
    q_labels = labels[rng.integers(0, m, n)]
    kw = dict(query_labels=q_labels, candidate_labels=labels)
    one = rank_candidates(queries, cands, **kw, memory_budget=1 << 30)
    assert one.extra["query_block"] == n and one.extra["candidate_block"] == m
    by_query = rank_candidates(queries, cands, **kw, memory_budget=m * 8 * 16)
    assert by_query.extra["query_block"] == 16 and by_query.extra["candidate_block"] == m
    by_both = rank_candidates(queries, cands, **kw, memory_budget=4096)
    assert by_both.extra["candidate_block"] < m
    for other in (by_query, by_both):
        np.testing.assert_array_equal(other.ranks, one.ranks)
        np.testing.assert_array_equal(other.top_k, one.top_k)
        np.testing.assert_array_equal(other.top_k_scores, one.top_k_scores)


def test_tie_keys_are_deterministic_distinct_and_seeded():
    q = np.repeat(np.arange(50), 40)
    c = np.tile(np.arange(40), 50)
    k0 = tie_keys(q, c, 0)
    assert len(np.unique(k0)) == len(k0)
    np.testing.assert_array_equal(k0, tie_keys(q, c, 0))
    assert (k0 != tie_keys(q, c, 1)).mean() > 0.99
    assert int(tie_keys(3, 4, 0)) == int(k0[3 * 40 + 4])


# ---------------------------------------------------------------------------- per-query sets


@pytest.mark.parametrize("as_mask", [False, True])
def test_per_query_candidate_sets_equal_brute_force(as_mask):
    """MIMIC layout: each query ranks its own 10 candidates (ties by column position)."""
    rng = np.random.default_rng(5)
    n, pool, d = 90, 300, 3
    queries = [int_embeddings(rng, (n, d)) for _ in range(2)]
    cands = int_embeddings(rng, (pool, d))
    ids = rng.integers(0, pool, (n, 10))
    col = rng.integers(0, 10, n)
    mask = np.zeros((n, 10), bool)
    mask[np.arange(n), col] = True
    r = rank_candidate_sets(queries, cands, ids, mask if as_mask else col, top_k=3)
    full = np.stack(
        [score_matrix([q[i : i + 1] for q in queries], cands[ids[i]])[0] for i in range(n)]
    )
    expect, orders = brute_rank(full, mask)
    np.testing.assert_array_equal(r.ranks, expect)
    np.testing.assert_array_equal(r.top_k, np.array([ids[i][o[:3]] for i, o in enumerate(orders)]))
    assert r.chance() == pytest.approx(0.1)


# ---------------------------------------------------------------------------- behaviours


def test_perfect_encoder_scores_one():
    """mip of (c_t ⊙ r, 1/r) against unit candidates is c_t · c: the target wins every time."""
    rng = np.random.default_rng(2)
    cands = rng.standard_normal((32, 8))
    cands /= np.linalg.norm(cands, axis=1, keepdims=True)
    target = rng.integers(0, 32, 500)
    r_ = rng.uniform(0.5, 2.0, (500, 8))
    r = rank_candidates([cands[target] * r_, 1 / r_], cands, query_labels=target)
    assert (r.ranks == 1).all()
    b = bootstrap_mean(outcomes(r.ranks, "top1"), seed=0)
    assert (b.value, b.ci_low, b.ci_high) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("scorer", ["mip", "pairwise"])
def test_constant_encoder_scores_chance(scorer):
    """All scores equal: the tie rule ranks candidates in a per-query random order, so top-1 is
    chance (1/32 for XOR's candidates; 1/10 per query set even when the correct candidate is
    always stored first) and chance lies inside the bootstrap interval."""
    n = 4000
    ones = np.ones((n, 5))
    r = rank_candidates(
        [ones, ones], np.ones((32, 5)), query_labels=np.arange(n) % 32, scorer=scorer
    )
    b = bootstrap_mean(outcomes(r.ranks, "top1"), seed=1)
    assert r.chance() == pytest.approx(1 / 32)
    assert b.ci_low <= 1 / 32 <= b.ci_high
    sets = rank_candidate_sets(
        [ones, ones],
        np.ones((50, 5)),
        np.tile(np.arange(10), (n, 1)),
        np.zeros(n, int),
        scorer=scorer,
    )
    b = bootstrap_mean(outcomes(sets.ranks, "top1"), seed=2)
    assert b.ci_low <= 0.1 <= b.ci_high
    assert np.bincount(sets.ranks, minlength=11)[1:].min() > n / 10 * 0.7  # ranks ~ uniform


def m3_embeddings(rng, n, w, n_classes, images_per_class, noise):
    """Embeddings on language ⊗ class features (d = w * K): audio = its language one-hot
    expanded over classes; image = its class one-hot expanded over languages; text = the sum
    over its w words of the one-hot (language, class) feature. Σ_k a_k t_k i_k is 1 only for the
    class spoken in the audio's language: the information is genuinely three-way."""
    d = w * n_classes
    lang = rng.integers(0, w, n)
    cls = rng.integers(0, n_classes, n)
    audio = np.zeros((n, w, n_classes))
    audio[np.arange(n), lang, :] = 1
    text = np.zeros((n, w, n_classes))
    for i in range(n):
        others = rng.choice(np.setdiff1d(np.arange(n_classes), [cls[i]]), w - 1, replace=False)
        langs = np.setdiff1d(np.arange(w), [lang[i]])
        text[i, lang[i], cls[i]] = 1
        text[i, langs, others] = 1  # w - 1 distractors: other classes, other languages
    img_cls = np.repeat(np.arange(n_classes), images_per_class)
    image = np.zeros((len(img_cls), w, n_classes))
    image[np.arange(len(img_cls)), :, img_cls] = 1

    def flat(x):
        x = x.reshape(len(x), d)
        return x + noise * rng.standard_normal(x.shape)

    return [flat(audio), flat(text)], flat(image), img_cls, cls


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_m3_shaped_data_pairwise_stays_at_one_over_w_while_mip_reaches_one(noise):
    """On M3-shaped data CLIP's pairwise score cannot use the (audio, text) interaction: it sees
    only that the image's class is one of the text's w words, so top-1 <= 1/w (within noise);
    Symile's mip scores 1.0."""
    rng = np.random.default_rng(12)
    w, n = 5, 3000
    queries, images, img_cls, cls = m3_embeddings(rng, n, w, 20, 2, noise)
    kw = dict(query_labels=cls, candidate_labels=img_cls)
    mip = rank_candidates(queries, images, scorer="mip", **kw)
    pair = rank_candidates(queries, images, scorer="pairwise", **kw)
    assert (mip.ranks == 1).all()
    b = bootstrap_mean(outcomes(pair.ranks, "top1"), seed=3)
    assert b.value <= 1 / w + 3 * b.se
    assert b.ci_low <= 1 / w
    # what pairwise can see (text–image) it uses: the 2w images of the text's w classes lead
    assert (pair.ranks <= 2 * w).all()
    assert b.value > 1 / w - 4 * b.se  # it picks among those at random: about 1/w


# ---------------------------------------------------------------------------- backends


def test_torch_backend_matches_numpy():
    """Same ranks and top-k on the torch path (cpu here; cuda when present), ties included."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    n, m = 40, 3000
    queries = [int_embeddings(rng, (n, 4)) for _ in range(2)]
    cands = int_embeddings(rng, (m, 4))
    labels = rng.integers(0, 30, m)
    q_labels = labels[rng.integers(0, m, n)]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    ref = rank_candidates(queries, cands, query_labels=q_labels, candidate_labels=labels)
    for device in devices:
        for budget in (1 << 30, 4096):
            r = rank_candidates(
                queries,
                cands,
                query_labels=q_labels,
                candidate_labels=labels,
                backend="torch",
                device=device,
                memory_budget=budget,
            )
            np.testing.assert_array_equal(r.ranks, ref.ranks)
            np.testing.assert_array_equal(r.top_k, ref.top_k)
            assert r.backend == "torch"
        ids = rng.integers(0, m, (n, 10))
        a = rank_candidate_sets(queries, cands, ids, np.zeros(n, int))
        b = rank_candidate_sets(
            queries, cands, ids, np.zeros(n, int), backend="torch", device=device
        )
        np.testing.assert_array_equal(a.ranks, b.ranks)


# ---------------------------------------------------------------------------- block scorers


def two_products(queries, cands, xp):
    """A toy scorer not of the combine form, (y·x)(z·x) + y·z: two matmuls per block plus
    elementwise work, the shape of scorers built from pairwise inner products."""
    y, z = queries
    return (y @ cands.T) * (z @ cands.T) + (y * z).sum(-1)[:, None]


def test_a_block_scorer_runs_the_chunked_threaded_path_on_both_backends():
    """A ``score_block`` scorer equals its definition, and ranks like a full sort of its score
    matrix for every chunking, thread count and backend, in a shared pool and per-query sets."""
    rng = np.random.default_rng(21)
    n, m, d = 60, 2500, 4
    queries = [int_embeddings(rng, (n, d)) for _ in range(2)]
    cands = int_embeddings(rng, (m, d))
    labels = rng.integers(0, 9, m)
    q_labels = rng.integers(0, 9, n)
    try:
        register_scorer("test-two-products", score_block=two_products)
        full = score_matrix(queries, cands, "test-two-products")
        y, z = queries
        expect_full = np.array(
            [[(y[i] @ x) * (z[i] @ x) + y[i] @ z[i] for x in cands] for i in range(n)]
        )
        np.testing.assert_array_equal(full, expect_full)
        expect, orders = brute_rank(full, labels[None, :] == q_labels[:, None])
        kw = dict(query_labels=q_labels, candidate_labels=labels, scorer="test-two-products")
        has_torch = importlib.util.find_spec("torch") is not None
        runs = [dict(memory_budget=b, threads=t) for b, t in ((1 << 30, 1), (1 << 30, 2))]
        runs += [dict(memory_budget=b, threads=2) for b in (m * 8 * 16, 4096)]
        runs += [dict(backend="torch", device="cpu", memory_budget=b) for b in (1 << 30, 4096)]
        for run in runs if has_torch else runs[:-2]:
            r = rank_candidates(queries, cands, **kw, **run)
            np.testing.assert_array_equal(r.ranks, expect)
            np.testing.assert_array_equal(r.top_k, np.array([o[:10] for o in orders]))
            np.testing.assert_array_equal(r.top_k_scores, np.take_along_axis(full, r.top_k, 1))
        ids = rng.integers(0, m, (n, 10))
        col = rng.integers(0, 10, n)
        set_expect, _ = brute_rank(np.take_along_axis(full, ids, 1), np.arange(10) == col[:, None])
        for backend in ["numpy", "torch"] if has_torch else ["numpy"]:
            sets = rank_candidate_sets(
                queries, cands, ids, col, scorer=kw["scorer"], backend=backend
            )
            np.testing.assert_array_equal(sets.ranks, set_expect)
    finally:
        SCORERS.unregister("test-two-products")


# ---------------------------------------------------------------------------- registry, errors


def test_a_registered_scorer_is_usable_by_name():
    """A user scorer with a full score function (negative squared distance, not a matmul of a
    combined vector) ranks like brute force; names are unique unless overwrite=True."""

    def neg_dist(queries, cands):
        q = queries[0]
        return -((q[:, None, :] - cands[None, :, :]) ** 2).sum(-1)

    try:
        register_scorer("test-neg-dist", score=neg_dist, description="test")
        assert "test-neg-dist" in scorer_names()
        rng = np.random.default_rng(4)
        q, c = rng.standard_normal((30, 3)), rng.standard_normal((1200, 3))
        t = rng.integers(0, 1200, 30)
        r = rank_candidates([q], c, query_labels=t, scorer="test-neg-dist", memory_budget=8192)
        expect, _ = brute_rank(neg_dist([q], c), np.arange(1200)[None, :] == t[:, None])
        np.testing.assert_array_equal(r.ranks, expect)
        with pytest.raises(HarnessInputError, match="already registered"):
            register_scorer("test-neg-dist", score=neg_dist)
        with pytest.raises(HarnessInputError, match="torch"):
            rank_candidates([q], c, query_labels=t, scorer="test-neg-dist", backend="torch")
    finally:
        SCORERS.unregister("test-neg-dist")
    assert isinstance(get_scorer("mip"), Scorer)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda q, c: rank_candidates([q], c, query_labels=np.full(5, 99)), "no correct candidate"),
        (lambda q, c: rank_candidates([q, q[:3]], c, query_labels=np.zeros(5, int)), "aligned"),
        (lambda q, c: rank_candidates([q * np.nan], c, query_labels=np.zeros(5, int)), "NaN"),
        (
            lambda q, c: rank_candidates([q], c, query_labels=np.zeros(5, int), scorer="nope"),
            "nope",
        ),
        (lambda q, c: rank_candidates([q], c, query_labels=np.zeros(5, int), backend="jax"), "jax"),
        (lambda q, c: rank_candidates([q], c[:, :2], query_labels=np.zeros(5, int)), "dimension"),
        (lambda q, c: rank_candidates([q], c, query_labels=np.zeros(5, int), threads=0), "threads"),
        (lambda q, c: rank_candidate_sets([q], c, np.zeros((5, 3), int), np.full(5, 3)), "0..2"),
    ],
)
def test_user_errors_name_the_problem(call, match):
    rng = np.random.default_rng(0)
    with pytest.raises(HarnessInputError, match=match):
        call(rng.standard_normal((5, 4)), rng.standard_normal((8, 4)))
