"""The command line reads like the workflow and starts at once: `--help` groups the commands
in panels in the order a user meets them, help texts carry no line breaks from the docstrings'
source wrapping, and the help and listing commands import none of the heavy libraries."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

HEAVY = ("torch", "datasets", "pyarrow", "pandas", "numba")
PROBE = (
    "import sys\n"
    "from symile_bench.cli import main\n"
    "sys.argv = ['symile-bench', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
    f"print('HEAVY:', ' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
)
PANELS = ("Build and import", "Load and check", "Score and compare", "Baselines", "Leaderboard")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("args", [["--help"], ["build", "--help"], ["list"]], ids=" ".join)
def test_help_and_list_import_no_heavy_library(args: list[str]) -> None:
    """Proves `symile-bench --help`, `build --help` and `list` answer without importing
    torch, datasets, pyarrow, pandas or numba (read from `sys.modules` after the command),
    and that they did answer."""
    done = _run(*args)
    assert "Usage:" in done.stdout or "builder" in done.stdout, done.stdout + done.stderr
    heavy = done.stderr.strip().splitlines()[-1]
    assert heavy == "HEAVY:", f"symile-bench {' '.join(args)} imported {heavy}"


def test_help_lists_the_workflow_in_panels(cli) -> None:
    """Proves the top-level help shows the five panels in the workflow's order, each command in
    its panel, and `build` before `import` before `finalize` within the first."""
    text = cli("--help").stdout
    titles = re.findall(r"╭─ ([A-Za-z ]+?) ─", text)
    assert [t for t in titles if t in PANELS] == list(PANELS), titles
    panel_of = {}
    current = None
    for line in text.splitlines():
        title = re.match(r"╭─ ([A-Za-z ]+?) ─", line)
        if title:
            current = title.group(1)
        command = re.match(r"│ ([a-z][a-z-]*) ", line)
        if command and current in PANELS:
            panel_of[command.group(1)] = current
    expected = {
        "build": "Build and import",
        "import": "Build and import",
        "fake-mimic": "Build and import",
        "verify": "Load and check",
        "xor-info": "Load and check",
        "evaluate": "Score and compare",
        "compare": "Score and compare",
        "train": "Baselines",
        "reproduce": "Baselines",
        "submit": "Leaderboard",
        "leaderboard": "Leaderboard",
    }
    assert {c: panel_of.get(c) for c in expected} == expected
    order = [c for c in panel_of if panel_of[c] == "Build and import"]
    assert order[:3] == ["build", "import", "finalize"], order


def test_help_texts_have_no_source_line_breaks() -> None:
    """Proves every command's help (at any depth) is its docstring reflowed: no line break
    inside a paragraph, as the source's 100-column wrapping would leave."""
    import typer

    from symile_bench.cli import app

    def helps(group: typer.Typer) -> list[tuple[str, str]]:
        found = [(c.name or c.callback.__name__, c.help or "") for c in group.registered_commands]
        for sub in group.registered_groups:
            if sub.typer_instance is not None:
                found += helps(sub.typer_instance)
        return found

    every = helps(app)
    assert len(every) > 20
    for name, text in every:
        for paragraph in text.split("\n\n"):
            lines = paragraph.splitlines()
            listed = all(line.lstrip()[:1] in "-*•" for line in lines[1:])
            assert len(lines) == 1 or listed, f"{name}: {paragraph!r}"
