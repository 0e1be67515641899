"""How much memory Symile's O(N^(M-1)) negatives need, checked before they are allocated.

With ``negatives="n2"`` every anchor's logits hold one column per combination of the other
modalities' batch rows: ``N x N^(M-1)`` values, i.e. N^M per anchor and M anchors per batch.
That is 4 GB of float32 at N = 1,000 for M = 3 and 4 TB for M = 4: without a check the
allocation fails deep inside torch (or the machine swaps) with no hint of why. The estimate,
measured on CPU torch (peak resident memory of one forward + backward pass, M = 3, 4, 5): about
3 · M · N^M floats (each anchor keeps its logits, their scaled copy and the softmax for the
backward pass) plus the N^(M-1) · dim products; ``n2_bytes`` counts 4 · M · N^M to stay above
it. The budget is the memory the system reports available now.
"""

from __future__ import annotations

import os
from pathlib import Path

from symile_bench.errors import ConfigError

FLOAT_BYTES = 4


def n2_bytes(n: int, modalities: int, dim: int) -> int:
    """Bytes a forward and backward pass of ``symile_loss(negatives="n2")`` needs at batch
    size ``n`` (an upper estimate; module docstring)."""
    per_anchor = 4 * n**modalities + n ** (modalities - 1) * dim
    return FLOAT_BYTES * modalities * per_anchor


def available_bytes() -> int | None:
    """Memory available to a new allocation (Linux ``MemAvailable``; else free physical pages),
    or None when the system does not say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def largest_batch(modalities: int, dim: int, budget: int) -> int:
    """The largest batch size whose n2 negatives fit in ``budget`` bytes (1 if none does)."""
    low, high = 1, 2
    while n2_bytes(high, modalities, dim) <= budget:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if n2_bytes(mid, modalities, dim) <= budget else (low, mid)
    return low


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover - the loop always returns


def check_n2_memory(n: int, modalities: int, dim: int, budget: int | None = None) -> None:
    """Refuse, in one line with the memory needed and a batch size that fits, a batch whose
    N^(M-1) negatives do not fit in ``budget`` (default: the memory available now)."""
    budget = available_bytes() if budget is None else budget
    if budget is None:
        return
    need = n2_bytes(n, modalities, dim)
    if need <= budget:
        return
    fits = largest_batch(modalities, dim, budget)
    hint = f"--batch-size {fits} fits" if fits >= 2 else "no batch of 2 or more fits"
    raise ConfigError(
        f"--negatives n2 with {modalities} modalities and a batch of {n}: the "
        f"{n}^{modalities - 1} = {n ** (modalities - 1):.3g} tuples each anchor is contrasted "
        "with need about "
        f"{_size(need)} of memory, {_size(budget)} is available; {hint}, or use --negatives n "
        "(O(N) negatives)"
    )
