"""Where a model's accuracy comes from (``evaluate --query-subsets``, ``report --diagnostic``).

The target is scored from each proper non-empty subset of the query modalities with the others
*left out of the score* (the scorer sees fewer vectors: MIP of two vectors is their dot product,
GRAM's volume of two is ``sqrt(1 - cos^2)``, TRIANGLE's content of two is their distance), which
differs from the missing-modality protocol, where they are passed to the model as missing. Set
beside the all-queries score, a single-query score near the full one says the model's accuracy
comes from that modality alone; all single-query scores near chance with a high full score say
it comes from the modalities jointly. On XOR (any number of modalities M) the target is
independent of every proper subset of the others, so each such score is at chance for any
model.

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

#: what each kind of score implies for XOR with M modalities at p = 1 (x_M the XOR of the
#: others), where any M - 1 of the modalities are independent (so every pair is) and only all M
#: together are dependent; {m}, {m1} and {form} are filled in by ``interaction_text``
IMPLICATIONS: dict[Interaction, str] = {
    "additive-pairwise": (
        "a sum of terms that each see one pair of modalities; on XOR at p = 1 any {m1} of the "
        "{m} modalities are independent (so is every pair): no term can separate the right "
        "candidate from a wrong one and the ranking is at chance whatever the encoders learn"
    ),
    "pairwise": (
        "a function of the pairwise inner products only, but not a sum of them; each inner "
        "product alone is uninformative on XOR at p = 1, yet their joint values can identify "
        "the tuple (encoders can give every pair of values its own inner product), so this "
        "score is not held to chance by construction: whether training finds such encoders is "
        "an empirical question the XOR rows answer"
    ),
    "joint": (
        "not a function of the pairwise inner products ({form} of all {m} embeddings), so it "
        "can represent a dependence that only the {m} modalities together carry, such as XOR "
        "at p = 1"
    ),
}
FORMS = {2: "the bilinear form", 3: "the trilinear form", 4: "the quadrilinear form"}


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
    def modalities(self) -> int:
        """M: the query modalities and the target."""
        return len(self.query) + 1

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


def interaction_text(interaction: Interaction | None, modalities: int | None = None) -> str:
    """A reader's sentence for a declared interaction, for a task of ``modalities`` modalities
    (the target and its queries; None: worded for any number M)."""
    if interaction is None:
        return "not declared by the scorer"
    if modalities is None:
        m, m1, form = "M", "M − 1", "the multilinear form"
    else:
        m, m1 = str(modalities), str(modalities - 1)
        form = FORMS.get(modalities, f"the {modalities}-linear form")
    return IMPLICATIONS[interaction].format(m=m, m1=m1, form=form)
