"""`symile-bench reproduce clock`: build one clock dataset, train each objective on it with the
recipe's settings, and write report.md with top-1 and its interval for each."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from symile_bench.baselines.reproduce import DatasetBuild, Plan, Request
from symile_bench.baselines.runs import Run, RunSummary


class ClockOptions(BaseModel):
    hours: int = Field(12, ge=2, le=64, description="Hours on the clock.")


class ClockReproduction:
    description = "Symile vs CLIP on clock: only start and step together give the end hour."
    Options = ClockOptions
    full_minutes = 2  # about how long the full run takes on 2 cores (a --quick banner says it)
    peer_minutes = 1

    def plan(self, request: Request) -> Plan:
        assert isinstance(request.options, ClockOptions)
        data = request.out / "data"
        rows = {"train_n": 500, "val_n": 200} if request.is_quick else {}
        build = DatasetBuild("clock", {"hours": request.options.hours, **rows}, data)
        epochs = {"epochs": 5} if request.is_quick else {}
        runs = [
            Run(
                data,
                None,
                loss,
                request.out / "models" / loss,
                request.out / "results" / f"{loss}.json",
                seed=request.seed,
                overrides=epochs,
            )
            for loss in request.objectives
        ]
        return Plan([build], runs)

    def report(
        self, request: Request, summaries: Sequence[RunSummary], wall_seconds: float
    ) -> Path:
        from symile_bench.baselines.summary import banner_lines, top1

        scores = {s.run.loss: top1(s.results[0]) for s in summaries}
        chance = next(iter(scores.values())).chance_text()
        lines = ["# clock: Symile vs CLIP", "", *banner_lines(request.quick)]
        lines += [f"Test top-1 with 95% bootstrap intervals ({chance}).", ""]
        lines += ["| objective | top-1 |", "|---|---|"]
        lines += [f"| {loss} | {score.text()} |" for loss, score in scores.items()]
        report = request.out / "report.md"
        report.write_text("\n".join(lines) + "\n", "utf-8")
        return report


REPRODUCTION = ClockReproduction()
