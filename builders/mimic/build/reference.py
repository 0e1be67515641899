"""A slow, literal implementation of the cohort rules: a Python loop over admissions, pandas
filters per subject, and `wfdb.rdrecord` on every ECG record (as the release's script does).

It is the executable specification the vectorised `cohort.py` is tested against, and the
baseline `benchmarks/mimic_cohort.py` times. Never used by the build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from builders.mimic.build import ecg as ecg_io
from builders.mimic.build.constants import CXR_VIEWS, LAB_ITEMIDS
from builders.mimic.build.cxr_selection import JPEG_OK, jpeg_status
from builders.mimic.build.sources import MimicSources


def _ecg_usable(path: Path) -> bool:
    import wfdb

    try:
        signal = wfdb.rdrecord(str(path)).p_signal
    except Exception:
        return False
    if signal is None or signal.shape != (5000, 12):
        return False
    return ecg_io.classify(np.asarray(signal, dtype=np.float64)) == ecg_io.OK


def reference_cohort(sources: MimicSources) -> dict[int, dict[str, Any]]:
    """hadm_id -> {"status", "ecg_study_id", "cxr_dicom_id", "labs": {itemid: value}}."""
    adm = pd.read_csv(sources.admissions, usecols=["subject_id", "hadm_id", "admittime"])
    adm["admittime"] = pd.to_datetime(adm["admittime"])

    ecg = pd.read_csv(sources.record_list)
    ecg["ecg_time"] = pd.to_datetime(ecg["ecg_time"])
    ecg["usable"] = [_ecg_usable(sources.ecg_root / p) for p in ecg["path"]]

    cxr = pd.read_csv(sources.cxr_metadata)
    cxr = cxr[cxr["ViewPosition"].isin(CXR_VIEWS)].copy()
    clock = cxr["StudyTime"].astype(float).astype(int).astype(str).str.zfill(6)
    cxr["when"] = pd.to_datetime(cxr["StudyDate"].astype(str) + " " + clock, format="%Y%m%d %H%M%S")
    cxr["path"] = [
        f"files/p{str(s)[:2]}/p{s}/s{st}/{d}.jpg"
        for s, st, d in zip(cxr["subject_id"], cxr["study_id"], cxr["dicom_id"], strict=True)
    ]
    cxr["usable"] = [jpeg_status(sources.cxr_root / p) == JPEG_OK for p in cxr["path"]]
    chexpert = set(pd.read_csv(sources.chexpert, usecols=["study_id"])["study_id"])

    labs = pd.read_csv(
        sources.labevents, usecols=["labevent_id", "subject_id", "itemid", "charttime", "valuenum"]
    )
    labs = labs[labs["itemid"].isin(LAB_ITEMIDS) & labs["valuenum"].notna()].copy()
    labs["charttime"] = pd.to_datetime(labs["charttime"])

    by_subject = {
        name: dict(tuple(frame.groupby("subject_id")))
        for name, frame in (("ecg", ecg), ("cxr", cxr), ("labs", labs))
    }
    day = pd.Timedelta(hours=24)
    out: dict[int, dict[str, Any]] = {}
    for row in adm.itertuples(index=False):
        a, s = row.admittime, row.subject_id
        result: dict[str, Any] = {"ecg_study_id": None, "cxr_dicom_id": None, "labs": {}}
        status = None

        e = by_subject["ecg"].get(s, ecg.iloc[:0])
        e = e[(e["ecg_time"] - a >= -day) & (e["ecg_time"] - a <= day)]
        good = e[e["usable"]].sort_values(["ecg_time", "study_id"])
        if len(good):
            result["ecg_study_id"] = int(good.iloc[0]["study_id"])
        else:
            status = "no_valid_ecg_in_window" if len(e) else "no_ecg_in_window"

        c = by_subject["cxr"].get(s, cxr.iloc[:0])
        c = c[(c["when"] - a > day) & (c["when"] - a <= 3 * day)]
        good = c[c["usable"]].sort_values(["when", "dicom_id"])
        if len(good) and good.iloc[0]["study_id"] in chexpert:
            result["cxr_dicom_id"] = good.iloc[0]["dicom_id"]
        elif status is None:
            status = (
                "chosen_cxr_without_chexpert"
                if len(good)
                else "no_readable_cxr_in_window"
                if len(c)
                else "no_cxr_in_window"
            )

        lab = by_subject["labs"].get(s, labs.iloc[:0])
        lab = lab[(lab["charttime"] - a >= -day) & (lab["charttime"] - a <= day)]
        for itemid, group in lab.groupby("itemid"):
            first = group.sort_values(["charttime", "labevent_id"]).iloc[0]
            result["labs"][int(itemid)] = float(first["valuenum"])
        if not result["labs"] and status is None:
            status = "no_lab_in_window"
        result["status"] = status or "kept"
        out[int(row.hadm_id)] = result
    return out
