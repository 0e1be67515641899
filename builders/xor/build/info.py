"""Exact information terms of the binary XOR benchmark (docs/paper.md, "Binary XOR").

The joint law has a small support: for every (a, b) in {0,1}^d x {0,1}^d (each with
probability 4^-d), c = a XOR b with probability p and c = a otherwise. So every entropy is a
sum over at most 2 * 4^d atoms, computed exactly with ``np.bincount`` over integer codes
instead of estimated from samples (the release's estimator takes about 1.5 hours for d = 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from symile_bench.errors import ConfigError

MAX_D = 10  # 2 * 4^10 atoms = 2M: still well under a second


@dataclass(frozen=True)
class XorInfo:
    """Information terms in bits for one p."""

    p: float
    i_ab: float
    i_ac: float
    i_bc: float
    i_ab_given_c: float
    i_bc_given_a: float
    total_correlation: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _entropy(codes: np.ndarray, weights: np.ndarray) -> float:
    """Entropy in bits of the distribution putting ``weights`` on ``codes`` (summed per code)."""
    _, inverse = np.unique(codes, return_inverse=True)
    mass = np.bincount(inverse, weights=weights)
    mass = mass[mass > 0]
    return float(-(mass * np.log2(mass)).sum())


def xor_info(d: int, p: float) -> XorInfo:
    """Exact I(a;b), I(a;c), I(b;c), I(a;b|c), I(b;c|a) and TC(a,b,c) for vectors of length
    ``d`` and switch probability ``p``."""
    if not 1 <= d <= MAX_D:
        raise ConfigError(f"--d must be between 1 and {MAX_D}, got {d}")
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"p must be between 0 and 1, got {p}")
    size = 1 << d
    a, b = (x.ravel().astype(np.int64) for x in np.meshgrid(np.arange(size), np.arange(size)))
    a, b = np.concatenate([a, a]), np.concatenate([b, b])
    c = np.concatenate([a[: size * size] ^ b[: size * size], a[: size * size]])
    w = np.concatenate([np.full(size * size, p), np.full(size * size, 1.0 - p)]) / (size * size)

    def h(*xs: np.ndarray) -> float:
        code = np.zeros_like(xs[0])
        for x in xs:
            code = code * size + x
        return _entropy(code, w)

    ha, hb, hc = h(a), h(b), h(c)
    hab, hac, hbc, habc = h(a, b), h(a, c), h(b, c), h(a, b, c)
    return XorInfo(
        p=float(p),
        i_ab=ha + hb - hab,
        i_ac=ha + hc - hac,
        i_bc=hb + hc - hbc,
        i_ab_given_c=hac + hbc - hc - habc,
        i_bc_given_a=hab + hac - ha - habc,
        total_correlation=ha + hb + hc - habc,
    )


def xor_info_grid(d: int, ps: Sequence[float]) -> list[XorInfo]:
    return [xor_info(d, p) for p in ps]
