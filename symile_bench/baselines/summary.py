"""Read the numbers a report needs out of results files, paired comparisons, and how a
``--quick`` report says that it judges nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from symile_bench.errors import HarnessInputError
from symile_bench.harness.compare import compare_results
from symile_bench.harness.results import Results, load_results


@dataclass(frozen=True)
class Top1:
    value: float
    low: float
    high: float
    n: int
    paper_style: tuple[float, float] | None = None  # the release's 10-sample mean and its SE
    chance: float | None = None  # top-1 of a random ranking of these queries' candidates
    chance_label: str | None = None  # the dataset's declared chance, e.g. "1/32"

    def text(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def chance_text(self) -> str:
        """How a report states the chance level, read from the results file."""
        if self.chance is None:
            return "chance not recorded"
        label = f"{self.chance_label} ≈ " if self.chance_label else ""
        return f"chance {label}{self.chance:.4f}"

    def paper_text(self) -> str:
        return (
            ""
            if self.paper_style is None
            else (f"{self.paper_style[0]:.3f} ± {self.paper_style[1]:.3f}")
        )


@dataclass(frozen=True)
class Quick:
    """A ``--quick`` reproduction: too little data (or too few epochs) for the paper's effect
    to show, so its report opens with a banner and its verdicts read "not judged" (otherwise a
    new user reads `reproduce m3 --quick` as "Symile does not beat CLIP")."""

    full_minutes: int  # an honest estimate of the full run on a 2-core machine

    def banner(self) -> str:
        return (
            "quick smoke test: too little data to reproduce the paper's effect; run without "
            f"--quick (about {self.full_minutes} min)"
        )


NOT_JUDGED = "not judged"


def verdict(ok: bool, quick: Quick | None) -> str:
    """A report's yes / no, or "not judged" for a ``--quick`` run."""
    if quick is not None:
        return NOT_JUDGED
    return "yes" if ok else "no"


def banner_lines(quick: Quick | None) -> list[str]:
    """The lines a report puts under its title: the banner as a quote, or nothing."""
    return [] if quick is None else [f"> **{quick.banner()}**", ""]


def wall_text(wall_seconds: float | None) -> str:
    """The wall-clock clause of a report's timing line. A rerun of `reproduce` reuses the
    checkpoints already in OUT/models, so this is the time of the invocation that wrote the
    report, not of training (the per-run minutes come from each checkpoint)."""
    if wall_seconds is None:
        return ""
    return (
        f"; wall clock of the reproduce invocation that wrote this report "
        f"{wall_seconds / 60:.1f} min (checkpoints already in OUT/models are reused)"
    )


def top1(path: Path, condition: str | None = None) -> Top1:
    return top1_of(load_results(path), condition)


def top1_of(results: Results, condition: str | None = None) -> Top1:
    """``top1`` of results already read (a report that needs a file several times reads it
    once)."""
    row = results.row("top1", condition=condition)
    style = row.paper_style
    return Top1(
        row.value,
        row.ci_low,
        row.ci_high,
        row.n,
        None if style is None else (style.mean, style.se),
        row.chance,
        results.task.chance_label,
    )


def paired(a: Path, b: Path) -> tuple[float, float, float]:
    """(A − B, CI low, CI high) of top-1 by the harness's paired bootstrap."""
    c = compare_results(load_results(a), load_results(b), metrics=["top1"])[0].result
    return c.difference, c.ci_low, c.ci_high


def paired_text(a: Path, b: Path) -> tuple[str, float | None]:
    """The report's text for ``paired(a, b)`` and the interval's low end, or, when the two
    results were computed on different splits, why there is no pairing (and None)."""
    try:
        d, low, high = paired(a, b)
    except HarnessInputError as exc:
        return f"(paired comparison unavailable: {exc})", None
    return f"{d:+.3f} [{low:+.3f}, {high:+.3f}]", low
