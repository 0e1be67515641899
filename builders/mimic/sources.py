"""Find the three PhysioNet releases on disk and read their tables, with one-line errors.

Every problem a user can fix (a wrong root, a missing file or column, a date in an unexpected
format) raises `SourceError` naming the file, the column and the fix. Empty values are not
errors: the rows are skipped and counted by the caller.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from builders.mimic.constants import (
    ADMISSIONS_COLUMNS,
    CHEXPERT_COLUMNS,
    CXR_METADATA_COLUMNS,
    LABEVENTS_COLUMNS,
    RECORD_LIST_COLUMNS,
)
from symile_bench.errors import ConfigError, SourceError

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
TIME_FORMAT_TEXT = "YYYY-MM-DD HH:MM:SS"


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


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def header_columns(path: Path) -> list[str]:
    """The column names in the first line of a CSV (decompressing only that much)."""
    try:
        with _open_text(path) as handle:
            return next(csv.reader(handle), [])
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read ({exc}); re-download the file") from None


def require_columns(path: Path, needed: Sequence[str]) -> list[str]:
    """Check the header names every column we read; return the header."""
    header = header_columns(path)
    absent = [c for c in needed if c not in header]
    if absent:
        raise SourceError(
            f"{path}: column {', '.join(repr(c) for c in absent)} missing (found "
            f"{', '.join(header[:12]) or 'no header'}); is this the file of the named PhysioNet "
            "release, as downloaded?"
        )
    return header


def check_all(sources: MimicSources) -> None:
    """Fail fast, before any work, on a missing column in any table."""
    require_columns(sources.admissions, ADMISSIONS_COLUMNS)
    require_columns(sources.labevents, LABEVENTS_COLUMNS)
    require_columns(sources.record_list, RECORD_LIST_COLUMNS)
    require_columns(sources.cxr_metadata, CXR_METADATA_COLUMNS)
    require_columns(sources.chexpert, CHEXPERT_COLUMNS)


_CONVERSION = re.compile(r"column #(\d+).*conversion error to ([^:]+): invalid value '(.*)'", re.S)


def _explain(path: Path, header: list[str], exc: Exception) -> SourceError:
    match = _CONVERSION.search(str(exc))
    if match:
        index, kind, value = int(match.group(1)), match.group(2), match.group(3)
        column = header[index] if index < len(header) else f"#{index}"
        expected = TIME_FORMAT_TEXT if kind.startswith("timestamp") else kind
        return SourceError(
            f"{path}: column '{column}' has value '{value[:40]}', expected {expected}; fix or "
            "re-download the file (it must be the release's file, not a re-saved copy)"
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SourceError(f"{path}: cannot parse ({first}); re-download the file")


def _options(
    types: dict[str, pa.DataType], block_size: int | None = None
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    read = pacsv.ReadOptions(block_size=block_size) if block_size else pacsv.ReadOptions()
    # MIMIC free-text columns (labevents.comments) may hold quoted line breaks.
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        include_columns=list(types),
        column_types=types,
        timestamp_parsers=list(TIME_FORMATS),
        strings_can_be_null=True,
    )
    return read, parse, convert


def read_table(path: Path, types: dict[str, pa.DataType]) -> pa.Table:
    """Read the named columns with their types; a malformed value raises SourceError."""
    header = require_columns(path, list(types))
    read, parse, convert = _options(types)
    try:
        return pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        raise _explain(path, header, exc) from None


def stream_table(
    path: Path, types: dict[str, pa.DataType], block_size: int = 16 << 20
) -> Iterator[pa.RecordBatch]:
    """Stream the named columns in record batches of about `block_size` bytes of CSV."""
    header = require_columns(path, list(types))
    read, parse, convert = _options(types, block_size)
    try:
        reader = pacsv.open_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        )
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            yield batch
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        raise _explain(path, header, exc) from None
