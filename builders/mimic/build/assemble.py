"""From the per-admission selection to the cohort table: kept admissions, splits, lab
percentiles, candidate sets, and the build report (stored in the table's metadata)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from builders.mimic.build.cohort import FUNNEL, Selection, select
from builders.mimic.build.columns import NULL
from builders.mimic.build.config import MimicConfig
from builders.mimic.build.constants import (
    CHEXPERT_LABELS,
    LAB_ITEMIDS,
    N_LABS,
    SPLIT_NAMES,
    chexpert_column,
)
from builders.mimic.build.sources import MimicSources
from builders.mimic.build.splits import (
    DROPPED,
    TRAIN,
    draw_candidates,
    lab_percentiles,
    split_by_admissions,
    split_by_patient,
)
from symile_bench.builder import task_rng
from symile_bench.errors import ConfigError

REPORT_KEY = b"symile_mimic_report"
KEPT = "kept"
SPLIT_OVERLAP = "split_subject_overlap"
TS = pa.timestamp("s")


def _fixed(
    values: np.ndarray,
    width: int,
    type_: pa.DataType,
    valid: np.ndarray,
    null_elements: np.ndarray | None = None,
) -> pa.Array:
    """Rows of a (n, width) array as fixed-size lists; rows where not `valid` are null."""
    flat = pa.array(
        values.reshape(-1), type_, mask=None if null_elements is None else null_elements.reshape(-1)
    )
    return pa.FixedSizeListArray.from_arrays(flat, width, mask=pa.array(~valid))


def build_cohort(
    sources: MimicSources, config: MimicConfig, seed: int, threads: int | None = None
) -> tuple[pa.Table, dict[str, Any], dict[str, float]]:
    """(cohort table, report, timings). One row per admission of admissions.csv: the kept
    ones first, ordered by (split, hadm_id), then the dropped ones by hadm_id with `status`
    naming the first rule that dropped them."""
    sel = select(sources, threads)
    table, report = assemble(sel, config, seed)
    return table, report, sel.timings


def assemble(sel: Selection, config: MimicConfig, seed: int) -> tuple[pa.Table, dict[str, Any]]:
    adm = sel.adm
    n = len(adm)
    status = np.where(sel.reason == None, KEPT, sel.reason).astype(object)  # noqa: E711
    kept = np.flatnonzero(status == KEPT)

    rng = task_rng(seed, "mimic-split")
    if config.train_n is not None and config.val_n is not None:
        result = split_by_admissions(adm.subject_id[kept], config.train_n, config.val_n, rng)
    else:
        result = split_by_patient(adm.subject_id[kept], config.test_frac, config.val_frac, rng)
    split = np.full(n, DROPPED, dtype=np.int8)
    split[kept] = result.split
    status[kept[result.split == DROPPED]] = SPLIT_OVERLAP
    kept = np.flatnonzero(split != DROPPED)

    for code, name in enumerate(SPLIT_NAMES):
        size = int((split == code).sum())
        if code != TRAIN and 0 < size < config.candidates:
            raise ConfigError(
                f"the {name} split has {size} admissions, fewer than --candidates "
                f"{config.candidates}; use more admissions, a larger split or fewer candidates"
            )

    labs = sel.labs.value
    pct = lab_percentiles(labs[kept], split[kept] == TRAIN)
    percentile = np.zeros((n, N_LABS), dtype=np.float32)
    missing = np.ones((n, N_LABS), dtype=bool)
    percentile[kept], missing[kept] = pct.percentile, pct.missing

    candidates = np.full((n, config.candidates), -1, dtype=np.int64)
    has_candidates = np.zeros(n, dtype=bool)
    for code, name in enumerate(SPLIT_NAMES):
        if code == TRAIN:
            continue
        rows = np.flatnonzero(split == code)  # ascending hadm_id: the split's final order
        if rows.size == 0:
            continue
        sets = draw_candidates(
            rows.size, config.candidates, task_rng(seed, "mimic-candidates", name)
        )
        candidates[rows] = adm.hadm_id[rows][sets]
        has_candidates[rows] = True

    # kept rows by (split, hadm_id), then dropped rows by hadm_id (adm is sorted by hadm_id)
    order = np.lexsort((adm.hadm_id, np.where(split == DROPPED, len(SPLIT_NAMES), split)))
    is_kept = split != DROPPED
    split_text = np.where(
        is_kept, np.asarray(SPLIT_NAMES, dtype=object)[np.maximum(split, 0)], NULL
    )
    ecg, cxr = sel.ecg, sel.cxr
    has_ecg, has_cxr = ecg.study_id >= 0, cxr.columns["study_id"] >= 0

    def ts(values: np.ndarray, valid: np.ndarray) -> pa.Array:
        return pa.array(values.astype("datetime64[s]"), TS, mask=~valid)

    columns: dict[str, pa.Array] = {
        "hadm_id": pa.array(adm.hadm_id),
        "subject_id": pa.array(adm.subject_id),
        "admittime": ts(adm.admittime, np.ones(n, dtype=bool)),
        "status": pa.array(status, pa.string()),
        "split": pa.array(split_text, pa.string()),
        "ecg_study_id": pa.array(ecg.study_id, mask=~has_ecg),
        "ecg_time": ts(ecg.time, has_ecg),
        "ecg_path": pa.array(ecg.path, pa.string()),
        "cxr_dicom_id": pa.array(cxr.columns["dicom_id"], pa.string()),
        "cxr_study_id": pa.array(cxr.columns["study_id"], mask=~has_cxr),
        "cxr_study_time": ts(cxr.columns["study_time"], has_cxr),
        "cxr_view_position": pa.array(cxr.columns["view_position"], pa.string()),
        "cxr_path": pa.array(cxr.columns["path"], pa.string()),
    }
    for label in CHEXPERT_LABELS:
        values = cxr.chexpert[label]
        columns[chexpert_column(label)] = pa.array(values, pa.float32(), mask=np.isnan(values))
    lab_missing = np.isnan(labs)
    columns["n_labs"] = pa.array((~lab_missing).sum(axis=1).astype(np.int8))
    columns["labs_value"] = _fixed(np.nan_to_num(labs), N_LABS, pa.float64(), is_kept, lab_missing)
    columns["labs_labevent_id"] = _fixed(
        sel.labs.labevent_id, N_LABS, pa.int64(), is_kept, lab_missing
    )
    columns["labs_percentile"] = _fixed(percentile, N_LABS, pa.float32(), is_kept)
    columns["labs_missing"] = _fixed(missing, N_LABS, pa.bool_(), is_kept)
    columns["candidates"] = _fixed(candidates, config.candidates, pa.int64(), has_candidates)
    table = pa.table(columns).take(pa.array(order))

    report = make_report(sel, status, split, result.overlap_dropped, pct.train_mean)
    metadata = {REPORT_KEY: json.dumps(report, sort_keys=True).encode()}
    return table.replace_schema_metadata(metadata), report


def make_report(
    sel: Selection, status: np.ndarray, split: np.ndarray, overlap: int, train_mean: np.ndarray
) -> dict[str, Any]:
    adm = sel.adm
    n = len(adm)
    funnel, remaining = [], n
    for rule in (*FUNNEL, SPLIT_OVERLAP):
        dropped = int((status == rule).sum())
        remaining -= dropped
        funnel.append({"rule": rule, "dropped": dropped, "remaining": remaining})
    lacking = {
        "ecg": int((sel.ecg.study_id < 0).sum()),
        "cxr": int(
            (sel.cxr.columns["study_id"] < 0).sum()
            + (sel.cxr.reason == "chosen_cxr_without_chexpert").sum()
        ),
        "labs": int(np.isnan(sel.labs.value).all(axis=1).sum()),
    }
    kept = split != DROPPED
    sizes = {name: int((split == code).sum()) for code, name in enumerate(SPLIT_NAMES)}
    patients = {
        name: int(np.unique(adm.subject_id[split == code]).size)
        for code, name in enumerate(SPLIT_NAMES)
    }
    never = [int(i) for i, m in zip(LAB_ITEMIDS, train_mean, strict=True) if np.isnan(m)]
    return {
        "admissions": {
            "total": n,
            "kept": int(kept.sum()),
            "dropped": n - int(kept.sum()),
            "patients_kept": int(np.unique(adm.subject_id[kept]).size),
        },
        "splits": {
            name: {"admissions": sizes[name], "patients": patients[name]} for name in SPLIT_NAMES
        },
        "funnel": funnel,
        "dropped_by_rule": {row["rule"]: row["dropped"] for row in funnel},
        "admissions_lacking": lacking,
        "split_subject_overlap_dropped": overlap,
        "record_errors": sel.errors.as_dict(),
        "rows_skipped": sel.skipped.as_dict(),
        "records_checked": {
            "ecg_in_window": sel.ecg.records_in_window,
            "cxr_images_in_window": sel.cxr.images_in_window,
        },
        "labevents": sel.labs.stats,
        "labs_never_in_train": never,
    }


def report_of(table: pa.Table) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(table.schema.metadata[REPORT_KEY])
    return report
