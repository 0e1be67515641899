"""CONTRIBUTING.md's "Adding a benchmark, end to end", followed literally: every file it shows
is written into an empty folder in the order shown, and every command block marked
`<!-- run -->` runs there, in a fresh virtual environment that sees the installed symile-bench
(so `python -m pip install -e ./clock-bench` installs the new package into that environment
only, offline: no build isolation, no index). The package is a third party's: nothing in
symile_bench/ or builders/ names it.
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
GUIDE = ROOT / "CONTRIBUTING.md"
STEP = re.compile(
    r"<!-- (?:file: (?P<path>\S+)|(?P<run>run)) -->\n```(?P<lang>\w+)\n(?P<body>.*?)\n```",
    flags=re.S,
)
# a console script as pip writes one: the guard keeps spawned workers from rerunning the command
SCRIPT = '#!{python}\nimport sys\nfrom symile_bench.cli import main\nif __name__ == "__main__":\n'
SCRIPT += "    sys.exit(main())\n"


def steps() -> list[tuple[str, str]]:
    """("file", path) / ("run", commands) in the order of the walk-through, with file bodies."""
    section = GUIDE.read_text("utf-8").split("## Adding a benchmark, end to end", 1)[1]
    section = section.split("\n## ", 1)[0]
    found = []
    for match in STEP.finditer(section):
        if match["run"]:
            found.append(("run", match["body"]))
        else:
            found.append((match["path"], match["body"]))
    return found


def test_the_guide_quotes_the_linted_files_as_they_are() -> None:
    """The last version of every file the walk-through shows is the file kept (and linted) in
    tests/plugin, byte for byte, and every file kept there is shown."""
    last = {path: body for path, body in steps() if path != "run"}
    kept = {p.relative_to(PLUGIN).as_posix() for p in PLUGIN.rglob("*") if p.is_file()}
    kept = {p for p in kept if "__pycache__" not in p and ".egg-info" not in p}
    assert set(last) == kept
    for path, body in last.items():
        assert body == (PLUGIN / path).read_text("utf-8").rstrip(), path


def test_symile_bench_never_names_the_plugin() -> None:
    for folder in ("symile_bench", "builders"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text("utf-8")
            assert "clock_bench" not in text and "clock-oracle" not in text, path


def _top1(path: Path) -> dict:
    results = json.loads(path.read_text())
    return next(r for r in results["rows"] if r["metric"] == "top1") | {
        "scoring": results["model"]["scoring"]
    }


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, str], str]:
    """Follow the walk-through in an empty folder; return it, each run block's output, and
    what `evaluate --model-arg scoring=cosine-mip` said just before the reinstall of step 3."""
    work = tmp_path_factory.mktemp("walk")
    venv = work / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
    )
    script = venv / "bin" / "symile-bench"
    script.write_text(SCRIPT.format(python=venv / "bin" / "python"))
    script.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PIP_NO_BUILD_ISOLATION": "0",  # build with the setuptools already installed: offline
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "COLUMNS": "200",
    }

    def bash(commands: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", commands],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if check:
            assert done.returncode == 0, f"{commands}\n{done.stdout}\n{done.stderr}"
        return done

    outputs: dict[int, str] = {}
    before_reinstall = ""
    installs = 0
    for path, body in steps():
        if path != "run":
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body + "\n", "utf-8")
            continue
        if "pip install" in body:
            installs += 1
            if installs == 2:  # the new entry point is not installed yet
                before_reinstall = bash(
                    "symile-bench evaluate clock-data --model clock-oracle --model-arg "
                    "scoring=cosine-mip --out early.json -q",
                    check=False,
                ).stderr
        outputs[len(outputs)] = bash(body).stdout
    return work, outputs, before_reinstall


def test_step_1_installs_and_builds(walked) -> None:
    """`list` shows the new builder under its benchmark; the build verifies, and its manifest
    declares the clock task."""
    work, outputs, _ = walked
    assert re.search(r"│ clock\s+│ clock\s+│ 0\.1\.0", outputs[0]), outputs[0]
    manifest = json.loads((work / "clock-data" / "manifest.json").read_text())
    assert manifest["builder"] == "clock" and manifest["tasks"][0]["chance_label"] == "1/12"


def test_step_2_scores_compares_trains_and_reproduces(walked) -> None:
    """The oracle is exact under `mip` and at chance under `pairwise` (the end hour needs start
    and step jointly); compare and report read both; the trained baseline learns the task; the
    reproduction writes its report with both objectives and the --quick banner."""
    work, outputs, _ = walked
    ends = np.asarray(symile_bench.load(work / "clock-data", split="test")["end"])
    chance = float(np.mean(np.bincount(ends)[ends] / len(ends)))  # a random candidate's odds
    mip, pairwise = _top1(work / "oracle.json"), _top1(work / "pairwise.json")
    assert mip["value"] == 1.0 and mip["scoring"] == "mip"
    assert pairwise["scoring"] == "pairwise" and pairwise["ci_high"] < 0.15
    assert pairwise["chance"] == pytest.approx(chance) and 1 / 12 <= chance < 0.1
    compared = outputs[1]
    assert "top1" in compared and "(mip)" in compared and "(pairwise)" in compared
    assert "clock-oracle-pairwise" in compared and "1/12" in compared  # the report's table
    assert (work / "oracle.png").stat().st_size > 0
    assert _top1(work / "trained.json")["value"] > 0.5
    report = (work / "clock-reproduction" / "report.md").read_text()
    assert "quick smoke test" in report
    assert re.search(r"\| symile \| \d\.\d{3} \[", report) and "| clip |" in report


def test_step_3_a_new_entry_point_needs_the_reinstall(walked) -> None:
    """Before the reinstall the new scorer is unknown (entry points live in the installed
    metadata); after it, the oracle scores with it."""
    work, _, before = walked
    assert "unknown scorer 'cosine-mip'" in before, before
    cosine = _top1(work / "cosine.json")
    assert cosine["scoring"] == "cosine-mip" and cosine["value"] == 1.0
