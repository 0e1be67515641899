"""XOR: each modality is a bit vector; the encoder is an affine map to R^16 (the paper's), which
is the generic vector recipe under XOR's name, for any number of modalities."""

from __future__ import annotations

from symile_bench.baselines.recipes import Settings, VectorRecipe


class XorRecipe(VectorRecipe):
    name = "xor"

    def feature_key(self, modality: str, settings: Settings) -> str:
        return "bits-v1"  # the cache key of every XOR checkpoint's features so far


RECIPE = XorRecipe()
