"""Exact XOR information terms (symile-bench xor-info)."""

import numpy as np
from typer.testing import CliRunner

from builders.xor.build.info import xor_info, xor_info_grid
from symile_bench.cli import app

GRID = [round(0.1 * k, 1) for k in range(11)]


def test_information_structure_of_the_xor_benchmark():
    """Proves the paper's information structure (docs/paper.md) exactly: I(a;b) = I(b;c) = 0 for
    every p, I(a;b|c) = 0 at p = 0, = d bits at p = 1 and strictly increasing in between;
    computed for the whole grid at d = 5 (its speed: benchmarks/small_timings.py)."""
    rows = xor_info_grid(5, GRID)
    for r in rows:
        assert abs(r.i_ab) < 1e-12 and abs(r.i_bc) < 1e-12
    cond = np.array([r.i_ab_given_c for r in rows])
    assert abs(cond[0]) < 1e-12 and abs(cond[-1] - 5.0) < 1e-12
    assert (np.diff(cond) > 0).all()


def test_known_closed_forms():
    """Proves two hand-derived values: at p = 0, c = a so I(a;c) = TC = d; at p = 1,
    b = a XOR c so I(b;c|a) = d and I(a;c) = 0."""
    zero, one = xor_info(3, 0.0), xor_info(3, 1.0)
    assert abs(zero.i_ac - 3) < 1e-12 and abs(zero.total_correlation - 3) < 1e-12
    assert abs(one.i_bc_given_a - 3) < 1e-12 and abs(one.i_ac) < 1e-12


def test_cli_prints_the_table_and_rejects_bad_input():
    """Proves the command's table and its one-line error for a bad --p."""
    result = CliRunner().invoke(app, ["xor-info", "--d", "5", "--p", "0,1"])
    assert result.exit_code == 0, result.output
    assert "I(a;b|c)" in result.output and "5.0000" in result.output
    bad = CliRunner().invoke(app, ["xor-info", "--p", "x"])
    assert bad.exit_code != 0
