"""The tie rule: how exactly equal scores are ordered.

Candidates are ordered by score, descending; among exactly equal scores, by
``tie_keys(query_index, candidate_index, tie_seed)`` ascending, a splitmix64 hash of the pair
(``candidate_index`` is the position in ``candidates`` for a shared pool and the column in
``candidate_ids`` for per-query sets; ``query_index`` is the row in the query arrays). The hash
is a bijection of the pair, so the order is total and deterministic, and among tied candidates
it is a pseudo-random permutation drawn independently for each query. Hence an uninformative
encoder (all scores equal) ranks every query's candidates uniformly at random and scores
chance — whereas "lower index first" would score 1.0 whenever the correct candidate is stored
first (as in per-query sets) and "ties count against" would score 0. With real-valued
embeddings ties are rare, but float32 scores over tens of thousands of candidates do produce
some, so they are resolved exactly, never approximately.

Consequently ``rank = 1 + #{c: s_c > s*} + #{c: s_c = s*, key_c < key*}`` where ``(s*, key*)``
is the best correct candidate (highest score, then lowest key).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

U64 = np.uint64
NO_KEY = np.iinfo(np.uint64).max  # above every key: "no candidate yet"

Keys = npt.NDArray[np.uint64]


def tie_keys(query_index: Any, candidate_index: Any, tie_seed: int = 0) -> Keys:
    """The tie-break key of (query, candidate) pairs: splitmix64 of ``query << 32 | candidate``
    xor a seed-derived constant (broadcasts; returns uint64). Lower key ranks first among equal
    scores."""
    q = np.asarray(query_index, dtype=np.int64).astype(U64)
    c = np.asarray(candidate_index, dtype=np.int64).astype(U64)
    x = _mix(np.bitwise_xor(np.atleast_1d((q << U64(32)) | c), seed_constant(tie_seed)))
    return x if np.ndim(query_index) or np.ndim(candidate_index) else x.reshape(())


def seed_constant(seed: int) -> np.uint64:
    """The seed-derived constant every key is xor-ed with (for compiled twins of ``tie_keys``)."""
    x = np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=U64) + U64(0x9E3779B97F4A7C15)
    out: np.uint64 = _mix(x)[0]
    return out


def _mix(x: Keys) -> Keys:
    """The splitmix64 finaliser: a bijection of uint64 that spreads every input bit."""
    x = (x ^ (x >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> U64(27))) * U64(0x94D049BB133111EB)
    out: Keys = x ^ (x >> U64(31))
    return out
