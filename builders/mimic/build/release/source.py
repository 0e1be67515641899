"""Reading an unpacked Symile-MIMIC release: one split opened (CSV rows, memory-mapped arrays,
retrieval groups), and the whole release checked once before an import writes anything."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from builders.mimic.build.release.config import ReleaseMimicConfig
from builders.mimic.build.release.layout import (
    DATA_CSV,
    LABS_MEANS,
    N_LABS,
    RELEASE_SPLITS,
    RETRIEVAL_SPLITS,
    SHA256SUMS,
    SPLIT_SOURCE,
    VAL,
    VAL_RETRIEVAL,
    csv_name,
    fields_of,
    open_array,
    read_sha256sums,
    release_files,
    retrieval_groups,
    sha256_file,
)
from symile_bench.errors import ConfigError, SourceError
from symile_bench.progress import progress_bar


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """A release CSV as its header and rows of raw strings (values kept verbatim)."""
    if not path.is_file():
        raise SourceError(f"{path}: missing; the release root holds {path.name}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise SourceError(f"{path}: empty, expected a header row")
        rows = list(reader)
    for number, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise SourceError(
                f"{path}: line {number} has {len(row)} fields, the header {len(header)}"
            )
    return header, rows


@dataclass(frozen=True)
class ReleaseSource:
    """One release split: `query_rows` are the rows that become ours (every train row; the
    label-1 rows of a retrieval split), `members` their candidate rows (None for train)."""

    root: Path
    split: str
    header: list[str]
    rows: list[list[str]]
    arrays: dict[str, np.ndarray]
    hadm_id: np.ndarray
    query_rows: np.ndarray
    members: np.ndarray | None

    @staticmethod
    @lru_cache(maxsize=4)
    def open(root: Path, split: str) -> ReleaseSource:
        """Open (once per process) and check one split of the release at `root`."""
        header, rows = read_csv(root / csv_name(split))
        arrays = {f: open_array(root, split, f, len(rows)) for f in fields_of(split)}
        hadm_id = np.asarray(arrays["hadm_id"])
        if split in RETRIEVAL_SPLITS:
            groups = retrieval_groups(
                hadm_id,
                np.asarray(arrays["label_hadm_id"]),
                np.asarray(arrays["label"]),
                str(root / "data_npy" / split),
            )
            query_rows, members = groups.queries, groups.members
        else:
            query_rows, members = np.arange(len(rows)), None
        ids = hadm_id[query_rows]
        if len(np.unique(ids)) != len(ids):
            raise SourceError(
                f"{root / 'data_npy' / split}: hadm_id repeats among the split's admissions; "
                "each admission is one row"
            )
        return ReleaseSource(root, split, header, rows, arrays, hadm_id, query_rows, members)

    def csv_rows(self, rows: np.ndarray) -> Iterator[list[str]]:
        return (self.rows[int(i)] for i in rows)


def check_release(root: Path, config: ReleaseMimicConfig) -> ReleaseMimicConfig:
    """Everything an import reads, checked before it writes: each file present and complete,
    arrays of the release's shapes and as long as their CSVs, labs_missingness 0/1, retrieval
    groups with one positive each, val = the queries of val_retrieval, and each file's sha256
    (against SHA256SUMS.txt when the release has one). Returns `config` with the provenance."""
    if not root.is_dir():
        raise ConfigError(f"{root}: not a directory; give the root of the unpacked release")
    for split in RELEASE_SPLITS:
        if not (root / "data_npy" / split).is_dir():
            raise SourceError(
                f"{root / 'data_npy' / split}: missing; the release has the splits "
                f"{', '.join(RELEASE_SPLITS)} under data_npy/"
            )
    sources = {split: ReleaseSource.open(root, split) for split in RELEASE_SPLITS}
    for split, source in sources.items():
        observed = np.asarray(source.arrays["labs_missingness"])
        if ((observed != 0) & (observed != 1)).any():
            raise SourceError(
                f"{root / 'data_npy' / split}: labs_missingness holds values other than 0 and "
                "1 (1 = the lab was observed)"
            )
    val, val_queries = sources[VAL], sources[VAL_RETRIEVAL]
    if not np.array_equal(val.hadm_id, val_queries.hadm_id[val_queries.query_rows]):
        raise SourceError(
            f"{root / 'data_npy' / VAL}: hadm_id differs from the queries of val_retrieval; "
            "the release's val split is its val_retrieval queries, in the same order"
        )
    _check_labs_means(root / LABS_MEANS)
    read_csv(root / DATA_CSV)
    files = _checksums(root)
    rows = {ours: len(sources[split].query_rows) for ours, split in SPLIT_SOURCE.items()}
    return config.model_copy(
        update={
            "release": root,
            "files": files,
            "sha256sums_checked": (root / SHA256SUMS).is_file(),
            "rows": rows,
        }
    )


def _check_labs_means(path: Path) -> None:
    """labs_means.json: the train mean percentile of each of the 50 labs (its sorted keys are
    the order of the lab arrays)."""
    try:
        means = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise SourceError(f"{path}: missing; the release root holds {path.name}") from None
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}: not valid JSON ({exc})") from None
    if (
        not isinstance(means, dict)
        or len(means) != N_LABS
        or not all(isinstance(v, (int, float)) for v in means.values())
    ):
        raise SourceError(
            f"{path}: expected an object of the {N_LABS} labs' '<itemid>_percentile' -> mean"
        )


def _checksums(root: Path) -> dict[str, str]:
    """sha256 of every file read (a progress bar: the real release is ~20 GB), each checked
    against SHA256SUMS.txt when the release has one."""
    expected = read_sha256sums(root)
    names = release_files()
    total = sum((root / name).stat().st_size for name in names)
    files = {}
    with progress_bar(quiet=not sys.stderr.isatty()) as progress:  # no -q here: a tty only
        bar = progress.add_task("sha256 of the release", total=total, unit="bytes")
        for name in names:
            digest = sha256_file(root / name, lambda n: progress.advance(bar, n))
            if expected and name not in expected:
                raise SourceError(f"{root / SHA256SUMS}: does not list {name}")
            if expected and expected[name] != digest:
                raise SourceError(
                    f"{root / name}: sha256 {digest} does not match {expected[name]} in "
                    f"{SHA256SUMS}; the file is corrupt or from another version: download it again"
                )
            files[name] = digest
    return files
