"""`symile-bench reproduce NAME`: run the reproduction a benchmark declares.

A benchmark's model side declares a `Reproduction` (registered in its `Benchmark` declaration
under ``reproductions``): its own options, and a `plan` (the datasets to build and the training
runs) and a `report`. This module runs any such plan the same way: build each dataset through
the library's build API (a rerun keeps identical shards), train and evaluate every run
(independent runs spread over processes; each results file is re-scored against the answer
key before it is written), then hand the summaries to the benchmark's report. It names no
benchmark.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from symile_bench.errors import ConfigError
from symile_bench.registry import Registry

if TYPE_CHECKING:  # imported where used: `symile-bench --help` imports this module
    from symile_bench.baselines.runs import Run, RunSummary
    from symile_bench.baselines.summary import Quick

#: the objectives every reproduction trains (the paper's comparison, which the reports' paper
#: columns need); `--objectives` may add the peer objectives beside them
REQUIRED_OBJECTIVES = ("symile", "clip")


class NoOptions(BaseModel):
    """A reproduction without options of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Request:
    """What `reproduce NAME` was asked: the options every reproduction has, and the
    benchmark's own (``options``, an instance of its ``Options``)."""

    out: Path
    seed: int = 0
    workers: int | None = None
    quiet: bool = False
    objectives: tuple[str, ...] = REQUIRED_OBJECTIVES
    options: BaseModel = field(default_factory=NoOptions)
    #: None for a full run; for ``--quick`` what its report's banner says
    quick: Quick | None = None

    @property
    def is_quick(self) -> bool:
        return self.quick is not None


@dataclass(frozen=True)
class DatasetBuild:
    """One dataset a plan needs: ``builder`` with ``options`` (its Config fields) into ``out``."""

    builder: str
    options: dict[str, Any]
    out: Path


@dataclass(frozen=True)
class Plan:
    builds: Sequence[DatasetBuild]
    runs: Sequence[Run]


class Reproduction(Protocol):
    """A benchmark's reproduction of the paper's experiment."""

    #: the `reproduce NAME --help` text
    description: str
    #: the benchmark's own options (pydantic; each field a CLI option, its description the help)
    Options: type[BaseModel]
    #: honest estimates on the 2-core reference machine, quoted by a --quick report's banner:
    #: the full run of Symile and CLIP, and what each further objective adds
    full_minutes: int
    peer_minutes: int

    def plan(self, request: Request) -> Plan:
        """The datasets and runs (it may write sources the datasets are built from)."""

    def report(
        self, request: Request, summaries: Sequence[RunSummary], wall_seconds: float
    ) -> Path:
        """Write OUT/report.md (and plots) from the finished runs; return its path."""


def _loaded_reproduction(obj: Any) -> Reproduction:
    if not callable(getattr(obj, "plan", None)) or not callable(getattr(obj, "report", None)):
        raise ConfigError(
            "a reproduction must have plan(request) and report(request, summaries, seconds), "
            f"got {type(obj).__name__}"
        )
    return obj


REPRODUCTIONS: Registry[Reproduction] = Registry(
    "reproduction",
    group="symile_bench.reproductions",
    facet="reproductions",
    option="reproduce",
    load=_loaded_reproduction,
)


def parse_objectives(text: str) -> tuple[str, ...]:
    """``--objectives symile,clip,gram,triangle`` as losses of the reference trainer, in order."""
    from symile_bench.baselines.losses import LOSSES

    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in LOSSES]
    if unknown:
        raise ConfigError(
            f"--objectives: unknown objective {unknown[0]!r}; choose from {', '.join(LOSSES)}"
        )
    absent = [n for n in REQUIRED_OBJECTIVES if n not in names]
    if absent:
        raise ConfigError(
            f"--objectives {text!r} lacks {', '.join(absent)}: every reproduction trains "
            f"{' and '.join(REQUIRED_OBJECTIVES)} (the paper's comparison); add the others "
            "beside them, e.g. --objectives symile,clip,gram,triangle"
        )
    return names


def quick_note(reproduction: Reproduction, objectives: Sequence[str]) -> Quick:
    """What a ``--quick`` report says of the full run: about how long it takes on 2 cores."""
    from symile_bench.baselines.summary import Quick

    peers = len(set(objectives) - set(REQUIRED_OBJECTIVES))
    return Quick(reproduction.full_minutes + peers * reproduction.peer_minutes)


def build_dataset(
    name: str, options: dict[str, Any], out: Path, *, seed: int, workers: int | None, quiet: bool
) -> Path:
    """Build (or resume: identical shards are kept) ``name`` with ``options`` into ``out``."""
    from symile_bench.build import build, parse_config
    from symile_bench.executors import make_executor
    from symile_bench.registry import get_builder

    builder = get_builder(name)
    build(
        builder,
        parse_config(builder, options),
        out,
        seed=seed,
        executor=make_executor("processes", workers),
        quiet=quiet,
        warn=lambda m: None,
    )
    return out


def run_all(runs: Sequence[Run], *, workers: int | None, quiet: bool) -> list[RunSummary]:
    """Execute runs, ``workers`` at a time (each in its own process with 1 torch thread when
    parallel, since these models are too small to gain from intra-op threads)."""
    from symile_bench.baselines.runs import execute
    from symile_bench.executors import available_cores
    from symile_bench.progress import progress_bar

    n = max(1, min(workers or available_cores(), len(runs)))
    done: list[RunSummary] = []
    started = time.perf_counter()
    with progress_bar(quiet) as progress:
        task = progress.add_task("train + evaluate", total=len(runs), unit="runs")

        def finished(summary: RunSummary) -> None:
            done.append(summary)
            elapsed = max(time.perf_counter() - started, 1e-9)
            steps = sum(s.steps for s in done)
            progress.update(
                task,
                advance=1,
                description=f"train + evaluate: {len(done)} models, "
                f"{len(done) / elapsed * 60:.1f} models/min, {steps / elapsed:,.0f} steps/s",
            )

        if n == 1:
            for run in runs:
                finished(execute(run))
            return done
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n, mp_context=context) as pool:
            futures = [pool.submit(execute, replace(r, threads=r.threads or 1)) for r in runs]
            for future in as_completed(futures):
                finished(future.result())
    order = {r.results: i for i, r in enumerate(runs)}
    return sorted(done, key=lambda s: order[s.run.results])


def reproduce(reproduction: Reproduction, request: Request) -> Path:
    """Build, train + evaluate, report: the whole reproduction; returns report.md's path."""
    plan = reproduction.plan(request)
    for step in plan.builds:
        build_dataset(
            step.builder,
            step.options,
            step.out,
            seed=request.seed,
            workers=request.workers,
            quiet=request.quiet,
        )
    started = time.perf_counter()
    summaries = run_all(plan.runs, workers=request.workers, quiet=request.quiet)
    return reproduction.report(request, summaries, time.perf_counter() - started)
