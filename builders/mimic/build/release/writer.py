"""Writing a tree in the Symile-MIMIC release layout, streamed and atomic: arrays are
`np.lib.format.open_memmap` files filled a few rows at a time, everything goes to a temporary
sibling of the destination, renamed into place only when complete (with a SHA256SUMS.txt).

Used by `export --format symile-mimic` and by the synthetic releases of the tests and the
benchmark (`synthetic.py`), so both write exactly one layout."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from builders.mimic.build.release.layout import (
    LABS_MEANS,
    SHA256SUMS,
    array_name,
    fields_of,
    sha256_file,
)
from symile_bench.atomic import atomic_directory


class ReleaseWriter:
    """A release tree being written under `root` (a temporary directory)."""

    def __init__(self, root: Path, rows: Mapping[str, int]) -> None:
        self.root, self.rows = root, dict(rows)
        self.arrays: dict[tuple[str, str], np.ndarray] = {}
        for split, n in self.rows.items():
            (root / "data_npy" / split).mkdir(parents=True)
            for field, (shape, dtype) in fields_of(split).items():
                self.arrays[split, field] = np.lib.format.open_memmap(
                    root / array_name(split, field), mode="w+", dtype=dtype, shape=(n, *shape)
                )

    def array(self, split: str, field: str) -> np.ndarray:
        return self.arrays[split, field]

    def write_csv(self, name: str, header: Sequence[str], rows: Iterator[Sequence[str]]) -> None:
        with (self.root / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)

    def write_labs_means(self, means: Mapping[str, float]) -> None:
        (self.root / LABS_MEANS).write_text(json.dumps(dict(means), indent=4), "utf-8")

    def fill_negatives(self, split: str, candidates: np.ndarray, block: int = 16) -> None:
        """Rows Q.. of a retrieval split: each query's negatives (its candidates but its own
        first column), copied from the query rows already written, the release's order:
        `candidates[q]` are query positions, own first. label_hadm_id/label for every row."""
        q, width = candidates.shape
        hadm = self.array(split, "hadm_id")
        sources = candidates[:, 1:].reshape(-1)
        for field in fields_of(split):
            if field in ("label_hadm_id", "label"):
                continue
            array = self.array(split, field)
            for start in range(0, len(sources), block):
                rows = sources[start : start + block]
                array[q + start : q + start + len(rows)] = array[rows]
        self.array(split, "label")[:q] = 1
        self.array(split, "label")[q:] = 0
        self.array(split, "label_hadm_id")[:q] = hadm[:q]
        self.array(split, "label_hadm_id")[q:] = np.repeat(hadm[:q], width - 1)

    def close(self) -> None:
        """Flush the arrays and write SHA256SUMS.txt over every file of the tree."""
        for array in self.arrays.values():
            if isinstance(array, np.memmap):
                array.flush()
        self.arrays.clear()
        names = sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
        )
        lines = [f"{sha256_file(self.root / name)}  {name}" for name in names]
        (self.root / SHA256SUMS).write_text("\n".join(lines) + "\n", "utf-8")


@contextmanager
def release_tree(dest: Path, rows: Mapping[str, int]) -> Iterator[ReleaseWriter]:
    """A `ReleaseWriter` on a temporary sibling of `dest`, renamed to `dest` on success and
    removed on failure (`symile_bench.atomic.atomic_directory`): `dest` is never half-written."""
    with atomic_directory(dest) as tmp:
        writer = ReleaseWriter(tmp, rows)
        yield writer
        writer.close()
