"""Per admission, the earliest readable PA/AP chest X-ray in (24 h, 72 h] with its CheXpert
labels; a JPG is opened only when it falls inside some admission's window."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builders.mimic.build.columns import NULL, TS, fill, int64, seconds
from builders.mimic.build.constants import CHEXPERT_LABELS, CXR_VIEWS, CXR_WINDOW
from builders.mimic.build.report_counts import EXAMPLES, Counter
from builders.mimic.build.sources import MimicSources
from builders.mimic.build.windows import AdmissionIndex, covered, first_valid, window_ranges
from symile_bench.errors import SourceError
from symile_bench.source_tables import read_table, resolve_under

__all__ = [
    "JPEG_ERRORS",
    "JPEG_OK",
    "CxrChoice",
    "cxr_relative_paths",
    "jpeg_status",
    "select_cxr",
    "study_datetimes",
]


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
JPEG_TOO_LARGE = "too_large"  # over Pillow's decompression-bomb limit: decoding it is refused
JPEG_ERRORS = (JPEG_MISSING, JPEG_UNREADABLE, JPEG_TOO_LARGE)


def jpeg_status(path: Path) -> str:
    """ok / missing / unreadable / too_large. Cheap: the header is parsed (its size, no
    pixels; Pillow refuses a decompression bomb there) and a complete JPEG starts with FFD8 and
    ends with FFD9; only a file failing that is decoded in full to decide."""
    from PIL import Image

    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 2))
            tail = handle.read(2)
            handle.seek(0)
            with Image.open(handle) as image:
                if head != b"\xff\xd8" or tail != b"\xff\xd9":
                    image.load()
        return JPEG_OK
    except FileNotFoundError:
        return JPEG_MISSING
    except Image.DecompressionBombError:
        return JPEG_TOO_LARGE
    except Exception:  # OSError (a directory, a symlink loop), and Pillow's many decode errors
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
    keys, usable = adm.event_keys(int64(meta["subject_id"]), seconds(meta["study_time"]))
    meta = meta.filter(pa.array(usable)).append_column("key", pa.array(keys[usable]))
    # by (subject, time); ties: the smaller dicom_id
    meta = meta.sort_by([("key", "ascending"), ("dicom_id", "ascending")])
    keys = int64(meta["key"])
    start, stop = window_ranges(keys, adm, *CXR_WINDOW, lo_open=True)
    inside = np.flatnonzero(covered(keys.size, start, stop))
    rel = cxr_relative_paths(
        meta["subject_id"].combine_chunks(),
        meta["study_id"].combine_chunks(),
        meta["dicom_id"].combine_chunks(),
    ).to_numpy(zero_copy_only=False)
    origin = f"{sources.cxr_metadata}: columns 'subject_id', 'study_id', 'dicom_id'"
    files = resolve_under(sources.cxr_root, rel[inside], origin)
    statuses = np.asarray(_map_threads(jpeg_status, files, threads), dtype=object)
    valid = np.zeros(keys.size, dtype=bool)
    valid[inside] = statuses == JPEG_OK
    for kind in JPEG_ERRORS:
        bad = inside[statuses == kind]
        errors.add(f"cxr_jpg_{kind}", bad.size, [str(p) for p in rel[bad[:EXAMPLES]]])
    chosen = first_valid(start, stop, valid)
    has = chosen >= 0
    sel = chosen[has]

    def text(name: str) -> np.ndarray:
        return fill(has, meta[name].to_numpy(zero_copy_only=False)[sel], None, object)

    columns = {
        "dicom_id": text("dicom_id"),
        "study_id": fill(has, int64(meta["study_id"])[sel], -1, np.int64),
        "study_time": fill(has, seconds(meta["study_time"])[sel], 0, np.int64),
        "view_position": text("ViewPosition"),
        "path": fill(has, rel[sel], None, object),
    }
    reason = np.where(
        has, NULL, np.where(stop > start, "no_readable_cxr_in_window", "no_cxr_in_window")
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
    studies = int64(table["study_id"])
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
