"""Top-k lists under the tie rule, and a block's counts: the pieces every backend shares once a
block's results are on the host.

A block's top-k is kept as (values, columns, tie keys) so that lists from the candidate chunks
of one query block merge exactly (by value, then key) without rescoring anything.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from symile_bench.harness.ties import NO_KEY, U64, Keys, tie_keys


class TopK(NamedTuple):
    """Per row, best first: scores ``[n, k]``, candidate indices (int64), tie keys (uint64);
    rows with fewer than k candidates are padded with -inf / -1 / ``NO_KEY``."""

    values: np.ndarray
    columns: np.ndarray
    keys: Keys


class BlockStats(NamedTuple):
    """What a backend reports for one block of scores against each row's best correct score:
    ``#(s > best)`` and ``#(s == best)`` (int64 ``[n]``), and the block's top-k (None for
    k = 0)."""

    above: np.ndarray
    equal: np.ndarray
    top: TopK | None


def order_rows(vals: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per row, positions sorted by value descending then key ascending."""
    return np.lexsort((keys, -vals), axis=1)


def exact_row_topk(v: np.ndarray, q: int, c0: int, k: int, seed: int) -> TopK:
    """The top-k of one row ``v`` (columns from ``c0``), for rows whose ties a cheaper selection
    cannot settle: only the tied candidates at the k-th value are hashed."""
    w = len(v)
    kk = min(k, w)
    thr = np.partition(v, w - kk)[w - kk]
    above = np.flatnonzero(v > thr)
    tied = np.flatnonzero(v == thr)
    need = kk - len(above)
    if need < len(tied):
        tk = tie_keys(q, tied + c0, seed)
        tied = tied[np.argpartition(tk, need - 1)[:need]] if need > 0 else tied[:0]
    chosen = np.concatenate([above, tied])
    keys = tie_keys(q, chosen + c0, seed)
    order = np.lexsort((keys, -v[chosen]))
    chosen = chosen[order]
    return TopK(v[chosen], chosen + c0, keys[order])


def sorted_topk(vals: np.ndarray, cols: np.ndarray, keys: Keys, k: int | None = None) -> TopK:
    """Rows of (values, columns, keys) in tie-rule order, cut to the first k if given."""
    order = order_rows(vals, keys)[:, :k]
    rows = np.arange(len(vals))[:, None]
    return TopK(vals[rows, order], cols[rows, order], keys[rows, order])


def pad(top: TopK, k: int) -> TopK:
    """``top`` widened to k columns (a block narrower than k holds fewer candidates)."""
    vals, cols, keys = top
    n = vals.shape[0]
    if vals.shape[1] == k:
        return top
    fill = k - vals.shape[1]
    return TopK(
        np.concatenate([vals, np.full((n, fill), -np.inf, dtype=vals.dtype)], axis=1),
        np.concatenate([cols, np.full((n, fill), -1, dtype=np.int64)], axis=1),
        np.concatenate([keys, np.full((n, fill), NO_KEY, dtype=U64)], axis=1),
    )


def merge(a: TopK, b: TopK, k: int) -> TopK:
    """The top-k of two top-k lists of the same rows (from two candidate chunks)."""
    vals, cols, keys = (np.concatenate([x, y], axis=1) for x, y in zip(a, b, strict=True))
    return sorted_topk(vals, cols, keys, k)
