"""Reference Symile, pairwise-CLIP, GRAM and TRIANGLE baselines (torch): losses, small CPU
encoders per benchmark, a trainer, and checkpoints that load as harness models.

``symile_bench.baselines:load`` is the model factory for `symile-bench evaluate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load(path: str | Path) -> Any:
    """Load a checkpoint written by `symile-bench train` as a harness model (imports torch)."""
    from symile_bench.baselines.model import load as load_model

    return load_model(path)


__all__ = ["load"]
