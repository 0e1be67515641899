"""Exact information terms of the binary XOR benchmark with M modalities (docs/paper.md,
"Binary XOR"; ``build xor --modalities M``).

The joint law has a finite support: every (x_1, ..., x_{M-1}) in ({0,1}^d)^(M-1), each with
probability 2^-(d(M-1)), and the switch i, so 2 · 2^(d(M-1)) atoms; x_M = x_1 XOR ... XOR x_{M-1}
when i = 1, else x_1. Every entropy is a sum over those atoms, computed exactly with
``np.unique`` / ``np.bincount`` over integer codes instead of estimated from samples (the
release's estimator takes about 1.5 hours for d = 5, M = 3). Two facts keep it fast:

* the multiplicity of each value of a subset of modalities among the i = 0 atoms and among the
  i = 1 atoms does not depend on p, so one enumeration serves every p (mass = ((1 - p) · n_0 +
  p · n_1) / 2^(d(M-1)));
* x_2 ... x_{M-1} are exchangeable (the law is unchanged when they are permuted), so the
  entropy of a subset depends only on whether it holds x_1, how many of x_2 ... x_{M-1} and
  whether it holds x_M: at most 4(M - 1) enumerations, whatever the number of terms.

Beyond ``MAX_ATOMS`` the enumeration is refused with one line rather than run out of memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, pairwise

import numpy as np

from builders.xor.build.names import MAX_MODALITIES, modality_names
from symile_bench.errors import ConfigError

MAX_D = 20  # the builder's limit; the atom limit below is what binds
#: 2 · 2^21 atoms (M = 3: d <= 10; M = 4: d <= 7; M = 5: d <= 5): a few seconds, < 0.5 GB
MAX_ATOMS = 1 << 22
TARGET = "b"
DIRECT_BITS = 22  # codes of at most this many bits are counted with a direct bincount

Signature = tuple[bool, int, bool]  # (holds x_1, how many of x_2 ... x_{M-1}, holds x_M)


@dataclass(frozen=True)
class Term:
    """One conditional mutual information I(x; y | given), standing for ``count`` terms of
    equal value (those obtained by permuting x_2 ... x_{M-1}); ``order`` counts the modalities
    it involves (2: pairwise)."""

    x: str
    y: str
    given: tuple[str, ...]
    count: int

    @property
    def order(self) -> int:
        return 2 + len(self.given)

    @property
    def label(self) -> str:
        cond = f"|{','.join(self.given)}" if self.given else ""
        return f"I({self.x};{self.y}{cond})"


@dataclass(frozen=True)
class XorInfo:
    """Entropies (bits) of every subset of the modalities for one p, and the terms made of
    them."""

    p: float
    d: int
    names: tuple[str, ...]
    entropies: Mapping[frozenset[str], float]

    @property
    def modalities(self) -> int:
        return len(self.names)

    def entropy(self, names: Iterable[str]) -> float:
        return self.entropies[frozenset(names)]

    def mutual(self, x: Iterable[str], y: Iterable[str], given: Iterable[str] = ()) -> float:
        """I(X; Y | Z) = H(X, Z) + H(Y, Z) - H(Z) - H(X, Y, Z) for sets of modality names."""
        xs, ys, zs = set(x), set(y), set(given)
        h = self.entropy
        return h(xs | zs) + h(ys | zs) - h(zs) - h(xs | ys | zs)

    def term(self, term: Term) -> float:
        return self.mutual([term.x], [term.y], term.given)

    @property
    def total_correlation(self) -> float:
        """TC = sum of the marginal entropies minus the joint entropy."""
        return sum(self.entropy([m]) for m in self.names) - self.entropy(self.names)

    def about(self, target: str = TARGET, queries: Sequence[str] | None = None) -> float:
        """I(target; queries), by default all the other modalities: what they tell jointly."""
        rest = [m for m in self.names if m != target] if queries is None else queries
        return self.mutual([target], rest)

    def best_proper(self, target: str = TARGET) -> tuple[tuple[str, ...], float]:
        """The proper subset of the other modalities that tells most about ``target``, and
        how much (zero for b at every p: only all of them together say anything)."""
        rest = [m for m in self.names if m != target]
        subsets = [s for k in range(1, len(rest)) for s in combinations(rest, k)]
        return max(((s, self.about(target, s)) for s in subsets), key=lambda x: x[1])


def atoms(d: int, modalities: int) -> int:
    """Size of the joint law's support: 2 · 2^(d(M - 1))."""
    return 2 << (d * (modalities - 1))


def check_size(d: int, modalities: int) -> None:
    """One line, naming the options, when the enumeration would be too large."""
    if not 1 <= d <= MAX_D:
        raise ConfigError(f"--d must be between 1 and {MAX_D}, got {d}")
    if not 3 <= modalities <= MAX_MODALITIES:
        raise ConfigError(f"--modalities must be between 3 and {MAX_MODALITIES}, got {modalities}")
    if atoms(d, modalities) > MAX_ATOMS:
        raise ConfigError(
            f"--d {d} --modalities {modalities}: the joint law has 2·2^{d * (modalities - 1)} "
            f"atoms, more than the {MAX_ATOMS:,} enumerated exactly; lower --d or --modalities"
        )


def _signature(subset: Iterable[int], m: int) -> Signature:
    s = set(subset)
    return (0 in s, sum(1 for k in s if 0 < k < m - 1), m - 1 in s)


def _representative(sig: Signature, m: int) -> tuple[int, ...]:
    first, middles, last = sig
    return (*((0,) if first else ()), *range(1, 1 + middles), *((m - 1,) if last else ()))


@lru_cache(maxsize=8)
def _multiplicities(d: int, m: int) -> dict[Signature, tuple[np.ndarray, np.ndarray]]:
    """For each signature, the multiplicities of the representative subset's values among the
    i = 0 atoms and among the i = 1 atoms (aligned: entry k is one value in both)."""
    size = 1 << d
    idx = np.arange(size ** (m - 1), dtype=np.int64)
    free = [(idx >> (d * k)) & (size - 1) for k in range(m - 1)]  # x_1 ... x_{M-1}
    rest = free[1]
    for x in free[2:]:
        rest = rest ^ x
    values = {0: [*free, free[0]], 1: [*free, free[0] ^ rest]}  # by the switch
    out: dict[Signature, tuple[np.ndarray, np.ndarray]] = {}
    for first in (False, True):
        for middles in range(m - 1):
            for last in (False, True):
                sig = (first, middles, last)
                subset = _representative(sig, m)
                if not subset:
                    continue
                codes = []
                for i in (0, 1) if last else (0,):  # without x_M the switch changes nothing
                    code = np.zeros_like(idx)
                    for k in subset:
                        code = (code << d) | values[i][k]
                    codes.append(code)
                out[sig] = _aligned_counts(codes, d * len(subset))
    return out


def _aligned_counts(codes: list[np.ndarray], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicities of each code in each array, aligned by code (one array: both the
    same): a direct ``bincount`` while 2^width bins are few, else through ``np.unique``."""
    if width <= DIRECT_BITS:
        counts = [np.bincount(c, minlength=1 << width) for c in codes]
    else:
        _, inverse = np.unique(np.concatenate(codes), return_inverse=True)
        bounds = np.cumsum([0, *(len(c) for c in codes)])
        counts = [
            np.bincount(inverse[a:b], minlength=inverse.max() + 1) for a, b in pairwise(bounds)
        ]
    return counts[0], counts[-1]


def _entropy(n0: np.ndarray, n1: np.ndarray, p: float, total: int) -> float:
    mass = ((1.0 - p) * n0 + p * n1) / total
    mass = mass[mass > 0]
    return float(-(mass * np.log2(mass)).sum())


def xor_info(d: int, p: float, modalities: int = 3) -> XorInfo:
    """Exact entropies of every subset of the M modalities, for vectors of length ``d`` and
    switch probability ``p``, by enumerating the joint law."""
    check_size(d, modalities)
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"p must be between 0 and 1, got {p}")
    m, names = modalities, modality_names(modalities)
    counts = _multiplicities(d, m)
    by_sig = {sig: _entropy(n0, n1, p, 1 << (d * (m - 1))) for sig, (n0, n1) in counts.items()}
    entropies: dict[frozenset[str], float] = {frozenset(): 0.0}
    for k in range(1, m + 1):
        for subset in combinations(range(m), k):
            entropies[frozenset(names[j] for j in subset)] = by_sig[_signature(subset, m)]
    return XorInfo(float(p), d, names, entropies)


def xor_info_grid(d: int, ps: Sequence[float], modalities: int = 3) -> list[XorInfo]:
    check_size(d, modalities)
    return [xor_info(d, p, modalities) for p in ps]


def terms(modalities: int) -> list[Term]:
    """The pairwise terms and the conditional terms of every order (conditioned on 1 ... M - 2
    of the other modalities), one per class of terms equal by the exchangeability of x_2 ...
    x_{M-1} (its first in name order stands for it), by order."""
    names = modality_names(modalities)
    m = modalities
    found: dict[tuple[object, ...], list[tuple[str, str, tuple[str, ...]]]] = {}
    for size in range(m - 1):
        for x, y in combinations(range(m), 2):
            others = [k for k in range(m) if k not in (x, y)]
            for given in combinations(others, size):
                key = (size, tuple(sorted(_role(k, m) for k in (x, y))), _signature(given, m))
                found.setdefault(key, []).append(
                    (names[x], names[y], tuple(names[k] for k in given))
                )
    return [Term(*members[0], count=len(members)) for members in found.values()]


def _role(k: int, m: int) -> int:
    """0: x_1, 1: one of x_2 ... x_{M-1}, 2: x_M."""
    return 0 if k == 0 else 2 if k == m - 1 else 1


def bits(value: float) -> str:
    """A term as a table prints it (rounding's -0.0000 shown as 0.0000)."""
    return f"{abs(value) if abs(value) < 1e-12 else value:.4f}"


def info_rows(d: int, ps: Sequence[float], modalities: int) -> tuple[list[str], list[list[str]]]:
    """The table ``xor-info`` prints and the card shows: one column per p, one row per
    quantity: the total correlation, what all the other modalities tell about b, the most any
    proper subset of them tells, then every class of terms (``terms``) by order, its size
    as ×k."""
    grid = xor_info_grid(d, ps, modalities)
    names = modality_names(modalities)
    rest = [m for m in names if m != TARGET]
    header = ["term", "order", *(f"p = {p:g}" for p in ps)]
    rows = [
        [f"TC({','.join(names)})", str(modalities), *(bits(r.total_correlation) for r in grid)],
        [f"I({TARGET};{','.join(rest)})", str(modalities), *(bits(r.about()) for r in grid)],
        [
            f"max I({TARGET};S), S a proper subset of {{{','.join(rest)}}}",
            f"< {modalities}",
            *(bits(r.best_proper()[1]) for r in grid),
        ],
    ]
    for term in terms(modalities):
        size = f" ×{term.count}" if term.count > 1 else ""
        rows.append([term.label + size, str(term.order), *(bits(r.term(term)) for r in grid)])
    return header, rows
