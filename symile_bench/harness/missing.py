"""The missing-modality protocol (``docs/missing_modality_protocol.md``, version ``v1``).

Test time: every non-empty subset of the query modalities is observed in turn; the others are
passed as missing (``encode(..., missing=all True)`` with ``None`` items, or the
``<modality>.missing`` embeddings file) and scored with the task's scorer over all query
modalities. A subset is one ``condition`` of the results rows: ``None`` when every query
modality is observed, else ``observed=<m1>+<m2>`` (names in the task's order).

Train time: a model trained on a builder's missingness variant (``--trained-on CONFIG``)
records the fraction of complete samples in that config's train split; ``report`` plots
accuracy against it (the paper's Fig. 4c).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from symile_bench.harness.results import TrainingRef
from symile_bench.harness.splitdata import SplitData
from symile_bench.tasks import ModalitySpec

PROTOCOL_VERSION = "v1"
OBSERVED_PREFIX = "observed="


@dataclass(frozen=True)
class Condition:
    name: str | None  # the results rows' `condition`
    observed: tuple[str, ...]
    # True: the unobserved query modalities are left out of the score (the query-subset
    # diagnostic) instead of passed to the model as missing (this protocol)
    dropped: bool = False


def condition_name(observed: Sequence[str], query: Sequence[str]) -> str | None:
    if tuple(observed) == tuple(query):
        return None
    return OBSERVED_PREFIX + "+".join(observed)


def conditions(query: Sequence[str]) -> list[Condition]:
    """Every non-empty subset, largest first (all observed first), in the task's order."""
    out = []
    for size in range(len(query), 0, -1):
        for subset in combinations(query, size):
            out.append(Condition(condition_name(subset, query), subset))
    return out


def complete_fraction(split: SplitData, modalities: Sequence[ModalitySpec]) -> float:
    """Fraction of rows where no modality's missing flag is set (1.0 without flags)."""
    if not len(split):
        return 0.0
    missing = np.zeros(len(split), dtype=bool)
    for m in modalities:
        missing |= split.mask(m.missing_column)
    return float(1.0 - missing.mean())


def training_ref(split: SplitData, modalities: Sequence[ModalitySpec]) -> TrainingRef:
    return TrainingRef(
        config=split.config,
        split=split.split,
        fingerprint=split.fingerprint,
        rows=len(split),
        complete_fraction=complete_fraction(split, modalities),
    )
