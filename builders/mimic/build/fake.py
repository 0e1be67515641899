"""`symile-bench fake-mimic OUT`: a SYNTHETIC source tree shaped like the three PhysioNet
releases (file names, columns, date formats, gzip, directory layout, WFDB records, JPGs).

No real patient data: every value is generated. The tree holds
- planted edge cases, one small group of admissions per cohort rule, each listed with its
  expected outcome in `OUT/fake_cases.json` (what the tests check the builder against);
- bulk admissions drawn at random (vectorised, so it scales to full-MIMIC table sizes), with a
  learnable latent (`--signal`, see `synth.py`) shaping their ECGs, labs and CXRs.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from builders.mimic.build import synth
from builders.mimic.build.constants import (
    ADMISSIONS_ALL,
    LAB_ITEMIDS,
    LAB_NAMES,
    LABEVENTS_ALL,
    PATIENTS_ALL,
    SYNTHETIC_MARKER,
)
from builders.mimic.build.fake_bulk import OTHER_ITEMIDS, bulk, bulk_labs
from builders.mimic.build.fake_cases import plant_cases
from builders.mimic.build.fake_csv import gzip_writer, lab_columns, strings, timestamps, write_csv
from builders.mimic.build.fake_ecg_cxr import write_cxrs, write_ecgs
from builders.mimic.build.fake_rows import HOUR, Planter, Rows
from symile_bench.errors import ConfigError

IV_DIR, ECG_DIR, CXR_DIR = "mimiciv/2.2", "mimic-iv-ecg/1.0", "mimic-cxr-jpg/2.0.0"

README = """# SYNTHETIC MIMIC-shaped source tree — not patient data

Written by `symile-bench fake-mimic` (seed {seed}, {admissions} admissions, signal
`{signal}`). Every value here is generated at random. It only imitates the on-disk layout of
MIMIC-IV 2.2 (`{iv}`), MIMIC-IV-ECG 1.0 (`{ecg}`) and MIMIC-CXR-JPG 2.0.0 (`{cxr}`) so that the
Symile-MIMIC builder can be tested and demonstrated without credentialed access. Results
obtained on it say nothing about real patients.

`{marker}` (here and in each release root) marks the tree as synthetic: a build from it is
labelled synthetic in its card, manifest and `symile-bench info`.

`fake_cases.json` lists the planted edge cases (one group of admissions per cohort rule) and
the outcome the release's rules give for each.

Build it:

    symile-bench build mimic --mimic-iv {root}/{iv} --mimic-iv-ecg {root}/{ecg} \\
        --mimic-cxr-jpg {root}/{cxr} --out symile-mimic-fake{fractions}
"""

SMALL_TREE = 1000  # below this, the default 5% test split has fewer than 10 admissions
SMALL_FRACTIONS = " --test-frac 0.2 --val-frac 0.2"


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
    write_csv(
        iv / "hosp" / "admissions.csv.gz",
        {
            "subject_id": pa.array(adm["subject_id"].astype(np.int64)),
            "hadm_id": pa.array(adm["hadm_id"].astype(np.int64)),
            "admittime": timestamps(admit),
            "dischtime": timestamps(admit + stay),
            "deathtime": pa.nulls(n, pa.timestamp("s")),
            "admission_type": strings("EW EMER.", n),
            "admit_provider_id": pa.nulls(n, pa.string()),
            "admission_location": strings("EMERGENCY ROOM", n),
            "discharge_location": strings("HOME", n),
            "insurance": strings("Other", n),
            "language": strings("ENGLISH", n),
            "marital_status": pa.nulls(n, pa.string()),
            "race": strings("UNKNOWN", n),
            "edregtime": timestamps(admit - 4 * HOUR),
            "edouttime": timestamps(admit),
            "hospital_expire_flag": pa.array(np.zeros(n, dtype=np.int64)),
        },
        ADMISSIONS_ALL,
    )
    subjects = np.unique(adm["subject_id"].astype(np.int64))
    k = subjects.size
    write_csv(
        iv / "hosp" / "patients.csv.gz",
        {
            "subject_id": pa.array(subjects),
            "gender": pa.array(np.where(rng_cols.random(k) < 0.5, "F", "M")),
            "anchor_age": pa.array(rng_cols.integers(18, 91, k)),
            "anchor_year": pa.array(rng_cols.integers(2110, 2190, k)),
            "anchor_year_group": strings("2011 - 2013", k),
            "dod": pa.nulls(k, pa.string()),
        },
        PATIENTS_ALL,
    )
    items = np.asarray(sorted(set(LAB_ITEMIDS) | set(OTHER_ITEMIDS.tolist())), dtype=np.int64)
    write_csv(
        iv / "hosp" / "d_labitems.csv.gz",
        {
            "itemid": pa.array(items),
            "label": pa.array([LAB_NAMES.get(int(i), f"Synthetic lab {i}") for i in items]),
            "fluid": strings("Blood", items.size),
            "category": strings("Chemistry", items.size),
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
        gzip_writer(iv / "hosp" / "labevents.csv.gz", 1) as handle,
        ThreadPoolExecutor(max_workers=1) as writer,
    ):
        handle.write((",".join(LABEVENTS_ALL) + "\n").encode())
        pending = None
        for chunk in itertools.chain(chunks, bulk_chunks):
            text = io.BytesIO()
            write_csv(Path(), lab_columns(chunk, rng_cols), LABEVENTS_ALL, append_to=text)
            if pending is not None:
                pending.result()
            pending = writer.submit(handle.write, text.getvalue())
            lab_rows += chunk["itemid"].size
            say(f"labevents: {lab_rows:,} rows")
        if pending is not None:
            pending.result()

    ecg = write_ecgs(rows, ecg_root, media, rng_media, say)
    cxr = write_cxrs(rows, cxr_root, media, rng_media, rng_cols, say)
    (root / "fake_cases.json").write_text(json.dumps(planter.cases, indent=1) + "\n")
    stamp = {
        "synthetic": True,
        "written_by": "symile-bench fake-mimic",
        "seed": seed,
        "admissions": n,
        "signal": signal,
        "note": "Generated data, no patient data. `symile-bench build mimic` finds this file "
        "in a source root and marks its output synthetic; results on it are not Symile-MIMIC "
        "results.",
    }
    for folder in (root, iv, ecg_root, cxr_root):  # each root a build may be pointed at
        (folder / SYNTHETIC_MARKER).write_text(json.dumps(stamp, indent=1) + "\n")
    (root / "README.md").write_text(
        README.format(
            seed=seed,
            admissions=n,
            signal=signal,
            iv=IV_DIR,
            ecg=ECG_DIR,
            cxr=CXR_DIR,
            root=root,
            marker=SYNTHETIC_MARKER,
            fractions=SMALL_FRACTIONS if n < SMALL_TREE else "",
        )
    )
    return FakeSummary(root, n, ecg, cxr, lab_rows, len(planter.cases))
