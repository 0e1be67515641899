"""The Symile-MIMIC retrieval task, as the builder declares it in the manifest: for each
(ECG, labs) query, find the admission's own chest X-ray among its stored candidate set."""

from __future__ import annotations

from symile_bench.tasks import CandidateRuleSpec, ModalitySpec, RetrievalTask


def retrieval_task(candidates: int) -> RetrievalTask:
    """The task of a build whose val/test rows store `candidates` hadm_ids each."""
    return RetrievalTask(
        name="mimic",
        description=f"find the admission's own chest X-ray among its {candidates} stored "
        "candidates",
        modalities=(
            ModalitySpec(name="ecg", kind="signal", columns=("ecg",)),
            ModalitySpec(name="labs", kind="tabular", columns=("labs_percentile", "labs_missing")),
            ModalitySpec(name="cxr", kind="image", columns=("cxr",)),
        ),
        target="cxr",
        candidates=(
            CandidateRuleSpec(
                name="stored",
                kind="stored-sets",
                params={"column": "candidates", "id_column": "hadm_id"},
            ),
        ),
        query_id="hadm_id",
        chance=1 / candidates,
        chance_label=f"1/{candidates}",
    )
