"""Evaluation protocols: how a results row's value and uncertainty are computed from a model's
scores (``evaluate --protocol``).

``default``: the metric on the whole split, a seeded percentile-bootstrap interval over the
queries and its SE (``bootstrap.py``); paired tests in ``compare``. ``release``: what the
paper's code release reports, "the mean over 10 bootstrap samples ± SE", computed the way its
code computes it. The release has one procedure per dataset, and each follows from what its
queries rank, so the harness picks it from the candidate plan (it names no benchmark):

* a set of candidates per query (``PerQuerySets``; Symile-MIMIC, ``SymileMIMICModel.
  zeroshot_retrieval`` with ``resample_retrieval_ds``): each sample redraws the queries with
  replacement (``torch.randint``); each drawn query keeps its own candidate set; the argmax
  breaks ties at random (``np.random.choice`` among the maxima), drawn anew for every drawn
  query;
* one pool of split rows for every query (``SharedPool`` with rows; Symile-M3, ``test.py``
  with ``RandomSampler(replacement=True)``): the candidate bank and the queries are two
  independent draws with replacement of the split (the bank first: ``on_test_epoch_start``
  encodes it before the test loop draws the queries); ``torch.argmax`` takes the first maximum
  in the bank's drawn order, so ties go to the candidate drawn first; a drawn copy is a
  candidate like any other (for top-k and MRR, the copies of a medium are counted at its first
  position; top-1, what the release reports, is exact);
* candidates that are not rows (``SharedPool`` with values; binary XOR, ``main.py`` with
  ``resample_test_set``): each sample is a fresh test set from the data-generating process, and
  ``torch.argmax`` takes the lowest candidate index (the release enumerates the vectors in
  ``itertools.product`` order, our candidate ids). The harness cannot draw data, so the split
  is cut into 10 consecutive blocks of equal size, each a test set: XOR rows are independent
  draws, so 10 blocks of n rows are 10 fresh test sets of n rows (``build xor --test-n
  50000`` gives the release's 10 x 5,000). A split whose rows do not divide by 10 is refused.

A row's ``value`` is then the mean of the 10 samples' metric, ``se`` the standard error of that
mean, SD(ddof=1) / sqrt(10) (the release's Symile-MIMIC 0.435 ± 0.007 on 464 queries is this
SE: the bootstrap SD of the metric is ~0.023), and ``ci_low``/``ci_high`` the normal interval
value ± z·se at ``--confidence`` — what the release's "± SE" implies, narrower than the
metric's own uncertainty by sqrt(10). ``bootstrap.method`` names the procedure
(``release-queries``, ``release-queries-and-candidates``, ``release-fresh-sets``),
``bootstrap.resamples`` is 10. Per-query predictions are the whole split's, as under
``default``, so ``compare``, ``validate --dataset`` and the leaderboard re-score them the same
way. Every draw comes from numpy generators seeded by ``--seed``; nothing uses global state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.candidates import CandidatePlan, PerQuerySets, SharedPool
from symile_bench.harness.metrics import chance_outcomes, check_metric, group_indices
from symile_bench.harness.ranking import Ranking
from symile_bench.harness.results import BootstrapSettings, ResultRow
from symile_bench.harness.scorers import Scorer, get_scorer

PROTOCOLS = ("default", "release")
RELEASE_SAMPLES = 10
_BLOCK_BYTES = 128 * 2**20  # scores held at once


@dataclass(frozen=True)
class Samples:
    """The release's samples: per sample, the positions of the queries it holds (with
    repetition) and each one's rank (float: ``inf`` when its bank holds no correct
    candidate); ``banks``: each sample's drawn candidate positions, where the bank is redrawn."""

    method: str
    drawn: list[np.ndarray]
    ranks: list[np.ndarray]
    banks: list[np.ndarray] | None = None


def check_protocol(name: str) -> str:
    if name not in PROTOCOLS:
        raise HarnessInputError(f"--protocol {name!r}: use one of {', '.join(PROTOCOLS)}")
    return name


def release_samples(
    plan: CandidatePlan,
    queries: Sequence[np.ndarray],
    candidates: np.ndarray,
    scorer: str | Scorer,
    seed: int,
    advance: Callable[[int], None] = lambda n: None,
) -> Samples:
    """The 10 samples of the release's procedure for this plan (module docstring)."""
    sc = get_scorer(scorer)
    draws, ties = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if isinstance(plan, PerQuerySets):
        return _queries_redrawn(plan, queries, candidates, sc, draws, ties, advance)
    if plan.labels is None or plan.query_labels is None:
        raise HarnessInputError(
            "--protocol release needs the answers, which a blind split withholds"
        )
    if plan.rows is not None:
        return _bank_redrawn(plan, queries, candidates, sc, draws, advance)
    return _fresh_sets(plan, queries, candidates, sc, advance)


def _queries_redrawn(
    plan: PerQuerySets,
    queries: Sequence[np.ndarray],
    candidates: np.ndarray,
    sc: Scorer,
    draws: np.random.Generator,
    ties: np.random.Generator,
    advance: Callable[[int], None],
) -> Samples:
    n = len(plan.sets)
    scores = _set_scores(plan, queries, candidates, sc)
    own = scores[np.arange(n), plan.correct][:, None]
    above = (scores > own).sum(axis=1)
    tied = (scores == own).sum(axis=1) - 1  # others with exactly the correct one's score
    drawn, ranks = [], []
    for _ in range(RELEASE_SAMPLES):
        idx = draws.integers(0, n, n)
        # the correct one's place among the tied: uniform, as a random pick among the maxima
        ranks.append((1 + above[idx] + ties.integers(0, tied[idx] + 1)).astype(np.float64))
        drawn.append(idx)
        advance(1)
    return Samples("release-queries", drawn, ranks)


def _set_scores(
    plan: PerQuerySets, queries: Sequence[np.ndarray], candidates: np.ndarray, sc: Scorer
) -> np.ndarray:
    """``[N, m]`` scores of each query's own set (no per-query offset: it changes no rank)."""
    n, m = plan.sets.shape
    if sc.combine is None:
        return np.concatenate(
            [
                np.asarray(sc.block([q[i : i + 1] for q in queries], candidates[plan.sets[i]], np))
                for i in range(n)
            ]
        ).reshape(n, m)
    combined = sc.combined(queries)
    step = max(1, _BLOCK_BYTES // max(1, m * candidates.shape[1] * candidates.itemsize))
    return np.concatenate(
        [
            np.einsum("nd,nmd->nm", combined[i : i + step], candidates[plan.sets[i : i + step]])
            for i in range(0, n, step)
        ]
    ).reshape(n, m)


def _bank_redrawn(
    plan: SharedPool,
    queries: Sequence[np.ndarray],
    candidates: np.ndarray,
    sc: Scorer,
    draws: np.random.Generator,
    advance: Callable[[int], None],
) -> Samples:
    assert plan.labels is not None and plan.query_labels is not None
    n, m = len(plan.query_labels), len(plan.ids)
    drawn, ranks, banks = [], [], []
    for _ in range(RELEASE_SAMPLES):
        bank = draws.integers(0, m, m)  # the candidate bank is encoded first
        idx = draws.integers(0, n, n)
        items, first, counts = np.unique(bank, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")  # distinct candidates in drawn order
        distinct, inverse = np.unique(idx, return_inverse=True)
        r = _ranks_against(
            [q[distinct] for q in queries],
            plan.query_labels[distinct],
            candidates[items[order]],
            plan.labels[items[order]],
            counts[order],
            sc,
        )
        drawn.append(idx)
        ranks.append(r[inverse.reshape(-1)])
        banks.append(bank)
        advance(1)
    return Samples("release-queries-and-candidates", drawn, ranks, banks)


def _fresh_sets(
    plan: SharedPool,
    queries: Sequence[np.ndarray],
    candidates: np.ndarray,
    sc: Scorer,
    advance: Callable[[int], None],
) -> Samples:
    assert plan.labels is not None and plan.query_labels is not None
    n = len(plan.query_labels)
    if n % RELEASE_SAMPLES:
        raise HarnessInputError(
            f"--protocol release scores {RELEASE_SAMPLES} fresh test sets here (the candidates "
            f"are not rows, as XOR's vectors): the split is cut into {RELEASE_SAMPLES} "
            f"consecutive blocks of equal size, but it has {n:,} rows; build a test split of "
            f"{RELEASE_SAMPLES} x n rows (XOR: --test-n 50000 for the release's 10 x 5,000)"
        )
    r = _ranks_against(
        list(queries), plan.query_labels, candidates, plan.labels, np.ones(len(candidates)), sc
    )
    size = n // RELEASE_SAMPLES
    blocks = [np.arange(b * size, (b + 1) * size) for b in range(RELEASE_SAMPLES)]
    advance(RELEASE_SAMPLES)
    return Samples("release-fresh-sets", blocks, [r[b] for b in blocks])


def _ranks_against(
    queries: Sequence[np.ndarray],
    query_labels: np.ndarray,
    bank: np.ndarray,
    bank_labels: np.ndarray,
    weights: np.ndarray,
    sc: Scorer,
) -> np.ndarray:
    """Each query's rank in ``bank`` (in order; ``weights``: copies of each item): 1 + the copies
    scoring above its best correct candidate + the copies tied with it that come earlier
    (``torch.argmax`` takes the first maximum); ``inf`` when no candidate is correct."""
    n, m = len(query_labels), len(bank)
    out = np.full(n, np.inf)
    w = np.asarray(weights, dtype=np.float64)
    step = max(1, _BLOCK_BYTES // max(1, 24 * m))
    combined = sc.combined(list(queries)) if sc.combine is not None else None
    for q0 in range(0, n, step):
        q1 = min(n, q0 + step)
        if combined is not None:
            s = combined[q0:q1] @ bank.T
        else:
            s = np.asarray(sc.block([q[q0:q1] for q in queries], bank, np))
        correct = bank_labels[None, :] == query_labels[q0:q1, None]
        has = correct.any(axis=1)
        best = np.where(correct, s, -np.inf).max(axis=1)[:, None]
        tie = s == best
        first = np.argmax(correct & tie, axis=1)
        tied_weight = np.where(tie, w[None, :], 0.0)
        before = np.cumsum(tied_weight, axis=1)[np.arange(q1 - q0), first] - w[first]
        ranks = 1 + (s > best) @ w + before
        out[q0:q1] = np.where(has, ranks, np.inf)
    return out


def _outcomes(ranks: np.ndarray, metric: str) -> np.ndarray:
    if metric == "mrr":
        return 1.0 / ranks  # inf -> 0
    return (ranks <= int(metric[3:])).astype(np.float64)


def release_rows(
    samples: Samples,
    ranking: Ranking,
    *,
    split: str,
    condition: str | None = None,
    languages: Any = None,
    metrics: Iterable[str],
    confidence: float,
    seed: int,
) -> list[ResultRow]:
    """One row per metric (and per language where ``languages`` gives one key per query) from
    the samples: mean of the samples' metric ± the SE of that mean (module docstring)."""
    metrics = tuple(check_metric(m) for m in metrics)
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    n = len(ranking)
    groups: list[tuple[str | None, np.ndarray]] = [(None, np.ones(n, dtype=bool))]
    if languages is not None:
        lang = np.asarray(languages)
        for key, idx in group_indices(lang).items():
            member = np.zeros(n, dtype=bool)
            member[idx] = True
            groups.append((str(key), member))
    settings = BootstrapSettings(
        method=samples.method, resamples=RELEASE_SAMPLES, seed=seed, confidence=confidence
    )
    chance = {m: chance_outcomes(m, ranking.n_candidates, ranking.n_correct) for m in metrics}
    rows = []  # in summarize's order: per group, per metric
    for language, member in groups:
        for metric in metrics:
            means = np.array(
                [
                    _outcomes(r[member[d]], metric).mean()
                    for d, r in zip(samples.drawn, samples.ranks, strict=True)
                    if member[d].any()
                ]
            )
            if not len(means):  # no sample drew a query of this group
                continue
            value = float(means.mean())
            se = float(means.std(ddof=1) / math.sqrt(len(means))) if len(means) > 1 else 0.0
            rows.append(
                ResultRow(
                    split=split,
                    condition=condition,
                    language=language,
                    metric=metric,
                    value=value,
                    ci_low=max(0.0, value - z * se),
                    ci_high=min(1.0, value + z * se),
                    se=se,
                    n=int(member.sum()),
                    chance=float(chance[metric][member].mean()),
                    bootstrap=settings,
                )
            )
    return rows
