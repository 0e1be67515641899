"""Symile's O(N^(M-1)) negatives (`--negatives n2`): the memory they need is checked before
anything is allocated, and a batch that does not fit is refused in one line with the memory
needed and the batch size that fits."""

from __future__ import annotations

import pytest
import torch

from symile_bench.baselines.losses import symile_loss
from symile_bench.baselines.n2_memory import check_n2_memory, largest_batch, n2_bytes
from symile_bench.errors import ConfigError

from .conftest import run_cli


def test_estimate_grows_as_n_to_the_m_and_largest_batch_is_the_boundary():
    """Proves n2_bytes counts M anchors of N^M logits (4 float32 copies each) plus the
    N^(M−1)·dim products, and largest_batch returns the last batch size that fits a budget."""
    assert n2_bytes(10, 3, 16) == 4 * 3 * (4 * 10**3 + 10**2 * 16)
    assert n2_bytes(1000, 5, 16) > 2**50  # a petabyte: why M = 5 needs a check
    for m, budget in ((3, 2**30), (4, 2**30), (5, 10 * 2**30)):
        n = largest_batch(m, 16, budget)
        assert n2_bytes(n, m, 16) <= budget < n2_bytes(n + 1, m, 16)


def test_a_batch_that_does_not_fit_is_refused_with_the_size_that_fits():
    """Proves the refusal's one line: the options, the number of tuples per anchor, the memory
    needed and available, the batch size that fits and the O(N) alternative; a batch that fits
    passes silently."""
    budget = 2**30
    check_n2_memory(50, 4, 16, budget)
    with pytest.raises(ConfigError) as err:
        check_n2_memory(1000, 4, 16, budget)
    message = str(err.value)
    fits = largest_batch(4, 16, budget)
    assert "\n" not in message
    assert "--negatives n2 with 4 modalities and a batch of 1000" in message
    assert "1000^3 = 1e+09" in message and "1.0 GB is available" in message
    assert f"--batch-size {fits} fits" in message and "--negatives n" in message


def test_symile_loss_refuses_before_allocating():
    """Proves symile_loss checks before building the logits: five modalities with 2,000 rows
    (2,000^4 = 1.6e13 tuples per anchor, petabytes) are refused at once, from inputs of a few
    hundred kilobytes, while the O(N) negatives on the same inputs run."""
    reps = [torch.nn.functional.normalize(torch.randn(2000, 16), dim=1) for _ in range(5)]
    with pytest.raises(ConfigError, match="--batch-size"):
        symile_loss(reps, torch.tensor(1.0), negatives="n2")
    assert torch.isfinite(symile_loss(reps, torch.tensor(1.0), negatives="n"))


def test_train_refuses_n2_on_five_modalities_in_one_line(tmp_path):
    """Proves `train --negatives n2` on a five-modality XOR with the recipe's batch of 1,000 is
    refused before any features are computed, in one line naming --batch-size, and that the
    batch it names trains."""
    data = tmp_path / "xor5"
    run_cli(
        "build",
        "xor",
        "--modalities",
        5,
        "--p",
        "1.0",
        "--train-n",
        200,
        "--val-n",
        50,
        "--test-n",
        10,
        "--out",
        data,
        "-q",
    )
    proc = run_cli("train", data, "--negatives", "n2", "--out", tmp_path / "m", check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--batch-size" in lines[0] and "TB" in lines[0], proc.stderr
    assert not (tmp_path / "m").exists()
    fits = int(lines[0].split("--batch-size ")[1].split()[0])
    assert fits >= 2
    run_cli(
        "train",
        data,
        "--negatives",
        "n2",
        "--batch-size",
        min(fits, 20),
        "--epochs",
        1,
        "--out",
        tmp_path / "ok",
        "-q",
    )
    assert (tmp_path / "ok" / "model.json").is_file()
