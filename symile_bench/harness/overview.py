"""What ``symile-bench report`` shows: result rows of many files side by side, the train-time
missing-modality curve (accuracy against the fraction of complete training samples, the paper's
Fig. 4c) from models that record ``trained_on``, and the PNG of ``report --plot``: that curve
(one line per model, 95% intervals as error bars) when models record their training data,
otherwise each file's pooled metric per condition with its interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from symile_bench.errors import MissingDependencyError
from symile_bench.harness.results import ResultRow, Results


@dataclass(frozen=True)
class ReportLine:
    source: str
    model: str
    scoring: str
    dataset: str  # name/config
    trained_on: str | None  # config name
    complete_fraction: float | None
    row: ResultRow


@dataclass(frozen=True)
class CurvePoint:
    complete_fraction: float
    trained_on: str
    row: ResultRow


def report_lines(
    results: Sequence[tuple[str, Results]],
    metrics: Sequence[str] = ("top1",),
    languages: bool = True,
) -> list[ReportLine]:
    """One line per (file, row) for the chosen metrics; ``languages=False`` keeps pooled rows."""
    out = []
    for source, r in results:
        t = r.model.trained_on
        for row in r.rows:
            if row.metric not in metrics or (row.language is not None and not languages):
                continue
            out.append(
                ReportLine(
                    source=source,
                    model=r.model.name,
                    scoring=r.model.scoring,
                    dataset=dataset_label(r),
                    trained_on=t.config if t else None,
                    complete_fraction=t.complete_fraction if t else None,
                    row=row,
                )
            )
    return out


def dataset_label(r: Results) -> str:
    return f"{r.dataset.name}/{r.dataset.config}" if r.dataset.config else r.dataset.name


def reference_levels(results: Sequence[tuple[str, Results]]) -> dict[str, str]:
    """Per dataset label, the levels its task declares for a reader (chance, and e.g. M3's
    pairwise ceiling 1/w), as one line of text; datasets that declare none are left out."""
    levels: dict[str, str] = {}
    for _, r in results:
        parts = [f"chance {r.task.chance_label}"] if r.task.chance_label else []
        parts += [ref.label for ref in r.task.references]
        if parts:
            levels.setdefault(dataset_label(r), ", ".join(parts))
    return levels


def chance_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def training_curves(
    results: Sequence[tuple[str, Results]], metric: str = "top1"
) -> dict[str, list[CurvePoint]]:
    """Per model name, the pooled all-observed ``metric`` row of every file whose model records
    its training data, sorted by the fraction of complete training samples."""
    curves: dict[str, list[CurvePoint]] = {}
    for _, r in results:
        t = r.model.trained_on
        if t is None:
            continue
        for row in r.rows:
            if row.metric == metric and row.condition is None and row.language is None:
                curves.setdefault(r.model.name, []).append(
                    CurvePoint(t.complete_fraction, t.config, row)
                )
    return {
        name: sorted(points, key=lambda p: p.complete_fraction)
        for name, points in sorted(curves.items())
    }


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError(
            "--plot needs matplotlib: pip install 'symile-bench[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _levels(results: Sequence[tuple[str, Results]], metric: str) -> list[tuple[float, str]]:
    """Reference levels to draw: the chance of the plotted rows (one line per distinct value)
    and the levels the tasks declare for this metric (M3: CLIP's ceiling 1/w)."""
    levels: dict[float, str] = {}
    for _, r in results:
        for row in r.rows:
            if row.metric == metric and row.language is None and row.chance is not None:
                levels.setdefault(round(row.chance, 4), f"chance {row.chance:.4f}")
        for ref in r.task.references:
            if ref.metric == metric:
                levels.setdefault(round(ref.value, 4), ref.label)
    return sorted(levels.items())


def plot_results(results: Sequence[tuple[str, Results]], out: Path, metric: str = "top1") -> Path:
    plt = _pyplot()
    curves = training_curves(results, metric)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    levels = _levels(results, metric)
    draw = ax.axhline if curves else ax.axvline
    for i, (value, label) in enumerate(levels):
        draw(value, ls=":" if i == 0 else "--", color="gray", lw=1, label=label)
    if curves:
        for name, points in curves.items():
            x = [100 * p.complete_fraction for p in points]
            y = [p.row.value for p in points]
            err = [
                [p.row.value - p.row.ci_low for p in points],
                [p.row.ci_high - p.row.value for p in points],
            ]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=4, elinewidth=1.5, label=name)
        ax.set_xlabel("% complete training samples")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} against complete training data (95% intervals)")
        ax.legend()
    else:
        lines = report_lines(results, [metric], languages=False)
        files_of: dict[str, set[str]] = {}
        for ln in lines:
            files_of.setdefault(ln.model, set()).add(ln.source)
        labels = [
            f"{ln.model}"
            + (f" [{Path(ln.source).stem}]" if len(files_of[ln.model]) > 1 else "")
            + f" ({ln.row.condition or 'all observed'})"
            for ln in lines
        ]
        y = list(range(len(lines)))
        vals = [ln.row.value for ln in lines]
        err = [
            [ln.row.value - ln.row.ci_low for ln in lines],
            [ln.row.ci_high - ln.row.value for ln in lines],
        ]
        ax.errorbar(vals, list(y), xerr=err, fmt="o", capsize=4, elinewidth=1.5)
        ax.set_yticks(list(y), labels)
        ax.invert_yaxis()
        ax.set_xlabel(f"{metric} (95% interval)")
        ax.set_title(f"{metric} per model and condition")
        if levels:
            ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
