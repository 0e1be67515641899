"""One training + evaluation run as a picklable job (so `reproduce` can spread runs over
processes), writing the checkpoint and a validated ``results.json``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC = "symile_bench.baselines:load"


@dataclass(frozen=True)
class Run:
    dataset: Path
    config: str | None
    loss: str
    model_dir: Path
    results: Path
    negatives: str = "n"
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    cache_dir: Path | None = None
    eval_configs: tuple[str, ...] = ()  # evaluate on these configs' test splits (default: config)
    threads: int | None = None
    missing_protocol: bool = False
    query_subsets: bool = True  # also score from each single query modality (the diagnostic)


@dataclass(frozen=True)
class RunSummary:
    run: Run
    seconds: float
    best_epoch: int
    results: tuple[Path, ...]
    #: optimiser steps this run took (0 when it reused a checkpoint), for the progress line
    steps: int = 0


def _steps_only(on_step: Callable[[int], None]) -> Callable[[str, int], Callable[[int], None]]:
    """The trainer's ``track`` hook, passing on its optimiser steps (not featurisation rows)."""

    def track(name: str, total: int) -> Callable[[int], None]:
        return on_step if name == "train" else (lambda n: None)

    return track


def execute(run: Run, on_step: Callable[[int], None] | None = None) -> RunSummary:
    """Train (unless the checkpoint exists), evaluate on the test split(s), validate;
    ``on_step(n)`` after every n optimiser steps (what `reproduce`'s progress counts)."""
    import torch

    from symile_bench.baselines.model import load
    from symile_bench.baselines.train import MODEL_FILE, train
    from symile_bench.errors import ResultsFileError
    from symile_bench.harness.encoders import ModelEncoder
    from symile_bench.harness.evaluate import EvalOptions, evaluate
    from symile_bench.harness.results import save_results
    from symile_bench.harness.verify import check_consistency, rescore

    if run.threads:
        torch.set_num_threads(run.threads)
    trains = not (run.model_dir / MODEL_FILE).is_file()
    if trains:
        train(
            run.dataset,
            run.model_dir,
            loss=run.loss,
            negatives=run.negatives,
            config=run.config,
            seed=run.seed,
            overrides=dict(run.overrides),
            cache_dir=run.cache_dir,
            track=_steps_only(on_step) if on_step is not None else None,
        )
    model = load(run.model_dir)
    written = []
    for config in run.eval_configs or (run.config,):
        out = (
            run.results
            if not run.eval_configs
            else run.results.with_name(f"{run.results.stem}.{config}.json")
        )
        results = evaluate(
            run.dataset,
            ModelEncoder(model, SPEC),
            EvalOptions(
                config=config,
                split="test",
                seed=run.seed,
                trained_on=run.config,
                missing_protocol=run.missing_protocol,
                query_subsets=run.query_subsets,
            ),
        )
        problems = check_consistency(results)
        if not problems:
            problems = rescore(results, run.dataset)[1]
        if problems:
            raise ResultsFileError(f"{out}: {problems[0]}")
        save_results(results, out)
        written.append(out)
    return RunSummary(
        run,
        float(model.info["train_seconds"]),
        int(model.info["best_epoch"]),
        tuple(written),
        int(model.info.get("steps", 0)) if trains else 0,
    )
