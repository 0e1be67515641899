"""Exact XOR information terms for M modalities (symile-bench xor-info), against closed forms
derived by hand."""

import math
from itertools import combinations

import numpy as np
import pytest
from typer.testing import CliRunner

from builders.xor.build.info import terms, xor_info, xor_info_grid
from symile_bench.cli import app

GRID = [round(0.1 * k, 1) for k in range(11)]


def test_information_structure_of_the_xor_benchmark():
    """Proves the paper's information structure (docs/paper.md) exactly: I(a;b) = I(b;c) = 0 for
    every p, I(a;b|c) = 0 at p = 0, = d bits at p = 1 and strictly increasing in between;
    computed for the whole grid at d = 5 (its speed: benchmarks/small_timings.py)."""
    rows = xor_info_grid(5, GRID)
    for r in rows:
        assert abs(r.mutual("a", "b")) < 1e-12 and abs(r.mutual("b", "c")) < 1e-12
    cond = np.array([r.mutual("a", "b", "c") for r in rows])
    assert abs(cond[0]) < 1e-12 and abs(cond[-1] - 5.0) < 1e-12
    assert (np.diff(cond) > 0).all()


def test_known_closed_forms():
    """Proves two hand-derived values: at p = 0, c = a so I(a;c) = TC = d; at p = 1,
    b = a XOR c so I(b;c|a) = d and I(a;c) = 0."""
    zero, one = xor_info(3, 0.0), xor_info(3, 1.0)
    assert abs(zero.mutual("a", "c") - 3) < 1e-12 and abs(zero.total_correlation - 3) < 1e-12
    assert abs(one.mutual("b", "c", "a") - 3) < 1e-12 and abs(one.mutual("a", "c")) < 1e-12


def _h2(p: float) -> float:
    return 0.0 if p in (0.0, 1.0) else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def closed_form_entropy(subset: set[int], m: int, d: int, p: float) -> float:
    """H(x_S) derived by hand: x_1 ... x_{M-1} are i.i.d. uniform, so without x_M it is |S|·d;
    with x_M (= x_1 XOR i·Y, Y the XOR of x_2 ... x_{M-1}) add H(x_M | the rest of S): d when
    S lacks x_1 (x_1 uniform and independent of all else masks it); (1 − 2^-d)·h(p) when S
    holds x_1 and every x_2 ... x_{M-1} (Y known: x_M = x_1 if Y = 0, else x_1 or x_1 XOR Y
    with odds p); otherwise (Y uniform and unknown) the mixture putting 1 − p + p/2^d on x_1
    and p/2^d on each other value."""
    last = m - 1
    rest = subset - {last}
    h = len(rest) * d
    if last not in subset:
        return h
    if 0 not in rest:
        return h + d
    if set(range(1, last)) <= rest:
        return h + (1 - 2.0**-d) * _h2(p)
    q0, r = 1 - p + p / 2**d, p / 2**d
    mix = -q0 * math.log2(q0) - ((2**d - 1) * r * math.log2(r) if r > 0 else 0.0)
    return h + mix


@pytest.mark.parametrize(("m", "d"), [(3, 2), (3, 4), (4, 2), (4, 3), (5, 2), (5, 3)])
def test_enumeration_equals_the_closed_form_for_every_subset(m, d):
    """Proves the enumeration of the joint law (support 2·2^(d(M−1))) gives, for every subset of
    the M modalities and every p of a grid, the entropy derived by hand (closed_form_entropy),
    so every term built from them (total correlation, pairwise and conditional terms) is
    exact."""
    for p in (0.0, 0.25, 0.5, 0.9, 1.0):
        info = xor_info(d, p, m)
        for k in range(1, m + 1):
            for subset in combinations(range(m), k):
                got = info.entropy(info.names[j] for j in subset)
                assert got == pytest.approx(closed_form_entropy(set(subset), m, d, p), abs=1e-9)


@pytest.mark.parametrize("m", [3, 4, 5])
def test_only_the_m_way_interaction_identifies_b(m):
    """Proves, for M = 3, 4, 5 at d = 4, that b is independent of every proper subset of the
    others at every p; that all of them together tell I(b; others) bits, the same for every M
    (0 at p = 0, d at p = 1: M changes the order of the interaction, not its amount); that
    at p = 1 any M − 1 modalities are mutually independent (their total correlation is 0);
    and that TC(all) = d − (1 − 2^−d) h(p)."""
    d = 4
    reference = {p: xor_info(d, p, 3).about() for p in GRID}
    for p in GRID:
        info = xor_info(d, p, m)
        subset, best = info.best_proper()
        assert abs(best) < 1e-9, (p, subset)
        assert info.about() == pytest.approx(reference[p], abs=1e-9)
        assert info.total_correlation == pytest.approx(d - (1 - 2.0**-d) * _h2(p), abs=1e-9)
    one = xor_info(d, 1.0, m)
    assert one.about() == pytest.approx(d)
    for kept in combinations(one.names, m - 1):
        tc = sum(one.entropy([x]) for x in kept) - one.entropy(kept)
        assert abs(tc) < 1e-9


def test_terms_cover_every_order_once_per_symmetry_class():
    """Proves the listed terms are the pairwise terms and the conditional terms of every order
    up to M, one per class of terms equal under permutations of x_2 ... x_{M−1}: their counts
    add up to every I(x; y | S) there is, and each member of a class has its value."""
    for m in (3, 4, 5):
        listed = terms(m)
        total = sum(t.count for t in listed)
        assert total == math.comb(m, 2) * 2 ** (m - 2)  # every pair, every S of the others
        assert {t.order for t in listed} == set(range(2, m + 1))
    assert [t.label for t in terms(3)] == [
        "I(a;b)",
        "I(a;c)",
        "I(b;c)",
        "I(a;b|c)",
        "I(a;c|b)",
        "I(b;c|a)",
    ]
    info = xor_info(3, 0.7, 4)
    assert info.mutual("a", "b", "c") == pytest.approx(info.mutual("a", "c", "b"))


def test_cli_prints_the_table_and_rejects_bad_input():
    """Proves the command's table for 3 and 4 modalities and its one-line error for a bad
    --p."""
    result = CliRunner().invoke(app, ["xor-info", "--d", "5", "--p", "0,1"])
    assert result.exit_code == 0, result.output
    assert "I(a;b|c)" in result.output and "5.0000" in result.output
    four = CliRunner().invoke(app, ["xor-info", "--modalities", "4", "--p", "0.5"])
    assert four.exit_code == 0, four.output
    assert "I(b;a,c,d)" in four.output and "2.4302" in four.output and "×2" in four.output
    bad = CliRunner().invoke(app, ["xor-info", "--p", "x"])
    assert bad.exit_code != 0
