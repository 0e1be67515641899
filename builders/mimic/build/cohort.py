"""The release's cohort rules, vectorised: per admission the earliest valid ECG in
[-24 h, +24 h], the earliest readable PA/AP CXR in (24 h, 72 h] (with a CheXpert row), and per
lab itemid the earliest non-null valuenum in [-24 h, +24 h]; matched on subject and time only.

Each selector returns per-admission results plus counts for the build report. ECG records and
JPGs are opened only when they fall inside some admission's window.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builders.mimic.build.columns import NULL, TS, int64, seconds
from builders.mimic.build.cxr_selection import CxrChoice, select_cxr
from builders.mimic.build.ecg_selection import EcgChoice, select_ecg
from builders.mimic.build.lab_selection import LabChoice, select_labs
from builders.mimic.build.report_counts import Counter
from builders.mimic.build.sources import MimicSources
from builders.mimic.build.windows import AdmissionIndex
from symile_bench.errors import SourceError
from symile_bench.executors import available_cores
from symile_bench.source_tables import read_table

__all__ = ["FUNNEL", "Selection", "load_admissions", "select"]


def load_admissions(sources: MimicSources, skipped: Counter) -> AdmissionIndex:
    table = read_table(
        sources.admissions, {"subject_id": pa.int64(), "hadm_id": pa.int64(), "admittime": TS}
    )
    ok = pc.and_(
        pc.and_(pc.is_valid(table["subject_id"]), pc.is_valid(table["hadm_id"])),
        pc.is_valid(table["admittime"]),
    )
    usable = pc.sum(ok).as_py() or 0
    if usable == 0:  # nothing to select from: a wrong or truncated file, not a cohort of zero
        found = (
            f"none of its {table.num_rows:,} rows has subject_id, hadm_id and admittime"
            if table.num_rows
            else "a header and no rows"
        )
        raise SourceError(
            f"{sources.admissions}: {found}; pass the MIMIC-IV 2.2 download's "
            "hosp/admissions.csv.gz (re-download it if it is cut short)"
        )
    skipped.add("admissions_without_id_or_admittime", table.num_rows - usable)
    table = table.filter(ok)
    return AdmissionIndex.build(
        int64(table["hadm_id"]),
        int64(table["subject_id"]),
        seconds(table["admittime"]),
        str(sources.admissions),
    )


@dataclass
class Selection:
    """Per admission (in `adm` order): the chosen records and why an admission is dropped."""

    adm: AdmissionIndex
    ecg: EcgChoice
    cxr: CxrChoice
    labs: LabChoice
    reason: np.ndarray  # object: None when kept
    errors: Counter
    skipped: Counter
    timings: dict[str, float]


FUNNEL = (
    "no_ecg_in_window",
    "no_valid_ecg_in_window",
    "no_cxr_in_window",
    "no_readable_cxr_in_window",
    "chosen_cxr_without_chexpert",
    "no_lab_in_window",
)


def select(sources: MimicSources, threads: int | None = None) -> Selection:
    """Run the three selectors (labs stream in a second thread while ECGs and CXRs are
    checked: pyarrow's CSV reader and file reads release the GIL)."""
    threads = threads or min(8, available_cores())  # more threads than cores only add GIL churn
    timings: dict[str, float] = {}
    errors, skipped = Counter(), Counter()
    started = time.perf_counter()
    adm = load_admissions(sources, skipped)
    timings["admissions"] = time.perf_counter() - started

    labs_box: dict[str, Any] = {}
    cancel = threading.Event()

    def run_labs() -> None:
        began = time.perf_counter()
        try:
            labs_box["result"] = select_labs(adm, sources.labevents, cancel=cancel)
        except BaseException as exc:  # re-raised in the caller's thread
            labs_box["error"] = exc
        labs_box["seconds"] = time.perf_counter() - began

    worker = threading.Thread(target=run_labs, name="mimic-labs", daemon=True)
    worker.start()
    try:
        began = time.perf_counter()
        ecg = select_ecg(adm, sources, errors, skipped, threads)
        timings["ecg"] = time.perf_counter() - began
        began = time.perf_counter()
        cxr = select_cxr(adm, sources, errors, skipped, threads)
        timings["cxr"] = time.perf_counter() - began
    except BaseException:
        cancel.set()  # stop reading labevents: its error would only follow this one
        raise
    finally:
        # Never leave the reader running: pyarrow calls back into Python for each block, which
        # is fatal once the interpreter is shutting down after this error.
        worker.join()
    if "error" in labs_box:
        raise labs_box["error"]
    labs: LabChoice = labs_box["result"]
    timings["labs"] = labs_box["seconds"]

    reason = ecg.reason.copy()
    for other in (
        cxr.reason,
        np.where(np.isnan(labs.value).all(axis=1), "no_lab_in_window", NULL).astype(object),
    ):
        reason = np.where(reason == None, other, reason)  # noqa: E711 (elementwise)
    return Selection(adm, ecg, cxr, labs, reason.astype(object), errors, skipped, timings)
