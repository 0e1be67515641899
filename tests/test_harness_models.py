"""The model protocol stands alone: `symile_bench.harness.models` (RetrievalModel, MODELS,
load_model) is what a model package and `--model` loading read, so importing it must not pull in
the ranking engine, its block backends or their heavy libraries."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numba", "torch", "datasets", "pyarrow", "pandas")
ENGINE = ("ranking", "backends", "topk", "rowstats", "correct", "volumes")
PROBE = (
    "import sys\n"
    "from symile_bench.harness.models import load_model\n"
    "load_model('constant')\n"
    "print(' '.join(sorted(sys.modules)))\n"
)


def test_model_protocol_imports_no_ranking_engine_and_no_heavy_library() -> None:
    """Proves that importing `symile_bench.harness.models` and loading a built-in model with it
    (which checks the model's scorer name) leave numba, torch, datasets, pyarrow and pandas out
    of `sys.modules`, and with them the ranking engine (`ranking`, `backends`, `topk`,
    `rowstats`, `correct`) and the volume scorers, in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(done.stdout.split())
    assert "symile_bench.harness.models" in loaded
    heavy = [m for m in HEAVY if m in loaded]
    engine = [m for m in (f"symile_bench.harness.{e}" for e in ENGINE) if m in loaded]
    assert not heavy and not engine, f"importing the model protocol imported {heavy + engine}"
