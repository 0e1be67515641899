"""The static checks are part of the test command, so CI fails on a regression: lint and
format (ruff), types (mypy, strict on the public API modules) and the layer contracts
(import-linter, `[tool.importlinter]` in pyproject.toml). `.pre-commit-config.yaml` runs the
same commands locally."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str) -> None:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("lint-imports",),
    ],
    ids=["ruff-check", "ruff-format", "import-contracts"],
)
def test_static_check_passes(command: tuple[str, ...]) -> None:
    _run(*command)


def test_mypy_passes() -> None:
    _run(sys.executable, "-m", "mypy")


def test_every_top_level_module_is_in_a_layer() -> None:
    """A new module directly under symile_bench/ must be declared core (it then may import
    nothing above core) or CLI (the composition layer); otherwise it would escape every
    contract. Packages (harness, media, ...) have contracts of their own."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]
    contracts = {c["id"]: c for c in config["contracts"]}
    core = set(contracts["core"]["source_modules"])
    above_core = set(contracts["core"]["forbidden_modules"])  # the packages and the CLI
    modules = {f"symile_bench.{p.stem}" for p in (ROOT / "symile_bench").glob("*.py")}
    unplaced = sorted(modules - {"symile_bench.__init__"} - core - above_core)
    assert not unplaced, f"declare these in [tool.importlinter] (core or CLI): {unplaced}"
