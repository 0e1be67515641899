"""Example models following the model protocol: known answers that check the harness end to
end, and templates for writing a model. Usable as ``--model symile_bench.harness.examples:NAME``
or by entry-point name (``xor-oracle``, ``m3-oracle``, ``constant``).

* ``xor_oracle``: exact for XOR at p = 1 (top-1 = 1.0).
* ``m3_oracle``: exact for Symile-M3 from metadata (a perfect language identifier for audio, a
  perfect image classifier for images, and the lexicon for text).
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

from symile_bench.harness.errors import HarnessInputError


def _with_missing(out: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    if missing is not None:
        out[np.asarray(missing, dtype=bool)] = 1.0
    return out


def _hidden(batch: Sequence[Any], missing: np.ndarray | None) -> bool:
    return missing is not None and bool(np.all(missing))


class XorOracle:
    """With s(x) = 1 − 2x (bits to ±1), b = a XOR c  ⇔  s(b) = s(a)·s(c) coordinate-wise, so
    embedding every modality as s(x) makes MIP(a, c, b) = Σ_k s(a)_k s(c)_k s(b)_k equal to d
    exactly when b = a XOR c, and at most d − 2 otherwise: the top candidate is a XOR c."""

    scoring = "mip"
    name = "xor-oracle"
    modalities = ("a", "b", "c")

    def __init__(self, d: int | None = None) -> None:
        self.d = d

    def encode(self, modality: str, batch: Sequence[Any], *, missing=None) -> np.ndarray:
        if modality not in self.modalities:
            raise KeyError(modality)
        if _hidden(batch, missing):
            if self.d is None:
                raise HarnessInputError("xor-oracle: pass --model-arg d=<vector length>")
            return np.ones((len(batch), self.d), dtype=np.float32)
        bits = np.asarray(batch, dtype=np.float32)
        self.d = bits.shape[1]
        return _with_missing(1.0 - 2.0 * bits, missing)


def xor_oracle(d: int | None = None) -> XorOracle:
    return XorOracle(d)


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


class M3Oracle:
    """Coordinates are (language, class) pairs. Audio in language L: ones on L's block. Text:
    a one at (language, class) for each word (the lexicon has no word in two languages). Image
    of class C: ones on C's column. MIP = [the text's word in language L names C], so the
    query's class ranks first."""

    scoring = "mip"
    name = "m3-oracle"
    modalities = ("audio", "image", "text")

    def __init__(self, lexicon: str | None = None) -> None:
        from pathlib import Path

        from symile_bench.lexicon import load_lexicon

        lex = load_lexicon(Path(lexicon) if lexicon else None)
        self.languages = tuple(lex.words)
        self.class_index = {int(c): k for k, c in enumerate(lex.cls_id)}
        self.word_index = {
            word: (li, k)
            for li, lang in enumerate(self.languages)
            for k, word in enumerate(lex.words[lang])
            if word
        }
        self.dim = len(self.languages) * len(self.class_index)
        self.metadata = {"lexicon": lexicon or "default", "dim": self.dim}

    def _meta(self, batch: Any, column: str) -> Sequence[Any]:
        meta = getattr(batch, "meta", None)
        if meta is None or column not in meta:
            raise HarnessInputError(f"m3-oracle needs batch.meta[{column!r}] (a ModalityBatch)")
        return meta[column]

    def encode(self, modality: str, batch: Sequence[Any], *, missing=None) -> np.ndarray:
        k = len(self.class_index)
        out = np.zeros((len(batch), len(self.languages), k), dtype=np.float32)
        if _hidden(batch, missing):
            return np.ones((len(batch), self.dim), dtype=np.float32)
        if modality == "audio":
            for i, lang in enumerate(self._meta(batch, "lang")):
                if lang is not None:
                    out[i, self.languages.index(lang), :] = 1.0
        elif modality == "image":
            for i, cls_id in enumerate(self._meta(batch, "cls_id")):
                if cls_id is not None:
                    out[i, :, self.class_index[int(cls_id)]] = 1.0
        elif modality == "text":
            for i, text in enumerate(batch):
                for word in (text or "").split("_"):
                    if word not in self.word_index:
                        raise HarnessInputError(
                            f"m3-oracle: word {word!r} is not in the lexicon; pass "
                            "--model-arg lexicon=PATH (the build's --translations file)"
                        )
                    out[i, self.word_index[word][0], self.word_index[word][1]] = 1.0
        else:
            raise KeyError(modality)
        return _with_missing(out.reshape(len(batch), -1), missing)


def m3_oracle(lexicon: str | None = None) -> M3Oracle:
    return M3Oracle(lexicon)
