"""The symmetric InfoNCE of a batch whose rows repeat, computed over its distinct rows.

On data with few distinct inputs (XOR: 32 bit vectors per modality, batches of 1,000) the
``[N, N]`` logits of CLIP, GRAM and TRIANGLE hold only ``A x U`` distinct values: A distinct
anchors against U distinct tuples of the other modalities. Row i's log-partition is then
``logsumexp_u (logits[a(i), u] + log count_u)`` and column j's likewise over anchors, so the
loss needs the ``[A, U]`` block and the counts, not the ``[N, N]`` matrix: the same value up to
float rounding (tested), at XOR's sizes about 1/40 of the work.

A row's group is what the caller promises to be a function of the parameters alone: the
trainer groups rows with equal inputs (and missing flags) *and* equal embeddings, so a random
module (dropout, augmentation) that makes equal inputs differ leaves its rows apart. The
gradient reaches each group through one representative row, which carries the group's whole
gradient: exact, as every row of a group is the same function of the parameters.

Symile's O(N) negatives are not grouped: its positives replace the diagonal of a randomly
permuted product, so each row's partition excludes its own negative, which grouped counts
cannot express without a cancelling subtraction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Groups:
    """Rows of a batch in groups: ``first[g]`` a representative row of group g, ``inverse[i]``
    row i's group, ``counts[g]`` its size."""

    first: torch.Tensor
    inverse: torch.Tensor
    counts: torch.Tensor

    def __len__(self) -> int:
        return len(self.first)


def groups_of(keys: torch.Tensor) -> Groups:
    """Groups of equal ``[N]`` integer keys, numbered in the keys' order; the representative
    is the group's first row."""
    _, inverse, counts = torch.unique(keys, return_inverse=True, return_counts=True)
    n = len(inverse)
    first = torch.full((len(counts),), n, dtype=torch.long, device=keys.device)
    first.scatter_reduce_(0, inverse, torch.arange(n, device=keys.device), "amin")
    return Groups(first, inverse, counts)


def joint(groups: Sequence[Groups]) -> Groups:
    """Groups of rows equal in every one of ``groups`` (the other modalities' tuples)."""
    together = groups[0]
    for g in groups[1:]:  # one integer key per pair of groups: never beyond N^2
        together = groups_of(together.inverse * len(g) + g.inverse)
    return together


def grouped_infonce(logits: torch.Tensor, rows: Groups, cols: Groups) -> torch.Tensor:
    """The mean of the row-wise and column-wise cross-entropy of the ``[N, N]`` matrix
    ``logits[rows.inverse][:, cols.inverse]`` against the diagonal, from the ``[A, U]`` block
    ``logits`` alone."""
    diagonal = logits[rows.inverse, cols.inverse]
    by_row = torch.logsumexp(logits + cols.counts.to(logits.dtype).log()[None, :], dim=1)
    by_col = torch.logsumexp(logits + rows.counts.to(logits.dtype).log()[:, None], dim=0)
    row_loss = (by_row[rows.inverse] - diagonal).mean()
    col_loss = (by_col[cols.inverse] - diagonal).mean()
    return (row_loss + col_loss) / 2


#: group a split's rows only when each modality has at most this fraction of a batch in
#: distinct rows (else the ``[A, U]`` block is near ``[N, N]`` and grouping only costs)
MAX_DISTINCT_FRACTION = 0.25


def distinct_ids(features: np.ndarray, missing: np.ndarray, batch_size: int) -> np.ndarray | None:
    """Each row's id among the split's distinct (features, missing flag) rows, or None when
    there are too many of them to gain from grouping (decided on a sample first, so that a
    split of continuous features is not sorted whole)."""
    limit = max(1, int(batch_size * MAX_DISTINCT_FRACTION))
    rows = np.concatenate(
        [features.reshape(len(features), -1), missing.reshape(-1, 1).astype(features.dtype)],
        axis=1,
    )
    if len(np.unique(rows[: 4 * batch_size], axis=0)) > limit:
        return None
    values, ids = np.unique(rows, axis=0, return_inverse=True)
    return ids.reshape(-1).astype(np.int64) if len(values) <= limit else None


def batch_groups(ids: Sequence[np.ndarray], reps: Sequence[torch.Tensor]) -> list[Groups] | None:
    """Groups of a batch's rows (``ids``: each modality's distinct-row ids of the batch),
    None unless every group's embeddings are equal (a random module made them differ)."""
    groups = [groups_of(torch.from_numpy(i).to(r.device)) for i, r in zip(ids, reps, strict=True)]
    for g, r in zip(groups, reps, strict=True):
        if not torch.equal(r, r[g.first][g.inverse]):
            return None
    return groups


#: a row whose removed negative holds more than this share of its row's partition is computed
#: over every column instead (the subtraction would lose more than a bit of precision)
MAX_REMOVED_SHARE = 0.5


def replaced_diagonal_infonce(
    block: torch.Tensor,
    rows: Groups,
    positive: torch.Tensor,
    exact: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """The mean row-wise cross-entropy of the ``[N, N]`` matrix ``block[rows.inverse]`` whose
    diagonal is replaced by ``positive`` (Symile's O(N) negatives: row i's own column holds
    its positive), from the ``[A, N]`` block of distinct anchors: row i's partition is its
    anchor's ``sum_j exp`` less its own column's negative plus its positive. Rows where that
    negative dominates (share above ``MAX_REMOVED_SHARE``) take ``exact(rows)``: their
    ``[k, N]`` logits with the positives in place."""
    n = len(rows.inverse)
    every = torch.arange(n, device=block.device)
    lse = torch.logsumexp(block, dim=1)[rows.inverse]
    removed = block[rows.inverse, every]
    risky = (removed - lse).detach().exp() > MAX_REMOVED_SHARE
    top = torch.maximum(lse, positive)
    kept = (lse - top).exp() - (removed - top).exp() + (positive - top).exp()
    loss = top + torch.where(risky, torch.ones_like(kept), kept).log() - positive
    if bool(risky.any()):
        idx = risky.nonzero().squeeze(1)
        loss = loss.index_put((idx,), F.cross_entropy(exact(idx), idx, reduction="none"))
    return loss.mean()
