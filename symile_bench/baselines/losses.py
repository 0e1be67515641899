"""Contrastive objectives: Symile (multilinear inner product, O(N) or O(N^M-1) negatives, any
number of modalities), pairwise CLIP (docs/paper.md, "The method"), GRAM (Cicchetti et al.,
ICLR 2025: the volume of the parallelotope the modality embeddings span) and TRIANGLE
(Cicchetti et al., NeurIPS 2025: the area of the triangle they form; for M != 3 modalities the
content of the (M-1)-simplex they span, as the harness's ``triangle`` scorer scores it).

All take a list of ``[N, d]`` representations (row i of every tensor is one positive tuple)
and a logit scale (``exp`` of the learned log-temperature). They are plain functions so the
trainer, the tests and a user's own loop can call them without any of our modules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import combinations, combinations_with_replacement, permutations

import torch
import torch.nn.functional as F

from symile_bench.baselines.distinct import (
    Groups,
    grouped_infonce,
    joint,
    replaced_diagonal_infonce,
)
from symile_bench.baselines.n2_memory import check_n2_memory
from symile_bench.baselines.projection import gram_by_projection, simplex_by_projection

NEGATIVES = ("n", "n2")
LOSSES = ("symile", "clip", "gram", "triangle")
#: the harness scoring each objective's checkpoints declare (``model.scoring``)
SCORING = {"symile": "mip", "clip": "pairwise", "gram": "gram", "triangle": "triangle"}
#: floor under the squared volume / area before the square root, whose gradient is infinite at
#: 0 (an aligned positive tuple): a volume below 1e-4 is no different from 0 to the softmax
SQRT_FLOOR = 1e-8


def mip(reps: Sequence[torch.Tensor]) -> torch.Tensor:
    """Multilinear inner product of aligned rows: ``sum_k prod_m reps[m][:, k]`` -> ``[N]``."""
    product = reps[0]
    for r in reps[1:]:
        product = product * r
    return product.sum(dim=1)


def _shuffled(others: Sequence[torch.Tensor], generator: torch.Generator | None) -> torch.Tensor:
    """``[N, d]``: the product of the non-anchor modalities, each under its own random
    permutation (drawn in order from ``generator``)."""
    n = others[0].shape[0]
    shuffled: torch.Tensor | None = None
    for r in others:
        picked = r[torch.randperm(n, generator=generator, device="cpu").to(r.device)]
        shuffled = picked if shuffled is None else shuffled * picked
    assert shuffled is not None  # symile_loss passes at least one other modality
    return shuffled


def _grouped_n(
    anchor: torch.Tensor,
    others: Sequence[torch.Tensor],
    logit_scale: torch.Tensor,
    rows: Groups,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """One anchor's term of ``symile_loss`` (O(N) negatives) from its distinct rows'
    ``[A, N]`` logits (``distinct.replaced_diagonal_infonce``): the same permutations."""
    shuffled = _shuffled(others, generator)
    positive = logit_scale * mip([anchor, *others])

    def exact(idx: torch.Tensor) -> torch.Tensor:
        logits = logit_scale * (anchor[idx] @ shuffled.T)
        return logits.index_put((torch.arange(len(idx), device=idx.device), idx), positive[idx])

    block = logit_scale * (anchor[rows.first] @ shuffled.T)
    return replaced_diagonal_infonce(block, rows, positive, exact)


def _logits_n(
    anchor: torch.Tensor, others: Sequence[torch.Tensor], generator: torch.Generator | None
) -> torch.Tensor:
    """``[N, N]``: row i holds MIP(anchor_i, ·) against one random permutation of the
    non-anchor rows per modality, with the positive tuple on the diagonal (N − 1 negatives)."""
    logits = anchor @ _shuffled(others, generator).T
    # the positives written over the diagonal in place: the same values as a masked select,
    # without the [N, N] mask and the two [N, N] selects of its backward pass
    logits.diagonal().copy_(mip([anchor, *others]))
    return logits


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
    groups: Sequence[Groups] | None = None,
) -> torch.Tensor:
    """Mean over anchors of the softmax cross-entropy of the positive tuple against negatives
    that replace the non-anchor modalities by other batch rows. ``negatives="n"``: one random
    permutation per non-anchor modality (drawn from ``generator``; N − 1 negatives per
    positive); ``"n2"``: all N^(M−1) combinations (memory grows as N^(M−1) · d). With
    ``groups`` (equal rows, ``distinct.py``) O(N) negatives run over distinct anchors only:
    the same value and the same permutations."""
    if negatives not in NEGATIVES:
        raise ValueError(f"negatives must be one of {NEGATIVES}, got {negatives!r}")
    if len(reps) < 2:
        raise ValueError("Symile needs at least two modalities")
    n = reps[0].shape[0]
    if negatives == "n2":  # N^M logits: refuse in one line rather than fail inside torch
        check_n2_memory(n, len(reps), reps[0].shape[1])
    labels = torch.arange(n, device=reps[0].device)
    losses = []
    for i, anchor in enumerate(reps):
        others = [r for j, r in enumerate(reps) if j != i]
        if negatives == "n" and groups is not None:
            losses.append(_grouped_n(anchor, others, logit_scale, groups[i], generator))
            continue
        if negatives == "n":
            logits = _logits_n(anchor, others, generator)
            target = labels
        else:
            logits = _logits_n2(anchor, others)
            target = _positive_columns_n2(n, len(others), anchor.device)
        losses.append(F.cross_entropy(logit_scale * logits, target))
    return torch.stack(losses).mean()


def clip_loss(
    reps: Sequence[torch.Tensor],
    logit_scale: torch.Tensor,
    groups: Sequence[Groups] | None = None,
) -> torch.Tensor:
    """Sum over modality pairs of the two-directional InfoNCE loss (each direction's
    cross-entropy averaged, as in CLIP), the paper's pairwise baseline. With ``groups`` (rows
    of each modality that are equal, ``distinct.py``) over distinct rows only: same value."""
    if len(reps) < 2:
        raise ValueError("CLIP needs at least two modalities")
    labels = torch.arange(reps[0].shape[0], device=reps[0].device)
    total = reps[0].new_zeros(())
    for i in range(len(reps)):
        for j in range(i + 1, len(reps)):
            if groups is not None:
                logits = logit_scale * reps[i][groups[i].first] @ reps[j][groups[j].first].T
                total = total + grouped_infonce(logits, groups[i], groups[j])
                continue
            logits = logit_scale * reps[i] @ reps[j].T
            pair = F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)
            total = total + pair / 2
    return total


Entries = list[list[torch.Tensor]]


def tuple_grams(anchor: torch.Tensor, others: Sequence[torch.Tensor]) -> Entries:
    """Gram matrix of (anchor row i, row j of every other modality) for all i, j, as a k×k
    nested list of tensors that broadcast to ``[N, N]``: only anchor-vs-other inner products
    vary with both i and j (``[N, N]`` matrix products); the anchor's squared norm varies with
    i (``[N, 1]``) and the others' inner products among themselves with j (``[1, N]``). The
    others stay aligned (row j of each), as in the GRAM and TRIANGLE papers' losses."""
    vectors = [anchor, *others]
    k = len(vectors)
    entries: Entries = [[anchor.new_zeros(())] * k for _ in range(k)]
    entries[0][0] = (anchor * anchor).sum(1)[:, None]
    for m in range(1, k):
        entries[0][m] = entries[m][0] = anchor @ vectors[m].T
        for n in range(m, k):
            entries[m][n] = entries[n][m] = (vectors[m] * vectors[n]).sum(1)[None, :]
    return entries


def _parity(perm: tuple[int, ...]) -> int:
    inversions = sum(perm[i] > perm[j] for i, j in combinations(range(len(perm)), 2))
    return -1 if inversions % 2 else 1


def _det(m: Entries) -> torch.Tensor | float:
    """Leibniz's formula over broadcasting entries (k! terms; 1 for an empty matrix)."""
    total: torch.Tensor | float = 0.0
    for perm in permutations(range(len(m))):
        term: torch.Tensor | float = float(_parity(perm))
        for row, col in enumerate(perm):
            term = term * m[row][col]
        total = total + term
    return total


def gram_volume(entries: Entries) -> torch.Tensor:
    """``sqrt(det G)``: the volume of the parallelotope spanned by the tuple's vectors. With
    ``G = [[g00, rᵀ], [r, H]]`` (anchor first), ``det G = g00 det H − rᵀ adj(H) r``: ``H`` and
    its adjugate hold the other modalities' inner products (``[1, N]``, cheap), so the
    ``[N, N]`` work is one product per pair of anchor-vs-other matrices (3 for three
    modalities), far cheaper than a batched LU of N² small matrices or Leibniz over ``[N, N]``
    entries. ``det G >= 0`` up to rounding, hence the floor rather than the release's ``abs``."""
    r = entries[0][1:]
    h = [row[1:] for row in entries[1:]]
    det = entries[0][0] * _det(h)
    for m, n in combinations_with_replacement(range(len(h)), 2):
        minor = [[h[a][b] for b in range(len(h)) if b != m] for a in range(len(h)) if a != n]
        weight = (1 if m == n else 2) * (-1) ** (m + n) * _det(minor)  # H symmetric: adj too
        det = det - weight * (r[m] * r[n])
    return det.clamp_min(SQRT_FLOOR).sqrt()


def simplex_content(entries: Entries) -> torch.Tensor:
    """TRIANGLE's measure for a tuple of k vectors, from their Gram matrix alone: the content
    of the (k−1)-simplex they are the vertices of, ``sqrt(det U) / (k−1)!`` with ``U`` the Gram
    matrix of the edges from one vertex (k = 2: their distance; k = 3: the area of the
    triangle, TRIANGLE's own definition; k = 4: the volume of the tetrahedron), the same
    measure the harness's ``triangle`` scorer ranks by, for any number of modalities.

    Three vectors (a, b, c): ``0.5 sqrt(|u|² |v|² − (u·v)²)``, ``u = b − a``, ``v = c − a``.
    (The TRIANGLE release trains on ``(|u|² |v|² − (u·v)²) / 2`` without the root; we keep the
    area itself, the score the harness ranks by.) Otherwise the edges run from the last other
    modality's vector ``o``: the anchor's edge ``w = anchor − o`` varies with both i and j
    (``[N, N]`` entries), the other edges with j only (``[1, N]``), so ``det U`` is the bordered
    determinant ``gram_volume`` already expands (``|w|² det B − tᵀ adj(B) t``)."""
    k = len(entries)
    if k < 2:
        raise ValueError(f"a simplex needs at least two vertices, got {k}")
    if k == 3:
        (aa, ab, ac), (_, bb, bc), (_, _, cc) = entries
        uu = bb - 2 * ab + aa
        vv = cc - 2 * ac + aa
        uv = bc - ab - ac + aa
        return 0.5 * (uu * vv - uv * uv).clamp_min(SQRT_FLOOR).sqrt()
    o = k - 1
    edges: Entries = [[entries[0][0]] * o for _ in range(o)]
    for m in range(o):
        for n in range(m, o):  # symmetric: each entry computed once
            edge = entries[m][n] - entries[m][o] - entries[o][n] + entries[o][o]
            edges[m][n] = edges[n][m] = edge
    return gram_volume(edges) / math.factorial(o)


#: (anchor [N, d], the other modalities' [N, d]) -> [N, N] measure of (anchor row i, row j)
TupleScore = Callable[[torch.Tensor, Sequence[torch.Tensor]], torch.Tensor]


def gram_score(anchor: torch.Tensor, others: Sequence[torch.Tensor]) -> torch.Tensor:
    """GRAM's volume of every (anchor row i, other modalities' row j): from the Gram entries
    for up to three modalities (``gram_volume``), by projection beyond (the same volume,
    ``projection.py``, about 2.5× faster at four and five modalities)."""
    if len(others) < 3:
        return gram_volume(tuple_grams(anchor, others))
    return gram_by_projection(anchor, others, SQRT_FLOOR)


def triangle_score(anchor: torch.Tensor, others: Sequence[torch.Tensor]) -> torch.Tensor:
    """TRIANGLE's area (three modalities) or simplex content (``simplex_content``) of every
    (anchor row i, other modalities' row j), by projection from four modalities on."""
    if len(others) < 3:
        return simplex_content(tuple_grams(anchor, others))
    return simplex_by_projection(anchor, others, SQRT_FLOOR)


def _tuple_loss(
    score: TupleScore,
    reps: Sequence[torch.Tensor],
    logit_scale: torch.Tensor,
    groups: Sequence[Groups] | None = None,
) -> torch.Tensor:
    """Mean over anchors of the papers' symmetric InfoNCE with ``−logit_scale · score`` as
    logits: logits[i, j] scores (anchor row i, the other modalities' row j). Rows: the anchor
    picks its partner tuple among the batch's N; columns (the transpose): the other
    modalities' tuple picks its anchor, which is the harness's retrieval of the anchor
    modality as target. The papers anchor one modality (text); every modality takes a turn
    here, as in ``symile_loss``, so every ``--target`` is trained for and the loss does not
    depend on the order of modalities. With ``groups``: over distinct anchors against
    distinct tuples of the others (``distinct.py``), the same value."""
    if len(reps) < 2:
        raise ValueError("a volume or area loss needs at least two modalities")
    labels = torch.arange(reps[0].shape[0], device=reps[0].device)
    losses = []
    for i, anchor in enumerate(reps):
        others = [r for j, r in enumerate(reps) if j != i]
        if groups is not None:
            rows, cols = groups[i], joint([g for j, g in enumerate(groups) if j != i])
            logits = -logit_scale * score(anchor[rows.first], [r[cols.first] for r in others])
            losses.append(grouped_infonce(logits, rows, cols))
            continue
        logits = -logit_scale * score(anchor, others)
        losses.append((F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2)
    return torch.stack(losses).mean()


def gram_loss(
    reps: Sequence[torch.Tensor],
    logit_scale: torch.Tensor,
    groups: Sequence[Groups] | None = None,
) -> torch.Tensor:
    """GRAM's contrastive loss (any number of modalities) with the volume as negative logit.
    Left out from the release's training objective: its data-anchor matching term (a fusion
    encoder's match / no-match head, which these per-modality encoders do not have) and
    label smoothing 0.1 (kept out of every objective here so they stay comparable)."""
    return _tuple_loss(gram_score, reps, logit_scale, groups)


def triangle_loss(
    reps: Sequence[torch.Tensor],
    logit_scale: torch.Tensor,
    groups: Sequence[Groups] | None = None,
) -> torch.Tensor:
    """TRIANGLE's contrastive loss with the area (three modalities; the simplex's content for
    any other number, ``simplex_content``) as negative logit; the same omissions as
    ``gram_loss``."""
    return _tuple_loss(triangle_score, reps, logit_scale, groups)


def contrastive_loss(
    kind: str,
    reps: Sequence[torch.Tensor],
    logit_scale: torch.Tensor,
    *,
    negatives: str = "n",
    generator: torch.Generator | None = None,
    groups: Sequence[Groups] | None = None,
) -> torch.Tensor:
    """``kind`` is one of ``LOSSES`` (the trainer's ``--loss``); ``negatives`` and
    ``generator`` apply to Symile only (the others contrast the N tuples of the batch);
    ``groups`` (equal rows, ``distinct.py``) to every objective but Symile's n2 negatives."""
    if kind == "symile":
        return symile_loss(
            reps, logit_scale, negatives=negatives, generator=generator, groups=groups
        )
    losses = {"clip": clip_loss, "gram": gram_loss, "triangle": triangle_loss}
    if kind not in losses:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    return losses[kind](reps, logit_scale, groups)
