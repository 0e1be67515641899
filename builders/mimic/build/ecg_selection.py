"""Per admission, the earliest valid ECG in [-24 h, +24 h] (ties: the smaller study_id); a
record is opened only when it falls inside some admission's window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builders.mimic.build import ecg as ecg_io
from builders.mimic.build.columns import NULL, TS, fill, int64, seconds
from builders.mimic.build.constants import ECG_WINDOW
from builders.mimic.build.report_counts import EXAMPLES, Counter
from builders.mimic.build.sources import MimicSources
from builders.mimic.build.windows import AdmissionIndex, covered, first_valid, window_ranges
from symile_bench.source_tables import read_table, resolve_under

__all__ = ["EcgChoice", "select_ecg"]


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
        int64(table["subject_id"]),
        int64(table["study_id"]),
        seconds(table["ecg_time"]),
    )
    keys, usable = adm.event_keys(subject, when)
    idx = np.flatnonzero(usable)
    idx = idx[np.lexsort((study[idx], keys[idx]))]  # by (subject, time), ties: smaller study_id
    keys = keys[idx]
    start, stop = window_ranges(keys, adm, *ECG_WINDOW)
    inside = covered(keys.size, start, stop)
    paths = table["path"].to_numpy(zero_copy_only=False)[idx]
    check_at = np.flatnonzero(inside)
    origin = f"{sources.record_list}: column 'path'"
    records = resolve_under(sources.ecg_root, paths[check_at], origin)
    statuses = np.asarray(ecg_io.check_many(records, threads), dtype=object)
    valid = np.zeros(keys.size, dtype=bool)
    valid[check_at] = statuses == ecg_io.OK
    for kind in ecg_io.ERRORS:
        bad = check_at[statuses == kind]
        errors.add(f"ecg_{kind}", bad.size, [str(p) for p in paths[bad[:EXAMPLES]]])
    chosen = first_valid(start, stop, valid)
    has = chosen >= 0
    sel = idx[chosen[has]]
    reason = np.where(
        has, NULL, np.where(stop > start, "no_valid_ecg_in_window", "no_ecg_in_window")
    ).astype(object)
    return EcgChoice(
        study_id=fill(has, study[sel], -1, np.int64),
        time=fill(has, when[sel], 0, np.int64),
        path=fill(has, table["path"].to_numpy(zero_copy_only=False)[sel], None, object),
        reason=reason,
        records_in_window=int(check_at.size),
    )
