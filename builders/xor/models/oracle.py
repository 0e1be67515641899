"""The XOR oracle: a model that is exact at p = 1 under Symile's scoring (top-1 = 1.0), a known
answer that checks the harness end to end (``--model xor-oracle``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.examples import all_missing, missing_as_ones


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
        if all_missing(missing):
            if self.d is None:
                raise HarnessInputError("xor-oracle: pass --model-arg d=<vector length>")
            return np.ones((len(batch), self.d), dtype=np.float32)
        bits = np.asarray(batch, dtype=np.float32)
        self.d = bits.shape[1]
        return missing_as_ones(1.0 - 2.0 * bits, missing)


def xor_oracle(d: int | None = None) -> XorOracle:
    return XorOracle(d)
