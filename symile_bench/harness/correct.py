"""Which candidates of a shared pool are correct for each query, and each query's best correct
candidate so far (the ``(s*, key*)`` its rank is counted against).

Candidate ``c`` is correct for query ``q`` when their labels match (XOR: label = index of the b
vector; M3: label = image class). The best correct candidate is needed before anything can be
counted, and with candidate chunking it is found over several blocks, so it is kept as running
state that each block improves (``BestCorrect.offer``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.ties import NO_KEY, U64, Keys, tie_keys

GATHER_CHUNK = 1 << 22  # max correct (query, candidate) pairs gathered at once


@dataclass(frozen=True)
class CorrectIndex:
    """The correct candidates of every query, as ranges of one sorted array.

    ``combo`` holds ``label_position * m + candidate`` sorted (candidates grouped by label,
    within a label by index), so the correct columns of query ``q`` in ``[c0, c1)`` are the
    range ``searchsorted(combo, pos[q] * m + [c0, c1))`` — no ``[n, m]`` mask.
    """

    query_labels: np.ndarray  # int64 [n]
    candidate_labels: np.ndarray  # int64 [m]
    position: np.ndarray  # int64 [n]: index of each query's label among the candidate labels
    combo: np.ndarray  # int64 [m]
    n_correct: np.ndarray  # int64 [n]

    @classmethod
    def build(cls, query_labels: np.ndarray, candidate_labels: np.ndarray) -> CorrectIndex:
        qlab, clab, n, m = query_labels, candidate_labels, len(query_labels), len(candidate_labels)
        order = np.argsort(clab, kind="stable")
        uniq, count = np.unique(clab[order], return_counts=True)
        pos = np.minimum(np.searchsorted(uniq, qlab), len(uniq) - 1)
        missing = uniq[pos] != qlab
        if missing.any():
            bad = np.flatnonzero(missing)
            raise HarnessInputError(
                f"{len(bad)} of {n} queries have no correct candidate (e.g. query {bad[0]}: "
                f"label {qlab[bad[0]]} does not occur in candidate_labels); every query_labels "
                "value must be the label of at least one candidate"
            )
        combo = np.repeat(np.arange(len(uniq), dtype=np.int64), count) * m + order
        return cls(qlab, clab, pos.astype(np.int64), combo, count[pos].astype(np.int64))

    @property
    def m(self) -> int:
        return len(self.candidate_labels)

    def ranges(self, q0: int, q1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        """Per query of ``[q0, q1)``: its correct candidates in ``[c0, c1)`` are
        ``combo[lo:hi] % m``."""
        base = self.position[q0:q1] * self.m
        return np.searchsorted(self.combo, base + c0), np.searchsorted(self.combo, base + c1)


@dataclass
class BestCorrect:
    """Per query of ``[q0, q0 + n)``: the best correct candidate seen so far (highest score, then
    lowest tie key) — its score (float64, -inf before any), key and column."""

    q0: int
    q_ids: np.ndarray
    seed: int
    value: np.ndarray
    key: Keys
    col: np.ndarray

    @classmethod
    def empty(cls, q0: int, q1: int, seed: int) -> BestCorrect:
        n = q1 - q0
        return cls(
            q0,
            np.arange(q0, q1, dtype=np.int64),
            seed,
            np.full(n, -np.inf),
            np.full(n, NO_KEY, dtype=U64),
            np.full(n, -1, dtype=np.int64),
        )

    def offer(self, rows: np.ndarray, value: np.ndarray, key: Keys, col: np.ndarray) -> None:
        """Keep, for each of ``rows``, the offered candidate where it beats the current one."""
        cur = self.value[rows]
        better = (value > cur) | ((value == cur) & (key < self.key[rows]))
        upd = rows[better]
        self.value[upd] = value[better]
        self.key[upd] = key[better]
        self.col[upd] = col[better]


def merge_gathered(
    s: np.ndarray, c0: int, c1: int, correct: CorrectIndex, best: BestCorrect
) -> None:
    """Improve ``best`` with the correct candidates in the columns ``[c0, c1)`` of the host
    block ``s``: their scores gathered, in row groups of at most ``GATHER_CHUNK`` pairs."""
    lo, hi = correct.ranges(best.q0, best.q0 + len(s), c0, c1)
    cnt = hi - lo
    bounds = np.concatenate([[0], np.cumsum(cnt)])
    r0, n = 0, len(cnt)
    while r0 < n:
        r1 = int(np.searchsorted(bounds, bounds[r0] + GATHER_CHUNK, side="right")) - 1
        r1 = min(n, max(r1, r0 + 1))
        if bounds[r1] > bounds[r0]:
            _merge_rows(s, c0, r0, r1, lo, cnt, bounds, correct, best)
        r0 = r1


def _merge_rows(
    s: np.ndarray,
    c0: int,
    r0: int,
    r1: int,
    lo: np.ndarray,
    cnt: np.ndarray,
    bounds: np.ndarray,
    correct: CorrectIndex,
    best: BestCorrect,
) -> None:
    """``merge_gathered`` for the rows ``[r0, r1)`` of the block."""
    c = cnt[r0:r1]
    total = int(c.sum())
    local_rows = np.repeat(np.arange(r0, r1), c)
    starts = np.repeat(lo[r0:r1] - (bounds[r0:r1] - bounds[r0]), c)
    cols = correct.combo[starts + np.arange(total)] % correct.m - c0
    vals = s[local_rows, cols].astype(np.float64)
    has = c > 0
    seg = (bounds[r0:r1] - bounds[r0])[has]
    rows_has = np.arange(r0, r1)[has]
    seg_best = np.maximum.reduceat(vals, seg)
    sel = np.flatnonzero(vals == np.repeat(seg_best, c[has]))
    keys = tie_keys(best.q_ids[local_rows[sel]], cols[sel] + c0, best.seed)
    ordr = np.lexsort((keys, local_rows[sel]))
    sr = local_rows[sel][ordr]
    firsts = np.flatnonzero(np.r_[True, sr[1:] != sr[:-1]])
    best.offer(rows_has, seg_best, keys[ordr][firsts], cols[sel][ordr][firsts] + c0)
