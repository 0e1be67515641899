"""Metrics from ranks: per-query outcome vectors (what the bootstrap resamples) and groups."""

from __future__ import annotations

import numpy as np
import pytest

from symile_bench.errors import HarnessInputError
from symile_bench.harness.metrics import (
    DEFAULT_METRICS,
    PRIMARY_METRIC,
    compute_metrics,
    group_indices,
    grouped_metrics,
    outcomes,
    per_query_outcomes,
)


def test_outcomes_from_ranks():
    ranks = np.array([1, 2, 5, 6, 10, 11])
    np.testing.assert_array_equal(outcomes(ranks, "top1"), [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(outcomes(ranks, "top5"), [1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(outcomes(ranks, "top10"), [1, 1, 1, 1, 1, 0])
    np.testing.assert_allclose(outcomes(ranks, "mrr"), 1 / ranks)
    assert PRIMARY_METRIC == "top1" and set(per_query_outcomes(ranks)) == set(DEFAULT_METRICS)
    values = compute_metrics(ranks)
    assert values["top1"] == pytest.approx(1 / 6)
    assert values["mrr"] == pytest.approx(np.mean(1 / ranks))


def test_grouped_metrics_per_language():
    """Per-group values equal the metric computed on that group's queries alone."""
    ranks = np.array([1, 3, 1, 1, 7, 2])
    lang = np.array(["en", "el", "en", "el", "el", "en"])
    out = grouped_metrics(ranks, lang, ["top1", "mrr"])
    assert list(out) == ["el", "en"]
    assert out["en"]["top1"] == pytest.approx(2 / 3)
    assert out["el"]["mrr"] == pytest.approx(np.mean([1 / 3, 1, 1 / 7]))
    idx = group_indices(lang)
    np.testing.assert_array_equal(idx["el"], [1, 3, 4])


@pytest.mark.parametrize(
    ("ranks", "metric", "match"),
    [
        ([1, 2], "top0", "unknown metric"),
        ([1, 2], "recall", "unknown metric"),
        ([0, 1], "top1", "1-based"),
    ],
)
def test_bad_metric_or_ranks(ranks, metric, match):
    with pytest.raises(HarnessInputError, match=match):
        outcomes(np.array(ranks), metric)
