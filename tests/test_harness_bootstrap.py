"""Bootstrap: interval coverage, both samplers agree, paper style, paired test p-values."""

from __future__ import annotations

import numpy as np
import pytest

from symile_bench.errors import HarnessInputError
from symile_bench.harness import bootstrap as bs
from symile_bench.harness.bootstrap import bootstrap_mean, paired_bootstrap, paper_style


def test_percentile_interval_covers_p_in_about_95_percent_of_simulations():
    """1,000 seeded simulations of n = 400 Bernoulli(0.3) outcomes: the 95% interval covers the
    true p in 93–97% of them (0/1 outcomes: the exact multinomial/binomial sampler)."""
    rng = np.random.default_rng(2024)
    p, n, sims = 0.3, 400, 1000
    data = rng.random((sims, n)) < p
    covered = 0
    for i in range(sims):
        r = bootstrap_mean(data[i], resamples=1000, seed=i)
        covered += r.ci_low <= p <= r.ci_high
    assert 0.93 <= covered / sims <= 0.97


def test_index_sampler_coverage_on_continuous_outcomes():
    """Many distinct values use the index sampler; its interval also covers the true mean
    (uniform outcomes, mean 0.5) at about the nominal rate (300 simulations: 90–99%)."""
    rng = np.random.default_rng(7)
    sims, n = 300, 1000
    covered = 0
    for i in range(sims):
        r = bootstrap_mean(rng.random(n), resamples=500, seed=i)
        covered += r.ci_low <= 0.5 <= r.ci_high
    assert 0.90 <= covered / sims <= 0.99


def test_both_samplers_draw_the_same_bootstrap_distribution():
    """Multinomial counts over distinct values and index resampling are the same bootstrap:
    mean and SD of the resampled means agree within Monte Carlo error."""
    rng = np.random.default_rng(3)
    x = 1.0 / rng.geometric(0.3, 3000)  # reciprocal ranks: few distinct values
    b = 4000
    counts_way = bs.resampled_means(x, b, np.random.default_rng(0))
    index_way = bs._index_means(x, b, np.random.default_rng(1), np.empty(b))
    se = x.std() / np.sqrt(len(x))
    assert counts_way.mean() == pytest.approx(x.mean(), abs=4 * se / np.sqrt(b))
    assert index_way.mean() == pytest.approx(x.mean(), abs=4 * se / np.sqrt(b))
    assert counts_way.std() == pytest.approx(se, rel=0.06)
    assert index_way.std() == pytest.approx(se, rel=0.06)


def test_result_fields_and_determinism():
    x = (np.random.default_rng(0).random(500) < 0.4).astype(float)
    r = bootstrap_mean(x, seed=5)
    assert r == bootstrap_mean(x, seed=5)
    assert r != bootstrap_mean(x, seed=6)
    assert (r.n, r.method, r.resamples, r.seed, r.confidence) == (500, "percentile", 1000, 5, 0.95)
    assert r.value == pytest.approx(x.mean())
    assert r.se == pytest.approx(np.sqrt(x.mean() * (1 - x.mean()) / 500), rel=0.1)
    assert r.ci_low < r.value < r.ci_high


def test_paper_style_is_the_mean_of_10_resamples_with_its_standard_error():
    x = (np.random.default_rng(1).random(464) < 0.435).astype(float)
    ps = paper_style(x, seed=0)
    means = bs.resampled_means(x, 10, np.random.default_rng(0))
    assert ps.samples == 10
    assert ps.mean == pytest.approx(means.mean())
    assert ps.se == pytest.approx(means.std(ddof=1) / np.sqrt(10))


def test_paired_bootstrap_detects_a_real_difference():
    rng = np.random.default_rng(4)
    u = rng.random(3000)
    a = (u < 0.60).astype(float)  # model a is right whenever b is, and more often
    b = (u < 0.50).astype(float)
    r = paired_bootstrap(a, b, seed=0)
    assert r.difference == pytest.approx(a.mean() - b.mean())
    assert r.p_value == pytest.approx(1 / 1001)
    assert r.ci_low > 0


def test_paired_bootstrap_p_values_for_equal_models():
    """Identical outcome vectors give p = 1; two models with the same accuracy (independent
    errors) give roughly uniform p-values: about 5% below 0.05."""
    rng = np.random.default_rng(5)
    x = (rng.random(800) < 0.5).astype(float)
    assert paired_bootstrap(x, x.copy()).p_value == 1.0
    ps = np.array(
        [
            paired_bootstrap(
                rng.random(800) < 0.5, rng.random(800) < 0.5, resamples=500, seed=s
            ).p_value
            for s in range(300)
        ]
    )
    assert 0.01 <= (ps < 0.05).mean() <= 0.10
    assert 0.4 <= ps.mean() <= 0.6


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: bootstrap_mean([]), "empty"),
        (lambda: bootstrap_mean([1.0, np.nan]), "NaN"),
        (lambda: bootstrap_mean([1.0, 0.0], resamples=1), "resamples"),
        (lambda: bootstrap_mean([1.0, 0.0], confidence=95), "confidence"),
        (lambda: paired_bootstrap([1.0, 0.0], [1.0]), "same queries"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(HarnessInputError, match=match):
        call()
