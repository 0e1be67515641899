"""`reproduce --quick` says it is a smoke test: every report (xor, m3, mimic) opens with the
banner quoting the full run's minutes and its verdicts read "not judged", while a full run's
report still says yes / no; the console prints the banner too. Reports are rendered from
small results files through the report writers (no training)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from builders.m3.models.report import write_m3_report
from builders.mimic.models.report import MimicData, write_mimic_report
from builders.xor.models.report import write_xor_report
from symile_bench.baselines import reproduce
from symile_bench.baselines.runs import Run, RunSummary
from symile_bench.baselines.summary import NOT_JUDGED
from symile_bench.cli import app
from symile_bench.harness.results import save_results

from .evaluate_fixtures import write_mimic_dir
from .test_harness_results import make_results

BANNER = re.compile(
    r"quick smoke test: too little data to reproduce the paper's effect; "
    r"run without --quick \(about (\d+) min\)"
)


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> Path:
    return save_results(make_results(), tmp_path_factory.mktemp("results") / "r.json")


def _summary(dataset: Path, config: str | None, loss: str, results: Path) -> RunSummary:
    run = Run(dataset, config, loss, dataset / "models" / loss, results)
    return RunSummary(run, seconds=60.0, best_epoch=1, results=(results,))


def _verdicts(report: str) -> set[str]:
    """The words in the reports' judgement places: table cells before "(interval low" and
    the sentences ending in ": yes." / ": no." / ": not judged."."""
    cells = re.findall(r"\| (yes|no|not judged) \(", report)
    sentences = re.findall(r": (yes|no|not judged)\.", report)
    return set(cells + sentences)


def _m3(out: Path, results: Path, quick) -> str:
    data = out / "w2"
    runs = [
        _summary(data, "complete", "symile", results),
        _summary(data, "complete", "clip", results),
        _summary(data, "missing0.5", "symile", results),
    ]
    report = write_m3_report(
        out,
        runs,
        (2,),
        sizes={2: (10, 10, 10)},
        settings_note="note",
        missing=("missing0.5",),
        quick=quick,
    )
    return report.read_text()


def _mimic(out: Path, results: Path, quick) -> str:
    data = write_mimic_dir(out / "data")
    runs = [_summary(data, None, loss, results) for loss in ("symile", "clip")]
    return write_mimic_report(out, runs, MimicData(synthetic=False), quick=quick).read_text()


def _xor(out: Path, results: Path, quick) -> str:
    runs = [_summary(out, "p1.0", loss, results) for loss in ("symile", "clip")]
    return write_xor_report(out, runs, (1.0,), quick=quick).read_text()


WRITERS = {"m3": _m3, "mimic": _mimic, "xor": _xor}
ALL = ("symile", "clip", "gram", "triangle")


@pytest.mark.parametrize("name", ["xor", "m3", "mimic"])
def test_quick_reports_carry_banner_and_judge_nothing(name, results_file, tmp_path):
    """Proves a --quick report opens (under its title) with the banner quoting the full run's
    minutes for that benchmark, and every verdict reads "not judged" (m3: CLIP at 1/w, Symile
    ≥ 2×CLIP, Symile still ahead with missing data; mimic: above chance, Symile ahead); the
    same results rendered as a full run have no banner and say yes / no."""

    def write(out: Path, results: Path, quick) -> str:
        out.mkdir()
        return WRITERS[name](out, results, quick)

    declared = reproduce.REPRODUCTIONS.get(name)
    quick = reproduce.quick_note(declared, reproduce.REQUIRED_OBJECTIVES)
    text = write(tmp_path / "quick", results_file, quick)
    match = BANNER.search(text)
    assert match and int(match.group(1)) == declared.full_minutes
    peers = reproduce.quick_note(declared, ALL)
    # the banner counts the objectives asked for
    assert peers.full_minutes == declared.full_minutes + 2 * declared.peer_minutes
    assert text.splitlines()[2].startswith("> **quick smoke test")
    full = write(tmp_path / "full", results_file, None)
    assert not BANNER.search(full)
    if name != "xor":  # the xor report has no verdicts, only numbers
        assert _verdicts(text) == {NOT_JUDGED}
        assert _verdicts(full) and NOT_JUDGED not in _verdicts(full)


def test_quick_reproduce_prints_the_banner(monkeypatch, tmp_path):
    """Proves `symile-bench reproduce m3 --quick` prints the banner on the console (and a full
    run does not), with the reproduction itself replaced by a stub that writes nothing."""
    monkeypatch.setattr(reproduce, "reproduce", lambda declared, request: request.out / "r.md")
    runner = CliRunner()
    quick = runner.invoke(app, ["reproduce", "m3", "--out", str(tmp_path), "--quick"])
    assert quick.exit_code == 0, quick.output
    flat = " ".join(quick.output.split())
    assert BANNER.search(flat) and "about 35 min" in flat
    full = runner.invoke(app, ["reproduce", "m3", "--out", str(tmp_path)])
    assert full.exit_code == 0 and not BANNER.search(" ".join(full.output.split()))
