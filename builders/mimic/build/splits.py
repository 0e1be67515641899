"""Patient-disjoint splits, train-split lab percentiles, and retrieval candidate sets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symile_bench.errors import ConfigError

TRAIN, VALIDATION, TEST, DROPPED = 0, 1, 2, -1


@dataclass(frozen=True)
class SplitResult:
    split: np.ndarray  # int8 per kept admission: TRAIN / VALIDATION / TEST / DROPPED
    overlap_dropped: int


def split_by_patient(
    subject_id: np.ndarray, test_frac: float, val_frac: float, rng: np.random.Generator
) -> SplitResult:
    """Shuffle the patients (sorted first, so the result depends on the seed only); the first
    `test_frac` of them are test, then `val_frac` of the rest validation, the rest train."""
    subjects, code = np.unique(subject_id, return_inverse=True)
    n = subjects.size
    perm = rng.permutation(n)
    n_test = round(test_frac * n)
    n_val = round(val_frac * (n - n_test))
    role = np.full(n, TRAIN, dtype=np.int8)
    role[perm[:n_test]] = TEST
    role[perm[n_test : n_test + n_val]] = VALIDATION
    return SplitResult(role[code], 0)


def split_by_admissions(
    subject_id: np.ndarray, train_n: int, val_n: int, rng: np.random.Generator
) -> SplitResult:
    """The release's procedure (sklearn `train_test_split` twice): `train_n` random
    admissions are train; val/test admissions of train patients are dropped; `val_n` random
    remaining admissions are validation; test admissions of validation patients are dropped."""
    n = subject_id.size
    if train_n + val_n >= n:
        raise ConfigError(
            f"--train-n {train_n} + --val-n {val_n} leave no test admissions: the cohort has "
            f"{n}; lower them (or omit both to split {n} admissions by patient fractions)"
        )
    perm = rng.permutation(n)
    split = np.full(n, DROPPED, dtype=np.int8)
    train = perm[:train_n]
    split[train] = TRAIN
    rest = perm[train_n:]
    rest = rest[~np.isin(subject_id[rest], subject_id[train])]
    if rest.size <= val_n:
        raise ConfigError(
            f"--val-n {val_n}: only {rest.size} admissions remain after --train-n {train_n} "
            "and removing train patients; lower --val-n or --train-n"
        )
    val = rest[:val_n]
    split[val] = VALIDATION
    test = rest[val_n:]
    test = test[~np.isin(subject_id[test], subject_id[val])]
    split[test] = TEST
    return SplitResult(split, int((split == DROPPED).sum()))


@dataclass(frozen=True)
class Percentiles:
    percentile: np.ndarray  # (n, 50) float32: missing labs hold the train mean percentile
    missing: np.ndarray  # (n, 50) bool
    train_mean: np.ndarray  # (50,) float64 (NaN when a lab never occurs in train)


def lab_percentiles(values: np.ndarray, is_train: np.ndarray) -> Percentiles:
    """The release's NaN-aware empirical CDF of each lab, fitted on the train rows only:
    F(v) = #{train values <= v} / #{train values}, with the release's own y grid
    `linspace(1/n, 1, n)`; a missing lab gets the mean train percentile of that lab. A lab
    never observed in train has no CDF: its percentile is 0 in every row (missing bits kept)."""
    n_rows, n_labs = values.shape
    percentile = np.full((n_rows, n_labs), np.nan, dtype=np.float64)
    train_mean = np.full(n_labs, np.nan, dtype=np.float64)
    missing = np.isnan(values)
    for j in range(n_labs):  # a loop over the 50 labs, vectorised over rows
        train = np.sort(values[is_train & ~missing[:, j], j])
        if train.size == 0:  # never seen in train: no CDF to place any value on
            percentile[:, j] = 0.0
            continue
        grid = np.concatenate([[0.0], np.linspace(1.0 / train.size, 1.0, train.size)])
        observed = ~missing[:, j]
        percentile[observed, j] = grid[np.searchsorted(train, values[observed, j], "right")]
        train_mean[j] = percentile[is_train & observed, j].mean()
    filled = np.where(missing, np.where(np.isnan(train_mean), 0.0, train_mean)[None, :], percentile)
    return Percentiles(filled.astype(np.float32), missing, train_mean)


def draw_candidates(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(n, k) row indices: row i holds i plus k-1 distinct others drawn uniformly without
    replacement from the other n-1 rows, in shuffled order. Floyd's algorithm vectorised over
    rows: O(n k^2) time, with no loop over rows."""
    if k > n:
        raise ValueError(f"{k} candidates need at least {k} rows, got {n}")
    m, draws = n - 1, k - 1
    chosen = np.empty((n, draws), dtype=np.int64)
    for step, j in enumerate(range(m - draws, m)):
        t = rng.integers(0, j + 1, size=n)
        seen = (chosen[:, :step] == t[:, None]).any(axis=1)
        chosen[:, step] = np.where(seen, j, t)
    query = np.arange(n, dtype=np.int64)[:, None]
    chosen += chosen >= query  # skip the query itself: 0..n-2 -> 0..n-1 without i
    sets = np.concatenate([query, chosen], axis=1)
    order = np.argsort(rng.random((n, k)), axis=1)
    return np.take_along_axis(sets, order, axis=1)
