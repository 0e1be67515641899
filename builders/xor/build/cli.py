"""`symile-bench xor-info`: the exact information terms of XOR with M modalities, as a table."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from symile_bench.console import console
from symile_bench.errors import ConfigError


def xor_info(
    d: Annotated[int, typer.Option("--d", help="Vector length.")] = 5,
    p: Annotated[
        str, typer.Option("--p", help="Comma list of switch probabilities.")
    ] = "0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0",
    modalities: Annotated[
        int, typer.Option("--modalities", help="Number of modalities M (a, b, c, ...), >= 3.")
    ] = 3,
) -> None:
    """Exact information terms (bits) of the XOR benchmark with M modalities, by enumerating the
    joint law: total correlation, what all the others tell about the target b and what the best
    proper subset of them tells, the pairwise terms and the conditional terms of every order."""
    from builders.xor.build.info import info_rows

    try:
        ps = [float(x) for x in p.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--p {p!r}: expected numbers separated by commas") from None
    header, rows = info_rows(d, ps, modalities)
    table = Table(*header, title=f"XOR information terms, M = {modalities}, d = {d} (bits, exact)")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if any("×" in row[0] for row in rows):
        console.print(
            "×k: k terms of equal value (x_2 ... x_{M-1} are exchangeable); the first stands "
            "for them."
        )


# where `symile-bench --help` lists it: beside `info`, a fact about the data
xor_info.rich_help_panel = "Load and check"  # type: ignore[attr-defined]
