"""Vectorised "earliest event of the same subject inside a time window" for every admission.

Events (ECGs, CXRs, lab draws) and admissions are matched on subject_id and time only. Each
event gets one int64 key, `subject_code << 34 | (time - base)`, so that sorting by key sorts by
(subject, time) and every admission's window is one contiguous key range: two binary searches
per admission (`np.searchsorted`) find it, with no loop over admissions or events. Ties at the
same time are broken by sorting on a secondary column (study_id, dicom_id, labevent_id) first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symile_bench.errors import SourceError

KEY_SHIFT = 34  # 2**34 s is about 544 years: room for any MIMIC date range
MARGIN = 4 * 86400  # windows reach at most 72 h from admittime


@dataclass(frozen=True)
class AdmissionIndex:
    """Admissions (sorted by hadm_id) with their subjects coded 0..n_subjects-1."""

    hadm_id: np.ndarray  # int64, ascending
    subject_id: np.ndarray  # int64
    admittime: np.ndarray  # int64 seconds since the epoch
    subjects: np.ndarray  # sorted unique subject_id
    code: np.ndarray  # int64 index into `subjects`, per admission
    base: int  # time origin of the keys
    limit: int  # last time that can fall in a window

    @classmethod
    def build(
        cls, hadm_id: np.ndarray, subject_id: np.ndarray, admittime: np.ndarray, label: str
    ) -> AdmissionIndex:
        order = np.argsort(hadm_id, kind="stable")
        hadm_id, subject_id, admittime = hadm_id[order], subject_id[order], admittime[order]
        if hadm_id.size and (np.diff(hadm_id) == 0).any():
            dup = hadm_id[1:][np.diff(hadm_id) == 0][0]
            raise SourceError(f"{label}: hadm_id {dup} appears twice; re-download the file")
        subjects, code = np.unique(subject_id, return_inverse=True)
        if admittime.size:
            base, limit = int(admittime.min()) - MARGIN, int(admittime.max()) + MARGIN
        else:
            base, limit = 0, 0
        if limit - base >= 1 << KEY_SHIFT:
            raise SourceError(f"{label}: admittime spans more than 500 years; check the file")
        return cls(hadm_id, subject_id, admittime, subjects, code.astype(np.int64), base, limit)

    def __len__(self) -> int:
        return int(self.hadm_id.size)

    def event_keys(self, subject_id: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(keys, usable): usable events belong to a subject with an admission and fall in the
        time range any window can reach; keys of other events are meaningless."""
        code = np.searchsorted(self.subjects, subject_id)
        code_ok = code < self.subjects.size
        code[~code_ok] = 0
        usable = code_ok & (self.subjects[code] == subject_id)
        usable &= (time >= self.base) & (time <= self.limit)
        keys = (code.astype(np.int64) << KEY_SHIFT) + np.clip(time - self.base, 0, None)
        return keys, usable

    def window_keys(self, offset: int) -> np.ndarray:
        """Key of (own subject, admittime + offset) for every admission."""
        keys: np.ndarray = (self.code << KEY_SHIFT) + (self.admittime + offset - self.base)
        return keys


def window_ranges(
    sorted_keys: np.ndarray, adm: AdmissionIndex, lo: int, hi: int, lo_open: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per admission, the index range [start, stop) of sorted events with
    lo <= time - admittime <= hi (lo < ... when `lo_open`), same subject."""
    start = np.searchsorted(sorted_keys, adm.window_keys(lo), "right" if lo_open else "left")
    stop = np.searchsorted(sorted_keys, adm.window_keys(hi), "right")
    return start, np.maximum(stop, start)


def covered(n_events: int, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Mask of events inside at least one admission's range (a difference array, O(n))."""
    diff = np.zeros(n_events + 1, dtype=np.int64)
    np.add.at(diff, start, 1)
    np.add.at(diff, stop, -1)
    return np.cumsum(diff[:-1]) > 0


def first_valid(start: np.ndarray, stop: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per range, the first index with `valid` true, or -1."""
    n = valid.size
    positions = np.where(valid, np.arange(n), n)
    next_valid = np.append(np.minimum.accumulate(positions[::-1])[::-1], n)
    first = next_valid[np.minimum(start, n)]
    return np.where(first < stop, first, -1)
