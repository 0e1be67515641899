"""The XOR oracles: models that are exact at p = 1 under Symile's scoring (top-1 = 1.0) for any
number of modalities, known answers that check the harness end to end (``--model xor-oracle``,
``--model xor-walsh``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.examples import all_missing, missing_as_ones

#: xor-walsh embeds in 2^d dimensions: 4,096 floats per row at this limit
MAX_WALSH_D = 12


def _known(modality: str) -> None:
    """Any single-letter modality of an XOR build (a, b, c, ... for any M); others are not
    XOR's (KeyError: the harness reports the modality in one line)."""
    if len(modality) != 1 or not modality.isalpha() or modality == "i":
        raise KeyError(modality)


class XorOracle:
    """With s(x) = 1 − 2x (bits to ±1), x_1 XOR ... XOR x_M = 0  ⇔  Π_m s(x_m) = 1
    coordinate-wise, so embedding every modality as s(x) makes the MIP of all M embeddings,
    Σ_k Π_m s(x_m)_k, equal to d exactly when the candidate is the XOR of the queries, and at
    most d − 2 otherwise: the top candidate is that XOR, for any number of modalities."""

    scoring = "mip"
    name = "xor-oracle"

    def __init__(self, d: int | None = None) -> None:
        self.d = d

    def encode(self, modality: str, batch: Sequence[Any], *, missing=None) -> np.ndarray:
        _known(modality)
        if all_missing(missing):
            if self.d is None:
                raise HarnessInputError("xor-oracle: pass --model-arg d=<vector length>")
            return np.ones((len(batch), self.d), dtype=np.float32)
        bits = np.asarray(batch, dtype=np.float32)
        self.d = bits.shape[1]
        return missing_as_ones(1.0 - 2.0 * bits, missing)


def walsh_characters(bits: np.ndarray) -> np.ndarray:
    """``[n, 2^d]``: row r holds χ_s(x_r) = (−1)^(s·x_r) for every s in {0,1}^d (s in binary
    order, bit k of s the coefficient of coordinate k). The characters multiply as
    χ_s(x) χ_s(y) = χ_s(x XOR y) and sum to Σ_s χ_s(x) = 2^d [x = 0]."""
    d = bits.shape[1]
    s = (np.arange(1 << d)[:, None] >> np.arange(d)[None, :]) & 1  # [2^d, d]
    parity = (bits.astype(np.int64) @ s.T) & 1  # s·x mod 2
    return (1 - 2 * parity).astype(np.float32)


class XorWalsh:
    """Every modality embedded by its Walsh characters (``walsh_characters``), so the MIP of
    all M embeddings is Σ_s χ_s(x_1 XOR ... XOR x_M) = 2^d · [x_1 XOR ... XOR x_M = 0]: exactly
    2^d for the candidate that completes the XOR and exactly 0 for every other, at any M. The
    same embeddings scored ``pairwise`` give χ(x)·χ(y) = 2^d [x = y] per pair, which sees no
    XOR, so with ``--scoring pairwise`` they rank at chance."""

    scoring = "mip"
    name = "xor-walsh"

    def __init__(self, d: int | None = None) -> None:
        self.d = d

    def encode(self, modality: str, batch: Sequence[Any], *, missing=None) -> np.ndarray:
        _known(modality)
        if all_missing(missing):
            if self.d is None:
                raise HarnessInputError("xor-walsh: pass --model-arg d=<vector length>")
            return np.ones((len(batch), 1 << self.d), dtype=np.float32)
        bits = np.asarray(batch, dtype=np.float32)
        if bits.shape[1] > MAX_WALSH_D:
            raise HarnessInputError(
                f"xor-walsh embeds in 2^d dimensions; d = {bits.shape[1]} is above "
                f"{MAX_WALSH_D}: use --model xor-oracle (d dimensions)"
            )
        self.d = bits.shape[1]
        return missing_as_ones(walsh_characters(bits), missing)


def xor_oracle(d: int | None = None) -> XorOracle:
    return XorOracle(d)


def xor_walsh(d: int | None = None) -> XorWalsh:
    return XorWalsh(d)
