"""``symile-bench evaluate`` (a typer function registered by ``symile_bench.cli``), and the
options the scoring commands share. Thin: parse options, call the harness, render with rich;
``compare``, ``report`` and ``validate`` are in ``cli_reports``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from symile_bench.errors import ConfigError

if TYPE_CHECKING:
    from symile_bench.harness.results import Results

# piped output (logs, CI) is not squeezed into 80 columns
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
Metrics = Annotated[
    list[str] | None,
    typer.Option(
        "--metric", help="Metric to show (repeatable): top1, top5, top10, mrr.", show_default="top1"
    ),
]
Resamples = Annotated[
    int,
    typer.Option("--bootstrap", help="Bootstrap resamples of the queries (percentile intervals)."),
]
Seed = Annotated[int, typer.Option("--seed", help="Bootstrap seed.")]
Confidence = Annotated[float, typer.Option("--confidence", help="Interval coverage.")]


def format_ci(low: float, high: float) -> str:
    return f"[{low:.4f}, {high:.4f}]"


def evaluate(
    path: Annotated[
        Path, typer.Argument(help="A dataset directory written by `symile-bench build`.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results file to write.")] = Path(
        "results.json"
    ),
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="A model: `package.module:factory` or the name of an entry point "
            "in the group symile_bench.models (e.g. xor-oracle).",
        ),
    ] = None,
    model_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--model-arg",
            help="KEY=VALUE passed to the model factory (repeatable; VALUE is read "
            "as JSON when it parses, else as text). E.g. the Symile-MIMIC release's checkpoint: "
            "--model symile-mimic-release --model-arg path=symile_mimic_model.ckpt "
            "[device=cuda, batch_size=32, cxr_size=320] (docs/releases.md).",
        ),
    ] = None,
    embeddings: Annotated[
        Path | None,
        typer.Option(
            "--embeddings",
            "-e",
            help="Directory of precomputed embeddings: <modality>.npy|.parquet|"
            ".safetensors (+ <target>.candidates.* for XOR, <modality>.missing.* for "
            "--missing-protocol); see docs/evaluation.md.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Model name in the results (default: the model's `name`, model.json's, or the "
            "embeddings directory's name)."
        ),
    ] = None,
    scoring: Annotated[
        str | None,
        typer.Option(
            help="With --embeddings: 'mip' (Symile), 'pairwise' (CLIP), 'gram' (GRAM), "
            "'triangle' (TRIANGLE) or another registered scorer (docs/evaluation.md; default: "
            "model.json's, else mip)."
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            help="Dataset config to evaluate (default: the first one, e.g. p0.5 or complete)."
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="Split to evaluate.")] = "test",
    task: Annotated[
        str | None,
        typer.Option(
            help="Which of the tasks the dataset's manifest declares (default: its first; "
            "`symile-bench info DIR` lists them)."
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="Modality to retrieve (default: the task's: xor b, m3 image, mimic cxr); the "
            "queries are all the others."
        ),
    ] = None,
    candidates: Annotated[
        str | None,
        typer.Option(
            help="Candidate rule of the task (m3: 'all' test images or 'per-class', one image per "
            "class; xor: 'all'; mimic: 'stored')."
        ),
    ] = None,
    bootstrap: Resamples = 1000,
    confidence: Confidence = 0.95,
    seed: Seed = 0,
    missing_protocol: Annotated[
        bool,
        typer.Option(
            "--missing-protocol",
            help="Also score every non-empty subset of the query modalities "
            "with the others passed as missing (one `condition` per subset; "
            "docs/missing_modality_protocol.md).",
        ),
    ] = False,
    query_subsets: Annotated[
        bool,
        typer.Option(
            "--query-subsets",
            help="Also score the target from every proper non-empty subset of the query "
            "modalities, the others left out of the score (conditions `queries=a`, ...): "
            "shows whether accuracy comes from single modalities or from their combination "
            "(`report --diagnostic`; docs/evaluation.md).",
        ),
    ] = False,
    protocol: Annotated[
        str,
        typer.Option(
            help="How rows are computed. 'default': the metric on the whole split with a seeded "
            "percentile-bootstrap interval (--bootstrap resamples). 'release': what the paper's "
            "code reports, the mean of 10 bootstrap samples ± its SE, drawn as that code draws "
            "them (MIMIC: queries redrawn, candidate sets fixed, ties at random; M3: queries and "
            "candidate bank redrawn independently; XOR: 10 fresh test sets, the split cut into "
            "10 blocks). docs/evaluation.md says when to use which."
        ),
    ] = "default",
    trained_on: Annotated[
        str | None,
        typer.Option(
            help="Dataset config whose train split the model was trained on (e.g. missing0.5); "
            "records its fraction of complete samples for `report`'s train-time curve."
        ),
    ] = None,
    top_k: Annotated[int, typer.Option(help="Candidate ids kept per query in predictions.")] = 10,
    predictions: Annotated[
        bool,
        typer.Option(
            help="Store per-query predictions (needed by `compare` and verified leaderboard "
            "entries)."
        ),
    ] = True,
    batch_size: Annotated[int, typer.Option(help="Rows per encode() call.")] = 256,
    distinct: Annotated[
        bool,
        typer.Option(
            help="Encode each distinct medium once: rows that name the same image_id or "
            "audio_id (every row of a pooled build does) share one embedding; and score each "
            "distinct candidate once. --no-distinct encodes every row and scores every "
            "candidate (the same numbers for a model whose embedding of an item does not "
            "depend on the rest of its batch; docs/evaluation.md)."
        ),
    ] = True,
    backend: Annotated[str, typer.Option(help="Scoring backend: numpy or torch.")] = "numpy",
    device: Annotated[
        str | None,
        typer.Option(help="torch device for --backend torch (default: cuda when available)."),
    ] = None,
    save_embeddings: Annotated[
        Path | None,
        typer.Option(
            help="Also write the embeddings the model produced, in the --embeddings layout, to "
            "this new directory."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Score a model (or precomputed embeddings) on a dataset's retrieval task."""
    from symile_bench.harness.encoders import Encoder, FileEncoder, ModelEncoder
    from symile_bench.harness.evaluate import EvalOptions
    from symile_bench.harness.evaluate import evaluate as run_evaluate
    from symile_bench.harness.models import load_model, parse_model_args
    from symile_bench.harness.protocols import check_protocol
    from symile_bench.harness.results import save_results
    from symile_bench.progress import progress_bar

    if bootstrap < 2:
        raise ConfigError(f"--bootstrap must be at least 2 resamples, got {bootstrap}")
    check_protocol(protocol)  # before a model loads
    if (model is None) == (embeddings is None):
        raise ConfigError(
            "give exactly one of --model (a model object) or --embeddings (a "
            "directory of precomputed embeddings)"
        )
    encoder: Encoder
    if model is not None:
        if scoring is not None:
            raise ConfigError(
                "--scoring applies to --embeddings; a model declares its own `scoring` attribute"
            )
        encoder = ModelEncoder(
            load_model(model, parse_model_args(model_arg or [])),
            model,
            batch_size,
            distinct=distinct,
        )
        if name:
            encoder.name = name
    elif embeddings is not None:
        if model_arg:
            raise ConfigError("--model-arg applies to --model, not --embeddings")
        encoder = FileEncoder(embeddings, name=name, scoring=scoring)
    options = EvalOptions(
        config=config,
        split=split,
        task=task,
        target=target,
        candidates=candidates,
        resamples=bootstrap,
        confidence=confidence,
        seed=seed,
        missing_protocol=missing_protocol,
        query_subsets=query_subsets,
        trained_on=trained_on,
        top_k=top_k,
        predictions=predictions,
        backend=backend,
        device=device,
        batch_size=batch_size if model is not None else None,
        protocol=protocol,
        distinct=distinct,
    )
    with progress_bar(quiet) as progress:

        def track(description: str, total: int, unit: str):
            task = progress.add_task(description, total=total, unit=unit)
            return lambda n: progress.advance(task, n)

        results = run_evaluate(path, encoder, options, track=track, save_embeddings=save_embeddings)
    save_results(results, out)
    if not quiet and results.dataset.blind:
        console.print(
            "blind split: its answers are withheld, so the results hold each query's "
            "top-k candidate ids and no scores; `symile-bench submit` them to the "
            "leaderboard that registered this split"
        )
    elif not quiet:
        _print_rows(results, ("top1",))
        console.print(
            f"[green]✓[/] {out}: {results.model.name} on {results.dataset.name} "
            f"{results.dataset.config}/{results.dataset.split} (split fingerprint "
            f"{(results.dataset.split_fingerprint or '')[:16]})"
        )


def _print_rows(results: Results, metrics: tuple[str, ...]) -> None:
    release = results.protocol == "release"
    spread = "± SE (release: 10 samples)" if release else "95% CI"
    table = Table("condition", "language", "metric", "value", spread, "n")
    for row in results.rows:
        if row.metric in metrics:
            table.add_row(
                row.condition or "all observed",
                row.language or "all",
                row.metric,
                f"{row.value:.4f}",
                f"± {row.se:.4f}" if release else format_ci(row.ci_low, row.ci_high),
                f"{row.n:,}",
            )
    console.print(table)
