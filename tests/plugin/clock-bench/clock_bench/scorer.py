"""`cosine-mip`: Symile's multilinear inner product of L2-normalised query embeddings, so no
query modality dominates by its norm. A `combine` scorer: one vector per query, then one
matmul against the candidates, on the harness's chunked, threaded path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from symile_bench.harness.scorers import Scorer


def _normalised_product(queries: Sequence[np.ndarray]) -> np.ndarray:
    out = np.ones_like(queries[0])
    for q in queries:
        out *= q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    return out


COSINE_MIP = Scorer(
    "cosine-mip",
    combine=_normalised_product,
    description="multilinear inner product of L2-normalised query embeddings",
)
