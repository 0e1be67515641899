"""`symile-bench xor-info`: the exact information terms of XOR, as a table."""

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
) -> None:
    """Exact information terms (bits) of the XOR benchmark, by enumerating the joint law."""
    from builders.xor.build.info import xor_info_grid

    try:
        ps = [float(x) for x in p.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--p {p!r}: expected numbers separated by commas") from None
    table = Table(
        "p",
        "I(a;b)",
        "I(a;c)",
        "I(b;c)",
        "I(a;b|c)",
        "I(b;c|a)",
        "TC(a,b,c)",
        title=f"XOR information terms, d = {d} (bits, exact)",
    )
    for r in xor_info_grid(d, ps):
        table.add_row(
            f"{r.p:g}",
            *(
                f"{abs(v) if abs(v) < 1e-12 else v:.4f}"
                for v in (
                    r.i_ab,
                    r.i_ac,
                    r.i_bc,
                    r.i_ab_given_c,
                    r.i_bc_given_a,
                    r.total_correlation,
                )
            ),
        )
    console.print(table)


# where `symile-bench --help` lists it: beside `info`, a fact about the data
xor_info.rich_help_panel = "Load and check"  # type: ignore[attr-defined]
