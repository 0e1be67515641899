"""The losses over a batch's distinct rows (``baselines/distinct.py``): the same values and
gradients as over every row, the trainer uses them only where they are exact, a training with
them ends where one without them does, and `reproduce`'s progress line counts models and
steps per second."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from symile_bench.baselines import distinct
from symile_bench.baselines.distinct import batch_groups, distinct_ids, groups_of
from symile_bench.baselines.losses import contrastive_loss
from symile_bench.baselines.reproduce import run_all
from symile_bench.baselines.runs import Run
from symile_bench.baselines.train import train
from symile_bench.cli import app

runner = CliRunner()


def _bits(m: int, n: int, seed: int) -> list[torch.Tensor]:
    """m modalities of n rows, each one of 8 bit vectors: many repeated rows."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 2, (n, 3), generator=gen).float() for _ in range(m)]


def _loss_and_grads(kind: str, xs, grouped: bool):
    torch.manual_seed(1)
    encoders = [torch.nn.Linear(3, 4) for _ in xs]
    scale = torch.tensor(1.3, requires_grad=True)
    reps = [F.normalize(e(x), dim=-1) for e, x in zip(encoders, xs, strict=True)]
    keys = [(x @ torch.tensor([1.0, 2.0, 4.0])).long().numpy() for x in xs]
    groups = batch_groups(keys, reps) if grouped else None
    assert grouped == (groups is not None)
    generator = torch.Generator().manual_seed(3)  # Symile's permutations, the same each call
    value = contrastive_loss(kind, reps, scale, groups=groups, generator=generator)
    value.backward()
    return value.detach(), [p.grad for e in encoders for p in e.parameters()] + [scale.grad]


@pytest.mark.parametrize("kind", ["symile", "clip", "gram", "triangle"])
@pytest.mark.parametrize("m", [2, 3, 4])
def test_grouped_loss_equals_the_loss_over_every_row(kind, m):
    """Proves the loss over distinct anchors (and, but for Symile's O(N) negatives, distinct
    tuples of the others), weighted by their counts, has the value and the parameter
    gradients of the [N, N] loss."""
    xs = _bits(m, 60, seed=m)
    full, full_grads = _loss_and_grads(kind, xs, grouped=False)
    grouped, grouped_grads = _loss_and_grads(kind, xs, grouped=True)
    torch.testing.assert_close(grouped, full, rtol=1e-5, atol=1e-6)
    for g, f in zip(grouped_grads, full_grads, strict=True):
        torch.testing.assert_close(g, f, rtol=1e-4, atol=1e-6)


def test_symile_rows_whose_own_negative_dominates_are_computed_over_every_column(monkeypatch):
    """Proves the rows Symile's grouped loss computes exactly (their own column's negative
    dominates the partition, so subtracting it would cancel) give the [N, N] loss too: here
    every row is sent that way."""
    xs = _bits(3, 60, seed=7)
    full, full_grads = _loss_and_grads("symile", xs, grouped=False)
    monkeypatch.setattr(distinct, "MAX_REMOVED_SHARE", -1.0)
    grouped, grouped_grads = _loss_and_grads("symile", xs, grouped=True)
    torch.testing.assert_close(grouped, full, rtol=1e-6, atol=1e-6)
    for g, f in zip(grouped_grads, full_grads, strict=True):
        torch.testing.assert_close(g, f, rtol=1e-5, atol=1e-6)


def test_groups_are_refused_when_equal_inputs_embed_differently():
    """Proves rows with equal ids but different embeddings (a random module such as dropout
    acted on them) are not grouped: the loss then runs over every row."""
    ids = np.array([0, 0, 1, 1])
    reps = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert batch_groups([ids], [reps]) is not None
    reps[1, 0] = 0.5
    assert batch_groups([ids], [reps]) is None


def test_groups_keep_the_first_row_and_count_rows():
    g = groups_of(torch.tensor([5, 3, 5, 5, 3]))
    assert sorted(zip(g.first.tolist(), g.counts.tolist(), strict=True)) == [(0, 3), (1, 2)]
    assert g.inverse.tolist() in ([1, 0, 1, 1, 0], [0, 1, 0, 0, 1])


def test_distinct_ids_only_for_few_distinct_rows():
    """Proves bit vectors get ids (the missing flag apart from an observed zero row), while
    continuous features, or more distinct rows than a quarter of a batch, get none."""
    bits = np.array([[0, 0], [1, 0], [0, 0], [0, 0]], np.float32)
    missing = np.array([False, False, False, True])
    ids = distinct_ids(bits, missing, batch_size=100)
    assert ids is not None and ids[0] == ids[2] != ids[1] and ids[3] not in (ids[0], ids[1])
    noise = np.random.default_rng(0).normal(size=(500, 4)).astype(np.float32)
    assert distinct_ids(noise, np.zeros(500, bool), batch_size=100) is None
    assert distinct_ids(bits, missing, batch_size=4) is None


@pytest.fixture(scope="module")
def xor_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor")
    args = ["build", "xor", "--p", "1.0", "--train-n", 600, "--val-n", 100, "--test-n", 100]
    result = runner.invoke(app, [str(a) for a in [*args, "--out", out, "--workers", 1, "-q"]])
    assert result.exit_code == 0, result.output
    return out


def test_training_over_distinct_rows_ends_where_training_over_every_row_does(
    xor_dir, tmp_path, monkeypatch
):
    """Proves `train --loss gram` on XOR groups its batches (model.json says so) and ends
    with the same weights and losses, up to float rounding, as the same training over every
    row (grouping switched off)."""
    overrides = {"epochs": 4, "batch_size": 200}
    kwargs = dict(loss="gram", config="p1.0", overrides=overrides, cache_dir=tmp_path / "c")
    train(xor_dir, tmp_path / "grouped", **kwargs)
    monkeypatch.setattr(distinct, "MAX_DISTINCT_FRACTION", 0.0)
    train(xor_dir, tmp_path / "full", **kwargs)
    infos = [json.loads((tmp_path / k / "model.json").read_text()) for k in ("grouped", "full")]
    assert [i["distinct_rows"] for i in infos] == [True, False]
    assert infos[0]["steps"] == 4 * 3
    losses = [[h["val_loss"] for h in i["history"]] for i in infos]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    weights = [torch.load(tmp_path / k / "model.pt") for k in ("grouped", "full")]
    for name, value in weights[1].items():
        torch.testing.assert_close(weights[0][name], value, rtol=1e-3, atol=1e-5)


def test_reproduce_progress_counts_models_and_steps_per_second(xor_dir, tmp_path, capsys):
    """Proves the progress line of `reproduce`'s runs reports the models finished and the
    optimiser steps per second."""
    run = Run(
        xor_dir,
        "p1.0",
        "clip",
        tmp_path / "model",
        tmp_path / "results.json",
        overrides={"epochs": 2, "batch_size": 200},
        query_subsets=False,
    )
    [summary] = run_all([run], workers=1, quiet=False)
    assert summary.steps == 2 * 3
    err = capsys.readouterr().err
    assert "1/1" in err and "models/s" in err and "steps/s" in err
