"""Scorers: how a query tuple and a candidate are scored, and the registry of named scorers.

A query is a tuple of embeddings (one ``[N, d]`` array per query modality); a candidate is one
``d``-vector of the target modality.

* ``mip`` (Symile): ``score = Σ_k Π_j q_j[k] · c[k]``, the multilinear inner product of all query
  embeddings and the candidate.
* ``pairwise`` (CLIP): the sum of dot products over every pair of modalities, query–query pairs
  included (``x·y + x·z + y·z`` for queries ``y, z`` and candidate ``x``).

Both are one matmul of a *combined* query vector against the candidates: ``mip`` combines by
elementwise product, ``pairwise`` by sum, plus a per-query constant (the query–query dot
products) that shifts every candidate of a query equally and so never changes a rank. That is
the fast form, so a ``Scorer`` supplies ``combine`` (queries -> ``[N, d]``) and optionally
``offset`` (queries -> ``[N]``) when it can.

A scorer that is not of that form — e.g. a function of several pairwise inner products, such as
the volume of the parallelotope the query and candidate embeddings span — supplies
``score_block(query_slices, candidate_block, xp) -> [n, m]`` instead: the scores of ``n``
queries against ``m`` candidates, written with the array module ``xp`` (``numpy``, or ``torch``
on the torch backend) so that it is a few matmuls plus elementwise work on each block. It then
runs through the same chunked, memory-bounded, threaded path as ``mip``, on either backend.
``score(queries, candidates) -> [n, m]`` (numpy only, no torch path) remains for plain
functions written before ``score_block``. Register one with ``register_scorer``; third-party
packages can also expose a ``Scorer`` through the entry-point group ``symile_bench.scorers``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.inputs import check_embeddings
from symile_bench.registry import Registry

Queries = Sequence[np.ndarray]
CombineFn = Callable[[Queries], np.ndarray]
OffsetFn = Callable[[Queries], np.ndarray]
# (query slices [n, d_j], candidate block [m, d], xp) -> [n, m]; arrays of the backend's xp
BlockFn = Callable[[Sequence[Any], Any, ModuleType], Any]
ScoreFn = Callable[[Queries, np.ndarray], np.ndarray]
# (embeddings [n, d], xp) -> [n, d'], each row transformed on its own
PrepareFn = Callable[[Any, ModuleType], Any]
#: how a score depends on the modalities, which decides what it can detect
#: (``report --diagnostic`` states it beside each model):
#: * ``additive-pairwise``: a sum of terms that each see one pair of modalities (CLIP);
#: * ``pairwise``: a function of the pairwise inner products only, not a sum of them (GRAM's
#:   volume, TRIANGLE's area);
#: * ``joint``: not a function of the pairwise inner products (Symile's MIP, multilinear in
#:   all M embeddings: trilinear for three).
Interaction = Literal["additive-pairwise", "pairwise", "joint"]
INTERACTIONS: tuple[Interaction, ...] = ("additive-pairwise", "pairwise", "joint")


@dataclass(frozen=True)
class Scorer:
    """How a query tuple and a candidate are scored (the three forms in the module docstring).

    ``combine`` (with ``offset``) is used when given: the fast form. Otherwise ``score_block``,
    otherwise ``score``. ``offset`` does not affect ranks, only reported scores.
    ``one_dimension``: every embedding must have one size (always so for ``combine``), so that a
    mismatch is one clear error instead of a failed matmul inside a block.
    ``interaction``: how the score depends on the modalities (``Interaction``; None when the
    scorer does not declare it).
    ``prepare`` (``score_block`` scorers): a transform of each embedding row on its own (GRAM's
    L2 normalisation), ``(array, xp) -> array``, applied before ``score_block``; the engines
    apply it once to the whole arrays instead of to every block (``prepared_block``).
    """

    name: str
    combine: CombineFn | None = None
    offset: OffsetFn | None = None
    score_block: BlockFn | None = None
    score: ScoreFn | None = None
    description: str = ""
    one_dimension: bool = False
    interaction: Interaction | None = None
    prepare: PrepareFn | None = None

    def __post_init__(self) -> None:
        if self.combine is None and self.score_block is None and self.score is None:
            raise HarnessInputError(
                f"scorer {self.name!r} needs a combine, score_block or score function"
            )

    @property
    def needs_one_dimension(self) -> bool:
        """Whether every query and candidate embedding must have the same size."""
        return self.one_dimension or self.combine is not None

    @property
    def array_generic(self) -> bool:
        """Whether its blocks can be computed on any backend (only ``score`` is numpy-bound)."""
        return self.combine is not None or self.score_block is not None

    def block(self, queries: Sequence[Any], candidates: Any, xp: ModuleType) -> Any:
        """Scores ``[n, m]`` of a non-combine scorer for query slices against a candidate
        block (arrays of ``xp``; numpy for a ``score`` function)."""
        return self.prepared_block(
            [self.prepared(q, xp) for q in queries], self.prepared(candidates, xp), xp
        )

    def prepared(self, a: Any, xp: ModuleType) -> Any:
        """``a`` through ``prepare`` (unchanged without one)."""
        return a if self.prepare is None else self.prepare(a, xp)

    def prepared_block(self, queries: Sequence[Any], candidates: Any, xp: ModuleType) -> Any:
        """``block`` of embeddings already ``prepared``."""
        if self.score_block is not None:
            return self.score_block(queries, candidates, xp)
        assert self.score is not None  # guaranteed by __post_init__ for non-combine scorers
        return self.score(queries, candidates)

    def combined(self, queries: Sequence[np.ndarray]) -> np.ndarray:
        """``combine(queries)`` checked and contiguous in the queries' dtype."""
        assert self.combine is not None
        v = np.ascontiguousarray(self.combine(queries), dtype=queries[0].dtype)
        if v.shape[0] != len(queries[0]) or v.ndim != 2:
            raise HarnessInputError(
                f"scorer {self.name!r}: combine returned shape {v.shape}, expected "
                f"({len(queries[0])}, d)"
            )
        return v

    def offsets(self, queries: Sequence[np.ndarray]) -> np.ndarray | None:
        """The per-query constant (float64 ``[N]``) added to reported scores, if any."""
        if self.offset is None or self.combine is None:
            return None
        return np.asarray(self.offset(queries), dtype=np.float64).reshape(len(queries[0]))

    def score_matrix(self, queries: Queries, candidates: np.ndarray) -> np.ndarray:
        """All scores ``[n_queries, n_candidates]`` (materialised: for small inputs)."""
        qs, c = check_embeddings(queries, candidates, self.name, self.needs_one_dimension)
        if self.combine is None:
            return np.asarray(self.block(qs, c, np))
        s: np.ndarray = self.combined(qs) @ c.T
        offsets = self.offsets(qs)
        if offsets is not None:
            s += offsets.astype(s.dtype)[:, None]
        return s


def _mip_combine(queries: Queries) -> np.ndarray:
    out = np.array(queries[0], copy=True)
    for q in queries[1:]:
        out *= q
    return out


def _pairwise_combine(queries: Queries) -> np.ndarray:
    out = np.array(queries[0], copy=True)
    for q in queries[1:]:
        out += q
    return out


def _pairwise_offset(queries: Queries) -> np.ndarray:
    out = np.zeros(len(queries[0]), dtype=np.result_type(*queries))
    for i in range(len(queries)):
        for j in range(i + 1, len(queries)):
            out += np.einsum("nd,nd->n", queries[i], queries[j])
    return out


def _loaded_scorer(obj: object) -> Scorer:
    if not isinstance(obj, Scorer):
        raise HarnessInputError(
            "an entry point of group symile_bench.scorers must load a "
            f"symile_bench.harness.scorers.Scorer, got {type(obj).__name__}"
        )
    return obj


SCORERS: Registry[Scorer] = Registry(
    "scorer",
    group="symile_bench.scorers",
    # GRAM and TRIANGLE are loaded lazily like a third-party package's scorer would be
    builtin={
        "gram": "symile_bench.harness.volumes:GRAM",
        "triangle": "symile_bench.harness.volumes:TRIANGLE",
    },
    option="scoring",
    load=_loaded_scorer,
    error=HarnessInputError,
    hint="Register one with symile_bench.harness.register_scorer.",
)


def register_scorer(
    name: str,
    *,
    combine: CombineFn | None = None,
    offset: OffsetFn | None = None,
    score_block: BlockFn | None = None,
    score: ScoreFn | None = None,
    description: str = "",
    one_dimension: bool = False,
    interaction: Interaction | None = None,
    prepare: PrepareFn | None = None,
    overwrite: bool = False,
) -> Scorer:
    """Register a scorer under ``name`` (then usable as ``scorer=name`` / ``model.scoring``)."""
    scorer = Scorer(
        name,
        combine=combine,
        offset=offset,
        score_block=score_block,
        score=score,
        description=description,
        one_dimension=one_dimension,
        interaction=interaction,
        prepare=prepare,
    )
    return SCORERS.register(name, scorer, overwrite=overwrite)


def get_scorer(scorer: str | Scorer) -> Scorer:
    """A registered scorer by name (a ``Scorer`` is returned unchanged)."""
    return scorer if isinstance(scorer, Scorer) else SCORERS.get(scorer)


def scorer_names() -> list[str]:
    return SCORERS.names()


def score_matrix(
    queries: Queries, candidates: np.ndarray, scorer: str | Scorer = "mip"
) -> np.ndarray:
    """All scores ``[n_queries, n_candidates]`` for small inputs (materialises the matrix)."""
    return get_scorer(scorer).score_matrix(queries, candidates)


register_scorer(
    "mip",
    combine=_mip_combine,
    description="Symile: multilinear inner product Σ_k Π_j q_j[k] c[k]",
    interaction="joint",
)
register_scorer(
    "pairwise",
    combine=_pairwise_combine,
    offset=_pairwise_offset,
    description="CLIP: sum of dot products over all pairs of modalities",
    interaction="additive-pairwise",
)
