"""A ``Ranking`` summarised for ``results.json``: one row per metric (and per language where the
task groups) with its bootstrap interval and chance level, and the per-query predictions
(what ``symile-bench evaluate`` writes for each condition)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    PAPER_SAMPLES,
    bootstrap_mean,
    paper_style,
)
from symile_bench.harness.metrics import (
    DEFAULT_METRICS,
    chance_outcomes,
    check_metric,
    group_indices,
    outcomes,
)
from symile_bench.harness.ranking import Ranking
from symile_bench.harness.results import (
    BootstrapSettings,
    PaperStyle,
    Predictions,
    ResultRow,
)


def summarize(
    ranks: Any,
    *,
    split: str,
    condition: str | None = None,
    languages: Any = None,
    metrics: Iterable[str] = DEFAULT_METRICS,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    paper_samples: int | None = PAPER_SAMPLES,
) -> list[ResultRow]:
    """One row per metric over all queries (``language=None``) and, when ``languages`` (one key
    per query) is given, one row per (language, metric). Each row: percentile bootstrap over
    that row's queries (seeded with ``seed``) and the paper-style 10-sample mean ± SE."""
    r = ranks.ranks if isinstance(ranks, Ranking) else np.asarray(ranks)
    metrics = tuple(check_metric(m) for m in metrics)
    chance = (
        {m: chance_outcomes(m, ranks.n_candidates, ranks.n_correct) for m in metrics}
        if isinstance(ranks, Ranking)
        else None
    )
    groups: list[tuple[str | None, np.ndarray]] = [(None, np.arange(len(r)))]
    if languages is not None:
        lang = np.asarray(languages)
        if lang.shape != r.shape:
            raise HarnessInputError(
                f"languages has {lang.size} entries but there are {len(r)} queries"
            )
        groups += [(str(k), idx) for k, idx in group_indices(lang).items()]
    rows = []
    for language, idx in groups:
        for metric in metrics:
            x = outcomes(r[idx], metric)
            b = bootstrap_mean(x, resamples=resamples, confidence=confidence, seed=seed)
            ps = None
            if paper_samples:
                p = paper_style(x, samples=paper_samples, seed=seed)
                ps = PaperStyle(mean=p.mean, se=p.se, samples=p.samples, seed=p.seed)
            rows.append(
                ResultRow(
                    split=split,
                    condition=condition,
                    language=language,
                    metric=metric,
                    value=b.value,
                    ci_low=b.ci_low,
                    ci_high=b.ci_high,
                    se=b.se,
                    n=b.n,
                    chance=None if chance is None else float(chance[metric][idx].mean()),
                    bootstrap=BootstrapSettings(
                        method=b.method, resamples=b.resamples, seed=b.seed, confidence=b.confidence
                    ),
                    paper_style=ps,
                )
            )
    return rows


def predictions_block(
    ranking: Ranking,
    *,
    split: str,
    condition: str | None = None,
    query_ids: Any = None,
    candidate_ids: Any = None,
) -> Predictions:
    """Per-query predictions of a ``Ranking``; ``query_ids`` (default: row positions) and
    ``candidate_ids`` (maps candidate index -> dataset id; default: the index)."""
    n = len(ranking)
    qids = np.arange(n) if query_ids is None else np.asarray(query_ids)
    if len(qids) != n:
        raise HarnessInputError(f"query_ids has {len(qids)} entries but there are {n} queries")
    top = ranking.top_k
    if candidate_ids is not None:
        cmap = np.asarray(candidate_ids)
        top = cmap[top]
    return Predictions(
        split=split,
        condition=condition,
        k=int(ranking.top_k.shape[1]),
        query_ids=qids.tolist(),
        ranks=ranking.ranks.tolist(),
        top_k=top.tolist(),
    )
