"""`symile-bench reproduce xor|m3|mimic`: build the data through the library build API, train
both objectives (independent runs spread over processes), evaluate each with the harness
(percentile intervals, per-query predictions, split fingerprints; every results file is
re-scored against the answer key before it is written), and write ``report.md`` + plots."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from symile_bench.baselines.runs import Run, RunSummary, execute
from symile_bench.executors import available_cores, make_executor
from symile_bench.progress import progress_bar


def build_dataset(name: str, options: dict[str, Any], out: Path, *, seed: int,
                  workers: int | None, quiet: bool) -> Path:
    """Build (or resume: identical shards are kept) ``name`` with ``options`` into ``out``."""
    from symile_bench.build import build, parse_config
    from symile_bench.registry import get_builder

    builder = get_builder(name)
    build(builder, parse_config(builder, options), out, seed=seed,
          executor=make_executor("processes", workers), quiet=quiet, warn=lambda m: None)
    return out


def run_all(runs: Sequence[Run], *, workers: int | None, quiet: bool) -> list[RunSummary]:
    """Execute runs, ``workers`` at a time (each in its own process with 1 torch thread when
    parallel, since these models are too small to gain from intra-op threads)."""
    n = max(1, min(workers or available_cores(), len(runs)))
    done: list[RunSummary] = []
    with progress_bar(quiet) as progress:
        task = progress.add_task("train + evaluate", total=len(runs), unit="runs")
        if n == 1:
            for run in runs:
                done.append(execute(run))
                progress.advance(task)
            return done
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n, mp_context=context) as pool:
            futures = [pool.submit(execute, _one_thread(r)) for r in runs]
            for future in as_completed(futures):
                done.append(future.result())
                progress.advance(task)
    order = {r.results: i for i, r in enumerate(runs)}
    return sorted(done, key=lambda s: order[s.run.results])


def _one_thread(run: Run) -> Run:
    from dataclasses import replace

    return replace(run, threads=run.threads or 1)


def _xor(out: Path, *, quick: bool, workers: int | None, seed: int, quiet: bool) -> Path:
    from symile_bench.baselines.report_xor import write_xor_report

    grid = (0.0, 0.5, 1.0) if quick else tuple(round(0.1 * k, 1) for k in range(11))
    data = build_dataset("xor", {"p": grid}, out / "data", seed=seed, workers=workers,
                         quiet=quiet)
    runs = [Run(data, f"p{p}", loss, out / "models" / f"{loss}-p{p}",
                out / "results" / f"{loss}-p{p}.json", seed=seed)
            for p in grid for loss in ("symile", "clip")]
    started = time.perf_counter()
    summaries = run_all(runs, workers=workers, quiet=quiet)
    return write_xor_report(out, summaries, grid, wall_seconds=time.perf_counter() - started)


# m3 and mimic are not wired yet (see docs/baselines.md, "Not done yet").
REPRODUCTIONS: dict[str, Callable[..., Path]] = {"xor": _xor}
