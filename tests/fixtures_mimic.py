"""Shared helpers for the Symile-MIMIC tests: a synthetic source tree written by the real
`symile-bench fake-mimic` command, and the matching `build mimic` arguments."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from .conftest import run_cli

IV, ECG, CXR = "mimiciv/2.2", "mimic-iv-ecg/1.0", "mimic-cxr-jpg/2.0.0"


def fake_tree(root: Path, admissions: int = 200, seed: int = 0, *extra: str) -> Path:
    run_cli("fake-mimic", root, "--admissions", str(admissions), "--seed", str(seed), "-q", *extra)
    return root


def source_args(tree: Path) -> list[str]:
    return [
        "--mimic-iv",
        str(tree / IV),
        "--mimic-iv-ecg",
        str(tree / ECG),
        "--mimic-cxr-jpg",
        str(tree / CXR),
    ]


def build(tree: Path, out: Path, *extra: str, check: bool = True):
    """`symile-bench build mimic` with split fractions large enough for a small tree."""
    return run_cli(
        "build",
        "mimic",
        *source_args(tree),
        "--out",
        out,
        "--test-frac",
        "0.2",
        "--val-frac",
        "0.2",
        "-q",
        *extra,
        check=check,
    )


def cohort(out: Path) -> pa.Table:
    return pa.ipc.open_stream(pa.memory_map(str(out / "pools" / "mimic-cohort.arrow"))).read_all()


def cases(tree: Path) -> dict[str, list[dict[str, Any]]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for case in json.loads((tree / "fake_cases.json").read_text()):
        by_name.setdefault(case["case"], []).append(case)
    return by_name


def report(out: Path) -> dict[str, Any]:
    return json.loads((out / "build_report.json").read_text())


def copy_tree(src: Path, dst: Path, copy_cxr: bool = False) -> Path:
    """A cheap copy: tables copied, the media folders symlinked (CXR JPGs copied on request)."""
    for rel in (IV + "/hosp", ECG, CXR):
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for f in (src / rel).iterdir():
            target = dst / rel / f.name
            if f.is_dir() and copy_cxr and rel == CXR:
                shutil.copytree(f, target)
            elif f.is_dir():
                target.symlink_to(f, target_is_directory=True)
            else:
                target.write_bytes(f.read_bytes())
    return dst


def rewrite_gz(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    """Rewrite a gzipped CSV line by line (`edit` gets and returns the lines)."""
    with gzip.open(path, "rt") as f:
        lines = f.read().splitlines()
    with gzip.open(path, "wt") as f:
        f.write("\n".join(edit(lines)) + "\n")
