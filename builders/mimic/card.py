"""Values for the `cards/mimic.md` placeholders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from builders.mimic.config import MimicConfig
from builders.mimic.constants import LAB_ITEMIDS, LAB_NAMES


def _funnel(report: Mapping[str, Any] | None) -> str:
    if not report:
        return (
            "The admissions kept and dropped per rule are in `build_report.json`, written "
            "next to this card by the build."
        )
    adm = report["admissions"]
    lines = [
        f"Of {adm['total']:,} admissions in `admissions.csv.gz`, {adm['kept']:,} "
        f"({adm['patients_kept']:,} patients) were kept. Dropped, in order of the rules "
        "(an admission counts under the first rule it fails):",
        "",
        "| rule | dropped | remaining |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{row['rule']}` | {row['dropped']:,} | {row['remaining']:,} |"
        for row in report["funnel"]
    ]
    errors = report.get("record_errors", {})
    if errors:
        lines += [
            "",
            "Records never chosen because they are unusable (in some window): "
            + ", ".join(f"`{k}` {v['count']:,}" for k, v in errors.items())
            + ".",
        ]
    lines += ["", "Details (examples, skipped rows, labevents counts): `build_report.json`."]
    return "\n".join(lines)


def card_variables(
    config: MimicConfig, manifest: Mapping[str, Any], report: Mapping[str, Any] | None
) -> dict[str, str]:
    if config.train_n is not None:
        split_rule = (
            f"the release's procedure by admission counts: {config.train_n:,} random "
            "admissions for train, validation/test admissions of train patients "
            f"dropped, then {config.val_n:,} for validation, test admissions of "
            "validation patients dropped, the rest test"
        )
    else:
        split_rule = (
            f"by patient: {config.test_frac:.0%} of patients for test, "
            f"{config.val_frac:.0%} of the remaining patients for validation, the "
            "rest train; every admission follows its patient"
        )
    splits = manifest.get("variants", {}).get("default", {}).get("splits", {})
    rows = {name: splits.get(name, {}).get("rows", 0) for name in ("train", "validation", "test")}
    labs = ", ".join(f"{i} ({LAB_NAMES[i]})" for i in LAB_ITEMIDS)
    return {
        "split_rule": split_rule,
        "train_n": f"{rows['train']:,}",
        "val_n": f"{rows['validation']:,}",
        "test_n": f"{rows['test']:,}",
        "candidates": str(config.candidates),
        "negatives": str(config.candidates - 1),
        "chance": f"1/{config.candidates} = {1 / config.candidates:.3f}",
        "cxr_size": str(config.cxr_size),
        "lab_list": labs,
        "funnel": _funnel(report),
        "cohort_only_note": (
            "**This directory holds only the cohort (`--cohort-only`)**: `cohort.parquet` "
            "lists every admission with its status; no ECG/CXR shards were written.\n\n"
            if config.cohort_only
            else ""
        ),
    }
