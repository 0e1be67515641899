"""`reproduce xor --modalities 3,4,5`: the plan (one dataset per M, every objective on every
(M, p), the ends and middle of the p range first) and the report, rendered from results files
of known models through the report writer (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders.xor.models.reproduce import REPRODUCTION, XorOptions
from builders.xor.models.scaling import PLOT_FILE, write_scaling_report
from symile_bench.baselines.plots import pyplot
from symile_bench.baselines.reproduce import Request
from symile_bench.baselines.runs import Run, RunSummary
from symile_bench.baselines.summary import Quick
from symile_bench.options import parse_options

from .conftest import run_cli

ALL = ("symile", "clip", "gram", "triangle")


def test_plan_builds_one_dataset_per_m_and_orders_the_runs():
    """Proves the plan of `--modalities 5,3,4` (given in any order): three builds with
    `modalities` 3, 4, 5 and the paper's p grid, 4 × 11 runs per M on that M's data, the runs
    at p = 0, 0.5 and 1 of every M before the rest; and that the default (3) keeps the paper's
    single-dataset layout, so an earlier `reproduce xor` directory is reused."""
    options = parse_options(XorOptions, {"modalities": "5,3,4"})
    assert options.modalities == (3, 4, 5)
    plan = REPRODUCTION.plan(Request(out=Path("/o"), objectives=ALL, options=options))
    assert [(b.options["modalities"], b.out) for b in plan.builds] == [
        (m, Path(f"/o/m{m}/data")) for m in (3, 4, 5)
    ]
    assert all(len(b.options["p"]) == 11 for b in plan.builds)
    assert len(plan.runs) == 3 * 11 * 4 and len({r.results for r in plan.runs}) == 132
    first = plan.runs[: 3 * 3 * 4]
    assert {r.config for r in first} == {"p0.0", "p0.5", "p1.0"}
    assert {r.dataset for r in first} == {b.out for b in plan.builds}
    assert all(r.dataset.parent == r.model_dir.parent.parent for r in plan.runs)
    paper = REPRODUCTION.plan(Request(out=Path("/o"), objectives=("symile", "clip")))
    assert [b.out for b in paper.builds] == [Path("/o/data")]
    assert "modalities" not in paper.builds[0].options


@pytest.fixture(scope="module")
def summaries(tmp_path_factory) -> list[RunSummary]:
    """Results of the Walsh oracle (as "symile": exact) and of content-hash embeddings (as
    "clip": no information) at M = 3 and 4, p = 0.5 and 1, scored with query subsets."""
    root = tmp_path_factory.mktemp("study")
    runs = []
    for m in (3, 4):
        data = root / f"m{m}" / "data"
        run_cli(
            "build",
            "xor",
            "--modalities",
            m,
            "--p",
            "0.5,1.0",
            "--train-n",
            10,
            "--val-n",
            10,
            "--test-n",
            600,
            "--out",
            data,
            "-q",
        )
        for p in (0.5, 1.0):
            for loss, model in (("symile", "xor-walsh"), ("clip", "content-hash")):
                out = root / f"m{m}" / "results" / f"{loss}-p{p}.json"
                run_cli(
                    "evaluate",
                    data,
                    "--config",
                    f"p{p}",
                    "--model",
                    model,
                    "--query-subsets",
                    "--out",
                    out,
                    "--bootstrap",
                    200,
                    "-q",
                )
                run = Run(data, f"p{p}", loss, root / "models" / f"{loss}-{m}-{p}", out)
                runs.append(RunSummary(run, seconds=10.0 * m, best_epoch=1, results=(out,)))
    return runs


def test_report_tables_per_m_paired_differences_and_one_plot(summaries, tmp_path):
    """Proves the report holds, for every M, top-1 against p with intervals beside the Bayes
    ceiling p + (1 − p)/32 and I(b; others) (equal across M), the paired difference of each
    peer against Symile with its p-value, the table across M, median training time per (objective,
    M), the query-subset diagnostic per M (every proper-subset interval counted against chance)
    and one plot; a --quick report opens with the banner."""
    report = write_scaling_report(tmp_path, summaries, (0.5, 1.0), (3, 4), wall_seconds=60.0)
    text = report.read_text()
    for heading in (
        "## At a glance",
        "### M = 3",
        "### M = 4",
        "## Paired differences against Symile",
        "## Training time",
        "## Where the accuracy comes from",
    ):
        assert heading in text, heading
    assert "| 1 | 1.000 [1.000, 1.000] |" in text  # the oracle at p = 1, every M
    assert "| 0.516 | 2.430 |" in text  # ceiling and I(b; others) at p = 0.5
    assert "p < 0.001" in text
    assert "| CLIP | 10 | 10 |" not in text and "| Symile | 30 | 40 |" in text
    assert "all: a, c, d" in text and "quadrilinear" in text
    assert "95% intervals of the scores from a proper subset" in text
    if pyplot() is not None:
        assert (tmp_path / PLOT_FILE).is_file() and f"]({PLOT_FILE})" in text
    quick = write_scaling_report(tmp_path / "q", summaries, (0.5, 1.0), (3, 4), quick=Quick(600))
    assert quick.read_text().splitlines()[2].startswith("> **quick smoke test")


def test_results_name_the_number_of_modalities(summaries):
    """Proves results files of different M are told apart by their task (query modalities)
    and their dataset's fingerprint, though they share builder and config names."""
    files = {s.results[0] for s in summaries if s.run.config == "p1.0" and s.run.loss == "clip"}
    loaded = [json.loads(f.read_text()) for f in sorted(files)]
    assert [len(r["task"]["query_modalities"]) for r in loaded] == [2, 3]
    assert loaded[0]["dataset"]["config"] == loaded[1]["dataset"]["config"] == "p1.0"
    assert loaded[0]["dataset"]["fingerprint"] != loaded[1]["dataset"]["fingerprint"]
