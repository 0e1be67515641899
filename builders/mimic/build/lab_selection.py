"""Per admission and lab itemid, the earliest non-null valuenum in [-24 h, +24 h], from one
streaming pass over labevents."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builders.mimic.build.columns import TS, int64, seconds
from builders.mimic.build.constants import LAB_ITEMIDS, LAB_WINDOW, N_LABS
from builders.mimic.build.windows import AdmissionIndex
from symile_bench.source_tables import stream_table

__all__ = ["LabChoice", "select_labs"]


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
    cancel: threading.Event | None = None,
) -> LabChoice:
    """Stream labevents once, keeping per (admission, itemid) the earliest non-null valuenum
    in [-24 h, +24 h] (ties: smaller labevent_id). Memory: the current batch plus three
    (n_admissions, 50) arrays. Setting `cancel` stops the pass after the current batch."""
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
        if cancel is not None and cancel.is_set():
            raise RuntimeError("lab selection cancelled: another selector failed first")
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
        t = seconds(part["charttime"])
        keys, usable = adm.event_keys(int64(part["subject_id"]), t)
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
        col = np.searchsorted(item_sorted, int64(part["itemid"]))[row]
        cell = adm_idx * N_LABS + col
        when, ident = t[row], int64(part["labevent_id"])[row]
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
