"""Contrastive objectives: Symile (multilinear inner product, O(N) or O(N^M-1) negatives, any
number of modalities) and pairwise CLIP (REFERENCE.md, "The method").

Both take a list of ``[N, d]`` representations (row i of every tensor is one positive tuple)
and a logit scale (``exp`` of the learned log-temperature). They are plain functions so the
trainer, the tests and a user's own loop can call them without any of our modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

NEGATIVES = ("n", "n2")


def mip(reps: Sequence[torch.Tensor]) -> torch.Tensor:
    """Multilinear inner product of aligned rows: ``sum_k prod_m reps[m][:, k]`` -> ``[N]``."""
    product = reps[0]
    for r in reps[1:]:
        product = product * r
    return product.sum(dim=1)


def _logits_n(
    anchor: torch.Tensor, others: Sequence[torch.Tensor], generator: torch.Generator | None
) -> torch.Tensor:
    """``[N, N]``: row i holds MIP(anchor_i, ·) against one random permutation of the
    non-anchor rows per modality, with the positive tuple on the diagonal (N − 1 negatives)."""
    n = anchor.shape[0]
    shuffled = torch.ones_like(anchor)
    for r in others:
        shuffled = shuffled * r[torch.randperm(n, generator=generator, device="cpu").to(r.device)]
    logits = anchor @ shuffled.T
    positive = mip([anchor, *others])
    return torch.where(torch.eye(n, dtype=torch.bool, device=anchor.device), positive, logits)


def _logits_n2(anchor: torch.Tensor, others: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[N, N^(M-1)]``: every combination of non-anchor rows; column ``j_1 N^(M-2) + ... +
    j_{M-1}`` combines row j_1 of the first non-anchor, j_2 of the second, ..."""
    product = others[0]
    for r in others[1:]:
        product = (product[:, None, :] * r[None, :, :]).reshape(-1, anchor.shape[1])
    return anchor @ product.T


def _positive_columns_n2(n: int, m_others: int, device: torch.device) -> torch.Tensor:
    rows = torch.arange(n, device=device)
    stride = sum(n**k for k in range(m_others))  # 1 + N + N^2 + ...: all indices equal i
    return rows * stride


def symile_loss(
    reps: Sequence[torch.Tensor],
    logit_scale: torch.Tensor,
    *,
    negatives: str = "n",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Mean over anchors of the softmax cross-entropy of the positive tuple against negatives
    that replace the non-anchor modalities by other batch rows. ``negatives="n"``: one random
    permutation per non-anchor modality (drawn from ``generator``; N − 1 negatives per
    positive); ``"n2"``: all N^(M−1) combinations (memory grows as N^(M−1) · d)."""
    if negatives not in NEGATIVES:
        raise ValueError(f"negatives must be one of {NEGATIVES}, got {negatives!r}")
    if len(reps) < 2:
        raise ValueError("Symile needs at least two modalities")
    n = reps[0].shape[0]
    labels = torch.arange(n, device=reps[0].device)
    losses = []
    for i, anchor in enumerate(reps):
        others = [r for j, r in enumerate(reps) if j != i]
        if negatives == "n":
            logits = _logits_n(anchor, others, generator)
            target = labels
        else:
            logits = _logits_n2(anchor, others)
            target = _positive_columns_n2(n, len(others), anchor.device)
        losses.append(F.cross_entropy(logit_scale * logits, target))
    return torch.stack(losses).mean()


def clip_loss(reps: Sequence[torch.Tensor], logit_scale: torch.Tensor) -> torch.Tensor:
    """Sum over modality pairs of the two-directional InfoNCE loss (each direction's
    cross-entropy averaged, as in CLIP), the paper's pairwise baseline."""
    if len(reps) < 2:
        raise ValueError("CLIP needs at least two modalities")
    labels = torch.arange(reps[0].shape[0], device=reps[0].device)
    total = reps[0].new_zeros(())
    for i in range(len(reps)):
        for j in range(i + 1, len(reps)):
            logits = logit_scale * reps[i] @ reps[j].T
            pair = F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)
            total = total + pair / 2
    return total


def contrastive_loss(
    kind: str,
    reps: Sequence[torch.Tensor],
    logit_scale: torch.Tensor,
    *,
    negatives: str = "n",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``kind`` is ``"symile"`` or ``"clip"`` (the trainer's ``--loss``)."""
    if kind == "symile":
        return symile_loss(reps, logit_scale, negatives=negatives, generator=generator)
    if kind == "clip":
        return clip_loss(reps, logit_scale)
    raise ValueError(f"loss must be 'symile' or 'clip', got {kind!r}")


SCORING = {"symile": "mip", "clip": "pairwise"}
