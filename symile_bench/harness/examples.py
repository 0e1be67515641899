"""Example models that know no benchmark, following the model protocol: templates for writing
a model, and known answers that check the harness end to end. Usable by name (``--model
constant``, ``--model content-hash``) or as ``--model symile_bench.harness.examples:NAME``.
Each benchmark's own oracles live on its model side (``builders/<name>/models/``).

* ``constant``: every embedding identical; all scores tie, so the tie rule ranks candidates
  uniformly at random and it scores chance.
* ``content_hash``: every item embeds to a hash of its decoded content (pixels, samples,
  text): a model that reads the media, at chance, whose every bit changes when an item does;
  it counts its calls and items (checks and benchmarks of encoding each medium once).

A missing modality (``missing`` mask) is encoded as the all-ones vector, the neutral element of
the multilinear inner product: the score then comes from the observed modalities alone.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError


def missing_as_ones(out: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """``out`` with the rows of missing items set to all ones (MIP's neutral element)."""
    if missing is not None:
        out[np.asarray(missing, dtype=bool)] = 1.0
    return out


def all_missing(missing: np.ndarray | None) -> bool:
    """Whether every item of a batch is missing (the model then never sees a value)."""
    return missing is not None and bool(np.all(missing))


class Constant:
    """Every row of every modality embeds to the same vector (so every score ties)."""

    name = "constant"

    def __init__(self, dim: int = 8, scoring: str = "mip") -> None:
        self.dim, self.scoring = int(dim), scoring
        self.metadata = {"dim": self.dim}

    def encode(self, modality: str, batch: Sequence[Any], *, missing=None) -> np.ndarray:
        return np.ones((len(batch), self.dim), dtype=np.float32)


def constant(dim: int = 8, scoring: str = "mip") -> Constant:
    return Constant(dim, scoring)


class ContentHash:
    """Item -> ``dim`` numbers in [0, 1) from a BLAKE2 hash of its decoded value: an image's
    pixels, a clip's samples and rate, a text's UTF-8, a vector's bytes. A missing item embeds
    to all ones. ``calls`` and ``items`` count ``encode`` calls and items per modality."""

    name = "content-hash"

    def __init__(self, dim: int = 16, scoring: str = "mip") -> None:
        if not 1 <= int(dim) <= 16:
            raise HarnessInputError(f"content-hash: dim must be 1..16, got {dim}")
        self.dim, self.scoring = int(dim), scoring
        self.metadata = {"dim": self.dim}
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()

    def encode(self, modality: str, batch: Sequence[Any], *, missing=None) -> np.ndarray:
        self.calls[modality] += 1
        self.items[modality] += len(batch)
        out = np.ones((len(batch), self.dim), dtype=np.float32)
        hidden = np.zeros(len(batch), bool) if missing is None else np.asarray(missing, bool)
        for i in np.flatnonzero(~hidden):
            digest = hashlib.blake2b(_content(batch[int(i)]), digest_size=64).digest()
            words = np.frombuffer(digest, dtype="<u4")[: self.dim]
            out[i] = (words / 2.0**32).astype(np.float32)
        return out


def _content(item: Any) -> bytes:
    """The bytes an item's hash covers: decoded values, so storage cannot change them."""
    if isinstance(item, dict) and "array" in item:  # a decoded clip
        return np.ascontiguousarray(item["array"]).tobytes() + str(item["sampling_rate"]).encode()
    if isinstance(item, str):
        return item.encode("utf-8")
    arr = np.asarray(item)  # a PIL image's pixels, a vector
    return arr.tobytes() + str(arr.shape).encode()


def content_hash(dim: int = 16, scoring: str = "mip") -> ContentHash:
    return ContentHash(dim, scoring)
