"""`symile-bench train` and `symile-bench reproduce NAME` (one subcommand per reproduction a
benchmark declares, its options generated from the reproduction's ``Options``), registered by
``symile_bench.cli``. Thin: parse options, call the baselines library, render with rich."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from symile_bench.console import Quiet, console, err_console

if TYPE_CHECKING:
    from rich.progress import TaskID


def train(
    path: Annotated[
        Path, typer.Argument(help="A dataset directory written by `symile-bench build`.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Checkpoint directory to write (model.json + model.pt + cached features).",
        ),
    ],
    loss: Annotated[
        str,
        typer.Option(
            help="Objective: 'symile' (MIP), 'clip' (pairwise), 'gram' (volume spanned by the "
            "embeddings) or 'triangle' (area of their triangle; for M != 3 modalities the "
            "content of their (M-1)-simplex, as the triangle scorer)."
        ),
    ] = "symile",
    negatives: Annotated[
        str,
        typer.Option(
            help="Symile negatives: 'n' (one permutation per non-anchor modality, O(N)) or 'n2' "
            "(all N^(M-1) combinations)."
        ),
    ] = "n",
    config: Annotated[
        str | None,
        typer.Option(
            help="Dataset config to train on (default: the first, e.g. p0.0 or complete)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for initialisation, batches and negatives.")] = 0,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: the recipe's).")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Batch size (default: the recipe's).")
    ] = None,
    lr: Annotated[float | None, typer.Option(help="AdamW learning rate.")] = None,
    weight_decay: Annotated[float | None, typer.Option(help="AdamW weight decay.")] = None,
    dim: Annotated[int | None, typer.Option(help="Embedding dimension.")] = None,
    log_temperature: Annotated[
        float | None,
        typer.Option(help="Initial log-temperature (the logit scale is its exp; learned)."),
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            help="Stop after this many epochs without a better validation loss (0: never)."
        ),
    ] = None,
    arch: Annotated[
        str | None,
        typer.Option(
            help="Encoder family, recorded in the checkpoint: 'small' (CPU-sized; every recipe) "
            "or 'paper': for mimic the release's ResNet-18 / ResNet-50 / 3-layer MLP at full "
            "resolution (random initialisation); for m3 the release's SymileM3Model (heads "
            "over --features from `embed`, XLM-R's first layer fine-tuned, d = 8192, 24 "
            "epochs); both for a GPU."
        ),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            help="Frozen-encoder vectors written by `symile-bench embed` (a directory), for "
            "recipes that train on them (m3 --arch paper)."
        ),
    ] = None,
    recipe_arg: Annotated[
        list[str] | None,
        typer.Option(
            help="A recipe setting KEY=VALUE (repeatable; JSON values parse), recorded in the "
            "checkpoint; m3 --arch paper: text_encoder=PATH_OR_CACHED_HUB_ID (default "
            "FacebookAI/xlm-roberta-large)."
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            help="cpu (default) or cuda / cuda:N: train on a GPU with mixed precision "
            "(bfloat16 autocast where supported, else float16 with loss scaling)."
        ),
    ] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Feature cache directory (default: OUT/features).")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Train Symile, pairwise CLIP, GRAM or TRIANGLE on a built dataset; keep the
    best-validation checkpoint, loadable with
    `evaluate --model symile_bench.baselines:load --model-arg path=OUT`."""
    from symile_bench.baselines.hf_models import quiet_transformers
    from symile_bench.baselines.train import train as run_train
    from symile_bench.progress import progress_bar

    quiet_transformers()
    extra = parse_recipe_args(recipe_arg or [])
    if features is not None:
        extra["features"] = str(features.resolve())
    overrides = dict(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        dim=dim,
        arch=arch,
        log_temperature=log_temperature,
        patience=patience,
        extra=extra or None,
    )
    with progress_bar(quiet) as progress:
        tasks: dict[str, TaskID] = {}

        def track(description: str, total: int):
            task = progress.add_task(
                description, total=total, unit="batches" if description == "train" else "rows"
            )
            tasks[description] = task
            return lambda n: progress.advance(task, n)

        def report(epoch: int, train_loss: float, val_loss: float) -> None:
            progress.update(
                tasks["train"],
                description=f"train epoch {epoch} loss {train_loss:.4f} val {val_loss:.4f}",
            )

        result = run_train(
            path,
            out,
            loss=loss,
            negatives=negatives,
            config=config,
            seed=seed,
            overrides=overrides,
            cache_dir=cache,
            track=track,
            report=report,
            device=device,
        )
    if not quiet:
        console.print(
            f"[green]✓[/] {out}: best epoch {result.best_epoch} (validation loss "
            f"{result.best_val_loss:.4f}) in {result.seconds:.1f} s; evaluate with "
            f"--model symile_bench.baselines:load --model-arg path={out}"
        )


def parse_recipe_args(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as a dict, values parsed as JSON when they parse."""
    import json

    from symile_bench.errors import ConfigError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--recipe-arg must be KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _common_reproduce_parameters() -> list[inspect.Parameter]:
    def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
        )

    return [
        option(
            "out",
            Annotated[
                Path,
                typer.Option(
                    "--out",
                    "-o",
                    help="Directory for data, checkpoints, results, report.md and plots (a "
                    "rerun reuses what is there).",
                ),
            ],
            ...,
        ),
        option(
            "quick",
            Annotated[
                bool,
                typer.Option(
                    help="A smaller run (fewer configs / rows / epochs) for a smoke test; its "
                    "report says it judges nothing."
                ),
            ],
            False,
        ),
        option(
            "workers",
            Annotated[
                int | None,
                typer.Option(
                    help="Processes (builds and independent trainings); default: all cores."
                ),
            ],
            None,
        ),
        option(
            "seed",
            Annotated[int, typer.Option(help="Seed for data, training and bootstrap.")],
            0,
        ),
        option(
            "objectives",
            Annotated[
                str,
                typer.Option(
                    help="Objectives to train and score on the same data, comma-separated: "
                    "symile and clip always, plus any of gram, triangle (report.md then "
                    "compares all of them: intervals, paired differences against Symile with "
                    "p-values, one plot)."
                ),
            ],
            "symile,clip",
        ),
        option("quiet", Quiet, False),
    ]


def register_reproduce_commands(reproduce_app: typer.Typer) -> None:
    """One `reproduce NAME` per reproduction a benchmark declares (`Benchmark.reproductions`);
    a reproduction that fails to load is listed, unavailable, with the reason."""
    from symile_bench.baselines.reproduce import REPRODUCTIONS
    from symile_bench.errors import SymileBenchError
    from symile_bench.options import config_parameters, with_parameters

    def unavailable(message: str) -> Callable[[], None]:
        def command() -> None:
            raise SymileBenchError(message)

        return command

    def runner(name: str) -> Callable[..., None]:
        def command(**kwargs: Any) -> None:
            _reproduce(name, **kwargs)

        return command

    for name in REPRODUCTIONS.names():
        try:
            reproduction = REPRODUCTIONS.get(name)
        except Exception as exc:  # one broken package must not break every other command
            message = f"reproduction {name!r} could not be loaded: {type(exc).__name__}: {exc}"
            reproduce_app.command(name=name, help=f"(unavailable) {message}")(unavailable(message))
            continue
        own = config_parameters(reproduction.Options, panel=f"{name} options")
        params = [*_common_reproduce_parameters(), *own]
        reproduce_app.command(name=name, help=reproduction.description)(
            with_parameters(runner(name), params)
        )


def _reproduce(
    name: str,
    *,
    out: Path,
    quick: bool,
    workers: int | None,
    seed: int,
    objectives: str,
    quiet: bool,
    **options: Any,
) -> None:
    from symile_bench.baselines.reproduce import (
        REPRODUCTIONS,
        Request,
        parse_objectives,
        quick_note,
        reproduce,
    )
    from symile_bench.options import parse_options

    reproduction = REPRODUCTIONS.get(name)
    chosen = parse_objectives(objectives)
    request = Request(
        out=out,
        seed=seed,
        workers=workers,
        quiet=quiet,
        objectives=chosen,
        options=parse_options(
            reproduction.Options, {k: v for k, v in options.items() if v is not None}
        ),
        quick=quick_note(reproduction, chosen) if quick else None,
    )
    report = reproduce(reproduction, request)
    if request.quick is not None and not quiet:
        err_console.print(f"[bold yellow]{request.quick.banner()}[/]")
    if not quiet:
        console.print(f"[green]✓[/] {report}")
