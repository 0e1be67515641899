"""The PNG of ``symile-bench report --plot``: with models that record their training data, the
paper's Fig. 4c (metric against % complete training samples, one line per model, 95% intervals
as error bars); otherwise each file's pooled metric per condition with its interval."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from symile_bench.errors import MissingDependencyError
from symile_bench.harness.overview import report_lines, training_curves
from symile_bench.harness.results import Results


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
