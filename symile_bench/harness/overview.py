"""What ``symile-bench report`` shows: result rows of many files side by side, and the
train-time missing-modality curve (accuracy against the fraction of complete training samples,
the paper's Fig. 4c) from models that record ``trained_on``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
