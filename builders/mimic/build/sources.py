"""Find the three PhysioNet releases on disk, with one-line errors naming the option, the file
and the fix. Their tables are read through `symile_bench.source_tables` (one reading path, one
rule for the paths a table names)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from builders.mimic.build.constants import (
    ADMISSIONS_COLUMNS,
    CHEXPERT_COLUMNS,
    CXR_METADATA_COLUMNS,
    LABEVENTS_COLUMNS,
    RECORD_LIST_COLUMNS,
    SYNTHETIC_MARKER,
)
from symile_bench.errors import ConfigError, SourceError


@dataclass(frozen=True)
class MimicSources:
    """Absolute paths of every file the builder reads."""

    admissions: Path
    labevents: Path
    record_list: Path
    ecg_root: Path
    cxr_metadata: Path
    chexpert: Path
    cxr_root: Path

    def synthetic_markers(self) -> list[Path]:
        """`fake-mimic`'s marker files found in the roots (MIMIC-IV's: above or in hosp/)."""
        hosp = self.admissions.parent
        roots = dict.fromkeys((hosp.parent, hosp, self.ecg_root, self.cxr_root))
        return [root / SYNTHETIC_MARKER for root in roots if (root / SYNTHETIC_MARKER).is_file()]


def _find(root: Path, option: str, release: str, name: str, shown: str | None = None) -> Path:
    for candidate in (name, name.removesuffix(".gz")):
        if (root / candidate).is_file():
            return root / candidate
    raise SourceError(
        f"{option} {root}: {shown or name} not found; pass the root of the {release} download "
        f"(the folder that holds {shown or name})"
    )


def locate(
    mimic_iv: Path | None, mimic_iv_ecg: Path | None, mimic_cxr_jpg: Path | None
) -> MimicSources:
    """Resolve the three roots; accept `.csv` as well as `.csv.gz` and MIMIC-IV's hosp/ itself."""
    roots = {
        "--mimic-iv": mimic_iv,
        "--mimic-iv-ecg": mimic_iv_ecg,
        "--mimic-cxr-jpg": mimic_cxr_jpg,
    }
    missing = [k for k, v in roots.items() if v is None]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} required: the root folder of each PhysioNet download "
            "(MIMIC-IV 2.2, MIMIC-IV-ECG 1.0, MIMIC-CXR-JPG 2.0.0); `symile-bench fake-mimic "
            "DIR` writes a synthetic one"
        )
    for option, root in roots.items():
        if not root.is_dir():  # type: ignore[union-attr]
            raise SourceError(f"{option} {root}: not a directory; pass the download's root folder")
    iv = mimic_iv.resolve()  # type: ignore[union-attr]
    ecg = mimic_iv_ecg.resolve()  # type: ignore[union-attr]
    cxr = mimic_cxr_jpg.resolve()  # type: ignore[union-attr]
    hosp = iv / "hosp" if (iv / "hosp").is_dir() else iv
    iv_release, ecg_release, cxr_release = "MIMIC-IV 2.2", "MIMIC-IV-ECG 1.0", "MIMIC-CXR-JPG 2.0.0"
    return MimicSources(
        admissions=_find(
            hosp, "--mimic-iv", iv_release, "admissions.csv.gz", "hosp/admissions.csv.gz"
        ),
        labevents=_find(
            hosp, "--mimic-iv", iv_release, "labevents.csv.gz", "hosp/labevents.csv.gz"
        ),
        record_list=_find(ecg, "--mimic-iv-ecg", ecg_release, "record_list.csv"),
        ecg_root=ecg,
        cxr_metadata=_find(cxr, "--mimic-cxr-jpg", cxr_release, "mimic-cxr-2.0.0-metadata.csv.gz"),
        chexpert=_find(cxr, "--mimic-cxr-jpg", cxr_release, "mimic-cxr-2.0.0-chexpert.csv.gz"),
        cxr_root=cxr,
    )


def check_all(sources: MimicSources) -> None:
    """Fail fast, before any work, on a missing column in any table."""
    from symile_bench.source_tables import require_columns

    require_columns(sources.admissions, ADMISSIONS_COLUMNS)
    require_columns(sources.labevents, LABEVENTS_COLUMNS)
    require_columns(sources.record_list, RECORD_LIST_COLUMNS)
    require_columns(sources.cxr_metadata, CXR_METADATA_COLUMNS)
    require_columns(sources.chexpert, CHEXPERT_COLUMNS)
