"""The on-disk layout of the PhysioNet Symile-MIMIC 1.0.0 release, shared by the importer and
the exporter so both agree on every file name, shape and dtype.

Verified against the release's own code (github.com/rajesh-lab/symile,
`experiments/data_processing/symile_mimic/process_and_save_tensors.py` for the arrays and their
shapes, `create_dataset_splits.py` for the CSVs and the retrieval grouping) and the PhysioNet
project page (the `data_npy/` arrays, `SHA256SUMS.txt`).
"""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builders.mimic.build.constants import LAB_ITEMIDS
from symile_bench.errors import SourceError

RELEASE_NAME = "symile-mimic"
RELEASE_VERSION = "1.0.0"
LICENSE = "PhysioNet Credentialed Health Data License 1.5.0"
CITATION_DOI = "https://doi.org/10.13026/3vvj-s428"

# release split -> (our split, whether it is a retrieval file with label_hadm_id/label)
TRAIN, VAL, VAL_RETRIEVAL, TEST = "train", "val", "val_retrieval", "test"
RELEASE_SPLITS = (TRAIN, VAL, VAL_RETRIEVAL, TEST)
RETRIEVAL_SPLITS = (VAL_RETRIEVAL, TEST)
# our split -> the release split its rows come from (validation: the queries of val_retrieval)
SPLIT_SOURCE = {"train": TRAIN, "validation": VAL_RETRIEVAL, "test": TEST}

DATA_CSV = "symile_mimic_data.csv"
LABS_MEANS = "labs_means.json"
SHA256SUMS = "SHA256SUMS.txt"
N_LABS = 50
CANDIDATES = 10
CXR_SIZE = 320
# the lab columns of the split CSVs (`constants.LABS` itemids; values, then percentiles) and the
# columns an export of one of our builds writes (the release's CSVs also keep others)
LAB_COLUMNS = [str(i) for i in LAB_ITEMIDS]
CSV_HEADER = [
    "subject_id",
    "hadm_id",
    "ecg_path",
    "cxr_path",
    *LAB_COLUMNS,
    *(f"{i}_percentile" for i in LAB_COLUMNS),
]

# field -> (per-row shape, dtype), row i of every array = row i of the split's CSV
FIELDS: dict[str, tuple[tuple[int, ...], np.dtype]] = {
    "cxr": ((3, CXR_SIZE, CXR_SIZE), np.dtype("float32")),
    "ecg": ((1, 5000, 12), np.dtype("float32")),
    "labs_percentiles": ((N_LABS,), np.dtype("float32")),
    "labs_missingness": ((N_LABS,), np.dtype("int64")),
    "hadm_id": ((), np.dtype("int64")),
}
RETRIEVAL_FIELDS: dict[str, tuple[tuple[int, ...], np.dtype]] = {
    "label_hadm_id": ((), np.dtype("int64")),
    "label": ((), np.dtype("int64")),
}


def csv_name(split: str) -> str:
    return f"{split}.csv"


def array_name(split: str, field: str) -> str:
    return f"data_npy/{split}/{field}_{split}.npy"


def fields_of(split: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    return {**FIELDS, **(RETRIEVAL_FIELDS if split in RETRIEVAL_SPLITS else {})}


def release_files() -> list[str]:
    """Every file the importer reads, relative to the release root, in reading order."""
    files = [DATA_CSV, LABS_MEANS]
    for split in RELEASE_SPLITS:
        files.append(csv_name(split))
        files += [array_name(split, f) for f in fields_of(split)]
    return files


def open_array(root: Path, split: str, field: str, rows: int) -> np.ndarray:
    """Memory-map one release array, checking it is complete and has the release's shape and
    dtype (a truncated file or a wrong shape is a one-line error naming the file)."""
    relative = array_name(split, field)
    path = root / relative
    shape, dtype = fields_of(split)[field]
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise SourceError(f"{path}: missing (the release's {split} split has no {field})") from None
    except (ValueError, OSError) as exc:
        raise SourceError(f"{path}: not a complete .npy file ({exc}); download it again") from None
    if array.dtype != dtype or array.shape[1:] != shape:
        raise SourceError(
            f"{path}: shape {array.shape} dtype {array.dtype}, expected (N, "
            f"{', '.join(map(str, shape))}) {dtype} as in the release"
        )
    if array.shape[0] != rows:
        raise SourceError(
            f"{path}: {array.shape[0]} rows, but {root / csv_name(split)} has {rows}; row i of "
            "every array is row i of the CSV, so both must come from the same download"
        )
    return array


def read_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A copy of `array[rows]`; a memory-mapped array then gives its pages back, so the
    resident memory of an import stays a few rows however large the file (12 GB for the real
    cxr_train.npy): pages read through a mapping otherwise count as resident until unmapped."""
    out = np.array(array[rows])
    mapping = getattr(array, "_mmap", None)
    if isinstance(mapping, mmap.mmap):
        mapping.madvise(mmap.MADV_DONTNEED)
    return out


def sha256_file(path: Path, advance: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
            if advance is not None:
                advance(len(chunk))
    return digest.hexdigest()


def read_sha256sums(root: Path) -> dict[str, str]:
    """`SHA256SUMS.txt` as {relative path: hex digest}; empty when the file is absent."""
    path = root / SHA256SUMS
    if not path.is_file():
        return {}
    sums = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.partition(" ")
        if len(digest) != 64 or not name.strip():
            raise SourceError(f"{path}: line {number} is not '<sha256>  <file>'")
        sums[name.strip().lstrip("*").removeprefix("./")] = digest.lower()
    return sums


@dataclass(frozen=True)
class Groups:
    """A retrieval split as queries and their candidate sets: `queries[q]` is the release row
    of query q (label 1), `members[q]` the release rows of its candidates, its own first, then
    its negatives in release order."""

    queries: np.ndarray
    members: np.ndarray


def retrieval_groups(
    hadm_id: np.ndarray, label_hadm_id: np.ndarray, label: np.ndarray, where: str
) -> Groups:
    """Group the rows of `val_retrieval` / `test` by `label_hadm_id` (the release's evaluation:
    a query is a row with label 1, its candidates the rows sharing its label_hadm_id), checking
    every group has exactly one positive (the query's own admission) and the same size."""
    if ((label != 0) & (label != 1)).any():
        row = int(np.flatnonzero((label != 0) & (label != 1))[0])
        raise SourceError(f"{where}: label is {label[row]} in row {row}; it must be 0 or 1")
    keys, inverse, sizes = np.unique(label_hadm_id, return_inverse=True, return_counts=True)
    positives = np.bincount(inverse, weights=label, minlength=len(keys)).astype(np.int64)
    if (positives != 1).any():
        g = int(np.flatnonzero(positives != 1)[0])
        raise SourceError(
            f"{where}: the retrieval group of label_hadm_id {keys[g]} has {positives[g]} rows with "
            "label 1; every group needs exactly one positive (the query's own CXR)"
        )
    if len(keys) and (sizes != sizes[0]).any():
        g = int(np.flatnonzero(sizes != sizes[0])[0])
        raise SourceError(
            f"{where}: the retrieval group of label_hadm_id {keys[g]} has {sizes[g]} rows, others "
            f"{sizes[0]}; every query needs the same number of candidates"
        )
    queries = np.flatnonzero(label == 1)
    bad = hadm_id[queries] != label_hadm_id[queries]
    if bad.any():
        row = int(queries[np.flatnonzero(bad)[0]])
        raise SourceError(
            f"{where}: row {row} has label 1 but hadm_id {hadm_id[row]} != label_hadm_id "
            f"{label_hadm_id[row]}; a positive is the query's own admission"
        )
    # group rows in release order, the positive first
    order = np.lexsort((np.arange(len(label)), 1 - label, inverse))
    width = int(sizes[0]) if len(keys) else 0
    by_group = order.reshape(len(keys), width)
    # queries in release order
    group_of_query = inverse[queries]
    members = by_group[group_of_query]
    known = np.isin(hadm_id[members], hadm_id[queries])
    if not known.all():
        q, j = np.argwhere(~known)[0]
        raise SourceError(
            f"{where}: row {members[q, j]} (hadm_id {hadm_id[members[q, j]]}) is a candidate "
            "but no query of the split; the release samples negatives from the split's queries"
        )
    return Groups(queries=queries, members=members)
