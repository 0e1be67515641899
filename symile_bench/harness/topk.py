"""Top-k lists and counts of a block of scores under the tie rule, without sorting its rows.

A block's top-k is kept as (values, columns, tie keys) so that lists from the candidate chunks
of one query block merge exactly (by value, then key) without rescoring anything. ``TopK``,
``BlockStats`` and the list helpers (``sorted_topk``, ``exact_row_topk``, ``merge``, ``pad``) are
what every backend shares once a block's results are on the host.

``block_stats`` is the numpy backend's pass over a block. Sorting, or even ``argpartition`` over,
every row of a 50,000-wide block costs more than the matmul that produced it. Instead one
compiled pass per row (``rowstats``) yields the exact counts against the best correct score and
strided group maxima; the top-k is then a two-level selection of the best groups from their
maxima (``GroupPlan``), and only the few gathered elements are sorted. Full-row passes run on
cache-sized sub-blocks of rows; the selection works on small gathered arrays for the whole block
at once. Narrow blocks (up to ``SMALL_WIDTH`` candidates) are simply counted and sorted whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from symile_bench.harness.ties import NO_KEY, U64, Keys, tie_keys

POST_BYTES = 16 * 2**20  # the selection works on sub-blocks of about this size
SMALL_WIDTH = 1024  # up to this many candidates per row, sort and count whole rows


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


def block_stats(
    s: np.ndarray, best: np.ndarray, q_ids: np.ndarray, c0: int, k: int, seed: int
) -> BlockStats:
    """Counts against ``best`` (float64 ``[n]``, one of each row's own values or -inf) and the
    top-k of the block ``s`` whose first column is candidate ``c0``."""
    n, w = s.shape
    best = best.astype(s.dtype)  # exact: best is one of the block's own values
    kk = min(k, w)
    plan = GroupPlan.make(w, kk)
    if plan is None:
        return _small_block_stats(s, best, q_ids, c0, kk, k, seed)
    gt = np.empty(n, dtype=np.int64)
    eq = np.empty(n, dtype=np.int64)
    vals = np.empty((n, plan.width), dtype=s.dtype)
    cols = np.empty((n, plan.width), dtype=np.int64)
    runner_up = np.empty(n, dtype=s.dtype)
    step = max(1, min(n, POST_BYTES // max(1, w * s.itemsize)))
    for r0 in range(0, n, step):
        sl = slice(r0, min(n, r0 + step))
        plan.scan(s[sl], best[sl], gt[sl], eq[sl], vals[sl], cols[sl], runner_up[sl])
    if not kk:
        return BlockStats(gt, eq, None)
    top = _topk_from_gathered(s, vals, cols, runner_up, q_ids, c0, kk, seed)
    return BlockStats(gt, eq, pad(top, k))


def _small_block_stats(
    s: np.ndarray, best: np.ndarray, q_ids: np.ndarray, c0: int, kk: int, k: int, seed: int
) -> BlockStats:
    b = best[:, None]
    gt = np.count_nonzero(s > b, axis=1).astype(np.int64)
    eq = np.count_nonzero(s == b, axis=1).astype(np.int64)
    if not kk:
        return BlockStats(gt, eq, None)
    n, w = s.shape
    rows = np.arange(n)[:, None]
    keys = tie_keys(q_ids[:, None], np.arange(c0, c0 + w)[None, :], seed)
    order = order_rows(s, keys)[:, :kk]
    top = TopK(s[rows, order], order.astype(np.int64) + c0, keys[rows, order])
    return BlockStats(gt, eq, pad(top, k))


@dataclass(frozen=True)
class GroupPlan:
    """Strided column groups for one block width, selected in two levels.

    Columns ``[0, ng * L)`` form ``ng`` groups (group g = columns g, g + ng, g + 2 ng, ...:
    strided so that all group maxima come from one sequential pass over each row); the
    ``tail`` columns past them are always gathered. Groups form ``ns`` super-groups of ``m``
    (super-group s = groups s, s + ns, ...; the ``ng - ns * m`` leftover groups are always
    candidates). Per row: the ``kg = max(k, 8)`` super-groups with the largest maxima, then among
    their groups the ``kg`` groups with the largest maxima, are gathered (plus the tail).
    ``runner_up`` bounds every element left out (the largest maximum of a super-group or group
    not taken). Hence the k best gathered elements are the row's top-k when the k-th of them is
    > runner_up and not tied inside the gathered set (else the row is solved on its own).
    """

    length: int
    ng: int
    kg: int
    tail: int
    m: int
    ns: int

    @property
    def width(self) -> int:
        return self.kg * self.length + self.tail

    @staticmethod
    def make(w: int, kk: int) -> GroupPlan | None:
        kg = max(kk, 8)
        length = int(min(64, max(8, round(math.sqrt(w) / 14))))
        ng = w // length
        if w <= SMALL_WIDTH or ng < kg + 2:
            return None
        m = int(max(1, round(math.sqrt(ng / kg))))
        while m > 1 and ng // m < kg + 2:
            m -= 1
        return GroupPlan(length=length, ng=ng, kg=kg, tail=w - ng * length, m=m, ns=ng // m)

    def scan(
        self,
        s: np.ndarray,
        best: np.ndarray,
        gt: np.ndarray,
        eq: np.ndarray,
        vals: np.ndarray,
        cols: np.ndarray,
        runner_up: np.ndarray,
    ) -> None:
        """Fill the outputs for the rows of ``s`` (a sub-block): exact counts and group maxima
        from one compiled pass (``rowstats``), then the two-level selection on the maxima."""
        from symile_bench.harness.rowstats import row_stats  # numba: imported when first used

        n, w = s.shape
        gmax = row_stats(s, best, self.ng, self.length, gt, eq)
        sel = self._best_groups(gmax, runner_up)
        c = (sel[:, :, None] + self.ng * np.arange(self.length)).reshape(n, self.kg * self.length)
        if self.tail:
            tail = np.arange(self.ng * self.length, w)
            c = np.concatenate([c, np.broadcast_to(tail, (n, self.tail))], axis=1)
        cols[:] = c
        vals[:] = np.take(s.reshape(-1), c + np.arange(n)[:, None] * w)

    def _best_groups(self, gmax: np.ndarray, runner_up: np.ndarray) -> np.ndarray:
        """Per row, the ``kg`` groups with the largest maxima ``[n, kg]``; writes the largest
        maximum left out into ``runner_up``."""
        n = len(gmax)
        kg, ng, ns, m = self.kg, self.ng, self.ns, self.m
        rows = np.arange(n)[:, None]
        if m == 1:
            p = np.argpartition(gmax, ng - kg - 1, axis=1)
            runner_up[:] = gmax[rows[:, 0], p[:, ng - kg - 1]]
            return p[:, ng - kg :]
        smax = gmax[:, : ns * m].reshape(n, m, ns).max(axis=1)
        p1 = np.argpartition(smax, ns - kg - 1, axis=1)
        outer = smax[rows[:, 0], p1[:, ns - kg - 1]]
        cand = (p1[:, ns - kg :, None] + ns * np.arange(m)).reshape(n, kg * m)
        if ng > ns * m:
            extra = np.arange(ns * m, ng)
            cand = np.concatenate([cand, np.broadcast_to(extra, (n, len(extra)))], axis=1)
        cmax = gmax[rows, cand]
        p2 = np.argpartition(cmax, cand.shape[1] - kg - 1, axis=1)
        inner = cmax[rows[:, 0], p2[:, -kg - 1]]
        runner_up[:] = np.maximum(outer, inner)
        sel: np.ndarray = cand[rows, p2[:, -kg:]]
        return sel


def _topk_from_gathered(
    s: np.ndarray,
    vals: np.ndarray,
    cols: np.ndarray,
    runner_up: np.ndarray,
    q_ids: np.ndarray,
    c0: int,
    kk: int,
    seed: int,
) -> TopK:
    """The top-kk of each row from its gathered elements; a row whose k-th value does not beat
    ``runner_up`` or is tied inside the gathered set is solved on its own."""
    top = np.argpartition(vals, vals.shape[1] - kk, axis=1)[:, -kk:]
    top_vals = np.take_along_axis(vals, top, axis=1)
    kth = top_vals.min(axis=1)
    exact = (np.count_nonzero(vals >= kth[:, None], axis=1) == kk) & (kth > runner_up)
    top_cols = np.take_along_axis(cols, top, axis=1) + c0
    out = sorted_topk(top_vals, top_cols, tie_keys(q_ids[:, None], top_cols, seed))
    for i in np.flatnonzero(~exact):
        out.values[i], out.columns[i], out.keys[i] = exact_row_topk(
            s[i], int(q_ids[i]), c0, kk, seed
        )
    return out
