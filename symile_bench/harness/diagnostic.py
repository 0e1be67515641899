"""Where a model's accuracy comes from (``evaluate --query-subsets``, ``report --diagnostic``).

The target is scored from each proper non-empty subset of the query modalities with the others
*left out of the score* (the scorer sees fewer vectors: MIP of two vectors is their dot product,
GRAM's volume of two is ``sqrt(1 - cos^2)``, TRIANGLE's content of two is their distance), which
differs from the missing-modality protocol, where they are passed to the model as missing. Set
beside the all-queries score, a single-query score near the full one says the model's accuracy
comes from that modality alone; all single-query scores near chance with a high full score say
it comes from the modalities jointly. On XOR at p = 1 every single modality is independent of
the target, so each single-query score is at chance for any model.

Whether a model *can* use joint information depends on its objective's score, which each scorer
declares (``Scorer.interaction``); ``IMPLICATIONS`` says what that means on XOR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from symile_bench.errors import HarnessInputError
from symile_bench.harness.missing import Condition
from symile_bench.harness.overview import dataset_label
from symile_bench.harness.results import ResultRow, Results
from symile_bench.harness.scorers import Interaction, get_scorer

SUBSET_PREFIX = "queries="

#: what each kind of score implies for XOR at p = 1 (a, b independent; c = a XOR b), where
#: every pair of modalities is independent and only the three together are dependent
IMPLICATIONS: dict[Interaction, str] = {
    "additive-pairwise": (
        "a sum of terms that each see one pair of modalities; on XOR at p = 1 every pair is "
        "independent, so no term can separate the right candidate from a wrong one and the "
        "ranking is at chance whatever the encoders learn"
    ),
    "pairwise": (
        "a function of the pairwise inner products only, but not a sum of them; each inner "
        "product alone is uninformative on XOR at p = 1, yet their joint values can identify "
        "the triple (encoders can give every pair of values its own inner product), so this "
        "score is not held to chance by construction: whether training finds such encoders is "
        "an empirical question the XOR rows answer"
    ),
    "joint": (
        "not a function of the pairwise inner products (a trilinear form of all the "
        "embeddings), so it can represent a dependence that only the modalities together carry, "
        "such as XOR at p = 1"
    ),
}


def subset_conditions(query: Sequence[str]) -> list[Condition]:
    """Every proper non-empty subset of the query modalities, largest first, in the task's
    order, as conditions ``queries=<m1>+<m2>`` whose other modalities are left out."""
    return [
        Condition(SUBSET_PREFIX + "+".join(subset), subset, dropped=True)
        for size in range(len(query) - 1, 0, -1)
        for subset in combinations(query, size)
    ]


def subset_of(condition: str | None) -> tuple[str, ...] | None:
    """The query modalities of a ``queries=...`` condition (None for any other condition)."""
    if condition is None or not condition.startswith(SUBSET_PREFIX):
        return None
    return tuple(condition.removeprefix(SUBSET_PREFIX).split("+"))


def interaction_of(scoring: str) -> Interaction | None:
    """The declared interaction of a registered scorer (None: unknown or undeclared)."""
    try:
        return get_scorer(scoring).interaction
    except HarnessInputError:  # a results file may name a scorer this installation lacks
        return None


@dataclass(frozen=True)
class Diagnostic:
    """One results file's all-queries row and its query-subset rows (pooled, one metric)."""

    source: str
    model: str
    scoring: str
    dataset: str
    full: ResultRow
    subsets: dict[tuple[str, ...], ResultRow]
    query: tuple[str, ...]  # the task's query modalities

    @property
    def interaction(self) -> Interaction | None:
        return interaction_of(self.scoring)

    @property
    def best_subset(self) -> tuple[tuple[str, ...], ResultRow] | None:
        if not self.subsets:
            return None
        return max(self.subsets.items(), key=lambda kv: kv[1].value)

    def joint_gain(self) -> float | None:
        """All queries minus the best proper subset (how much the combination adds)."""
        best = self.best_subset
        return None if best is None else self.full.value - best[1].value


def diagnostics(results: Sequence[tuple[str, Results]], metric: str = "top1") -> list[Diagnostic]:
    """A ``Diagnostic`` per results file that scored query subsets (``--query-subsets``)."""
    out = []
    for source, r in results:
        pooled = [x for x in r.rows if x.metric == metric and x.language is None]
        full = next((x for x in pooled if x.condition is None), None)
        subsets = {s: x for x in pooled if (s := subset_of(x.condition)) is not None}
        if full is None or not subsets:
            continue
        out.append(
            Diagnostic(
                source,
                r.model.name,
                r.model.scoring,
                dataset_label(r),
                full,
                subsets,
                tuple(r.task.query_modalities),
            )
        )
    return out


def interaction_text(interaction: Interaction | None) -> str:
    """A reader's sentence for a declared interaction."""
    return "not declared by the scorer" if interaction is None else IMPLICATIONS[interaction]
