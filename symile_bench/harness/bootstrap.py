"""Seeded percentile bootstrap over queries, the release's 10-sample style, and a paired test.

The statistic is always a mean of per-query outcomes (see ``metrics``). Every function takes a
``seed`` and uses its own ``numpy.random.Generator`` (never global state).

How resamples are drawn (and why this is exactly the ordinary bootstrap)
-----------------------------------------------------------------------
Resampling n queries with replacement and averaging their outcomes depends only on how many
times each *distinct outcome value* is drawn: those counts are jointly
Multinomial(n, (n_v / n)_v), where n_v is how often value v occurs. So when the outcome vector
has few distinct values — top-k outcomes are 0/1 (the resampled sum is exactly
Binomial(n, p̂)), reciprocal ranks of a good model concentrate on a few ranks, paired
differences of 0/1 outcomes take three values — we draw those multinomial counts directly: the
resampled means have exactly the same distribution as with index resampling, at a cost
proportional to the number of distinct values instead of n. When there are many distinct
values (more than n / 10, where drawing per-value counts costs more than drawing indices), we
resample indices, cache-friendly: one multinomial draw splits each resample's n draws over
blocks of 32,768 consecutive queries (how many of the n uniform draws land in each block), then
the draws inside a block are uniform integers gathered from that block alone (it stays in
cache) and summed per resample. Conditional on the block counts the draws are uniform within
blocks, so this too is exactly n iid uniform draws over all queries. Both samplers are exact;
they consume the random stream differently, so results are reproducible for a given
(seed, data) but the two samplers do not produce the same individual resamples.
We do not use the Poisson bootstrap (it changes the sample size per resample and is only
approximately the multinomial bootstrap).

Interval: the percentile interval, the (1 − c)/2 and (1 + c)/2 quantiles of the resampled means
(numpy's default linear interpolation). SE: the standard deviation (ddof=1) of the resampled
means. ``value`` is the mean on the full sample, not the mean of the resamples.

Paper style: the release reports the mean over 10 bootstrap samples of the test set with a
standard error. Our reading: the mean of 10 resampled means and their standard error of the
mean, SD(ddof=1) / √10 (consistent with the release's Symile-MIMIC 0.435 ± 0.007 on n = 464,
where the bootstrap SD of the metric itself is ≈ 0.023). It understates the uncertainty of the
metric by √10 and is reported for comparison only; the percentile interval is what to quote.

Paired test: both models scored on the same queries; d_i = a_i − b_i; resample queries (pairs)
and take mean(d*). Interval: percentile interval of mean(d*). Two-sided p-value for H0: mean
difference = 0, from the bootstrap distribution shifted to the null (Hall & Wilson 1991; the
paired bootstrap of Koehn 2004 / Berg-Kirkpatrick et al. 2012):
``p = (1 + #{b : |mean(d*_b) − d̄| ≥ |d̄|}) / (B + 1)``, so it is never 0 and two identical
models (d = 0 everywhere) get p = 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
PAPER_SAMPLES = 10
METHOD = "percentile"
_DISTINCT_FRACTION = 10  # multinomial sampler when distinct values <= n / this
_BLOCK_ELEMENTS = 1 << 22  # random draws held in memory at once
_LOCAL = 1 << 15  # index sampler: queries per cache-resident block (256 KiB of float64)


@dataclass(frozen=True)
class BootstrapResult:
    value: float
    ci_low: float
    ci_high: float
    se: float
    n: int
    method: str
    resamples: int
    seed: int
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PaperStyleResult:
    mean: float
    se: float
    samples: int
    seed: int


@dataclass(frozen=True)
class PairedBootstrapResult:
    difference: float  # mean(a) - mean(b)
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    value_a: float
    value_b: float
    n: int
    method: str
    resamples: int
    seed: int
    confidence: float

    def p_value_text(self) -> str:
        """The p-value as a reader should see it: at the resampling floor, 1 / (B + 1), the
        bootstrap only says it is below 1 / B."""
        if self.p_value * (self.resamples + 1) <= 1 + 1e-9:
            return f"< {1 / self.resamples:g}"
        return f"{self.p_value:.4f}"


def _check_vector(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise HarnessInputError(f"{name} must be a 1-D vector of per-query outcomes, got {a.shape}")
    if a.size == 0:
        raise HarnessInputError(f"{name} is empty: there are no queries to bootstrap")
    if not np.isfinite(a).all():
        raise HarnessInputError(f"{name} contains NaN or infinite outcomes")
    return a


def _check_settings(resamples: int, confidence: float) -> None:
    if not isinstance(resamples, (int, np.integer)) or resamples < 2:
        raise HarnessInputError(f"resamples must be an integer >= 2, got {resamples!r}")
    if not 0 < confidence < 1:
        raise HarnessInputError(f"confidence must be in (0, 1), got {confidence!r}")


def resampled_means(x: Any, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``resamples`` bootstrap replicates of ``mean(x)`` (float64 ``[resamples]``)."""
    x = _check_vector(x, "outcomes")
    n = len(x)
    values, counts = np.unique(x, return_counts=True)
    out = np.empty(resamples, dtype=np.float64)
    if len(values) == 1:
        out.fill(values[0])
        return out
    if len(values) <= max(64, n // _DISTINCT_FRACTION):
        p = counts / n
        block = max(1, _BLOCK_ELEMENTS // len(values))
        for b0 in range(0, resamples, block):
            b1 = min(resamples, b0 + block)
            draws = rng.multinomial(n, p, size=b1 - b0)
            out[b0:b1] = (draws @ values) / n
        return out
    return _index_means(x, resamples, rng, out)


def _index_means(
    x: np.ndarray, resamples: int, rng: np.random.Generator, out: np.ndarray
) -> np.ndarray:
    """Index resampling, cache-friendly: the n draws of a resample are split over blocks of
    ``_LOCAL`` consecutive queries by one multinomial draw (how many of the n uniform draws land
    in each block), then drawn uniformly inside each block. Conditional on the block counts the
    draws are uniform within blocks, so this is exactly n iid uniform draws over all queries."""
    n = len(x)
    sizes = np.full(-(-n // _LOCAL), _LOCAL, dtype=np.int64)
    sizes[-1] = n - _LOCAL * (len(sizes) - 1)
    counts = rng.multinomial(n, sizes / n, size=resamples)  # [B, blocks]
    sums = np.zeros(resamples, dtype=np.float64)
    for g, size in enumerate(sizes):
        xg = x[g * _LOCAL : g * _LOCAL + size]
        cg = counts[:, g]
        cum = np.concatenate([[0], np.cumsum(cg)])
        b0 = 0
        while b0 < resamples:
            b1 = int(np.searchsorted(cum, cum[b0] + _BLOCK_ELEMENTS, side="right")) - 1
            b1 = min(resamples, max(b1, b0 + 1))
            total = int(cum[b1] - cum[b0])
            if total:
                vals = np.take(xg, rng.integers(0, size, size=total))
                nonzero = cg[b0:b1] > 0
                starts = (cum[b0:b1] - cum[b0])[nonzero]
                sums[b0:b1][nonzero] += np.add.reduceat(vals, starts)
            b0 = b1
    out[:] = sums / n
    return out


def _percentiles(means: np.ndarray, confidence: float) -> tuple[float, float]:
    lo, hi = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def bootstrap_mean(
    outcomes: Any,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile bootstrap of the mean of per-query ``outcomes``."""
    x = _check_vector(outcomes, "outcomes")
    _check_settings(resamples, confidence)
    means = resampled_means(x, int(resamples), np.random.default_rng(seed))
    lo, hi = _percentiles(means, confidence)
    return BootstrapResult(
        value=float(x.mean()),
        ci_low=lo,
        ci_high=hi,
        se=float(means.std(ddof=1)),
        n=len(x),
        method=METHOD,
        resamples=int(resamples),
        seed=int(seed),
        confidence=float(confidence),
    )


def paper_style(outcomes: Any, *, samples: int = PAPER_SAMPLES, seed: int = 0) -> PaperStyleResult:
    """The release's "mean over 10 bootstrap samples ± SE" (SE of that mean)."""
    x = _check_vector(outcomes, "outcomes")
    if not isinstance(samples, (int, np.integer)) or samples < 2:
        raise HarnessInputError(f"samples must be an integer >= 2, got {samples!r}")
    means = resampled_means(x, int(samples), np.random.default_rng(seed))
    return PaperStyleResult(
        mean=float(means.mean()),
        se=float(means.std(ddof=1) / math.sqrt(samples)),
        samples=int(samples),
        seed=int(seed),
    )


def paired_bootstrap(
    a: Any,
    b: Any,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> PairedBootstrapResult:
    """Compare two models' per-query outcomes on the same queries (a − b); see module doc."""
    xa = _check_vector(a, "a")
    xb = _check_vector(b, "b")
    if len(xa) != len(xb):
        raise HarnessInputError(
            f"paired bootstrap needs the same queries: a has {len(xa)} outcomes, b has {len(xb)}"
        )
    _check_settings(resamples, confidence)
    d = xa - xb
    means = resampled_means(d, int(resamples), np.random.default_rng(seed))
    diff = float(d.mean())
    lo, hi = _percentiles(means, confidence)
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))
    extreme = np.count_nonzero(np.abs(means - diff) >= abs(diff) - tol)
    return PairedBootstrapResult(
        difference=diff,
        ci_low=lo,
        ci_high=hi,
        se=float(means.std(ddof=1)),
        p_value=float((1 + extreme) / (resamples + 1)),
        value_a=float(xa.mean()),
        value_b=float(xb.mean()),
        n=len(d),
        method=METHOD,
        resamples=int(resamples),
        seed=int(seed),
        confidence=float(confidence),
    )
