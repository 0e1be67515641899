"""The Symile and CLIP losses (symile_bench.baselines.losses) against the official `symile`
package and against values they must take by construction."""

import pytest
import torch
import torch.nn.functional as F

from symile_bench.baselines.losses import clip_loss, symile_loss
from symile_bench.baselines.modules import ContrastiveModel

symile = pytest.importorskip("symile")


def _reps(m: int, n: int = 9, d: int = 6, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [F.normalize(torch.randn(n, d, generator=g), dim=1) for _ in range(m)]


@pytest.mark.parametrize("m", [3, 4])
def test_n_squared_negatives_match_official_package(m):
    """Proves our O(N^(M-1)) loss equals symile.Symile('n_squared') for 3 and 4 modalities
    (the official package fails for 2, where O(N^2) = O(N) anyway)."""
    reps, scale = _reps(m), torch.tensor(3.1)
    ours = symile_loss(reps, scale, negatives="n2")
    official = symile.Symile("n_squared")(reps, scale)
    assert torch.allclose(ours, official, atol=1e-5)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_n_negatives_match_official_package_with_same_permutations(m):
    """Proves our O(N) loss equals symile.Symile('n') when both draw the same permutations
    (the official one from torch's global RNG, ours from a seeded generator)."""
    reps, scale = _reps(m, seed=m), torch.tensor(0.7)
    torch.manual_seed(11)
    official = symile.Symile("n")(reps, scale)
    ours = symile_loss(reps, scale, negatives="n", generator=torch.Generator().manual_seed(11))
    assert torch.allclose(ours, official, atol=1e-6)


def test_symile_gradients_flow_and_bad_negatives_are_refused():
    """Proves the loss is differentiable in every modality and the temperature."""
    reps = [r.clone().requires_grad_() for r in _reps(3)]
    log_t = torch.tensor(0.5, requires_grad=True)
    symile_loss(reps, log_t.exp(), negatives="n", generator=torch.Generator()).backward()
    assert all(r.grad is not None and r.grad.abs().sum() > 0 for r in reps)
    assert log_t.grad is not None
    with pytest.raises(ValueError):
        symile_loss(reps, log_t.exp(), negatives="all")


def test_clip_loss_is_sum_of_symmetric_pairwise_infonce():
    """Proves clip_loss is the sum over the 3 pairs of (CE(rows) + CE(columns)) / 2, and near
    0 when the modalities are identical and the scale is large."""
    reps, scale = _reps(3), torch.tensor(2.0)
    labels = torch.arange(9)
    expected = sum(
        (
            F.cross_entropy(scale * reps[i] @ reps[j].T, labels)
            + F.cross_entropy(scale * reps[j] @ reps[i].T, labels)
        )
        / 2
        for i, j in ((0, 1), (0, 2), (1, 2))
    )
    assert torch.allclose(clip_loss(reps, scale), expected)
    same = [reps[0]] * 3
    assert clip_loss(same, torch.tensor(200.0)) < 1e-3


def test_missing_rows_get_the_learned_missing_embedding():
    """Proves the missing-modality handling: rows flagged missing are embedded as the
    modality's learned (normalised) missing vector, which receives gradients."""
    model = ContrastiveModel({"a": torch.nn.Linear(4, 8)}, 8, log_temperature=0.0)
    x = torch.randn(5, 4)
    missing = torch.tensor([True, False, True, False, False])
    out = model.embed("a", x, missing)
    expected = F.normalize(model.missing["a"], dim=0)
    assert torch.allclose(out[0], expected) and torch.allclose(out[2], expected)
    assert not torch.allclose(out[1], expected)
    out.sum().backward()
    assert model.missing["a"].grad is not None
    hidden = model.embed("a", x, torch.ones(5, dtype=torch.bool))
    assert torch.allclose(hidden, expected.expand(5, -1))
