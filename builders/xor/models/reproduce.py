"""`symile-bench reproduce xor`: the paper's Fig. 3 and, with ``--modalities 3,4,5``, how each
objective scales with the number of modalities.

One dataset per M with every p of the grid, each objective trained with the paper's settings
(the recipe's defaults) on every (M, p), and the report: for the paper's three modalities alone
(the default), top-1 against p beside the paper's points and the exact information terms; for
several M, top-1 against p for each M and objective with intervals, paired differences against
Symile, chance and one plot (``scaling.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from symile_bench.baselines.reproduce import DatasetBuild, Plan, Request
from symile_bench.baselines.runs import Run, RunSummary

#: the p grid of a full run (the paper's) and of --quick
GRID = tuple(round(0.1 * k, 1) for k in range(11))
QUICK_GRID = (0.0, 0.5, 1.0)
PAPER_MODALITIES = (3,)


class XorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    modalities: tuple[int, ...] = Field(
        PAPER_MODALITIES,
        description="Numbers of modalities M to build and train on, comma-separated (e.g. "
        "3,4,5): one dataset per M, every objective on every (M, p), and a report of how each "
        "objective scales with M. Default 3: the paper's Fig. 3.",
    )

    @field_validator("modalities", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return tuple(int(x) for x in value.split(",") if x.strip())
            except ValueError:
                raise ValueError(f"expected integers separated by commas, got '{value}'") from None
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("modalities")
    @classmethod
    def _check(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        from builders.xor.build.names import MAX_MODALITIES

        if not value:
            raise ValueError("give at least one number of modalities")
        bad = [m for m in value if not 3 <= m <= MAX_MODALITIES]
        if bad:
            raise ValueError(
                f"XOR takes 3 to {MAX_MODALITIES} modalities (with 2 there is no higher-order "
                f"interaction), got {bad[0]}"
            )
        if len(set(value)) != len(value):
            raise ValueError("numbers of modalities must be distinct")
        return tuple(sorted(value))


class XorReproduction:
    description = (
        "The paper's Fig. 3: Symile vs CLIP (and any --objectives) on XOR at p = 0.0 ... 1.0, "
        "beside the paper's points and the exact information terms; with --modalities 3,4,5, "
        "how each objective scales with the number of modalities."
    )
    Options = XorOptions
    # measured on the 2-core reference machine (benchmarks/RESULTS.md, train_speed.py): 2 min
    # 18 s with all four objectives (three modalities), GRAM's and TRIANGLE's steps about twice
    # Symile's and CLIP's; rounded up
    full_minutes = 1
    peer_minutes = 1

    def _grid(self, request: Request) -> tuple[float, ...]:
        return QUICK_GRID if request.is_quick else GRID

    @staticmethod
    def _modalities(request: Request) -> tuple[int, ...]:
        options = request.options
        return options.modalities if isinstance(options, XorOptions) else PAPER_MODALITIES

    def plan(self, request: Request) -> Plan:
        grid, out = self._grid(request), request.out
        modalities = self._modalities(request)
        if modalities == PAPER_MODALITIES:  # the paper's layout (a rerun reuses its models)
            return self._plan_one(request, grid, out, {})
        plans = {
            m: self._plan_one(request, grid, out / f"m{m}", {"modalities": m}) for m in modalities
        }
        # p = 1, 0.5 and 0 of every M first, then the rest of the grid: a study stopped
        # part-way has already compared every M at the ends and the middle of the p range
        runs = sorted(
            ((m, run) for m, plan in plans.items() for run in plan.runs),
            key=lambda mr: (
                float((mr[1].config or "p0").removeprefix("p")) not in QUICK_GRID,
                mr[0],
            ),
        )
        return Plan([b for plan in plans.values() for b in plan.builds], [r for _, r in runs])

    @staticmethod
    def _plan_one(
        request: Request, grid: tuple[float, ...], out: Path, options: dict[str, int]
    ) -> Plan:
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
        return Plan([DatasetBuild("xor", {**options, "p": grid}, data)], runs)

    def report(
        self, request: Request, summaries: Sequence[RunSummary], wall_seconds: float
    ) -> Path:
        if self._modalities(request) == PAPER_MODALITIES:
            from builders.xor.models.report import write_xor_report

            return write_xor_report(
                request.out,
                summaries,
                self._grid(request),
                wall_seconds=wall_seconds,
                quick=request.quick,
            )
        from builders.xor.models.scaling import write_scaling_report

        return write_scaling_report(
            request.out,
            summaries,
            self._grid(request),
            self._modalities(request),
            wall_seconds=wall_seconds,
            quick=request.quick,
        )


REPRODUCTION = XorReproduction()
