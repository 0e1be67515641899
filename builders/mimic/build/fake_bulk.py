"""Bulk admissions drawn at random, vectorised so the tree scales to full-MIMIC table sizes;
the latent codes (`synth.py`) shape each admission's ECGs, labs and CXRs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from builders.mimic.build import synth
from builders.mimic.build.constants import LAB_ITEMIDS, LAB_NAMES
from builders.mimic.build.fake_rows import DAY, HOUR, Rows

__all__ = ["OTHER_ITEMIDS", "bulk", "bulk_labs", "hex_ids"]

EPOCH_2110 = int(np.datetime64("2110-01-01T00:00:00", "s").astype(np.int64))
EPOCH_2200 = int(np.datetime64("2200-01-01T00:00:00", "s").astype(np.int64))
OTHER_ITEMIDS = np.array([i for i in range(51000, 51120) if i not in LAB_NAMES], dtype=np.int64)


def hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """MIMIC-CXR-style dicom ids: five dash-separated 8-hex-digit groups."""
    raw = rng.integers(0, 1 << 32, size=(n, 5), dtype=np.uint64)
    return np.array(["-".join(f"{int(v):08x}" for v in row) for row in raw], dtype=object)


def bulk(rows: Rows, n: int, codes: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """`n` random admissions with their ECGs, CXRs (labs are streamed at write time)."""
    if n <= 0:
        return
    n_subj = max(1, int(n / 1.25))
    subjects = 10000000 + rng.choice(8_900_000, size=n_subj, replace=False)
    owner = np.concatenate([np.arange(n_subj), rng.integers(0, n_subj, n - n_subj)])
    owner = np.sort(owner)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    gap = rng.uniform(5, 300, n) * DAY
    close = rng.random(n) < 0.04  # a few overlapping admissions
    gap[close] = rng.uniform(2, 20, close.sum()) * HOUR
    gap[rank == 0] = 0
    cum = np.cumsum(gap)
    cum -= np.repeat(cum[starts], np.diff(np.r_[starts, n]))
    first = rng.uniform(EPOCH_2110, EPOCH_2200 - 10 * 365 * DAY, n_subj)
    admit = (first[owner] + cum) // 60 * 60
    hadm = 20000000 + rng.choice(8_900_000, size=n, replace=False)
    rows.adm["subject_id"].append(subjects[owner])
    rows.adm["hadm_id"].append(hadm)
    rows.adm["admittime"].append(admit.astype(np.int64))
    rows.adm["stay"].append((rng.uniform(1, 10, n) * DAY).astype(np.int64))

    # ECGs: 0-3 per admission, mostly within +-23 h, plus 30% orphans far from any admission
    per = rng.choice([0, 1, 1, 1, 2, 2, 3], size=n)
    adm_of = np.repeat(np.arange(n), per)
    m = adm_of.size
    when = (
        admit[adm_of]
        + np.where(rng.random(m) < 0.8, rng.uniform(-23, 23, m), rng.uniform(-30, 30, m)) * HOUR
    )
    orphans = rng.integers(0, n, int(0.3 * n))
    when = np.r_[
        when,
        admit[orphans] + rng.choice([-1, 1], orphans.size) * rng.uniform(3, 60, orphans.size) * DAY,
    ]
    adm_of = np.r_[adm_of, orphans]
    m = adm_of.size
    u = rng.random(m)
    rows.ecg["subject_id"].append(subjects[owner][adm_of])
    rows.ecg["study_id"].append(40000000 + rng.choice(8_900_000, size=m, replace=False))
    rows.ecg["time"].append((when // 60 * 60).astype(np.int64))
    rows.ecg["kind"].append(
        np.where(u < 0.02, "nan", np.where(u < 0.03, "zeros", "ok")).astype(object)
    )
    rows.ecg["code"].append(codes["ecg"][adm_of])

    # CXR studies: 0-2 per admission within [0, 96 h]; a PA or AP image, often a lateral too
    per = rng.choice([0, 1, 1, 1, 1, 2, 2], size=n)
    adm_of = np.repeat(np.arange(n), per)
    k = adm_of.size
    study = 50000000 + rng.choice(8_900_000, size=k, replace=False)
    when = admit[adm_of] + np.round(
        np.where(rng.random(k) < 0.65, rng.uniform(25, 71, k), rng.uniform(0, 96, k)) * HOUR, 3
    )
    lateral = rng.random(k) < 0.5
    img_study = np.r_[np.arange(k), np.flatnonzero(lateral)]
    views = np.r_[np.where(rng.random(k) < 0.6, "AP", "PA"), np.full(lateral.sum(), "LATERAL")]
    jpg = np.where(rng.random(img_study.size) < 0.005, "missing", "ok")
    rows.cxr["subject_id"].append(subjects[owner][adm_of][img_study])
    rows.cxr["study_id"].append(study[img_study])
    rows.cxr["dicom_id"].append(hex_ids(rng, img_study.size))
    rows.cxr["time"].append(when[img_study])
    rows.cxr["view"].append(views.astype(object))
    rows.cxr["jpg"].append(jpg.astype(object))
    rows.cxr["code"].append(codes["cxr"][adm_of][img_study])
    rows.no_chexpert.update(study[rng.random(k) < 0.02].tolist())


def bulk_labs(
    subject: np.ndarray,
    hadm: np.ndarray,
    admit: np.ndarray,
    stay: np.ndarray,
    lab_code: np.ndarray,
    per_admission: int,
    rng: np.random.Generator,
    first_id: int,
    chunk_admissions: int = 8192,
) -> Iterator[dict[str, np.ndarray]]:
    """Lab rows, admission by admission, in chunks: the 4 signal labs within +-20 h, then
    random ones (85% of the 50 itemids, 15% others) within [-36 h, +120 h]; 4% empty. A set
    bit of the labs code raises every value of its signal lab by 1.5 standard deviations."""
    next_id = first_id
    signal_order = np.argsort(synth.SIGNAL_LAB_ITEMS)  # bit j belongs to SIGNAL_LAB_ITEMS[j]
    signal_items = np.asarray(synth.SIGNAL_LAB_ITEMS, dtype=np.int64)[signal_order]
    labs = np.asarray(LAB_ITEMIDS, dtype=np.int64)
    extra = max(0, per_admission - signal_items.size)
    for lo in range(0, subject.size, chunk_admissions):
        hi = min(subject.size, lo + chunk_admissions)
        n = hi - lo
        fixed_item = np.tile(signal_items, n)
        fixed_off = rng.uniform(-20, 20, fixed_item.size) * HOUR
        fixed_adm = np.repeat(np.arange(lo, hi), signal_items.size)
        rand_adm = np.repeat(np.arange(lo, hi), extra)
        rand_item = np.where(
            rng.random(rand_adm.size) < 0.85,
            labs[rng.integers(0, labs.size, rand_adm.size)],
            OTHER_ITEMIDS[rng.integers(0, OTHER_ITEMIDS.size, rand_adm.size)],
        )
        rand_off = rng.uniform(-36, 120, rand_adm.size) * HOUR
        adm_of = np.r_[fixed_adm, rand_adm]
        item = np.r_[fixed_item, rand_item]
        offset = np.r_[fixed_off, rand_off] // 60 * 60
        order = np.lexsort((offset, adm_of))
        adm_of, item, offset = adm_of[order], item[order], offset[order]
        mean, sd = synth.lab_distribution(item)
        value = mean + sd * rng.standard_normal(item.size)
        # every draw of a signal lab carries its bit, so the earliest one does too
        pos = np.searchsorted(signal_items, item).clip(0, signal_items.size - 1)
        is_signal = signal_items[pos] == item
        bump = np.where(is_signal, lab_code[adm_of, signal_order[pos]], 0)
        value = np.round(value + 1.5 * sd * bump, 2)
        empty = rng.random(item.size) < 0.04
        in_stay = (offset >= 0) & (offset <= stay[adm_of])
        ids = np.arange(next_id, next_id + item.size, dtype=np.int64)
        next_id += item.size
        yield {
            "labevent_id": ids,
            "subject_id": subject[adm_of],
            "hadm_id": np.where(in_stay, hadm[adm_of], -1),
            "itemid": item,
            "time": (admit[adm_of] + offset).astype(np.int64),
            "valuenum": np.where(empty, np.nan, value),
        }
