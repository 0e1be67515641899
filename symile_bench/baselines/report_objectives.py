"""The part of every ``reproduce`` report that sets all trained objectives side by side (Symile,
CLIP and the peers of ``--objectives``, e.g. GRAM and TRIANGLE): one table with each objective's
top-1 and interval, its paired difference against Symile on the same test queries with the
paired bootstrap's p-value, chance and the dataset's declared levels (M3's pairwise ceiling 1/w);
one plot; and the query-subset diagnostic (where each model's accuracy comes from)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from symile_bench.baselines.losses import SCORING
from symile_bench.baselines.plots import pyplot
from symile_bench.baselines.runs import RunSummary
from symile_bench.baselines.summary import top1_of
from symile_bench.errors import HarnessInputError
from symile_bench.harness.compare import compare_results
from symile_bench.harness.diagnostic import (
    Diagnostic,
    diagnostics,
    interaction_of,
    interaction_text,
)
from symile_bench.harness.overview import chance_text
from symile_bench.harness.results import ResultRow, Results, load_results

REFERENCE = "symile"
PAPER = ("symile", "clip")  # the paper's two objectives, which every report's tables hold
NAMES = {"symile": "Symile", "clip": "CLIP", "gram": "GRAM", "triangle": "TRIANGLE"}
PLOT_FILE = "objectives.png"

#: condition label (e.g. "p = 1.0", "w = 2") -> objective -> its results file
Grid = Mapping[str, Mapping[str, Path]]
#: the same, each file read (once)
Loaded = Mapping[str, Mapping[str, Results]]


def name(objective: str) -> str:
    return NAMES.get(objective, objective)


def peers_text(runs: Sequence[RunSummary]) -> str:
    """A report title's mention of the objectives trained beside Symile and CLIP, if any."""
    peers = [name(o) for o in dict.fromkeys(s.run.loss for s in runs) if o not in PAPER]
    return f" (and {', '.join(peers)})" if peers else ""


def objectives_lines(
    out: Path,
    grid: Grid,
    *,
    diagnose: Sequence[str] = (),
    diagnostic_note: str = "",
    subsets_at_chance: Sequence[str] = (),
    plot: bool = True,
) -> list[str]:
    """The report's "Objectives side by side" section (with its plot written to ``out`` unless
    ``plot`` is off: a report that draws its own) and, for the conditions in ``diagnose``,
    "Where the accuracy comes from" (``diagnostic_note``: what the benchmark's design implies
    for the query-subset scores; ``subsets_at_chance``: the conditions where no proper subset
    of the query modalities carries information about the target, e.g. XOR at any M, where
    every such score must be at chance: the report counts the intervals that contain it and
    names the largest distance)."""
    objectives = list(dict.fromkeys(o for row in grid.values() for o in row))
    loaded = {c: {o: load_results(path) for o, path in row.items()} for c, row in grid.items()}
    lines = [
        "## Objectives side by side",
        "",
        "Every objective trained with the same encoders, data, optimiser and schedule, and "
        "scored by the harness with its own scorer (`model.scoring` in each results file). "
        "Δ vs Symile: paired bootstrap over the same test queries (1,000 resamples), with its "
        "two-sided p-value for no difference.",
        "",
        "| condition | objective (scoring) | top-1 [95% CI] | Δ vs Symile [95% CI] | p | chance "
        "| declared levels |",
        "|---|---|---|---|---|---|---|",
    ]
    for condition, row in loaded.items():
        ref = row.get(REFERENCE)
        levels = _levels(next(iter(row.values())))
        for objective, results in row.items():
            t = top1_of(results)
            diff, p = ("—", "—") if ref is None or objective == REFERENCE else _paired(results, ref)
            lines.append(
                f"| {condition} | {name(objective)} ({SCORING.get(objective, objective)}) | "
                f"{t.text()} | {diff} | {p} | {chance_text(t.chance)} | {levels} |"
            )
    if plot:
        figure = _plot(out / PLOT_FILE, loaded, objectives)
        lines += [
            "",
            f"![objectives]({figure.name})"
            if figure
            else "(No figure: install symile-bench[plot].)",
        ]
    lines.append("")
    picked = {
        c: {o: (str(grid[c][o]), r) for o, r in loaded[c].items()} for c in diagnose if c in grid
    }
    if picked:
        lines += _diagnostic_lines(picked, objectives, diagnostic_note, subsets_at_chance)
    return lines


#: above this many proper query subsets (M >= 5: 14) a diagnostic table shows the best subset
#: of each size instead of one column per subset
MAX_SUBSET_COLUMNS = 6


def _diagnostic_lines(
    grid: Mapping[str, Mapping[str, tuple[str, Results]]],
    objectives: Sequence[str],
    note: str,
    check: Sequence[str],
) -> list[str]:
    found = {
        (condition, objective): d
        for condition, row in grid.items()
        for objective, source in row.items()
        for d in diagnostics([source])
    }
    if not found:
        return []
    lines = [
        "## Where the accuracy comes from",
        "",
        "The target scored from all query modalities and from each proper subset of them, the "
        "others left out of the score (`evaluate --query-subsets`, `report --diagnostic`). "
        "Subset scores at chance with a high all-queries score mean the accuracy comes from "
        "the modalities jointly; a subset's score near the full one means from that subset.",
        "",
    ]
    by_query: dict[tuple[str, ...], list[tuple[str, str, Diagnostic]]] = {}
    for (condition, objective), d in found.items():
        by_query.setdefault(d.query, []).append((condition, objective, d))
    for rows in by_query.values():
        lines += [*_subset_table(rows), ""]
    lines += ["What each objective's score can detect:", ""]
    for m in sorted({d.modalities for d in found.values()}):
        for objective in objectives:
            scoring = SCORING.get(objective, objective)
            lines.append(
                f"- **{name(objective)}** (`{scoring}`, {m} modalities): "
                f"{interaction_text(interaction_of(scoring), m)}."
            )
    lines += ["", note] if note else []
    checked = [(c, o, d) for (c, o), d in found.items() if c in check]
    if checked:
        scores = [
            (abs(row.value - (row.chance or 0.0)), f"{name(o)}, {c}, from {', '.join(s)} only", row)
            for c, o, d in checked
            for s, row in d.subsets.items()
        ]
        inside = sum(r.ci_low <= (r.chance or 0.0) <= r.ci_high for _, _, r in scores)
        far, where, _ = max(scores, key=lambda x: x[0])
        gain = max((d.joint_gain() or 0.0) for _, _, d in checked)
        lines += [
            "",
            f"At {'; '.join(check)}: {inside} of {len(scores)} 95% intervals of the scores from "
            f"a proper subset of the queries contain chance (about 1 in 20 misses by chance "
            f"alone); the largest distance of such a score from chance is {far:.3f} ({where}), "
            f"against all-queries gains of up to {gain:+.3f}.",
        ]
    return [*lines, ""]


def _subset_table(rows: Sequence[tuple[str, str, Diagnostic]]) -> list[str]:
    """One table of diagnostics that share their query modalities: a column per proper subset,
    or, with many, the best subset of each size (named in its cell)."""
    query = rows[0][2].query
    subsets = list(rows[0][2].subsets)
    each = len(subsets) <= MAX_SUBSET_COLUMNS
    sizes = sorted({len(s) for s in subsets}, reverse=True)
    head = ["all: " + ", ".join(query)] + (
        [f"from {', '.join(s)} only" for s in subsets]
        if each
        else [f"best of {sum(len(s) == k for s in subsets)} subsets of {k}" for k in sizes]
    )
    lines = [
        "| condition | objective | " + " | ".join(head) + " | all − best proper subset | chance |",
        "|---|---|" + "---|" * (len(head) + 2),
    ]
    for condition, objective, d in rows:
        if each:
            cells = [_cell(d.full), *(_cell(d.subsets[s]) for s in subsets)]
        else:
            cells = [_cell(d.full)]
            for k in sizes:
                s, row = max(
                    ((s, r) for s, r in d.subsets.items() if len(s) == k), key=lambda x: x[1].value
                )
                cells.append(f"{_cell(row)} ({'+'.join(s)})")
        gain = d.joint_gain()
        lines.append(
            f"| {condition} | {name(objective)} | "
            + " | ".join(cells)
            + f" | {'' if gain is None else f'{gain:+.3f}'} | {chance_text(d.full.chance)} |"
        )
    return lines


def _cell(row: ResultRow) -> str:
    return f"{row.value:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


def _paired(a: Results, b: Results) -> tuple[str, str]:
    try:
        c = compare_results(a, b, metrics=["top1"])[0].result
    except HarnessInputError as exc:
        return f"(unpaired: {exc})", "—"
    return f"{c.difference:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}]", c.p_value_text()


def _levels(results: Results) -> str:
    refs = results.task.references
    return ", ".join(r.label for r in refs) if refs else "—"


def _plot(path: Path, grid: Loaded, objectives: Sequence[str]) -> Path | None:
    plt = pyplot()
    if plt is None:
        return None
    conditions = list(grid)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(conditions) + 3), 4))
    width = 0.8 / max(1, len(objectives))
    for k, objective in enumerate(objectives):
        xs, ys, lo, hi = [], [], [], []
        for i, condition in enumerate(conditions):
            results = grid[condition].get(objective)
            if results is None:
                continue
            t = top1_of(results)
            xs.append(i - 0.4 + width * (k + 0.5))
            ys.append(t.value)
            lo.append(t.value - t.low)
            hi.append(t.high - t.value)
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", capsize=3, label=name(objective))
    for i, condition in enumerate(conditions):  # each condition's own chance and levels
        first = next(iter(grid[condition].values()))
        chance = top1_of(first).chance
        label = "chance" if i == 0 else None
        if chance is not None:
            ax.hlines(chance, i - 0.45, i + 0.45, colors="gray", linestyles=":", label=label)
        for ref in first.task.references:
            ax.hlines(
                ref.value,
                i - 0.45,
                i + 0.45,
                colors="black",
                linestyles="--",
                label=ref.name if i == 0 else None,
            )
    ax.set_xticks(range(len(conditions)), conditions, rotation=45 if len(conditions) > 4 else 0)
    ax.set(ylabel="test top-1 (95% CI)", ylim=(-0.02, 1.05), title="objectives side by side")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
