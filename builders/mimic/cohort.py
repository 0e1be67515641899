"""The release's cohort rules, vectorised: per admission the earliest valid ECG in
[-24 h, +24 h], the earliest readable PA/AP CXR in (24 h, 72 h] (with a CheXpert row), and per
lab itemid the earliest non-null valuenum in [-24 h, +24 h]; matched on subject and time only.

Each selector returns per-admission results plus counts for the build report. ECG records and
JPGs are opened only when they fall inside some admission's window.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builders.mimic import ecg as ecg_io
from builders.mimic.constants import (
    CHEXPERT_LABELS,
    CXR_VIEWS,
    CXR_WINDOW,
    ECG_WINDOW,
    LAB_ITEMIDS,
    LAB_WINDOW,
    N_LABS,
)
from builders.mimic.sources import MimicSources, read_table, stream_table
from builders.mimic.windows import AdmissionIndex, covered, first_valid, window_ranges
from symile_bench.errors import SourceError
from symile_bench.executors import available_cores

EXAMPLES = 5  # example paths kept per error kind in the build report
TS = pa.timestamp("s")


def _seconds(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """timestamp[s] (no nulls) as int64 seconds."""
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _int64(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)


@dataclass
class Counter:
    """Counts and a few examples per kind, for the build report."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, n: int, examples: list[str] | None = None) -> None:
        if n <= 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + int(n)
        if examples:
            kept = self.examples.setdefault(kind, [])
            kept.extend(examples[: EXAMPLES - len(kept)])

    def as_dict(self) -> dict[str, Any]:
        return {
            k: {"count": v, "examples": self.examples.get(k, [])}
            for k, v in sorted(self.counts.items())
        }


# -- admissions ---------------------------------------------------------------------------


def load_admissions(sources: MimicSources, skipped: Counter) -> AdmissionIndex:
    table = read_table(
        sources.admissions, {"subject_id": pa.int64(), "hadm_id": pa.int64(), "admittime": TS}
    )
    ok = pc.and_(
        pc.and_(pc.is_valid(table["subject_id"]), pc.is_valid(table["hadm_id"])),
        pc.is_valid(table["admittime"]),
    )
    skipped.add(
        "admissions_without_id_or_admittime",
        table.num_rows - pc.sum(ok).as_py() if table.num_rows else 0,
    )
    table = table.filter(ok)
    return AdmissionIndex.build(
        _int64(table["hadm_id"]),
        _int64(table["subject_id"]),
        _seconds(table["admittime"]),
        str(sources.admissions),
    )


# -- ECG ----------------------------------------------------------------------------------


@dataclass
class EcgChoice:
    study_id: np.ndarray  # int64 per admission, -1 when none
    time: np.ndarray  # int64 seconds
    path: np.ndarray  # object (relative path) or None
    reason: np.ndarray  # object: None when chosen, else the drop reason
    records_in_window: int = 0


def select_ecg(
    adm: AdmissionIndex, sources: MimicSources, errors: Counter, skipped: Counter, threads: int
) -> EcgChoice:
    table = read_table(
        sources.record_list,
        {"subject_id": pa.int64(), "study_id": pa.int64(), "ecg_time": TS, "path": pa.string()},
    )
    ok = pc.and_(
        pc.and_(pc.is_valid(table["subject_id"]), pc.is_valid(table["study_id"])),
        pc.and_(pc.is_valid(table["ecg_time"]), pc.is_valid(table["path"])),
    )
    skipped.add(
        "ecg_records_without_time_or_path",
        table.num_rows - pc.sum(ok).as_py() if table.num_rows else 0,
    )
    table = table.filter(ok)
    subject, study, when = (
        _int64(table["subject_id"]),
        _int64(table["study_id"]),
        _seconds(table["ecg_time"]),
    )
    keys, usable = adm.event_keys(subject, when)
    idx = np.flatnonzero(usable)
    idx = idx[np.lexsort((study[idx], keys[idx]))]  # by (subject, time), ties: smaller study_id
    keys = keys[idx]
    start, stop = window_ranges(keys, adm, *ECG_WINDOW)
    inside = covered(keys.size, start, stop)
    paths = table["path"].to_numpy(zero_copy_only=False)[idx]
    check_at = np.flatnonzero(inside)
    statuses = ecg_io.check_many([sources.ecg_root / p for p in paths[check_at]], threads)
    statuses = np.asarray(statuses, dtype=object)
    valid = np.zeros(keys.size, dtype=bool)
    valid[check_at] = statuses == ecg_io.OK
    for kind in ecg_io.ERRORS:
        bad = check_at[statuses == kind]
        errors.add(f"ecg_{kind}", bad.size, [str(p) for p in paths[bad[:EXAMPLES]]])
    chosen = first_valid(start, stop, valid)
    has = chosen >= 0
    sel = idx[chosen[has]]
    reason = np.where(
        has, None, np.where(stop > start, "no_valid_ecg_in_window", "no_ecg_in_window")
    ).astype(object)
    return EcgChoice(
        study_id=_fill(has, study[sel], -1, np.int64),
        time=_fill(has, when[sel], 0, np.int64),
        path=_fill(has, table["path"].to_numpy(zero_copy_only=False)[sel], None, object),
        reason=reason,
        records_in_window=int(check_at.size),
    )


def _fill(has: np.ndarray, values: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
    """A per-admission array: `values` where `has`, else `fill`."""
    out = np.full(has.size, fill, dtype=dtype)
    out[has] = values
    return out


# -- CXR ----------------------------------------------------------------------------------


def cxr_relative_paths(subject: pa.Array, study: pa.Array, dicom: pa.Array) -> pa.Array:
    """files/pNN/pSUBJECT/sSTUDY/DICOM.jpg (NN: the first two digits of subject_id)."""
    subject_text = pc.cast(subject, pa.string())
    return pc.binary_join_element_wise(
        "files/p",
        pc.utf8_slice_codeunits(subject_text, 0, 2),
        "/p",
        subject_text,
        "/s",
        pc.cast(study, pa.string()),
        "/",
        dicom,
        ".jpg",
        "",
    )


def study_datetimes(date: pa.Array, clock: pa.Array, label: str) -> pa.Array:
    """StudyDate (YYYYMMDD) + StudyTime (HHMMSS[.ffffff], leading zeros dropped as in the CSV)
    as timestamp[s], fractional seconds dropped (the release's `astype(int)`). Null when
    either is empty; a malformed value raises SourceError naming it."""

    def blank_to_null(values: pa.Array) -> pa.Array:
        values = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
        return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)

    def refuse(values: pa.Array, bad: pa.Array, column: str, expected: str) -> None:
        if pc.any(bad).as_py():
            value = pc.filter(values, bad)[0].as_py()
            raise SourceError(
                f"{label}: column '{column}' has value '{value}', expected "
                f"{expected}; re-download the file"
            )

    date, clock = blank_to_null(date), blank_to_null(clock)
    day = pc.strptime(date, format="%Y%m%d", unit="s", error_is_null=True)
    date_ok = pc.and_(pc.is_valid(day), pc.match_substring_regex(date, r"^\d{8}$"))
    refuse(date, pc.and_(pc.is_valid(date), pc.invert(date_ok)), "StudyDate", "YYYYMMDD")
    clock_ok = pc.match_substring_regex(clock, r"^\d{1,6}(\.\d*)?$")
    refuse(
        clock,
        pc.and_(pc.is_valid(clock), pc.invert(clock_ok)),
        "StudyTime",
        "HHMMSS with optional fractional seconds",
    )
    whole = np.floor(
        pc.cast(pc.if_else(clock_ok, clock, "0"), pa.float64()).fill_null(0).to_numpy()
    ).astype(np.int64)
    hh, mm, ss = whole // 10000, whole // 100 % 100, whole % 100
    out_of_range = pa.array((hh >= 24) | (mm >= 60) | (ss >= 60))
    refuse(
        clock,
        pc.and_(pc.is_valid(clock), out_of_range),
        "StudyTime",
        "HHMMSS with optional fractional seconds",
    )
    seconds = day.cast(pa.int64()).fill_null(0).to_numpy() + hh * 3600 + mm * 60 + ss
    valid = pc.and_(pc.is_valid(day), pc.is_valid(clock))
    return pc.if_else(valid, pa.array(seconds, TS), pa.scalar(None, TS))


JPEG_OK, JPEG_MISSING, JPEG_UNREADABLE = "ok", "missing", "unreadable"


def jpeg_status(path: Path) -> str:
    """ok / missing / unreadable. Cheap: a JPEG starts with FFD8 and a complete one ends with
    FFD9; only a file failing that is decoded in full to decide."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 2))
            tail = handle.read(2)
    except FileNotFoundError:
        return JPEG_MISSING
    except OSError:
        return JPEG_UNREADABLE
    if head == b"\xff\xd8" and tail == b"\xff\xd9":
        return JPEG_OK
    try:
        from PIL import Image

        with Image.open(path) as image:
            image.load()
        return JPEG_OK
    except Exception:
        return JPEG_UNREADABLE


def _map_threads(fn: Callable[[Any], str], items: list[Any], threads: int) -> list[str]:
    if threads <= 1 or len(items) < 64:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(fn, items, chunksize=64))


@dataclass
class CxrChoice:
    columns: dict[str, np.ndarray]  # dicom_id, study_id, study_time, view_position, path
    chexpert: dict[str, np.ndarray]  # label -> float32 per admission (NaN when blank)
    reason: np.ndarray
    images_in_window: int = 0


def select_cxr(
    adm: AdmissionIndex, sources: MimicSources, errors: Counter, skipped: Counter, threads: int
) -> CxrChoice:
    meta = read_table(
        sources.cxr_metadata,
        {
            "dicom_id": pa.string(),
            "subject_id": pa.int64(),
            "study_id": pa.int64(),
            "ViewPosition": pa.string(),
            "StudyDate": pa.string(),
            "StudyTime": pa.string(),
        },
    )
    when = study_datetimes(
        meta["StudyDate"].combine_chunks(),
        meta["StudyTime"].combine_chunks(),
        str(sources.cxr_metadata),
    )
    meta = meta.append_column("study_time", when)
    view_ok = pc.is_in(meta["ViewPosition"], pa.array(CXR_VIEWS))
    skipped.add(
        "cxr_images_not_pa_or_ap", meta.num_rows - pc.sum(view_ok).as_py() if meta.num_rows else 0
    )
    meta = meta.filter(view_ok)
    ok = pc.and_(
        pc.and_(pc.is_valid(meta["dicom_id"]), pc.is_valid(meta["subject_id"])),
        pc.and_(pc.is_valid(meta["study_id"]), pc.is_valid(meta["study_time"])),
    )
    skipped.add(
        "cxr_images_without_ids_or_time", meta.num_rows - pc.sum(ok).as_py() if meta.num_rows else 0
    )
    meta = meta.filter(ok)
    keys, usable = adm.event_keys(_int64(meta["subject_id"]), _seconds(meta["study_time"]))
    meta = meta.filter(pa.array(usable)).append_column("key", pa.array(keys[usable]))
    # by (subject, time); ties: the smaller dicom_id
    meta = meta.sort_by([("key", "ascending"), ("dicom_id", "ascending")])
    keys = _int64(meta["key"])
    start, stop = window_ranges(keys, adm, *CXR_WINDOW, lo_open=True)
    inside = np.flatnonzero(covered(keys.size, start, stop))
    rel = cxr_relative_paths(
        meta["subject_id"].combine_chunks(),
        meta["study_id"].combine_chunks(),
        meta["dicom_id"].combine_chunks(),
    ).to_numpy(zero_copy_only=False)
    statuses = np.asarray(
        _map_threads(jpeg_status, [sources.cxr_root / p for p in rel[inside]], threads),
        dtype=object,
    )
    valid = np.zeros(keys.size, dtype=bool)
    valid[inside] = statuses == JPEG_OK
    for kind in (JPEG_MISSING, JPEG_UNREADABLE):
        bad = inside[statuses == kind]
        errors.add(f"cxr_jpg_{kind}", bad.size, [str(p) for p in rel[bad[:EXAMPLES]]])
    chosen = first_valid(start, stop, valid)
    has = chosen >= 0
    sel = chosen[has]

    def text(name: str) -> np.ndarray:
        return _fill(has, meta[name].to_numpy(zero_copy_only=False)[sel], None, object)

    columns = {
        "dicom_id": text("dicom_id"),
        "study_id": _fill(has, _int64(meta["study_id"])[sel], -1, np.int64),
        "study_time": _fill(has, _seconds(meta["study_time"])[sel], 0, np.int64),
        "view_position": text("ViewPosition"),
        "path": _fill(has, rel[sel], None, object),
    }
    reason = np.where(
        has, None, np.where(stop > start, "no_readable_cxr_in_window", "no_cxr_in_window")
    ).astype(object)
    chexpert, reason = _attach_chexpert(sources, columns["study_id"], has, reason)
    return CxrChoice(columns, chexpert, reason, int(inside.size))


def _attach_chexpert(
    sources: MimicSources, study_id: np.ndarray, has: np.ndarray, reason: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Labels of the chosen study (joined on study_id, as the release does). A chosen study
    without a CheXpert row drops the admission: the release does not fall back to a later CXR."""
    types: dict[str, pa.DataType] = {"study_id": pa.int64()}
    types.update({label: pa.float32() for label in CHEXPERT_LABELS})
    table = read_table(sources.chexpert, types)
    table = table.filter(pc.is_valid(table["study_id"]))
    studies = _int64(table["study_id"])
    order = np.argsort(studies, kind="stable")
    studies = studies[order]
    pos = np.searchsorted(studies, study_id)
    pos_ok = pos < studies.size
    pos[~pos_ok] = 0
    found = has & pos_ok & (studies[pos] == study_id if studies.size else False)
    reason = reason.copy()
    reason[has & ~found] = "chosen_cxr_without_chexpert"
    row = order[pos] if studies.size else pos
    labels = {}
    for label in CHEXPERT_LABELS:
        values = table[label].to_numpy(zero_copy_only=False).astype(np.float32)
        labels[label] = np.where(found, values[row] if values.size else np.nan, np.nan).astype(
            np.float32
        )
    return labels, reason


# -- labs ---------------------------------------------------------------------------------


@dataclass
class LabChoice:
    value: np.ndarray  # (n_adm, 50) float64, NaN when none
    labevent_id: np.ndarray  # (n_adm, 50) int64, -1 when none
    stats: dict[str, int]


def select_labs(
    adm: AdmissionIndex,
    labevents: Path,
    block_size: int = 16 << 20,
    progress: Callable[[int], None] | None = None,
) -> LabChoice:
    """Stream labevents once, keeping per (admission, itemid) the earliest non-null valuenum
    in [-24 h, +24 h] (ties: smaller labevent_id). Memory: the current batch plus three
    (n_admissions, 50) arrays."""
    n = len(adm)
    best_t = np.full(n * N_LABS, np.iinfo(np.int64).max, dtype=np.int64)
    best_id = np.full(n * N_LABS, np.iinfo(np.int64).max, dtype=np.int64)
    best_v = np.full(n * N_LABS, np.nan, dtype=np.float64)
    items = pa.array(LAB_ITEMIDS, pa.int64())
    item_sorted = np.asarray(LAB_ITEMIDS, dtype=np.int64)
    adm_keys = adm.window_keys(0)
    adm_order = np.argsort(adm_keys, kind="stable")
    adm_keys = adm_keys[adm_order]
    stats = {"rows": 0, "rows_lab_items": 0, "rows_lab_items_with_value": 0, "rows_in_a_window": 0}
    types = {
        "labevent_id": pa.int64(),
        "subject_id": pa.int64(),
        "itemid": pa.int64(),
        "charttime": TS,
        "valuenum": pa.float64(),
    }
    lo, hi = LAB_WINDOW
    for batch in stream_table(labevents, types, block_size):
        stats["rows"] += batch.num_rows
        if progress:
            progress(batch.num_rows)
        mask = pc.is_in(batch["itemid"], items)
        stats["rows_lab_items"] += pc.sum(mask).as_py() or 0
        mask = pc.and_(
            mask, pc.and_(pc.is_valid(batch["valuenum"]), pc.is_valid(batch["charttime"]))
        )
        mask = pc.and_(mask, pc.is_valid(batch["subject_id"]))
        mask = pc.and_(mask, pc.is_valid(batch["labevent_id"]))
        part = batch.filter(mask)
        stats["rows_lab_items_with_value"] += part.num_rows
        if part.num_rows == 0:
            continue
        t = _seconds(part["charttime"])
        keys, usable = adm.event_keys(_int64(part["subject_id"]), t)
        # admissions whose admittime is in [t - hi, t - lo] hold this draw in their window
        first = np.searchsorted(adm_keys, keys - hi, "left")
        last = np.searchsorted(adm_keys, keys - lo, "right")
        count = np.where(usable, np.maximum(last - first, 0), 0)
        total = int(count.sum())
        if total == 0:
            continue
        stats["rows_in_a_window"] += int((count > 0).sum())
        row = np.repeat(np.arange(count.size), count)
        offset = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        adm_idx = adm_order[first[row] + offset]
        col = np.searchsorted(item_sorted, _int64(part["itemid"]))[row]
        cell = adm_idx * N_LABS + col
        when, ident = t[row], _int64(part["labevent_id"])[row]
        value = part["valuenum"].to_numpy(zero_copy_only=False)[row]
        order = np.lexsort((ident, when, cell))
        cell, when, ident, value = cell[order], when[order], ident[order], value[order]
        head = np.ones(cell.size, dtype=bool)
        head[1:] = cell[1:] != cell[:-1]
        cell, when, ident, value = cell[head], when[head], ident[head], value[head]
        better = (when < best_t[cell]) | ((when == best_t[cell]) & (ident < best_id[cell]))
        cell = cell[better]
        best_t[cell], best_id[cell], best_v[cell] = when[better], ident[better], value[better]
    best_id[best_t == np.iinfo(np.int64).max] = -1
    return LabChoice(best_v.reshape(n, N_LABS), best_id.reshape(n, N_LABS), stats)


# -- everything ---------------------------------------------------------------------------


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

    def run_labs() -> None:
        began = time.perf_counter()
        try:
            labs_box["result"] = select_labs(adm, sources.labevents)
        except BaseException as exc:  # re-raised in the caller's thread
            labs_box["error"] = exc
        labs_box["seconds"] = time.perf_counter() - began

    worker = threading.Thread(target=run_labs, name="mimic-labs", daemon=True)
    worker.start()
    began = time.perf_counter()
    ecg = select_ecg(adm, sources, errors, skipped, threads)
    timings["ecg"] = time.perf_counter() - began
    began = time.perf_counter()
    cxr = select_cxr(adm, sources, errors, skipped, threads)
    timings["cxr"] = time.perf_counter() - began
    worker.join()
    if "error" in labs_box:
        raise labs_box["error"]
    labs: LabChoice = labs_box["result"]
    timings["labs"] = labs_box["seconds"]

    reason = ecg.reason.copy()
    for other in (
        cxr.reason,
        np.where(np.isnan(labs.value).all(axis=1), "no_lab_in_window", None).astype(object),
    ):
        reason = np.where(reason == None, other, reason)  # noqa: E711 (elementwise)
    return Selection(adm, ecg, cxr, labs, reason.astype(object), errors, skipped, timings)
