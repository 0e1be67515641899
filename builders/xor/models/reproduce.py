"""`symile-bench reproduce xor`: the paper's Fig. 3. One dataset with every p of the grid, each
objective trained with the paper's settings (the recipe's defaults) on every p, and the report
of top-1 against p beside the paper's points and the exact information terms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from symile_bench.baselines.reproduce import DatasetBuild, NoOptions, Plan, Request
from symile_bench.baselines.runs import Run, RunSummary

#: the p grid of a full run (the paper's) and of --quick
GRID = tuple(round(0.1 * k, 1) for k in range(11))
QUICK_GRID = (0.0, 0.5, 1.0)


class XorReproduction:
    description = (
        "The paper's Fig. 3: Symile vs CLIP (and any --objectives) on XOR at p = 0.0 ... 1.0, "
        "beside the paper's points and the exact information terms."
    )
    Options = NoOptions
    # measured on the 2-core reference machine: 10 min 50 s for Symile and CLIP; 30 min 20 s
    # with GRAM and TRIANGLE added
    full_minutes = 11
    peer_minutes = 10

    def _grid(self, request: Request) -> tuple[float, ...]:
        return QUICK_GRID if request.is_quick else GRID

    def plan(self, request: Request) -> Plan:
        grid, out = self._grid(request), request.out
        data = out / "data"
        runs = [
            Run(
                data,
                f"p{p}",
                loss,
                out / "models" / f"{loss}-p{p}",
                out / "results" / f"{loss}-p{p}.json",
                seed=request.seed,
            )
            for p in grid
            for loss in request.objectives
        ]
        return Plan([DatasetBuild("xor", {"p": grid}, data)], runs)

    def report(
        self, request: Request, summaries: Sequence[RunSummary], wall_seconds: float
    ) -> Path:
        from builders.xor.models.report import write_xor_report

        return write_xor_report(
            request.out,
            summaries,
            self._grid(request),
            wall_seconds=wall_seconds,
            quick=request.quick,
        )


REPRODUCTION = XorReproduction()
