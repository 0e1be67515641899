"""Options of the Symile-MIMIC builder (each Field description is its `--help` text), and
what the build records about its sources (`synthetic`: no option, set by `prepare`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from builders.mimic.build.constants import SYNTHETIC_MARKER
from symile_bench.builder import BuilderConfig


class MimicConfig(BuilderConfig):
    mimic_iv: Path | None = Field(
        None,
        description="Root of the MIMIC-IV 2.2 download (the folder that holds hosp/). Required.",
    )
    mimic_iv_ecg: Path | None = Field(
        None,
        description="Root of the MIMIC-IV-ECG 1.0 download (holds record_list.csv and files/). "
        "Required.",
    )
    mimic_cxr_jpg: Path | None = Field(
        None,
        description="Root of the MIMIC-CXR-JPG 2.0.0 download (holds "
        "mimic-cxr-2.0.0-metadata.csv.gz and files/). Required.",
    )
    test_frac: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Fraction of patients in the test split (ignored with --train-n/--val-n).",
    )
    val_frac: float = Field(
        0.07,
        gt=0,
        lt=1,
        description="Fraction of the remaining patients in the validation split "
        "(ignored with --train-n/--val-n).",
    )
    train_n: int | None = Field(
        None,
        ge=1,
        description="Release-style split by admission counts (use with --val-n; the release "
        "used 10000 and 750): this many train admissions; val/test admissions of train "
        "patients are dropped, then --val-n validation admissions, the rest is test.",
    )
    val_n: int | None = Field(
        None, ge=1, description="Validation admissions of the release-style split (see --train-n)."
    )
    candidates: int = Field(
        10,
        ge=2,
        description="Retrieval set size of each val/test query: its own CXR plus this many "
        "minus one drawn from the other admissions of its split.",
    )
    cxr_size: int = Field(
        320,
        ge=16,
        description="CXR smaller edge after resizing; val/test are centre-cropped to a square "
        "of this size, train keeps the uncropped resized image.",
    )
    shard_rows: int = Field(
        500, ge=1, description="Rows per shard file (part of the config: it fixes the output)."
    )
    cohort_only: bool = Field(
        False,
        description="Stop after the cohort: write cohort.parquet and build_report.json for "
        "inspection, no ECG/CXR shards.",
    )
    synthetic: bool = Field(
        False,
        description="Recorded by the build, not chosen: true when a source root holds "
        f"fake-mimic's {SYNTHETIC_MARKER} marker, so the output is a synthetic stand-in, not "
        "Symile-MIMIC (manifest config, card title, `info`).",
        json_schema_extra={"cli": False},
    )
