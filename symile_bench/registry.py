"""Builder discovery through the `symile_bench.builders` entry-point group (and the commands
builders add, through `symile_bench.commands`).

Core never imports a builder by name: ours are registered exactly like a third-party package
would register its own (pyproject `[project.entry-points."symile_bench.builders"]`).
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from symile_bench.builder import DatasetBuilder
from symile_bench.errors import ConfigError

GROUP = "symile_bench.builders"
COMMANDS_GROUP = "symile_bench.commands"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def builder_names() -> list[str]:
    return sorted(_entry_points())


def get_builder(name: str) -> DatasetBuilder:
    points = _entry_points()
    if name not in points:
        close = difflib.get_close_matches(name, list(points), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        known = ", ".join(sorted(points)) or "none installed"
        raise ConfigError(f"unknown builder '{name}'.{hint} Known builders: {known}.")
    return points[name].load()()


@cache
def command_entry_points() -> dict[str, EntryPoint]:
    """Top-level commands that builder packages add (`fake-mimic`): typer command functions
    by name, from the `symile_bench.commands` entry-point group."""
    return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}
