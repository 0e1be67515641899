"""`symile-bench fake-mimic OUT`: a SYNTHETIC source tree shaped like the three PhysioNet
releases (file names, columns, date formats, gzip, directory layout, WFDB records, JPGs).

No real patient data: every value is generated. The tree holds
- planted edge cases, one small group of admissions per cohort rule, each listed with its
  expected outcome in `OUT/fake_cases.json` (what the tests check the builder against);
- bulk admissions drawn at random (vectorised, so it scales to full-MIMIC table sizes), with a
  learnable latent (`--signal`, see `synth.py`) shaping their ECGs, labs and CXRs.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import typer

from builders.mimic import synth
from builders.mimic.constants import (
    ADMISSIONS_ALL,
    CHEXPERT_LABELS,
    CXR_METADATA_ALL,
    LAB_ITEMIDS,
    LAB_NAMES,
    LABEVENTS_ALL,
    PATIENTS_ALL,
    RECORD_LIST_ALL,
)
from symile_bench.errors import ConfigError

HOUR, DAY = 3600, 86400
EPOCH_2110 = int(np.datetime64("2110-01-01T00:00:00", "s").astype(np.int64))
EPOCH_2200 = int(np.datetime64("2200-01-01T00:00:00", "s").astype(np.int64))
PLANTED_T0 = int(np.datetime64("2150-01-01T10:00:00", "s").astype(np.int64))
OTHER_ITEMIDS = np.array([i for i in range(51000, 51120) if i not in LAB_NAMES], dtype=np.int64)
IV_DIR, ECG_DIR, CXR_DIR = "mimiciv/2.2", "mimic-iv-ecg/1.0", "mimic-cxr-jpg/2.0.0"

README = """# SYNTHETIC MIMIC-shaped source tree — not patient data

Written by `symile-bench fake-mimic` (seed {seed}, {admissions} admissions, signal
`{signal}`). Every value here is generated at random. It only imitates the on-disk layout of
MIMIC-IV 2.2 (`{iv}`), MIMIC-IV-ECG 1.0 (`{ecg}`) and MIMIC-CXR-JPG 2.0.0 (`{cxr}`) so that the
Symile-MIMIC builder can be tested and demonstrated without credentialed access. Results
obtained on it say nothing about real patients.

`fake_cases.json` lists the planted edge cases (one group of admissions per cohort rule) and
the outcome the release's rules give for each.

Build it:

    symile-bench build mimic --mimic-iv {root}/{iv} --mimic-iv-ecg {root}/{ecg} \\
        --mimic-cxr-jpg {root}/{cxr} --out symile-mimic-fake{fractions}
"""

SMALL_TREE = 1000  # below this, the default 5% test split has fewer than 10 admissions
SMALL_FRACTIONS = " --test-frac 0.2 --val-frac 0.2"


def _hex_id(rng: np.random.Generator, n: int) -> np.ndarray:
    """MIMIC-CXR-style dicom ids: five dash-separated 8-hex-digit groups."""
    raw = rng.integers(0, 1 << 32, size=(n, 5), dtype=np.uint64)
    return np.array(["-".join(f"{int(v):08x}" for v in row) for row in raw], dtype=object)


def _study_time(seconds_of_day: float) -> float:
    """StudyTime as the CSV holds it: HHMMSS.fff as a number (so leading zeros vanish)."""
    whole = int(seconds_of_day)
    value = (whole // 3600) * 10000 + (whole // 60 % 60) * 100 + whole % 60
    return round(value + seconds_of_day - whole, 3)


# -- collected rows ------------------------------------------------------------------------


@dataclass
class Rows:
    """Every row of every table, planted first, then bulk (as numpy arrays)."""

    adm: dict[str, list] = field(
        default_factory=lambda: {"subject_id": [], "hadm_id": [], "admittime": [], "stay": []}
    )
    ecg: dict[str, list] = field(
        default_factory=lambda: {
            "subject_id": [],
            "study_id": [],
            "time": [],
            "kind": [],
            "code": [],
        }
    )
    cxr: dict[str, list] = field(
        default_factory=lambda: {
            "subject_id": [],
            "study_id": [],
            "dicom_id": [],
            "time": [],
            "view": [],
            "jpg": [],
            "code": [],
        }
    )
    no_chexpert: set[int] = field(default_factory=set)
    labs: dict[str, list] = field(
        default_factory=lambda: {
            "labevent_id": [],
            "subject_id": [],
            "hadm_id": [],
            "itemid": [],
            "time": [],
            "valuenum": [],
        }
    )

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        """One array per column: planted scalars (as objects) then bulk arrays."""
        out = {}
        for key, parts in getattr(self, name).items():
            if key == "code":
                out[key] = (
                    np.concatenate(
                        [np.asarray(p, dtype=np.int8).reshape(-1, synth.BITS) for p in parts]
                    )
                    if parts
                    else np.zeros((0, synth.BITS), dtype=np.int8)
                )
                continue
            pieces = [
                p if isinstance(p, np.ndarray) else np.array([p], dtype=object) for p in parts
            ]
            out[key] = np.concatenate(pieces) if pieces else np.zeros(0, dtype=object)
        return out


class Planter:
    """Adds the planted edge cases, one helper call per row, and records their expectations."""

    def __init__(self, rows: Rows, rng: np.random.Generator) -> None:
        self.rows, self.rng = rows, rng
        self.cases: list[dict[str, Any]] = []
        self._subject, self._hadm, self._ecg, self._study, self._lab = (
            19000000,
            29000000,
            49000000,
            59000000,
            0,
        )
        self._dicom = 0

    def subject(self) -> int:
        self._subject += 1
        return self._subject

    def admission(self, subject: int, at: int) -> int:
        self._hadm += 1
        for key, value in (
            ("subject_id", subject),
            ("hadm_id", self._hadm),
            ("admittime", at),
            ("stay", 5 * DAY),
        ):
            self.rows.adm[key].append(value)
        return self._hadm

    def _code(self) -> np.ndarray:
        return self.rng.integers(0, 2, size=(1, synth.BITS), dtype=np.int8)

    def ecg(self, subject: int, at: int, kind: str = "ok", study: int | None = None) -> int:
        if study is None:
            self._ecg += 1
            study = self._ecg
        for key, value in (
            ("subject_id", subject),
            ("study_id", study),
            ("time", at),
            ("kind", kind),
            ("code", self._code()),
        ):
            self.rows.ecg[key].append(value)
        return study

    def cxr(
        self,
        subject: int,
        at: float,
        view: str = "AP",
        jpg: str = "ok",
        chexpert: bool = True,
        dicom: str | None = None,
        study: int | None = None,
    ) -> str:
        if study is None:
            self._study += 1
            study = self._study
        if dicom is None:
            self._dicom += 1
            dicom = f"{self._dicom:08x}-" + "-".join(
                f"{(self._dicom * k * 2654435761) % (1 << 32):08x}" for k in (3, 5, 7, 11)
            )
        if not chexpert:
            self.rows.no_chexpert.add(study)
        for key, value in (
            ("subject_id", subject),
            ("study_id", study),
            ("dicom_id", dicom),
            ("time", at),
            ("view", view),
            ("jpg", jpg),
            ("code", self._code()),
        ):
            self.rows.cxr[key].append(value)
        return dicom

    def lab(
        self,
        subject: int,
        at: int,
        itemid: int,
        value: float | None,
        hadm: int | None = None,
        labevent_id: int | None = None,
    ) -> int:
        if labevent_id is None:
            self._lab += 1
            labevent_id = self._lab
        for key, v in (
            ("labevent_id", labevent_id),
            ("subject_id", subject),
            ("hadm_id", hadm),
            ("itemid", itemid),
            ("time", at),
            ("valuenum", value),
        ):
            self.rows.labs[key].append(v)
        return labevent_id

    def usual(
        self,
        subject: int,
        hadm: int,
        at: int,
        *,
        ecg: bool = True,
        cxr: bool = True,
        labs: bool = True,
    ) -> dict[str, Any]:
        """A valid ECG (+1 h), AP CXR (+36 h) and two labs (+2 h), unless switched off."""
        expect: dict[str, Any] = {}
        if ecg:
            expect["ecg_study_id"] = self.ecg(subject, at + HOUR)
        if cxr:
            expect["cxr_dicom_id"] = self.cxr(subject, at + 36 * HOUR)
        if labs:
            self.lab(subject, at + 2 * HOUR, 51221, 40.5, hadm)
            self.lab(subject, at + 2 * HOUR, 50912, 1.1, hadm)
            expect["labs"] = {"51221": 40.5, "50912": 1.1}
        return expect

    def case(
        self, name: str, hadm: int, rule: str, kept: bool, reason: str | None = None, **expect: Any
    ) -> None:
        self.cases.append(
            {
                "case": name,
                "rule": rule,
                "hadm_id": hadm,
                "kept": kept,
                "drop_reason": reason,
                **expect,
            }
        )


def plant_cases(p: Planter) -> None:
    """One group of admissions per cohort rule (names say what each proves)."""
    t = PLANTED_T0
    step = 40 * DAY

    def fresh() -> tuple[int, int, int]:
        nonlocal t
        t += step
        subject = p.subject()
        return subject, p.admission(subject, t), t

    # ECG window [-24 h, +24 h], both ends inclusive; earliest wins
    s, h, a = fresh()
    e = p.usual(s, h, a, ecg=False)
    first = p.ecg(s, a - 24 * HOUR)
    p.ecg(s, a + 24 * HOUR)
    p.case("ecg_at_minus_24h_included", h, "ecg window", True, ecg_study_id=first, **e)
    s, h, a = fresh()
    e = p.usual(s, h, a, ecg=False)
    p.case(
        "ecg_at_plus_24h_included", h, "ecg window", True, ecg_study_id=p.ecg(s, a + 24 * HOUR), **e
    )
    s, h, a = fresh()
    p.usual(s, h, a, ecg=False)
    p.ecg(s, a - 24 * HOUR - 1)
    p.ecg(s, a + 24 * HOUR + 1)
    p.case("ecg_just_outside_window_dropped", h, "ecg window", False, "no_ecg_in_window")

    # CXR window (24 h, 72 h]: +24 h excluded (also +24 h + 0.5 s: fractions are dropped)
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 24 * HOUR)
    p.cxr(s, a + 24 * HOUR + 0.5)
    p.case(
        "cxr_at_24h_excluded_at_72h_included",
        h,
        "cxr window",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 72 * HOUR)},
    )
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    chosen = p.cxr(s, a + 24 * HOUR + 1)
    p.cxr(s, a + 30 * HOUR)
    p.case(
        "cxr_one_second_after_24h_included", h, "cxr window", True, **{**e, "cxr_dicom_id": chosen}
    )
    s, h, a = fresh()
    p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 72 * HOUR + 1)
    p.cxr(s, a + 20 * HOUR)
    p.case("cxr_only_outside_window_dropped", h, "cxr window", False, "no_cxr_in_window")
    s = p.subject()
    t += step
    a = t - 9 * HOUR  # admitted 01:00 -> a CXR at 02:50:12.25 two days later (StudyTime 25012.25)
    h = p.admission(s, a)
    e = p.usual(s, h, a, cxr=False)
    p.case(
        "cxr_study_time_without_leading_zero",
        h,
        "cxr time parsing",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 49 * HOUR + 50 * 60 + 12.25)},
    )

    # earliest wins, for ECG, CXR and each lab; a lab before admission beats one after it
    s, h, a = fresh()
    p.ecg(s, a + 3 * HOUR)
    ecg = p.ecg(s, a + HOUR)
    p.cxr(s, a + 40 * HOUR)
    cxr = p.cxr(s, a + 30 * HOUR)
    p.lab(s, a + HOUR, 50971, 4.9, h)
    p.lab(s, a - 2 * HOUR, 50971, 3.1)
    p.lab(s, a + 5 * HOUR, 51265, 300.0, h)
    p.lab(s, a + 3 * HOUR, 51265, 210.0, h)
    p.case(
        "earliest_wins",
        h,
        "earliest",
        True,
        ecg_study_id=ecg,
        cxr_dicom_id=cxr,
        labs={"50971": 3.1, "51265": 210.0},
    )

    # ties: the smaller study_id / dicom_id / labevent_id (larger one listed first)
    s, h, a = fresh()
    p.ecg(s, a + 2 * HOUR, study=49500002)
    p.ecg(s, a + 2 * HOUR, study=49500001)
    p.cxr(s, a + 30 * HOUR, dicom="bbbbbbbb-00000000-00000000-00000000-00000000", study=59500001)
    p.cxr(s, a + 30 * HOUR, dicom="aaaaaaaa-00000000-00000000-00000000-00000000", study=59500001)
    p.lab(s, a + 2 * HOUR, 50983, 141.0, h, labevent_id=9002)
    p.lab(s, a + 2 * HOUR, 50983, 139.0, h, labevent_id=9001)
    p.case(
        "ties_take_smaller_ids",
        h,
        "ties",
        True,
        ecg_study_id=49500001,
        cxr_dicom_id="aaaaaaaa-00000000-00000000-00000000-00000000",
        labs={"50983": 139.0},
    )

    # CXR candidates: lateral views, missing and truncated JPGs are never chosen
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 25 * HOUR, view="LATERAL")
    p.cxr(s, a + 25 * HOUR + 1800, view="LL")
    p.cxr(s, a + 25 * HOUR + 2000, view="")
    p.case(
        "lateral_views_skipped",
        h,
        "cxr views",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 26 * HOUR, view="PA")},
    )
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 25 * HOUR, jpg="missing")
    p.case(
        "missing_jpg_skipped",
        h,
        "cxr files",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 27 * HOUR)},
    )
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 25 * HOUR, jpg="truncated")
    p.case(
        "truncated_jpg_skipped",
        h,
        "cxr files",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 27 * HOUR)},
    )
    s, h, a = fresh()
    p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 25 * HOUR, jpg="missing")
    p.case("only_missing_jpg_dropped", h, "cxr files", False, "no_readable_cxr_in_window")
    s, h, a = fresh()
    p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 30 * HOUR, chexpert=False)
    p.cxr(s, a + 40 * HOUR)
    p.case(
        "chosen_cxr_without_chexpert_dropped", h, "chexpert", False, "chosen_cxr_without_chexpert"
    )

    # ECG validity: NaN, all-zero and unreadable records are never chosen
    for kind, name in (
        ("nan", "nan_ecg_skipped"),
        ("zeros", "all_zero_ecg_skipped"),
        ("corrupt_header", "corrupt_header_ecg_skipped"),
        ("missing", "missing_ecg_files_skipped"),
        ("truncated", "truncated_ecg_skipped"),
    ):
        s, h, a = fresh()
        e = p.usual(s, h, a, ecg=False)
        p.ecg(s, a + HOUR, kind=kind)
        p.case(name, h, "ecg validity", True, **{**e, "ecg_study_id": p.ecg(s, a + 2 * HOUR)})
    s, h, a = fresh()
    p.usual(s, h, a, ecg=False)
    p.ecg(s, a + HOUR, kind="nan")
    p.case("only_nan_ecg_dropped", h, "ecg validity", False, "no_valid_ecg_in_window")

    # labs: window edges inclusive, outside ignored, empty valuenum ignored, hadm_id ignored
    s, h, a = fresh()
    e = p.usual(s, h, a, labs=False)
    p.lab(s, a - 24 * HOUR, 50902, 101.0)
    p.lab(s, a + 24 * HOUR, 50882, 24.0, h)
    p.lab(s, a - 24 * HOUR - 1, 50868, 13.0)
    p.lab(s, a + 24 * HOUR + 1, 50868, 14.0, h)
    p.lab(s, a + HOUR, 50931, None, h)
    p.lab(s, a + 2 * HOUR, 50931, 95.0, h)
    p.lab(s, a + 3 * HOUR, 50960, 2.0, hadm=29999999)
    p.case(
        "lab_window_edges_and_empty_values",
        h,
        "labs",
        True,
        **e,
        labs={"50902": 101.0, "50882": 24.0, "50931": 95.0, "50960": 2.0},
        labs_missing=["50868"],
    )
    s, h, a = fresh()
    p.usual(s, h, a, labs=False)
    p.lab(s, a - 30 * HOUR, 51221, 39.0)
    p.lab(s, a + HOUR, 51221, None, h)
    p.lab(s, a + HOUR, 51000, 5.0, h)  # not one of the 50 itemids
    p.case("no_lab_in_window_dropped", h, "labs", False, "no_lab_in_window")

    # missing modalities
    s, h, a = fresh()
    p.usual(s, h, a, ecg=False)
    p.case("no_ecg_dropped", h, "modalities", False, "no_ecg_in_window")
    s, h, a = fresh()
    p.usual(s, h, a, cxr=False)
    p.case("no_cxr_dropped", h, "modalities", False, "no_cxr_in_window")

    # overlapping admissions of one subject share the ECG, the CXR and the labs
    s, h1, a = fresh()
    h2 = p.admission(s, a + 12 * HOUR)
    ecg = p.ecg(s, a + 6 * HOUR)
    cxr = p.cxr(s, a + 50 * HOUR)
    p.lab(s, a + 8 * HOUR, 51222, 12.5, h1)
    for h in (h1, h2):
        p.case(
            "overlapping_admissions_share_records",
            h,
            "subject and time only",
            True,
            ecg_study_id=ecg,
            cxr_dicom_id=cxr,
            labs={"51222": 12.5},
        )


# -- bulk ---------------------------------------------------------------------------------


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
    rows.cxr["dicom_id"].append(_hex_id(rng, img_study.size))
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


# -- writing ------------------------------------------------------------------------------


@contextmanager
def _gzip(path: Path, level: int) -> Iterator[gzip.GzipFile]:
    """A gzip writer with a fixed header time, so the same seed writes the same bytes."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(
            filename=path.name, mode="wb", compresslevel=level, fileobj=raw, mtime=0
        ) as handle,
    ):
        yield handle


def _write_csv(
    path: Path,
    columns: dict[str, pa.Array],
    header: tuple[str, ...],
    level: int = 6,
    append_to: Any = None,
) -> None:
    table = pa.table({name: columns[name] for name in header})
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    if append_to is not None:
        pacsv.write_csv(table, append_to, write_options=options)
        return
    with _gzip(path, level) if path.suffix == ".gz" else open(path, "wb") as handle:
        handle.write((",".join(header) + "\n").encode())
        pacsv.write_csv(table, handle, write_options=options)


def _ts(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(
        np.asarray(seconds, dtype=np.int64).astype("datetime64[s]"),
        pa.timestamp("s"),
        mask=None if valid is None else ~valid,
    )


def _text(values: np.ndarray | list, n: int | None = None) -> pa.Array:
    return pa.array(values if n is None else [values] * n, pa.string())


def _lab_columns(chunk: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, pa.Array]:
    n = chunk["itemid"].size
    value = chunk["valuenum"]
    empty = np.isnan(value)
    mean, sd = synth.lab_distribution(chunk["itemid"])
    value_text = pc.cast(pa.array(value, mask=empty), pa.string())
    value_text = pc.if_else(pa.array(empty), "___", value_text)
    flag = np.where(~empty & (np.abs(value - mean) > 2 * sd), "abnormal", None)
    comments = np.full(n, None, dtype=object)
    notes = rng.random(n)
    comments[notes < 0.01] = "Verified by repeat analysis, see note."
    comments[notes < 0.002] = 'Hemolyzed, "repeat" requested.\nResult may be affected.'
    return {
        "labevent_id": pa.array(chunk["labevent_id"]),
        "subject_id": pa.array(chunk["subject_id"]),
        "hadm_id": pa.array(chunk["hadm_id"], mask=chunk["hadm_id"] < 0),
        "specimen_id": pa.array(rng.integers(1, 99_999_999, n)),
        "itemid": pa.array(chunk["itemid"]),
        "order_provider_id": pa.nulls(n, pa.string()),
        "charttime": _ts(chunk["time"]),
        "storetime": _ts(chunk["time"] + rng.integers(10, 300, n) * 60),
        "value": value_text,
        "valuenum": pa.array(value, mask=empty),
        "valueuom": _text("mg/dL", n),
        "ref_range_lower": pa.array(np.round(mean - 2 * sd, 1)),
        "ref_range_upper": pa.array(np.round(mean + 2 * sd, 1)),
        "flag": pa.array(flag, pa.string()),
        "priority": pa.array(np.where(rng.random(n) < 0.3, "STAT", "ROUTINE")),
        "comments": pa.array(comments, pa.string()),
    }


@dataclass(frozen=True)
class FakeSummary:
    root: Path
    admissions: int
    ecg_records: int
    cxr_images: int
    lab_rows: int
    planted_cases: int


def generate(
    out: Path,
    admissions: int,
    seed: int = 0,
    signal: str = "none",
    labs_per_admission: int = 40,
    media: bool = True,
    progress: Callable[[str], None] | None = None,
) -> FakeSummary:
    """Write the synthetic tree into `out` (a new or empty directory)."""
    if signal not in synth.SIGNALS:
        raise ConfigError(f"--signal must be one of {', '.join(synth.SIGNALS)}, got {signal!r}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not an empty directory; choose a new OUT")
    say = progress or (lambda _msg: None)
    seeds = np.random.SeedSequence(seed).spawn(6)
    rng_plant, rng_bulk, rng_labs, rng_media, rng_codes, rng_cols = (
        np.random.default_rng(s) for s in seeds
    )

    rows = Rows()
    planter = Planter(rows, rng_plant)
    plant_cases(planter)
    n_planted = len(rows.adm["hadm_id"])
    if admissions < n_planted:
        raise ConfigError(f"--admissions must be at least {n_planted} (the planted edge cases)")
    n_bulk = admissions - n_planted
    codes = synth.latent_codes(n_bulk, signal, rng_codes)
    bulk(rows, n_bulk, codes, rng_bulk)

    root = out
    iv, ecg_root, cxr_root = root / IV_DIR, root / ECG_DIR, root / CXR_DIR
    for d in (iv / "hosp", ecg_root / "files", cxr_root / "files"):
        d.mkdir(parents=True, exist_ok=True)

    adm = rows.arrays("adm")
    n = adm["hadm_id"].size
    say(f"admissions: {n:,}")
    admit, stay = adm["admittime"].astype(np.int64), adm["stay"].astype(np.int64)
    _write_csv(
        iv / "hosp" / "admissions.csv.gz",
        {
            "subject_id": pa.array(adm["subject_id"].astype(np.int64)),
            "hadm_id": pa.array(adm["hadm_id"].astype(np.int64)),
            "admittime": _ts(admit),
            "dischtime": _ts(admit + stay),
            "deathtime": pa.nulls(n, pa.timestamp("s")),
            "admission_type": _text("EW EMER.", n),
            "admit_provider_id": pa.nulls(n, pa.string()),
            "admission_location": _text("EMERGENCY ROOM", n),
            "discharge_location": _text("HOME", n),
            "insurance": _text("Other", n),
            "language": _text("ENGLISH", n),
            "marital_status": pa.nulls(n, pa.string()),
            "race": _text("UNKNOWN", n),
            "edregtime": _ts(admit - 4 * HOUR),
            "edouttime": _ts(admit),
            "hospital_expire_flag": pa.array(np.zeros(n, dtype=np.int64)),
        },
        ADMISSIONS_ALL,
    )
    subjects = np.unique(adm["subject_id"].astype(np.int64))
    k = subjects.size
    _write_csv(
        iv / "hosp" / "patients.csv.gz",
        {
            "subject_id": pa.array(subjects),
            "gender": pa.array(np.where(rng_cols.random(k) < 0.5, "F", "M")),
            "anchor_age": pa.array(rng_cols.integers(18, 91, k)),
            "anchor_year": pa.array(rng_cols.integers(2110, 2190, k)),
            "anchor_year_group": _text("2011 - 2013", k),
            "dod": pa.nulls(k, pa.string()),
        },
        PATIENTS_ALL,
    )
    items = np.asarray(sorted(set(LAB_ITEMIDS) | set(OTHER_ITEMIDS.tolist())), dtype=np.int64)
    _write_csv(
        iv / "hosp" / "d_labitems.csv.gz",
        {
            "itemid": pa.array(items),
            "label": pa.array([LAB_NAMES.get(int(i), f"Synthetic lab {i}") for i in items]),
            "fluid": _text("Blood", items.size),
            "category": _text("Chemistry", items.size),
        },
        ("itemid", "label", "fluid", "category"),
    )

    # labevents: planted rows first, then the bulk streamed in chunks; gzip runs in a second
    # thread (zlib releases the GIL) while the next chunk is generated
    lab_rows = 0
    planted = rows.arrays("labs")
    chunks: list[dict[str, np.ndarray]] = []
    if planted["itemid"].size:
        chunks.append(
            {
                "labevent_id": planted["labevent_id"].astype(np.int64),
                "subject_id": planted["subject_id"].astype(np.int64),
                "hadm_id": np.array(
                    [-1 if v is None else v for v in planted["hadm_id"]], dtype=np.int64
                ),
                "itemid": planted["itemid"].astype(np.int64),
                "time": planted["time"].astype(np.int64),
                "valuenum": np.array(
                    [np.nan if v is None else v for v in planted["valuenum"]], dtype=np.float64
                ),
            }
        )
    bulk_chunks = bulk_labs(
        adm["subject_id"][n_planted:].astype(np.int64),
        adm["hadm_id"][n_planted:].astype(np.int64),
        admit[n_planted:],
        stay[n_planted:],
        codes["labs"],
        labs_per_admission,
        rng_labs,
        first_id=1_000_001,
    )
    with (
        _gzip(iv / "hosp" / "labevents.csv.gz", 1) as handle,
        ThreadPoolExecutor(max_workers=1) as writer,
    ):
        handle.write((",".join(LABEVENTS_ALL) + "\n").encode())
        pending = None
        for chunk in itertools.chain(chunks, bulk_chunks):
            text = io.BytesIO()
            _write_csv(Path(), _lab_columns(chunk, rng_cols), LABEVENTS_ALL, append_to=text)
            if pending is not None:
                pending.result()
            pending = writer.submit(handle.write, text.getvalue())
            lab_rows += chunk["itemid"].size
            say(f"labevents: {lab_rows:,} rows")
        if pending is not None:
            pending.result()

    ecg = _write_ecgs(rows, ecg_root, media, rng_media, say)
    cxr = _write_cxrs(rows, cxr_root, media, rng_media, rng_cols, say)
    (root / "fake_cases.json").write_text(json.dumps(planter.cases, indent=1) + "\n")
    (root / "README.md").write_text(
        README.format(
            seed=seed,
            admissions=n,
            signal=signal,
            iv=IV_DIR,
            ecg=ECG_DIR,
            cxr=CXR_DIR,
            root=root,
            fractions=SMALL_FRACTIONS if n < SMALL_TREE else "",
        )
    )
    return FakeSummary(root, n, ecg, cxr, lab_rows, len(planter.cases))


def _write_ecgs(
    rows: Rows, root: Path, media: bool, rng: np.random.Generator, say: Callable[[str], None]
) -> int:
    e = rows.arrays("ecg")
    subject, study = e["subject_id"].astype(np.int64), e["study_id"].astype(np.int64)
    when = _ts(e["time"].astype(np.int64))
    when_text = pc.strftime(when, format="%Y-%m-%d %H:%M:%S").to_pylist()
    rel = [f"files/p{str(s)[:4]}/p{s}/s{st}/{st}" for s, st in zip(subject, study, strict=True)]
    _write_csv(
        root / "record_list.csv",
        {
            "subject_id": pa.array(subject),
            "study_id": pa.array(study),
            "file_name": pa.array(study.astype(str)),
            "ecg_time": when,
            "path": pa.array(rel),
        },
        RECORD_LIST_ALL,
    )
    if not media:
        return len(rel)
    synthesizer = synth.EcgSynth(rng)
    for i, (path, kind) in enumerate(zip(rel, e["kind"], strict=True)):
        if kind == "missing":
            continue
        record = root / path
        record.parent.mkdir(parents=True, exist_ok=True)
        digital = synthesizer.digital(e["code"][i], rng)
        if kind == "nan":
            lead = int(rng.integers(0, 12))
            digital[1000:1100, lead] = -32768
        elif kind == "zeros":
            digital[:] = 0
        header = synth.wfdb_header(record.name, digital, when_text[i], int(subject[i]))
        if kind == "corrupt_header":
            header = "this is not a WFDB header\n\x00\x01"
        record.with_name(record.name + ".hea").write_text(header)
        data = digital.tobytes()
        if kind == "truncated":
            data = data[: len(data) // 2]
        record.with_name(record.name + ".dat").write_bytes(data)
        if (i + 1) % 5000 == 0:
            say(f"ECG records: {i + 1:,}")
    return len(rel)


def _write_cxrs(
    rows: Rows,
    root: Path,
    media: bool,
    rng: np.random.Generator,
    rng_cols: np.random.Generator,
    say: Callable[[str], None],
) -> int:
    c = rows.arrays("cxr")
    n = c["study_id"].size
    subject, study = c["subject_id"].astype(np.int64), c["study_id"].astype(np.int64)
    when = c["time"].astype(np.float64)
    whole = np.floor(when).astype(np.int64)
    day = whole // DAY * DAY
    date_text = pc.strftime(_ts(day), format="%Y%m%d")
    clock = [_study_time(float(t - d)) for t, d in zip(when, day, strict=True)]
    view = c["view"]
    meaning = {
        "AP": "antero-posterior",
        "PA": "postero-anterior",
        "LATERAL": "lateral",
        "LL": "left lateral",
    }
    _write_csv(
        root / "mimic-cxr-2.0.0-metadata.csv.gz",
        {
            "dicom_id": pa.array(c["dicom_id"], pa.string()),
            "subject_id": pa.array(subject),
            "study_id": pa.array(study),
            "PerformedProcedureStepDescription": _text("CHEST (PA AND LAT)", n),
            "ViewPosition": pa.array([v or None for v in view], pa.string()),
            "Rows": pa.array(np.full(n, 3056)),
            "Columns": pa.array(np.full(n, 2544)),
            "StudyDate": pc.cast(date_text, pa.int64()),
            "StudyTime": pa.array(np.asarray(clock, dtype=np.float64)),
            "ProcedureCodeSequence_CodeMeaning": _text("CHEST (PA AND LAT)", n),
            "ViewCodeSequence_CodeMeaning": pa.array([meaning.get(v) for v in view], pa.string()),
            "PatientOrientationCodeSequence_CodeMeaning": _text("Erect", n),
        },
        CXR_METADATA_ALL,
    )
    studies, first = np.unique(study, return_index=True)
    keep = ~np.isin(
        studies, np.fromiter(rows.no_chexpert, dtype=np.int64, count=len(rows.no_chexpert))
    )
    studies, owners = studies[keep], subject[first][keep]
    values = np.array(["1.0", "0.0", "-1.0", None], dtype=object)
    labels = {
        label: pa.array(
            values[rng_cols.choice(4, studies.size, p=[0.15, 0.2, 0.05, 0.6])], pa.string()
        )
        for label in CHEXPERT_LABELS
    }
    _write_csv(
        root / "mimic-cxr-2.0.0-chexpert.csv.gz",
        {
            "subject_id": pa.array(owners),
            "study_id": pa.array(studies),
            **labels,
        },
        ("subject_id", "study_id", *CHEXPERT_LABELS),
    )
    if not media:
        return n
    synthesizer = synth.CxrSynth(rng)
    for i in range(n):
        if c["jpg"][i] == "missing":
            continue
        s = str(subject[i])
        path = root / "files" / f"p{s[:2]}" / f"p{s}" / f"s{study[i]}" / f"{c['dicom_id'][i]}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = synthesizer.jpeg(c["code"][i], rng)
        if c["jpg"][i] == "truncated":
            data = data[: len(data) // 2]
        path.write_bytes(data)
        if (i + 1) % 5000 == 0:
            say(f"CXR images: {i + 1:,}")
    return n


# -- CLI ------------------------------------------------------------------------------------


def fake_mimic_command(
    out: Annotated[Path, typer.Argument(help="New (or empty) folder for the synthetic tree.")],
    admissions: Annotated[
        int, typer.Option(help="Admissions in admissions.csv.gz, planted edge cases included.")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same tree.")] = 0,
    signal: Annotated[
        str,
        typer.Option(
            help="Latent shaping each admission's ECG, labs and CXR: none; pairwise (one shared "
            "code); higher-order (as in Symile-M3: the ECG alone says nothing about the CXR, the "
            "labs alone half of it, the two jointly all of it); or xor (the CXR depends on ECG "
            "and labs only jointly)."
        ),
    ] = "none",
    labs_per_admission: Annotated[
        int, typer.Option(help="labevents rows per admission (MIMIC-IV has about 280).")
    ] = 40,
    media: Annotated[
        bool,
        typer.Option(
            "--media/--no-media",
            help="Write WFDB records and JPGs (--no-media: tables only, for scale tests).",
        ),
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Write a SYNTHETIC MIMIC-shaped source tree (no patient data) for tests and demos."""
    summary = generate(
        out,
        admissions,
        seed=seed,
        signal=signal,
        labs_per_admission=labs_per_admission,
        media=media,
    )
    if not quiet:
        typer.echo(
            f"SYNTHETIC tree at {summary.root}: {summary.admissions:,} admissions, "
            f"{summary.ecg_records:,} ECG records, {summary.cxr_images:,} CXR images, "
            f"{summary.lab_rows:,} lab rows, {summary.planted_cases} planted cases "
            f"(fake_cases.json)\nbuild it: symile-bench build mimic --mimic-iv {out / IV_DIR} "
            f"--mimic-iv-ecg {out / ECG_DIR} --mimic-cxr-jpg {out / CXR_DIR} --out OUT"
            + (SMALL_FRACTIONS if summary.admissions < SMALL_TREE else "")
        )
