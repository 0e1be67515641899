"""Per-row statistics of a block of scores in one compiled pass: the exact counts against each
row's best correct score, and the strided group maxima that the top-k selection starts from.

Why compiled (numba): numpy needs a separate pass and a temporary array for each of "> best",
"== best" and the group maxima, plus a Python call per row, and those passes cost as much as
half the matmul that produced the block. Here each row is read once from the shared cache for
the maxima; the counts then read only the groups whose maximum reaches the best score (a good
model: a few) or, when many do, the whole row again from the core's own cache. No
temporaries, and no GIL, so the scoring threads run it in parallel.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _row_stats(  # pragma: no cover - compiled
    s: np.ndarray,
    best: np.ndarray,
    ng: int,
    length: int,
    gmax: np.ndarray,
    gt: np.ndarray,
    eq: np.ndarray,
) -> None:
    body = ng * length
    for i in range(s.shape[0]):
        b = best[i]
        row = s[i]
        out = gmax[i]
        for k in range(ng):
            out[k] = row[k]
        for g in range(1, length):
            base = g * ng
            for k in range(ng):
                out[k] = max(out[k], row[base + k])
        # every score >= b lies in a group whose maximum is >= b (or in the tail)
        reach = 0
        for k in range(ng):
            reach += out[k] >= b
        above = 0
        equal = 0
        if 4 * reach < ng:  # a good model: count inside the few groups that reach b
            for k in range(ng):
                if out[k] >= b:
                    for g in range(length):
                        v = row[g * ng + k]
                        above += v > b
                        equal += v == b
        else:  # count the whole body, now in the core's own cache
            for j in range(body):
                v = row[j]
                above += v > b
                equal += v == b
        for j in range(body, row.shape[0]):
            v = row[j]
            above += v > b
            equal += v == b
        gt[i] = above
        eq[i] = equal


def row_stats(
    s: np.ndarray, best: np.ndarray, ng: int, length: int, gt: np.ndarray, eq: np.ndarray
) -> np.ndarray:
    """For scores ``s`` ``[n, w]`` and ``best`` ``[n]``: writes ``#(s > best)`` into ``gt`` and
    ``#(s == best)`` into ``eq`` (int64 ``[n]``; float comparisons, so -0.0 == +0.0), and
    returns the group maxima ``gmax[:, k] = max_g s[:, g * ng + k]`` over ``g < length``
    (``[n, ng]``; columns from ``ng * length`` on form the tail, counted but in no group)."""
    gmax = np.empty((s.shape[0], ng), dtype=s.dtype)
    _row_stats(s, np.asarray(best, dtype=s.dtype), ng, length, gmax, gt, eq)
    return gmax
