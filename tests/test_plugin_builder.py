"""A third-party plugin (tests/plugin/symile_example: a builder, a scorer, a model) registered
only through entry points, as an installed package would be, goes through build, evaluate,
compare and report end to end with no edit anywhere in symile_bench/.

The plugin's distribution metadata is written at test time into a temporary site directory,
and the CLI runs in subprocesses with it on PYTHONPATH, so entry-point discovery is the real
`importlib.metadata` path, not a monkeypatch.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symile_bench

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "tests" / "plugin"
ENTRY_POINTS = """\
[symile_bench.builders]
clock = symile_example.builder:ClockBuilder

[symile_bench.scorers]
cosine-mip = symile_example.scorer:COSINE_MIP

[symile_bench.models]
clock-oracle = symile_example.model:ClockOracle
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    site = tmp_path_factory.mktemp("site")
    dist = site / "symile_example-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: symile-example\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(PLUGIN), str(ROOT)]),
        "COLUMNS": "200",
    }

    def invoke(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "symile_bench", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    return invoke


def test_plugin_builds_evaluates_compares_and_reports(run, tmp_path: Path) -> None:
    assert "clock" in run("list", cwd=tmp_path).stdout
    run("build", "clock", "--hours", "12", "--test-n", "600", "--out", "clock", cwd=tmp_path)
    manifest = json.loads((tmp_path / "clock" / "manifest.json").read_text())
    assert manifest["builder"] == "clock" and manifest["tasks"][0]["chance_label"] == "1/12"

    ends = np.asarray(symile_bench.load(tmp_path / "clock", split="test")["end"])
    chance = float(np.mean(np.bincount(ends)[ends] / len(ends)))  # a random candidate's odds
    top1 = {}
    for scoring in ("mip", "pairwise", "cosine-mip"):
        out = f"{scoring}.json"
        args = ["--model", "clock-oracle", "--model-arg", f"scoring={scoring}", "--out", out]
        run("evaluate", "clock", *args, "--quiet", cwd=tmp_path)
        results = json.loads((tmp_path / out).read_text())
        row = next(r for r in results["rows"] if r["metric"] == "top1")
        assert results["model"]["scoring"] == scoring and results["task"]["name"] == "clock"
        # every row ranks all 600 end hours; a random top one has the query's hour with
        # probability count(hour) / 600
        assert row["chance"] == pytest.approx(chance) and 1 / 12 <= chance < 0.1
        top1[scoring] = (row["value"], row["ci_high"])
    # the end hour is a function of (start, step) jointly: the multilinear product finds it,
    # the pairwise sum ties all 12 end hours and lands on chance
    assert top1["mip"][0] == 1.0 and top1["cosine-mip"][0] == 1.0
    assert top1["pairwise"][1] < 0.15

    compared = run("compare", "mip.json", "pairwise.json", cwd=tmp_path).stdout
    assert "top1" in compared and "mip.json" in compared
    assert "(mip)" in compared and "(pairwise)" in compared  # each side names its objective
    report = run("report", "mip.json", "pairwise.json", "--plot", "p.png", cwd=tmp_path).stdout
    assert "clock-oracle-pairwise" in report and "1/12" in report
    assert (tmp_path / "p.png").stat().st_size > 0


def test_symile_bench_never_names_the_plugin() -> None:
    for path in (ROOT / "symile_bench").rglob("*.py"):
        text = path.read_text("utf-8")
        assert "symile_example" not in text and "clock-oracle" not in text, path


def test_contributing_shows_the_plugin_files_verbatim() -> None:
    """CONTRIBUTING.md's worked examples are the files this test module runs, so the guide
    cannot drift from code that works."""
    text = (ROOT / "CONTRIBUTING.md").read_text("utf-8")
    shown = re.findall(r"<!-- file: (\S+) -->\n```python\n(.*?)\n```", text, flags=re.S)
    assert {path for path, _ in shown} == {
        f"tests/plugin/symile_example/{name}.py" for name in ("builder", "scorer", "model")
    }
    for path, code in shown:
        assert code == (ROOT / path).read_text("utf-8").rstrip(), path
