"""`symile-bench train`, `reproduce` and `xor-info` (typer functions registered by
``symile_bench.cli``). Thin: parse options, call the baselines library, render with rich."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import TaskID
from rich.table import Table

from symile_bench.errors import ConfigError

console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]


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
            "embeddings) or 'triangle' (area of their triangle; three modalities)."
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
            "or, for mimic, 'paper' (the release's ResNet-18 / ResNet-50 / 3-layer MLP at full "
            "resolution, random initialisation; for a GPU)."
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
    from symile_bench.baselines.train import train as run_train
    from symile_bench.progress import progress_bar

    overrides = dict(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        dim=dim,
        arch=arch,
        log_temperature=log_temperature,
        patience=patience,
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
        )
    if not quiet:
        console.print(
            f"[green]✓[/] {out}: best epoch {result.best_epoch} (validation loss "
            f"{result.best_val_loss:.4f}) in {result.seconds:.1f} s; evaluate with "
            f"--model symile_bench.baselines:load --model-arg path={out}"
        )


def reproduce(
    benchmark: Annotated[str, typer.Argument(help="Benchmark: xor, m3 or mimic.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Directory for data, checkpoints, results, report.md and plots."
        ),
    ],
    quick: Annotated[
        bool, typer.Option(help="A smaller run (fewer p values / rows / epochs) for a smoke test.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes (builds and independent trainings); default: all cores."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for data, training and bootstrap.")] = 0,
    mimic_iv: Annotated[
        Path | None,
        typer.Option(
            help="mimic only: root of your MIMIC-IV 2.2 download (with --mimic-iv-ecg and "
            "--mimic-cxr-jpg; split by the builder's default patient fractions). Without the "
            "three, reproduce mimic writes a SYNTHETIC tree (fake-mimic --signal higher-order) to "
            "OUT/sources and says so in report.md."
        ),
    ] = None,
    mimic_iv_ecg: Annotated[
        Path | None, typer.Option(help="mimic only: root of your MIMIC-IV-ECG 1.0 download.")
    ] = None,
    mimic_cxr_jpg: Annotated[
        Path | None, typer.Option(help="mimic only: root of your MIMIC-CXR-JPG 2.0.0 download.")
    ] = None,
    objectives: Annotated[
        str,
        typer.Option(
            help="Objectives to train and score on the same data, comma-separated: symile and "
            "clip always, plus any of gram, triangle (report.md then compares all of them: "
            "intervals, paired differences against Symile with p-values, one plot)."
        ),
    ] = "symile,clip",
    quiet: Quiet = False,
) -> None:
    """Build what the benchmark needs, train Symile and CLIP (and any --objectives beside
    them), evaluate with intervals, and write report.md with our numbers beside the paper's
    (plots need the plot extra: matplotlib)."""
    from symile_bench.baselines.reproduce import (
        REPRODUCTIONS,
        TAKES_SOURCES,
        parse_objectives,
        quick_run,
    )

    if benchmark not in REPRODUCTIONS:
        raise ConfigError(f"unknown benchmark {benchmark!r}; choose {', '.join(REPRODUCTIONS)}")
    sources = {
        name: path
        for name, path in (
            ("mimic_iv", mimic_iv),
            ("mimic_iv_ecg", mimic_iv_ecg),
            ("mimic_cxr_jpg", mimic_cxr_jpg),
        )
        if path
    }
    extra = {"sources": sources} if benchmark in TAKES_SOURCES else {}
    if sources and not extra:
        raise ConfigError(
            f"--mimic-iv, --mimic-iv-ecg and --mimic-cxr-jpg apply to reproduce "
            f"mimic only, not {benchmark}"
        )
    chosen = parse_objectives(objectives)
    report = REPRODUCTIONS[benchmark](
        out, quick=quick, workers=workers, seed=seed, quiet=quiet, objectives=chosen, **extra
    )
    smoke = quick_run(benchmark, quick, chosen)
    if smoke is not None and not quiet:
        console.print(f"[bold yellow]{smoke.banner()}[/]")
    if not quiet:
        console.print(f"[green]✓[/] {report}")


def xor_info(
    d: Annotated[int, typer.Option("--d", help="Vector length.")] = 5,
    p: Annotated[
        str, typer.Option("--p", help="Comma list of switch probabilities.")
    ] = "0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0",
) -> None:
    """Exact information terms (bits) of the XOR benchmark, by enumerating the joint law."""
    from symile_bench.baselines.xor_info import xor_info_grid

    try:
        ps = [float(x) for x in p.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--p {p!r}: expected numbers separated by commas") from None
    table = Table(
        "p",
        "I(a;b)",
        "I(a;c)",
        "I(b;c)",
        "I(a;b|c)",
        "I(b;c|a)",
        "TC(a,b,c)",
        title=f"XOR information terms, d = {d} (bits, exact)",
    )
    for r in xor_info_grid(d, ps):
        table.add_row(
            f"{r.p:g}",
            *(
                f"{abs(v) if abs(v) < 1e-12 else v:.4f}"
                for v in (
                    r.i_ab,
                    r.i_ac,
                    r.i_bc,
                    r.i_ab_given_c,
                    r.i_bc_given_a,
                    r.total_correlation,
                )
            ),
        )
    console.print(table)
