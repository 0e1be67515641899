"""``symile-bench compare``, ``report`` and ``validate``: reading results files (typer
functions, registered by ``symile_bench.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from symile_bench.harness.cli import (
    Confidence,
    Metrics,
    Quiet,
    Resamples,
    Seed,
    console,
    format_ci,
)

if TYPE_CHECKING:
    from symile_bench.harness.results import Results


def compare(
    a: Annotated[Path, typer.Argument(help="Results file A.")],
    b: Annotated[Path, typer.Argument(help="Results file B.")],
    metric: Metrics = None,
    bootstrap: Resamples = 1000,
    confidence: Confidence = 0.95,
    seed: Seed = 0,
) -> None:
    """Paired bootstrap of A − B on the same queries (both need per-query predictions and the
    same dataset fingerprint)."""
    from symile_bench.harness.compare import compare_results
    from symile_bench.harness.results import load_results

    ra, rb = load_results(a), load_results(b)
    found = compare_results(
        ra,
        rb,
        metrics=metric or ["top1"],
        resamples=bootstrap,
        confidence=confidence,
        seed=seed,
        names=(str(a), str(b)),
    )
    table = Table(
        "split",
        "condition",
        "metric",
        "A",
        "B",
        "A − B",
        f"{confidence:.0%} CI",
        "p",
        "n",
        title=f"A = {a} ({ra.model.scoring}), B = {b} ({rb.model.scoring})",
    )
    for c in found:
        r = c.result
        table.add_row(
            c.split,
            c.condition or "all observed",
            c.metric,
            f"{r.value_a:.4f}",
            f"{r.value_b:.4f}",
            f"{r.difference:+.4f}",
            format_ci(r.ci_low, r.ci_high),
            r.p_value_text(),
            f"{r.n:,}",
        )
    console.print(table)


def report(
    files: Annotated[list[Path], typer.Argument(help="Results files (e.g. results/*.json).")],
    metric: Metrics = None,
    plot: Annotated[Path | None, typer.Option(help="Also write a PNG plot here.")] = None,
    languages: Annotated[bool, typer.Option(help="Show per-language rows.")] = True,
    diagnostic: Annotated[
        bool,
        typer.Option(
            "--diagnostic",
            help="Add where each model's accuracy comes from: the target scored from all query "
            "modalities beside each single one (files evaluated with --query-subsets), and "
            "what each objective's score can detect.",
        ),
    ] = False,
) -> None:
    """A table of many results files; with --plot a PNG (accuracy against % complete training
    samples when models record --trained-on, else per model and condition); with --diagnostic
    the query-subset diagnostic."""
    from symile_bench.harness.overview import (
        chance_text,
        plot_results,
        reference_levels,
        report_lines,
        training_curves,
    )
    from symile_bench.harness.results import load_results

    metrics = metric or ["top1"]
    loaded = [(str(f), load_results(f)) for f in files]
    table = Table(
        "file",
        "model",
        "dataset",
        "trained on",
        "condition",
        "language",
        "metric",
        "value",
        "95% CI",
        "chance",
        "n",
    )
    for ln in report_lines(loaded, metrics, languages):
        trained = (
            f"{ln.trained_on} ({100 * ln.complete_fraction:.1f}% complete)"
            if ln.trained_on and ln.complete_fraction is not None
            else "—"
        )
        table.add_row(
            ln.source,
            f"{ln.model} ({ln.scoring})",
            ln.dataset,
            trained,
            ln.row.condition or "all observed",
            ln.row.language or "all",
            ln.row.metric,
            f"{ln.row.value:.4f}",
            format_ci(ln.row.ci_low, ln.row.ci_high),
            chance_text(ln.row.chance),
            f"{ln.row.n:,}",
        )
    console.print(table)
    for dataset, levels in reference_levels(loaded).items():
        console.print(f"{dataset}: {levels}")
    curves = training_curves(loaded, metrics[0])
    if curves:
        curve = Table(
            "model",
            "trained on",
            "% complete train samples",
            metrics[0],
            "95% CI",
            title="train-time missing modalities",
        )
        for model_name, points in curves.items():
            for p in points:
                curve.add_row(
                    model_name,
                    p.trained_on,
                    f"{100 * p.complete_fraction:.1f}",
                    f"{p.row.value:.4f}",
                    format_ci(p.row.ci_low, p.row.ci_high),
                )
        console.print(curve)
    if diagnostic:
        _print_diagnostic(loaded, metrics[0])
    if plot is not None:
        plot_results(loaded, plot, metrics[0])
        console.print(f"[green]✓[/] plot written to {plot}")


def _print_diagnostic(loaded: list[tuple[str, Results]], metric: str) -> None:
    from symile_bench.errors import ConfigError
    from symile_bench.harness.diagnostic import diagnostics, interaction_of, interaction_text
    from symile_bench.harness.overview import chance_text

    found = diagnostics(loaded, metric)
    if not found:
        raise ConfigError(
            "report --diagnostic: no results file scored query subsets; evaluate with "
            "--query-subsets (reproduce does) and report those files"
        )
    table = Table(
        "model",
        "dataset",
        "queries",
        metric,
        "95% CI",
        "chance",
        title=f"where the accuracy comes from ({metric}; other query modalities left out)",
    )
    for d in found:
        for subset, row in [(d.query, d.full), *d.subsets.items()]:
            table.add_row(
                f"{d.model} ({d.scoring})",
                d.dataset,
                ("all: " if subset == d.query else "") + ", ".join(subset),
                f"{row.value:.4f}",
                format_ci(row.ci_low, row.ci_high),
                chance_text(row.chance),
            )
        gain = d.joint_gain()
        if gain is not None:
            table.add_row("", "", "all − best subset", f"{gain:+.4f}", "", "", end_section=True)
    console.print(table)
    for scoring, m in dict.fromkeys((d.scoring, d.modalities) for d in found):
        text = interaction_text(interaction_of(scoring), m)
        console.print(f"{scoring} ({m} modalities): {text}.")


def validate(
    files: Annotated[list[Path], typer.Argument(help="Results files to check.")],
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="Also re-score the predictions against this dataset directory's answer key."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Check results files: schema version and fields, rows consistent with the stored
    predictions, and (with --dataset) the predictions against the dataset's answer key."""
    from symile_bench.errors import ResultsFileError
    from symile_bench.harness.results import load_results
    from symile_bench.harness.verify import Rescored, check_consistency, rescore

    for path in files:
        results = load_results(path)
        problems = check_consistency(results)
        rescored: list[Rescored] = []
        if dataset is not None and not problems:
            rescored, problems = rescore(results, dataset)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ResultsFileError(f"{path}: {problems[0]}{more}")
        if not quiet:
            checked = f"; predictions verified against {dataset}" if rescored else ""
            console.print(
                f"[green]✓[/] {path}: schema v{results.schema_version}, "
                f"{len(results.rows)} rows, {len(results.predictions)} prediction "
                f"blocks{checked}"
            )
