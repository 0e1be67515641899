"""One split of one config of a built dataset directory, as the harness reads it.

The dataset directory is the only interface between building and scoring (docs/architecture.md,
"Layers"), so the harness sees a split as its memory-mapped Arrow table, its features and the
manifest's fingerprint — nothing from the builder's code. A pooled build's rows hold media ids, not
media (`symile_bench.pooled`): its media columns are read from the split's pools at the positions of
the rows' ids (`take`), so a model sees the same values as from an inline build.

Columns become numpy arrays without a Python loop per row (``column_to_numpy``, also what a
batch's ``numpy()`` and an embeddings file's Parquet column use): fixed-shape nested lists
(XOR's int8 vectors, MIMIC's ECG ``Array2D`` 5000 x 12 and its 50 labs) are flattened level by
level and reshaped, since converting them row by row through Python lists would cost seconds per
thousand ECGs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from symile_bench.dataset_dir import load
from symile_bench.errors import DatasetDirError, HarnessInputError
from symile_bench.manifest import Manifest, read_manifest
from symile_bench.pooled import Pool, open_pool, pooled_modalities
from symile_bench.storage import Store
from symile_bench.tasks import ModalitySpec

ROW = "row"  # the pseudo-column "row index in the split" (ids and embedding keys)


@dataclass
class SplitData:
    path: Path
    manifest: Manifest
    config: str
    split: str
    table: pa.Table
    features: datasets.Features  # a pooled split's media columns included (their pool's)
    store: Store | None = None  # where the pools are read (default: `path`)
    _pool_rows: dict[tuple[str, str], tuple[Pool, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        media = {
            column: datasets.Features.from_dict(
                self.manifest.pools[self._pool_name(spec)].features
            )[column]
            for column, spec in self.pooled.items()
        }
        if media:
            self.features = datasets.Features({**self.features, **media})

    @property
    def builder(self) -> str:
        return self.manifest.builder

    @property
    def fingerprint(self) -> str:
        """The manifest's fingerprint of this split (what results name)."""
        return self.manifest.split(self.config, self.split).fingerprint

    @property
    def withheld(self) -> frozenset[str]:
        """Answer columns a blind split (`build --blind`) holds as nulls; empty otherwise."""
        return frozenset(self.manifest.split(self.config, self.split).withheld or ())

    def __len__(self) -> int:
        return self.table.num_rows

    def require(self, *names: str) -> None:
        hidden = [n for n in names if n in self.withheld]
        if hidden:
            raise HarnessInputError(
                f"{self.path}: config '{self.config}' split '{self.split}' is blind: column "
                f"{', '.join(repr(h) for h in hidden)} is withheld (its answers are with the "
                "benchmark operator); evaluate the task's default target, without --candidates "
                "rules or embedding keys that need it, and submit the predictions"
            )
        missing = [n for n in names if n != ROW and not self.has(n)]
        if missing:
            have = ", ".join([*self.table.column_names, *self.pooled])
            raise DatasetDirError(
                f"{self.path}: config '{self.config}' split '{self.split}' has no column "
                f"{', '.join(repr(m) for m in missing)} (it has: {have}); was it built by a "
                "different builder version?"
            )

    def has(self, name: str) -> bool:
        """Whether ``name`` is a column of the split: of its rows, or pooled."""
        return name in self.table.column_names or name in self.pooled

    @cached_property
    def pooled(self) -> dict[str, ModalitySpec]:
        """The media columns the rows do not hold, each with its pooled modality: the rows
        hold the modality's ``id_column`` and the pool holds the column."""
        return {
            column: spec
            for spec in pooled_modalities(self.manifest)
            if spec.id_column in self.table.column_names
            for column in spec.columns
            if column not in self.table.column_names
        }

    def _pool_name(self, spec: ModalitySpec) -> str:
        assert spec.pool is not None  # only pooled modalities are in `pooled`
        return self.manifest.split(self.config, self.split).pool_name(spec.pool)

    def pool_positions(self, spec: ModalitySpec) -> tuple[Pool, np.ndarray]:
        """The pool of a pooled modality and, for every row, the pool row holding its medium
        (-1 where the id is null: the medium is missing). Looked up once per pool."""
        assert spec.id_column is not None  # pooled modalities name one (ModalitySpec)
        key = (self._pool_name(spec), spec.id_column)
        if key not in self._pool_rows:
            pool = open_pool(self.store or self.path, self.manifest, key[0])
            where = f"{self.path} config '{self.config}' split '{self.split}'"
            self._pool_rows[key] = (pool, pool.positions(self.table.column(key[1]), where))
        return self._pool_rows[key]

    def take(self, names: Sequence[str], rows: np.ndarray) -> pa.Table:
        """Columns ``names`` of split ``rows`` (row indices) as one table, in that order; a
        pooled column's values are its pool's, read at the rows' pool positions (null where
        the medium is missing). Consecutive rows are a zero-copy slice."""
        self.require(*names)
        own = self.table.select([n for n in names if n not in self.pooled])
        contiguous = (
            len(rows) and rows[-1] - rows[0] + 1 == len(rows) and (np.diff(rows) == 1).all()
        )
        table = (
            own.slice(int(rows[0]), len(rows))
            if contiguous
            else own.take(pa.array(rows, type=pa.int64()))
        )
        columns = {}
        for name in names:
            if name in self.pooled:
                pool, positions = self.pool_positions(self.pooled[name])
                at = positions[rows]
                columns[name] = pool.table.column(name).take(pa.array(at, mask=at < 0))
            else:
                columns[name] = table.column(name)
        return pa.table(columns)

    def column(self, name: str) -> pa.ChunkedArray:
        """One column of every row (a pooled one is read from its pool: a copy of its media)."""
        self.require(name)
        if name in self.pooled:
            return self.take([name], self.row_index).column(0)
        return self.table.column(name)

    def numpy(self, name: str) -> np.ndarray:
        """A column as one array (``row``: the row indices)."""
        if name == ROW:
            return self.row_index
        return column_to_numpy(self.column(name), name)

    @cached_property
    def row_index(self) -> np.ndarray:
        return np.arange(len(self), dtype=np.int64)

    def mask(self, name: str | None) -> np.ndarray:
        """A bool column (e.g. ``audio_missing``) as an array; all False when ``name`` is None."""
        if name is None or name not in self.table.column_names:
            return np.zeros(len(self), dtype=bool)
        return np.asarray(self.column(name).fill_null(True).to_numpy(), dtype=bool)


def open_split(path: Path, config: str | None, split: str) -> SplitData:
    """Memory-map ``split`` of ``config`` (default: the first config) of a dataset directory."""
    manifest = read_manifest(path)
    variant = config or next(iter(manifest.variants))
    if variant not in manifest.variants:
        raise DatasetDirError(
            f"--config {variant!r} is not in {path}; it has: {', '.join(manifest.variants)}"
        )
    if split not in manifest.variants[variant].splits:
        raise DatasetDirError(
            f"--split {split!r} is not in config '{variant}' of {path}; it has: "
            f"{', '.join(manifest.variants[variant].splits)}"
        )
    ds = load(path, config=variant, split=split, join=False)  # pooled media: `take` joins them
    table = ds.with_format("arrow")[:]
    return SplitData(path, manifest, variant, split, table, ds.features)


def split_from_store(store: Store, manifest: Manifest, variant: str, split: str) -> SplitData:
    """A split read straight from its shards under ``manifest`` (which may not be written yet:
    ``build --blind`` computes the answer key of the full split before blinding it)."""
    record = manifest.split(variant, split)
    features = datasets.Features.from_dict(manifest.variants[variant].features)
    schema = features.arrow_schema
    tables = [store.read_table(s.file) for s in record.shards]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    return SplitData(Path(store.path()), manifest, variant, split, table, features, store)


def _single(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks == 1:
            return array.chunk(0)
        if array.num_chunks == 0:
            return pa.array([], type=array.type)
        return pa.concat_arrays(array.chunks)
    return array


def column_to_numpy(array: pa.Array | pa.ChunkedArray, name: str) -> np.ndarray:
    """``[rows, *shape]`` from a column of equal-shape (nested) lists of numbers, or ``[rows]``
    from a column of scalars. ``name`` (the column) is used in error messages."""
    arr = _single(array)
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    shape = [len(arr)]
    while (
        pa.types.is_list(arr.type)
        or pa.types.is_large_list(arr.type)
        or (pa.types.is_fixed_size_list(arr.type))
    ):
        if arr.null_count:
            first = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
            raise HarnessInputError(
                f"column {name!r} is null in row {first} (a missing value); pass it as missing "
                "or evaluate a split where it is present"
            )
        if pa.types.is_fixed_size_list(arr.type):
            width = arr.type.list_size
        else:
            lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
            widths = np.unique(lengths)
            if len(widths) > 1:
                raise HarnessInputError(
                    f"column {name!r} holds lists of different lengths ({widths.min()}.."
                    f"{widths.max()}); it cannot be read as one array"
                )
            width = int(widths[0]) if len(widths) else 0
        shape.append(width)
        arr = arr.flatten()
    if arr.null_count:
        raise HarnessInputError(f"column {name!r} contains null values; it cannot be an array")
    values = arr.to_numpy(zero_copy_only=False)
    return values.reshape(shape)
