"""``gram`` and ``triangle``: geometric scorers of the L2-normalised embeddings, registered through
the entry-point group ``symile_bench.scorers`` (``pyproject.toml``) as a third-party scorer is.

Both are measures of how far the normalised query and candidate vectors are from coinciding
(smaller = more aligned), so the score is the *negative* measure (higher = better):

* ``gram`` (GRAM, Cicchetti et al., ICLR 2025): ``-sqrt(det G)``, the negative volume of the
  parallelotope the k normalised vectors span, ``G`` their Gram matrix.
* ``triangle`` (TRIANGLE, NeurIPS 2025): the negative area of the triangle whose vertices are
  the three normalised vectors, ``0.5 * sqrt(|u|^2 |v|^2 - (u.v)^2)`` for edges ``u``, ``v``;
  for k vertices in general the (k-1)-simplex's content ``sqrt(det U) / (k-1)!``, ``U`` the Gram
  matrix of the edges from one vertex (one query modality: the segment length ``|q - c|``).

Why no per-triple vector work: with unit vectors every entry of those Gram matrices is an affine
function of the inner products, and a bordered determinant ``det [[A, t], [t^T, s]] =
s det A - t^T adj(A) t`` splits each into what is fixed per query (``A``: query-query inner
products) and what varies per candidate (``x_i = q_i . c``). So the squared measure is, per
query, a quadratic polynomial in the ``x_i``: a block of scores is one matmul per query modality
plus one fused elementwise pass (compiled on numpy, tensor ops on torch), and runs through the
harness's chunked, threaded path like any ``score_block`` scorer.

Rounding can make a squared measure slightly negative for (nearly) coinciding vectors; it is
clamped to 0, so such candidates tie at score 0 and the tie rule orders them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numba
import numpy as np

from symile_bench.harness.scorers import Scorer

EPS = 1e-12  # norms below this are treated as this (a zero embedding stays zero)
SCRATCH_BYTES = 32 * 2**20  # per scoring thread: the inner products of one column chunk
_LOCAL = threading.local()
# (query Gram matrices [n, j, j] in float64, xp) -> M [n, j+1, j+1]: measure^2 = z^T M z
FormFn = Callable[[Any, ModuleType], Any]


def _unit(a: Any, xp: ModuleType) -> Any:
    norm = (a * a).sum(-1, keepdims=True) ** 0.5
    return a / xp.clip(norm, EPS, None) if xp is np else a / norm.clamp(min=EPS)


def _zeros(like: Any, shape: tuple[int, ...]) -> Any:
    """Zeros of ``like``'s dtype (and device, for a tensor)."""
    return np.zeros(shape, like.dtype) if isinstance(like, np.ndarray) else like.new_zeros(shape)


def _adjugate(a: Any, xp: ModuleType) -> tuple[Any, Any]:
    """``det a`` ``[n]`` and ``adj a`` ``[n, r, r]`` of a batch of symmetric ``[n, r, r]``
    matrices, by cofactors (defined when ``a`` is singular, unlike ``det * inv``)."""
    r = a.shape[-1]
    adj = xp.zeros_like(a)
    for i in range(r):
        for j in range(r):
            rows = [k for k in range(r) if k != i]
            cols = [k for k in range(r) if k != j]
            adj[:, j, i] = (-1) ** (i + j) * xp.linalg.det(a[:, rows][:, :, cols])
    return xp.linalg.det(a), adj


def _gram_form(p: Any, xp: ModuleType) -> Any:
    """GRAM: ``det G = det P - x^T adj(P) x`` for the query Gram matrix ``P`` ``[n, j, j]`` and
    ``x`` the candidate's inner products (unit candidate). Returns ``M`` ``[n, j+1, j+1]`` with
    ``det G = z^T M z``, ``z = (x, 1)``."""
    n, j = p.shape[0], p.shape[1]
    det, adj = _adjugate(p, xp)
    m = _zeros(p, (n, j + 1, j + 1))
    m[:, :j, :j] = -adj
    m[:, j, j] = det
    return m


def _simplex_form(p: Any, xp: ModuleType) -> Any:
    """TRIANGLE: the edges from query vertex 0 are ``e_i = q_i - q_0`` (fixed per query) and
    ``w = c - q_0``, so ``det U = |w|^2 det B - t^T adj(B) t`` with ``B_il = e_i . e_l``,
    ``t_i = e_i . w = x_i - x_0 - P_i0 + 1`` and ``|w|^2 = 2 - 2 x_0``. Returns ``M`` with
    ``det U = z^T M z`` as in ``_gram_form``."""
    n, j = p.shape[0], p.shape[1]
    col = p[:, 1:, :1]  # P_i0 for i >= 1
    b = p[:, 1:, 1:] - col - xp.swapaxes(col, 1, 2) + 1
    det, adj = _adjugate(b, xp)
    t = _zeros(p, (n, j - 1, j + 1))  # t = T z
    for i in range(1, j):
        t[:, i - 1, i] = 1
    t[:, :, 0] = -1
    t[:, :, j] = 1 - col[:, :, 0]
    m = -(xp.swapaxes(t, 1, 2) @ adj @ t)
    # |w|^2 det B = (2 - 2 x_0) det B, split symmetrically between z_0 z_j and z_j z_0
    m[:, 0, j] -= det
    m[:, j, 0] -= det
    m[:, j, j] += 2 * det
    return m


@numba.njit(cache=True, nogil=True)
def _neg_root_two(  # pragma: no cover - compiled
    a: np.ndarray,
    b: np.ndarray,
    coeffs: tuple[float, float, float, float, float, float],
    scale: float,
    out: np.ndarray,
) -> None:
    """One row of ``_neg_root`` for two query modalities, on 1-D rows: a loop the compiler
    vectorises (4x faster than indexing the 3-D and 2-D arrays, with the same results)."""
    c0, c1, c2, c00, c11, c01 = coeffs
    for c in range(out.shape[0]):
        x = np.float64(a[c])
        y = np.float64(b[c])
        v = c0 + x * (c1 + c00 * x + c01 * y) + y * (c2 + c11 * y)
        out[c] = -scale * np.sqrt(max(v, 0.0))


@numba.njit(cache=True, nogil=True)
def _neg_root(  # pragma: no cover - compiled
    x: np.ndarray, m: np.ndarray, scale: float, out: np.ndarray, col: int
) -> None:
    """``out[i, col + c] = -scale * sqrt(max(z^T m[i] z, 0))``, ``z = (x[:, i, c], 1)``, in
    float64."""
    j = x.shape[0]
    w = x.shape[2]
    for i in range(x.shape[1]):
        mi = m[i]
        if j == 2:  # the common case (two query modalities), unrolled
            coeffs = (mi[2, 2], 2 * mi[0, 2], 2 * mi[1, 2], mi[0, 0], mi[1, 1], 2 * mi[0, 1])
            _neg_root_two(x[0, i], x[1, i], coeffs, scale, out[i, col : col + w])
        else:
            for c in range(x.shape[2]):
                v = mi[j, j]
                for p in range(j):
                    a = np.float64(x[p, i, c])
                    v += 2 * mi[p, j] * a + mi[p, p] * a * a
                    for q in range(p + 1, j):
                        v += 2 * mi[p, q] * a * np.float64(x[q, i, c])
                out[i, col + c] = -scale * np.sqrt(max(v, 0.0))


def _volume_block(
    queries: Sequence[Any], candidates: Any, xp: ModuleType, form: FormFn, scale: float
) -> Any:
    """Scores ``[n, m]`` of unit vectors: the per-query quadratic form ``form`` of the inner
    products (one matmul per query modality), square-rooted, times ``-scale``. On torch the
    block's few score-sized temporaries are left to the device (float64 for the
    polynomial)."""
    qs = list(queries)
    stacked = xp.stack(qs)  # [j, n, d]
    p = xp.einsum("and,bnd->nab", stacked, stacked)  # the query Gram matrices [n, j, j]
    m = form(xp.asarray(p, dtype=xp.float64), xp)
    c = candidates
    if xp is np:
        return _numpy_scores(qs, c, m, scale)
    j = len(qs)
    x = [q @ c.T for q in qs]
    v = m[:, j, j, None]
    for a in range(j):
        xa = x[a].double()
        v = v + (2 * m[:, a, j, None] + m[:, a, a, None] * xa) * xa
        for b in range(a + 1, j):
            v = v + 2 * m[:, a, b, None] * xa * x[b]
    return -scale * v.clamp(min=0).sqrt()


def _numpy_scores(qs: list[np.ndarray], c: np.ndarray, m: np.ndarray, scale: float) -> np.ndarray:
    """The numpy path in column chunks: the inner products of a chunk go to a scratch buffer
    reused by the thread (``SCRATCH_BYTES``, so a block needs one score array, not one per
    query modality, and no fresh pages per chunk), then one compiled pass writes the scores."""
    j, n = len(qs), len(qs[0])
    out = np.empty((n, len(c)), dtype=c.dtype)
    cols = max(1, SCRATCH_BYTES // (j * max(n, 1) * c.dtype.itemsize))
    for c0 in range(0, len(c), cols):
        c1 = min(len(c), c0 + cols)
        x = _scratch(j * n * (c1 - c0), c.dtype).reshape(j, n, c1 - c0)
        for a, q in enumerate(qs):
            np.matmul(q, c[c0:c1].T, out=x[a])
        _neg_root(x, m, scale, out, c0)
    return out


def _scratch(size: int, dtype: np.dtype) -> np.ndarray:
    """This thread's scratch buffer, at least ``size`` long (grown, never shrunk)."""
    buf: np.ndarray | None = getattr(_LOCAL, "buf", None)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = _LOCAL.buf = np.empty(max(size, SCRATCH_BYTES // dtype.itemsize), dtype)
    return buf[:size]


def gram_block(queries: Sequence[Any], candidates: Any, xp: ModuleType) -> Any:
    """GRAM scores: minus the volume spanned by the queries and candidate, already
    L2-normalised (the scorer's ``prepare``)."""
    return _volume_block(queries, candidates, xp, _gram_form, 1.0)


def triangle_block(queries: Sequence[Any], candidates: Any, xp: ModuleType) -> Any:
    """TRIANGLE scores: minus the area of the triangle of the vectors, already L2-normalised
    (the content of their simplex for another number of query modalities)."""
    return _volume_block(queries, candidates, xp, _simplex_form, 1.0 / math.factorial(len(queries)))


GRAM = Scorer(
    "gram",
    score_block=gram_block,
    one_dimension=True,
    prepare=_unit,
    description="GRAM: minus the volume sqrt(det G) spanned by the L2-normalised embeddings",
    interaction="pairwise",
)
TRIANGLE = Scorer(
    "triangle",
    score_block=triangle_block,
    one_dimension=True,
    prepare=_unit,
    description="TRIANGLE: minus the area of the triangle of the L2-normalised embeddings",
    interaction="pairwise",
)
