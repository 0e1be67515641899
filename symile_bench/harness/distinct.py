"""Each distinct medium encoded once: rows that show the same clip or image share one embedding.

Symile-M3 draws its media from pools, so a split of 100,000 rows shows a few thousand distinct
images and clips; a pooled build stores each once and its rows hold only the id
(``ModalitySpec.id_column``). Grouping the rows by that id lets the harness call ``encode``
once per distinct item and copy the embedding to every row that shows it: the same numbers
as encoding every row, for any model whose embedding of an item does not depend on the other
items of its batch.

Rows marked missing, and rows with no id, are not grouped: each is an item of its own,
encoded with its mask as before. A grouped item is the id's first row (its meta columns and query id
are that row's: meta describes the medium, so it is the same on every row of the id), and
items are encoded in the order of their first rows, so batches are the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from symile_bench.harness.embeddings import check_batches
from symile_bench.harness.splitdata import SplitData
from symile_bench.tasks import ModalitySpec


@dataclass(frozen=True)
class DistinctRows:
    """``rows`` of a split grouped by the medium they show. Positions index ``rows``."""

    items: np.ndarray  # the first row of each distinct id, in order of first occurrence
    shared: np.ndarray  # the rows that have an id and are not missing: they take an item's
    codes: np.ndarray  # the item of each `shared` row (an index into `items`)
    rest: np.ndarray  # the other rows (missing, or no id): each an item of its own

    @property
    def rows(self) -> int:
        return len(self.shared) + len(self.rest)

    def rows_per_item(self) -> np.ndarray:
        """How many rows each item stands for (what a progress bar counts)."""
        return np.bincount(self.codes, minlength=len(self.items))

    def scatter(self, items: np.ndarray | None, rest: np.ndarray | None, source: str) -> np.ndarray:
        """Row embeddings from the items' and the other rows' (``None``: there were none),
        with the dtype encoding every row would have given (their common type)."""
        parts = [p for p in (items, rest) if p is not None]
        out = np.empty((self.rows, check_batches(parts, source)), dtype=np.result_type(*parts))
        if items is not None:
            out[self.shared] = items[self.codes]
        if rest is not None:
            out[self.rest] = rest
        return out


def distinct_rows(
    split: SplitData, modality: ModalitySpec, rows: np.ndarray
) -> DistinctRows | None:
    """``rows`` grouped by ``modality.id_column``; None when it names none or the split does
    not show it (a blind split may withhold it)."""
    column = modality.id_column
    if column is None or column in split.withheld or column not in split.table.column_names:
        return None
    ids = split.table.column(column).take(pa.array(rows, type=pa.int64())).combine_chunks()
    codes = ids.dictionary_encode().indices
    grouped = ~split.mask(modality.missing_column)[rows] & ~np.asarray(
        codes.is_null().to_numpy(zero_copy_only=False), dtype=bool
    )
    shared = np.flatnonzero(grouped)
    values = codes.fill_null(0).to_numpy(zero_copy_only=False)[shared]
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # items in order of their first row
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return DistinctRows(
        items=shared[first[order]],
        shared=shared,
        codes=rank[inverse.reshape(-1)],
        rest=np.flatnonzero(~grouped),
    )
