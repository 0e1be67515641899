"""``reproduce xor --modalities 3,4,5``'s report: how each objective's top-1 scales with the
number of modalities M, against p, with intervals, paired differences against Symile, chance,
the Bayes ceiling and one plot.

The ceiling: whatever the queries, the candidate that completes the XOR is the most probable
(the switch is on with probability p, and then it is b; off, b is uniform), so no model exceeds
top-1 = p + (1 - p) / 2^d, for any M. The information the others carry about b, I(b; others),
is the same for every M (``info.py``): M changes the order of the interaction, not its amount.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from builders.xor.build.info import xor_info_grid
from symile_bench.baselines.plots import pyplot
from symile_bench.baselines.report_objectives import PAPER, name, objectives_lines
from symile_bench.baselines.runs import RunSummary
from symile_bench.baselines.summary import Quick, Top1, banner_lines, top1_of, wall_text
from symile_bench.errors import HarnessInputError
from symile_bench.harness.compare import compare_results
from symile_bench.harness.results import Results, load_results

REFERENCE = "symile"
PLOT_FILE = "scaling.png"
AT_A_GLANCE = (1.0, 0.5)  # the p values of the table across M

NOTE = (
    "Every M uses the paper's XOR settings unchanged: 10K/1K/5K rows, d = 5, an affine encoder "
    "to R^16 per modality, AdamW (lr 0.1, weight decay 0.01), batch 1000, 100 epochs, "
    "log-temperature initialised to −0.3, O(N) negatives for Symile, the checkpoint with the "
    "lowest validation loss; one seed. The M datasets are built from one seed: the first "
    "modalities' draws coincide across M, the switch and the last modality do not. GRAM is the "
    "volume of the parallelotope the M normalised embeddings span; TRIANGLE, defined by its "
    "paper for three, is the content of the (M−1)-simplex they span (docs/evaluation.md), in "
    "training and in scoring alike."
)

Key = tuple[int, float]  # (M, p)


def write_scaling_report(
    out: Path,
    runs: Sequence[RunSummary],
    grid: Sequence[float],
    modalities: Sequence[int],
    *,
    wall_seconds: float | None = None,
    quick: Quick | None = None,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    loaded: dict[Key, dict[str, Results]] = {}
    files: dict[Key, dict[str, Path]] = {}
    seconds: dict[tuple[str, int], list[float]] = {}
    for s in runs:
        results = load_results(s.results[0])
        m = len(results.task.query_modalities) + 1
        p = float((s.run.config or "").removeprefix("p"))  # XOR configs are named by p
        loaded.setdefault((m, p), {})[s.run.loss] = results
        files.setdefault((m, p), {})[s.run.loss] = s.results[0]
        seconds.setdefault((s.run.loss, m), []).append(s.seconds)
    objectives = list(dict.fromkeys(s.run.loss for s in runs))
    peers = [o for o in objectives if o != REFERENCE]
    scores = {k: {o: top1_of(r) for o, r in row.items()} for k, row in loaded.items()}
    any_score = next(iter(next(iter(scores.values())).values()))
    d = _d(any_score)
    info = {m: {r.p: r for r in xor_info_grid(d, grid, m)} for m in modalities}
    lines = [
        f"# XOR with M = {', '.join(map(str, modalities))} modalities: how "
        f"{_and([name(o) for o in objectives])} scale with the order of the interaction",
        "",
        *banner_lines(quick),
        f"Task: predict b from the other M − 1 modalities among all {2**d} binary vectors "
        f"({any_score.chance_text()}); top-1 on the test split with 95% bootstrap intervals "
        f"over its queries. Ceiling: p + (1 − p)/{2**d}, the top-1 of the Bayes-optimal "
        "predictor (the candidate that completes the XOR), for every M. I(b; others): what the "
        "other modalities tell about b together (bits, exact); every proper subset of them "
        "tells 0 bits at every p and M.",
        "",
        "## At a glance",
        "",
        *_glance(scores, objectives, modalities, grid),
        "## Top-1 against p",
        "",
    ]
    for m in modalities:
        lines += [f"### M = {m}", "", *_top1_table(m, grid, scores, objectives, info[m], d), ""]
    if peers and REFERENCE in objectives:
        lines += [
            "## Paired differences against Symile",
            "",
            "Peer − Symile in top-1 over the same test queries (paired bootstrap, 1,000 "
            "resamples) with its two-sided p-value for no difference.",
            "",
        ]
        for m in modalities:
            lines += [f"### M = {m}", "", *_paired_table(m, grid, loaded, peers), ""]
    figure = _plot(out / PLOT_FILE, grid, modalities, scores, objectives, d)
    lines += [
        f"![top-1 against p for each M]({figure.name})"
        if figure
        else "(No figure: install symile-bench[plot] for matplotlib.)",
        "",
    ]
    lines += ["## Training time", "", *_time_table(seconds, objectives, modalities)]
    total = sum(s.seconds for s in runs)
    lines += [
        f"All {len(runs)} trainings summed: {total / 3600:.1f} h{wall_text(wall_seconds)}.",
        "",
    ]
    labelled = {
        f"M = {m}, p = {p:g}": files[(m, p)] for m in modalities for p in grid if (m, p) in files
    }
    diagnosed = [f"M = {m}, p = {p:g}" for m in modalities for p in AT_A_GLANCE if (m, p) in files]
    lines += objectives_lines(
        out,
        labelled,
        diagnose=diagnosed,
        diagnostic_note=(
            "On XOR b is independent of every proper subset of the other modalities at every p "
            "and M, so a score from a proper subset of the queries must be at chance for any "
            "model: whatever a model scores above chance it takes from all M − 1 queries "
            "jointly."
        ),
        subsets_at_chance=diagnosed,
        plot=False,
    )
    lines += ["## What differs from the paper", "", NOTE, ""]
    report = out / "report.md"
    report.write_text("\n".join(lines), "utf-8")
    return report


def _and(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _d(score: Top1) -> int:
    """d from the declared chance label 1/2^d (32 → 5)."""
    label = score.chance_label or "1/32"
    return int(label.removeprefix("1/")).bit_length() - 1


def _ceiling(p: float, d: int) -> float:
    return p + (1 - p) / 2**d


def _glance(
    scores: Mapping[Key, Mapping[str, Top1]],
    objectives: Sequence[str],
    modalities: Sequence[int],
    grid: Sequence[float],
) -> list[str]:
    ps = [p for p in AT_A_GLANCE if p in grid]
    head = [f"M = {m}, p = {p:g}" for p in ps for m in modalities]
    lines = ["| objective | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for o in objectives:
        cells = [
            scores[(m, p)][o].text() if o in scores.get((m, p), {}) else "—"
            for p in ps
            for m in modalities
        ]
        lines.append(f"| {name(o)} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _top1_table(
    m: int,
    grid: Sequence[float],
    scores: Mapping[Key, Mapping[str, Top1]],
    objectives: Sequence[str],
    info: Mapping[float, object],
    d: int,
) -> list[str]:
    head = [name(o) for o in objectives] + ["ceiling", "I(b; others)"]
    lines = ["| p | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for p in grid:
        row = scores.get((m, p), {})
        cells = [row[o].text() if o in row else "—" for o in objectives]
        about = info[p].about()  # type: ignore[attr-defined]
        cells += [f"{_ceiling(p, d):.3f}", f"{abs(about) if abs(about) < 1e-12 else about:.3f}"]
        lines.append(f"| {p:g} | " + " | ".join(cells) + " |")
    return lines


def _paired_table(
    m: int, grid: Sequence[float], loaded: Mapping[Key, Mapping[str, Results]], peers: Sequence[str]
) -> list[str]:
    lines = ["| p | " + " | ".join(name(o) for o in peers) + " |", "|---|" + "---|" * len(peers)]
    for p in grid:
        row = loaded.get((m, p), {})
        ref = row.get(REFERENCE)
        cells = []
        for o in peers:
            if ref is None or o not in row:
                cells.append("—")
                continue
            try:
                c = compare_results(row[o], ref, metrics=["top1"])[0].result
            except HarnessInputError as exc:
                cells.append(f"(unpaired: {exc})")
                continue
            cells.append(
                f"{c.difference:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}], p {c.p_value_text()}"
            )
        lines.append(f"| {p:g} | " + " | ".join(cells) + " |")
    return lines


def _time_table(
    seconds: Mapping[tuple[str, int], Sequence[float]],
    objectives: Sequence[str],
    modalities: Sequence[int],
) -> list[str]:
    lines = [
        "Median training time per run (s; each run's own `train_seconds`, two runs at a time; "
        "on shared cores other jobs slow some runs several-fold, hence the median):",
        "",
        "| objective | " + " | ".join(f"M = {m}" for m in modalities) + " |",
        "|---|" + "---|" * len(modalities),
    ]
    for o in objectives:
        cells = []
        for m in modalities:
            xs = seconds.get((o, m), [])
            cells.append(f"{statistics.median(xs):.0f}" if xs else "—")
        lines.append(f"| {name(o)} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _plot(
    path: Path,
    grid: Sequence[float],
    modalities: Sequence[int],
    scores: Mapping[Key, Mapping[str, Top1]],
    objectives: Sequence[str],
    d: int,
) -> Path | None:
    plt = pyplot()
    if plt is None:
        return None
    fig, axes = plt.subplots(
        1, len(modalities), figsize=(4.2 * len(modalities), 4), sharey=True, squeeze=False
    )
    for ax, m in zip(axes[0], modalities, strict=True):
        for o in objectives:
            ps = [p for p in grid if o in scores.get((m, p), {})]
            ys = [scores[(m, p)][o] for p in ps]
            ax.errorbar(
                ps,
                [y.value for y in ys],
                yerr=[[y.value - y.low for y in ys], [y.high - y.value for y in ys]],
                marker="o" if o in PAPER else "s",
                markersize=4,
                capsize=2,
                label=name(o),
            )
        ax.plot(
            grid,
            [_ceiling(p, d) for p in grid],
            ls="--",
            color="black",
            lw=0.8,
            label="ceiling p + (1 − p)/2^d",
        )
        ax.axhline(1 / 2**d, ls=":", color="gray", label=f"chance 1/{2**d}")
        ax.set(xlabel="p", title=f"M = {m}", ylim=(-0.02, 1.05))
    axes[0][0].set_ylabel("test top-1 (95% CI)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
