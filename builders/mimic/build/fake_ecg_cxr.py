"""The synthetic MIMIC-IV-ECG and MIMIC-CXR-JPG releases: their tables, WFDB records and JPGs,
with the planted broken files (NaN leads, flat records, missing JPGs) the cohort rules drop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builders.mimic.build import synth
from builders.mimic.build.constants import CHEXPERT_LABELS, CXR_METADATA_ALL, RECORD_LIST_ALL
from builders.mimic.build.fake_csv import strings, timestamps, write_csv
from builders.mimic.build.fake_rows import DAY, Rows

__all__ = ["write_cxrs", "write_ecgs"]


def _study_time(seconds_of_day: float) -> float:
    """StudyTime as the CSV holds it: HHMMSS.fff as a number (so leading zeros vanish)."""
    whole = int(seconds_of_day)
    value = (whole // 3600) * 10000 + (whole // 60 % 60) * 100 + whole % 60
    return round(value + seconds_of_day - whole, 3)


def write_ecgs(
    rows: Rows, root: Path, media: bool, rng: np.random.Generator, say: Callable[[str], None]
) -> int:
    e = rows.arrays("ecg")
    subject, study = e["subject_id"].astype(np.int64), e["study_id"].astype(np.int64)
    when = timestamps(e["time"].astype(np.int64))
    when_text = pc.strftime(when, format="%Y-%m-%d %H:%M:%S").to_pylist()
    rel = [f"files/p{str(s)[:4]}/p{s}/s{st}/{st}" for s, st in zip(subject, study, strict=True)]
    write_csv(
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


def write_cxrs(
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
    date_text = pc.strftime(timestamps(day), format="%Y%m%d")
    clock = [_study_time(float(t - d)) for t, d in zip(when, day, strict=True)]
    view = c["view"]
    meaning = {
        "AP": "antero-posterior",
        "PA": "postero-anterior",
        "LATERAL": "lateral",
        "LL": "left lateral",
    }
    write_csv(
        root / "mimic-cxr-2.0.0-metadata.csv.gz",
        {
            "dicom_id": pa.array(c["dicom_id"], pa.string()),
            "subject_id": pa.array(subject),
            "study_id": pa.array(study),
            "PerformedProcedureStepDescription": strings("CHEST (PA AND LAT)", n),
            "ViewPosition": pa.array([v or None for v in view], pa.string()),
            "Rows": pa.array(np.full(n, 3056)),
            "Columns": pa.array(np.full(n, 2544)),
            "StudyDate": pc.cast(date_text, pa.int64()),
            "StudyTime": pa.array(np.asarray(clock, dtype=np.float64)),
            "ProcedureCodeSequence_CodeMeaning": strings("CHEST (PA AND LAT)", n),
            "ViewCodeSequence_CodeMeaning": pa.array([meaning.get(v) for v in view], pa.string()),
            "PatientOrientationCodeSequence_CodeMeaning": strings("Erect", n),
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
    write_csv(
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
