"""Candidates that repeat: each distinct candidate scored once, every rank recovered exactly.

A shared pool of split rows repeats a candidate whenever rows show the same medium (M3's
100,000 test rows show 2,916 distinct images), so most of a full ``queries × candidates``
matrix is copies. Every scorer scores a (query, candidate) pair from the query's embeddings
and the candidate's embedding alone, so candidates with bit-identical embeddings and the
same label are indistinguishable until the tie rule: the query block is scored against one
representative of each such group, and the tie rule is applied to the group's members.

Why group by the embeddings rather than by the candidate modality's id column: it is exact
whatever made two rows equal or different. Rows of one image_id that a model embeds
differently (a missing flag, a model that is not batch-invariant, ``--no-distinct``) simply
fall into different groups; rows of different ids that embed identically (a ``constant``
model) share one. It needs no storage, id column or scorer knowledge.

With ``s_u`` the score of group ``u``, ``mult_u`` its size and ``(s*, key*)`` the query's best
correct candidate (highest score, then lowest tie key over the *members* of the correct
groups at that score), ``ties.py``'s rule gives

    rank = 1 + Σ_{u: s_u > s*} mult_u + Σ_{u incorrect: s_u = s*} #{j ∈ u: key(q, j) < key*}

and the top-k is the groups above the k-th score level (all their members, in tie order) and
the ``k - (rows above)`` members with the lowest keys at that level: the same rows, in the
same order, as ranking every candidate. Only members whose scores tie are hashed. The pass is
compiled (numba) and runs per row slice without the GIL, like ``rowstats``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from symile_bench.harness.ties import seed_constant

REPEAT_FRACTION = 2  # score by groups when there are at most 1/this as many groups as rows


@dataclass(frozen=True)
class CandidateGroups:
    """Candidates grouped by (embedding bytes, label). Group ``u``'s members are
    ``members[starts[u]:starts[u + 1]]`` (candidate positions, ascending); groups are in the
    order of their first members, which are ``first``."""

    first: np.ndarray  # int64 [U]
    labels: np.ndarray  # int64 [U]
    starts: np.ndarray  # int64 [U + 1]
    members: np.ndarray  # int64 [M]

    @property
    def multiplicity(self) -> np.ndarray:
        return np.diff(self.starts)

    def __len__(self) -> int:
        return len(self.first)


def group_candidates(candidates: np.ndarray, labels: np.ndarray) -> CandidateGroups | None:
    """The groups of identical (candidate row, label), or None when there are more than
    ``1 / REPEAT_FRACTION`` as many as candidates (then scoring every candidate costs about
    the same) or fewer than two (a one-column block takes another BLAS kernel than the full
    pool, so its scores could differ in their last bits). Rows are grouped by a 64-bit hash
    of their bytes and label (one compiled pass: a pool without repeats costs ~1% of its
    scoring), then every member is checked equal to its group's first: a hash collision
    (never seen) gives None, i.e. every candidate scored, never a wrong group."""
    m = len(candidates)
    rows = np.ascontiguousarray(candidates).view(np.uint8).reshape(m, -1)
    words = rows.view(np.uint32) if rows.shape[1] % 4 == 0 else rows
    labels = labels.astype(np.int64)
    _, first, inverse = np.unique(
        _row_hashes(words, labels), return_index=True, return_inverse=True
    )
    if len(first) < 2 or len(first) * REPEAT_FRACTION > m:
        return None
    order = np.argsort(first, kind="stable")  # groups in order of their first members
    group = np.empty_like(order)
    group[order] = np.arange(len(order))
    code = group[inverse.reshape(-1)]
    head = first[order][code]
    if not (np.array_equal(rows, rows[head]) and np.array_equal(labels, labels[head])):
        return None
    starts = np.zeros(len(first) + 1, dtype=np.int64)
    np.cumsum(np.bincount(code, minlength=len(first)), out=starts[1:])
    return CandidateGroups(
        first=first[order].astype(np.int64),
        labels=labels[first[order]],
        starts=starts,
        members=np.argsort(code, kind="stable").astype(np.int64),
    )


@numba.njit(cache=True, nogil=True)
def _row_hashes(words: np.ndarray, labels: np.ndarray) -> np.ndarray:  # pragma: no cover
    """A 64-bit FNV-style hash of each row's words and label, finished by splitmix64."""
    out = np.empty(words.shape[0], dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    for i in range(words.shape[0]):
        h = np.uint64(labels[i]) ^ np.uint64(0xCBF29CE484222325)
        for w in words[i]:
            h = (h ^ np.uint64(w)) * prime
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[i] = h ^ (h >> np.uint64(31))
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _key(q: int, c: int, seed_c: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """``ties.tie_keys(q, c)`` (splitmix64), compiled: the tests hold the two equal."""
    x = ((np.uint64(q) << np.uint64(32)) | np.uint64(c)) ^ seed_c
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def _rank_rows(  # pragma: no cover - compiled
    s: np.ndarray,
    q0: int,
    qlab: np.ndarray,
    glab: np.ndarray,
    starts: np.ndarray,
    members: np.ndarray,
    seed_c: np.uint64,
    ranks: np.ndarray,
    top_val: np.ndarray,
    top_col: np.ndarray,
) -> None:
    n_groups = s.shape[1]
    k = top_col.shape[1]
    no_key = np.uint64(0xFFFFFFFFFFFFFFFF)
    level_v = np.empty(k + 1, dtype=s.dtype)  # the best score levels, descending
    level_m = np.empty(k + 1, dtype=np.int64)  # rows at each level
    above_v = np.empty(k, dtype=np.float64)  # rows above the k-th level, in tie order
    above_k = np.empty(k, dtype=np.uint64)
    above_c = np.empty(k, dtype=np.int64)
    tied_k = np.empty(k, dtype=np.uint64)  # lowest keys at the k-th level, ascending
    tied_c = np.empty(k, dtype=np.int64)
    for i in range(s.shape[0]):
        q = q0 + i
        row = s[i]
        ql = qlab[q]
        best = row[0]
        found = False
        for u in range(n_groups):
            if glab[u] == ql and (not found or row[u] > best):
                best = row[u]
                found = True
        key_best = no_key
        for u in range(n_groups):
            if glab[u] == ql and row[u] == best:
                for p in range(starts[u], starts[u + 1]):
                    key_best = min(key_best, _key(q, members[p], seed_c))
        above = 0
        for u in range(n_groups):
            v = row[u]
            if v > best:
                above += int(starts[u + 1] - starts[u])
            elif v == best and glab[u] != ql:
                for p in range(starts[u], starts[u + 1]):
                    above += int(_key(q, members[p], seed_c) < key_best)
        ranks[i] = above + 1
        if k == 0:
            continue
        # the k-th score level: levels kept while the rows above the last one are < k
        n_levels = 0
        rows = 0
        for u in range(n_groups):
            v = row[u]
            if rows >= k and v < level_v[n_levels - 1]:
                continue
            mult = starts[u + 1] - starts[u]
            at = n_levels
            while at > 0 and level_v[at - 1] < v:
                at -= 1
            if at > 0 and level_v[at - 1] == v:
                level_m[at - 1] += mult
            else:
                for j in range(n_levels, at, -1):
                    level_v[j] = level_v[j - 1]
                    level_m[j] = level_m[j - 1]
                level_v[at] = v
                level_m[at] = mult
                n_levels += 1
            rows += mult
            while rows - level_m[n_levels - 1] >= k:
                rows -= level_m[n_levels - 1]
                n_levels -= 1
        kth = level_v[n_levels - 1]
        n_above = rows - level_m[n_levels - 1]
        need = k - n_above
        n_tied = 0
        filled = 0
        for u in range(n_groups):
            v = row[u]
            if v < kth:
                continue
            for p in range(starts[u], starts[u + 1]):
                c = members[p]
                key = _key(q, c, seed_c)
                if v > kth:  # insert by (score desc, key asc); all of these are kept
                    at = filled
                    while at > 0 and (
                        above_v[at - 1] < v or (above_v[at - 1] == v and above_k[at - 1] > key)
                    ):
                        above_v[at] = above_v[at - 1]
                        above_k[at] = above_k[at - 1]
                        above_c[at] = above_c[at - 1]
                        at -= 1
                    above_v[at] = v
                    above_k[at] = key
                    above_c[at] = c
                    filled += 1
                elif n_tied < need or key < tied_k[n_tied - 1]:
                    at = min(n_tied, need - 1)
                    while at > 0 and tied_k[at - 1] > key:
                        tied_k[at] = tied_k[at - 1]
                        tied_c[at] = tied_c[at - 1]
                        at -= 1
                    tied_k[at] = key
                    tied_c[at] = c
                    n_tied = min(n_tied + 1, need)
        for j in range(n_above):
            top_val[i, j] = above_v[j]
            top_col[i, j] = above_c[j]
        for j in range(need):
            top_val[i, n_above + j] = kth
            top_col[i, n_above + j] = tied_c[j]


class GroupRanker:
    """The blocks of one ``rank_candidates`` call over groups: each query block scored
    against the groups' first members (``scores(q0, q1)``: an engine over those rows), its
    ranks and top-k written into that block's rows of the outputs (so row slices can run in
    parallel), exactly as ``ranking._PoolRanker`` writes them for every candidate."""

    def __init__(
        self,
        scores: Callable[[int, int], np.ndarray],
        groups: CandidateGroups,
        query_labels: np.ndarray,
        k: int,
        seed: int,
    ) -> None:
        self.scores, self.groups, self.query_labels = scores, groups, query_labels
        self.k, self.seed = k, seed
        n = len(query_labels)
        self.ranks = np.empty(n, dtype=np.int64)
        self.top_idx = np.empty((n, k), dtype=np.int64)
        self.top_val = np.empty((n, k), dtype=np.float64)

    def rank_rows(self, q0: int, q1: int) -> None:
        """Ranks and top-k of queries ``[q0, q1)``."""
        _rank_rows(
            self.scores(q0, q1),
            q0,
            self.query_labels,
            self.groups.labels,
            self.groups.starts,
            self.groups.members,
            seed_constant(self.seed),
            self.ranks[q0:q1],
            self.top_val[q0:q1],
            self.top_idx[q0:q1],
        )
