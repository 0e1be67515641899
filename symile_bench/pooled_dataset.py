"""A pooled split as a `datasets.Dataset` whose rows read as an inline build's, in every format
and after column operations.

The rows of a pooled split hold ids (`audio_id`, `image_id`); the media live in pools
(`symile_bench.pooled`). `symile_bench.load` returns a `PooledDataset`: the join is a
`datasets` formatter (`PooledFormatter`, format type `symile-pooled`) that reads each batch
as stored, appends the media of every id column the batch holds, then hands the batch to the
format the user asked for. So:

- a medium is joined wherever its id column is present, under the media column's name
  (`image` for `image_id`), and nowhere else: `select_columns(["image_id"])` reads `image_id`
  and the decoded image, no audio; `remove_columns(["image_id"])` drops the image too;
- a media column may be named like a stored one: `select_columns(["image"])` keeps its id
  column, `remove_columns(["image"])` stops the join and keeps the ids, `rename_column("image",
  "picture")` renames the joined column; renaming an id column keeps its medium joined;
- every format keeps the join: `with_format("numpy" | "torch" | "pandas" | "arrow" | ...)`
  formats the joined batch as it would an inline one (Arrow: the media's stored structs), and
  `with_transform(f)` gives `f` the decoded, joined batch; `Dataset.format` reports the format
  asked for;
- row operations (`select`, `shuffle`, `filter`, `map`, `train_test_split`, `cast`, ...) return
  `PooledDataset`s too. `datasets` runs them on the stored rows (it reads a dataset through
  `with_format("arrow")` internally), so each runs on a plain view of the rows that keeps the
  join in its format: a `map` or `filter` function sees the media, the written rows do not.

`Dataset.features` and `column_names` list the stored columns, so `ds["image"]` is not a column
(read `ds[i]["image"]` or `ds[a:b]["image"]`), and methods that bypass formats (`to_pandas`,
`to_dict`, `to_parquet`) see the stored rows; `save_to_disk` and `push_to_hub` refuse, since
the copy would lose the media: `symile-bench export` writes one with the media inline.
`symile_bench.load(..., join=False)` reads the stored rows.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
from datasets.formatting import get_format_type_from_alias, get_formatter
from datasets.formatting.formatting import Formatter

from symile_bench.manifest import Manifest
from symile_bench.pooled import Pool, media_joins

POOLED = "symile-pooled"


@dataclass(frozen=True)
class MediaJoin:
    """One pooled modality as a reader sees it: the column holding its ids (under its current
    name), the pool, and each pool column with the name the rows show it under."""

    id_column: str
    pool: Pool
    columns: tuple[tuple[str, str], ...]  # (pool column, name in the rows)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.columns)


@dataclass(frozen=True)
class PoolJoin:
    """Every pooled modality of one split, and where its ids come from (for error messages).
    Immutable, so a `datasets` copy shares it; it pickles by naming its pools (`Pool`)."""

    media: tuple[MediaJoin, ...]
    where: str

    def __deepcopy__(self, memo: dict[int, Any]) -> PoolJoin:
        return self

    def active(self, columns: Sequence[str]) -> list[MediaJoin]:
        """The media joined onto rows with `columns`: its id column there, its names not."""
        return [
            m
            for m in self.media
            if m.id_column in columns and not any(name in columns for name in m.names)
        ]

    def media_names(self, columns: Sequence[str]) -> list[str]:
        return [name for m in self.active(columns) for name in m.names]

    def stored_names(self, names: Iterable[str], columns: Sequence[str]) -> list[str]:
        """`names` with each joined media column replaced by its id column (each name once)."""
        id_of = {name: m.id_column for m in self.active(columns) for name in m.names}
        return list(dict.fromkeys(id_of.get(name, name) for name in names))

    def without(self, names: Iterable[str]) -> PoolJoin:
        """The join that no longer adds the media columns `names`."""
        drop = set(names)
        media = []
        for m in self.media:
            kept = tuple(c for c in m.columns if c[1] not in drop)
            if kept:
                media.append(replace(m, columns=kept))
        return replace(self, media=tuple(media))

    def renamed(self, mapping: Mapping[str, str]) -> PoolJoin:
        """The join after renaming columns: id columns (stored) and media columns (joined)."""
        media = tuple(
            replace(
                m,
                id_column=mapping.get(m.id_column, m.id_column),
                columns=tuple((c, mapping.get(name, name)) for c, name in m.columns),
            )
            for m in self.media
        )
        return replace(self, media=media)

    def apply(
        self, table: pa.Table, features: datasets.Features | None, *, metadata: bool = False
    ) -> tuple[pa.Table, datasets.Features]:
        """`table` (stored rows) with the media of each id column it holds appended, and the
        features of the result (the media's from the pools). `metadata`: also write those
        features into the table's schema, as `datasets` does (for Arrow output only: it
        costs more than the join of one row)."""
        features = datasets.Features(features or {})
        for m in self.active(table.column_names):
            media = m.pool.take(table.column(m.id_column), [c for c, _ in m.columns], self.where)
            for column, name in m.columns:
                field = pa.field(name, media.schema.field(column).type)
                table = table.append_column(field, media.column(column))
                features[name] = m.pool.features[column]
        if metadata:
            own = datasets.Features({c: features[c] for c in table.column_names if c in features})
            table = table.replace_schema_metadata(own.arrow_schema.metadata)
        return table, features


class PooledFormatter(Formatter[Any, Any, Any]):
    """Format type `symile-pooled`: join the pools onto a batch, then format it as `inner`
    (`None` for Python objects, "numpy", "torch", "custom" with a transform, ...)."""

    def __init__(
        self,
        features: datasets.Features | None = None,
        token_per_repo_id: Any = None,
        *,
        join: PoolJoin,
        inner: str | None = None,
        inner_kwargs: Mapping[str, Any] | None = None,
        **_: Any,  # `map` adds `lazy` for Python objects; the inner formatter decides
    ) -> None:
        super().__init__(features, token_per_repo_id)
        self.join, self.inner, self.inner_kwargs = join, inner, dict(inner_kwargs or {})
        self._formatter(features)  # an unknown format fails in set_format, as it would inline

    def _formatter(self, features: datasets.Features | None) -> Formatter[Any, Any, Any]:
        return get_formatter(self.inner, features=features, **self.inner_kwargs)

    def __call__(self, pa_table: pa.Table, query_type: str) -> Any:
        if query_type == "column":  # `ds[name]` in a table format: one stored column
            return self._formatter(self.features)(pa_table, query_type)
        table, features = self.join.apply(pa_table, self.features, metadata=self.inner == "arrow")
        return self._formatter(features)(table, query_type)


datasets.formatting._register_formatter(PooledFormatter, POOLED)


class PooledDataset(datasets.Dataset):
    """The rows of a pooled split with their media joined on access (module docstring)."""

    @property
    def pool_join(self) -> PoolJoin:
        join = self._format_kwargs["join"]
        assert isinstance(join, PoolJoin)  # PooledDataset keeps format type symile-pooled
        return join

    @property
    def format(self) -> dict[str, Any]:
        """The format asked for (`with_format`), as an inline split reports it."""
        return {
            **super().format,
            "type": self._format_kwargs["inner"],
            "format_kwargs": self._format_kwargs["inner_kwargs"],
        }

    def set_format(
        self,
        type: str | None = None,
        columns: list[str] | None = None,
        output_all_columns: bool = False,
        **format_kwargs: Any,
    ) -> None:
        format_kwargs.update(format_kwargs.pop("format_kwargs", {}))
        if get_format_type_from_alias(type) != POOLED:
            format_kwargs = {"join": self.pool_join, "inner": type, "inner_kwargs": format_kwargs}
        if columns is not None:
            named = [columns] if isinstance(columns, str) else columns
            columns = format_kwargs["join"].stored_names(named, self._data.column_names)
        super().set_format(POOLED, columns, output_all_columns, **format_kwargs)

    def __getitem__(self, key: Any) -> Any:
        """A stored column (`ds["image_id"]`) is read without joining any media."""
        if isinstance(key, str) and self._format_kwargs["inner"] != "custom":
            return self._stored()[key]
        return super().__getitem__(key)

    def _stored(self) -> datasets.Dataset:
        """The stored rows in the format asked for: a shallow view, no join."""
        view = _plain(self)
        datasets.Dataset.set_format(
            view,
            self._format_kwargs["inner"],
            self._format_columns,
            self._output_all_columns,
            **self._format_kwargs["inner_kwargs"],
        )
        return view

    def _rejoin(self, join: PoolJoin) -> None:
        datasets.Dataset.set_format(
            self,
            POOLED,
            self._format_columns,
            self._output_all_columns,
            **{**self._format_kwargs, "join": join},
        )

    def select_columns(
        self, column_names: str | list[str], new_fingerprint: str | None = None
    ) -> PooledDataset:
        """Keep `column_names`; a media column name keeps its id column (and so the medium)."""
        names = [column_names] if isinstance(column_names, str) else column_names
        stored = self.pool_join.stored_names(names, self._data.column_names)
        out = super().select_columns(stored, new_fingerprint=new_fingerprint)
        assert isinstance(out, PooledDataset)  # a deep copy keeps the class
        return out

    def remove_columns(
        self, column_names: str | list[str], new_fingerprint: str | None = None
    ) -> PooledDataset:
        """Drop `column_names`: an id column takes its medium with it; a media column name
        stops the join and keeps the ids."""
        names = [column_names] if isinstance(column_names, str) else column_names
        media = set(self.pool_join.media_names(self._data.column_names)) & set(names)
        out = super().remove_columns(
            [n for n in names if n not in media], new_fingerprint=new_fingerprint
        )
        assert isinstance(out, PooledDataset)
        if media:
            out._rejoin(out.pool_join.without(media))
        return out

    def rename_column(
        self, original_column_name: str, new_column_name: str, new_fingerprint: str | None = None
    ) -> PooledDataset:
        return self.rename_columns({original_column_name: new_column_name}, new_fingerprint)

    def rename_columns(
        self, column_mapping: dict[str, str], new_fingerprint: str | None = None
    ) -> PooledDataset:
        """Rename stored and joined columns alike; a renamed id column keeps its medium."""
        columns = self._data.column_names
        media = self.pool_join.media_names(columns)
        unknown = [c for c in column_mapping if c not in columns and c not in media]
        after = [column_mapping.get(c, c) for c in [*columns, *media]]
        clash = sorted({c for c in after if after.count(c) > 1})
        problems = [f"{unknown} not in the dataset"] if unknown else []
        problems += [f"{clash} would name two columns"] if clash else []
        problems += [] if all(column_mapping.values()) else ["a new name is empty"]
        if problems:  # ValueError, as `datasets` raises for the same mistakes on any dataset
            raise ValueError(
                f"rename {column_mapping}: {'; '.join(problems)}; the columns are {columns} "
                f"and, joined from the pools, {media}"
            )
        stored = {k: v for k, v in column_mapping.items() if k in columns}
        out = super().rename_columns(stored, new_fingerprint=new_fingerprint)
        assert isinstance(out, PooledDataset)
        out._rejoin(out.pool_join.renamed(column_mapping))
        return out

    def save_to_disk(self, *args: Any, **kwargs: Any) -> None:
        raise ValueError(_NOT_SAVED)

    def push_to_hub(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(_NOT_SAVED)


_NOT_SAVED = (
    "a pooled split's media live in its pools, which a saved copy of the rows would not "
    "hold: export the directory with the media inline (symile-bench export DIR --format "
    "parquet), or save the rows alone (symile_bench.load(DIR, ..., join=False))"
)


def _plain(dataset: datasets.Dataset) -> datasets.Dataset:
    """A shallow view of `dataset` as a plain `datasets.Dataset`: same rows, same format."""
    view = copy.copy(dataset)
    view.__class__ = datasets.Dataset
    return view


def _pooled(out: Any) -> Any:
    """`out` (a dataset, a dict of them or anything else) with every dataset that still holds
    the join made a `PooledDataset` again."""
    if isinstance(out, datasets.DatasetDict):
        for name, value in out.items():
            out[name] = _pooled(value)
    elif isinstance(out, datasets.Dataset) and out._format_type == POOLED:
        out.__class__ = PooledDataset
    return out


def _on_stored_rows(name: str) -> Callable[..., Any]:
    method = getattr(datasets.Dataset, name)

    @functools.wraps(method)
    def run(self: PooledDataset, *args: Any, **kwargs: Any) -> Any:
        return _pooled(method(_plain(self), *args, **kwargs))

    return run


# `datasets` methods that make new datasets, or read the rows through `with_format("arrow")`,
# which on a PooledDataset would join the media (module docstring)
for _name in (
    "add_column",
    "add_item",
    "batch",
    "cast",
    "cast_column",
    "filter",
    "flatten_indices",
    "map",
    "repeat",
    "select",
    "shard",
    "shuffle",
    "skip",
    "sort",
    "take",
    "train_test_split",
):
    setattr(PooledDataset, _name, _on_stored_rows(_name))


def join_pools(
    directory: Path, manifest: Manifest, variant: str, split: str, rows: datasets.Dataset
) -> datasets.Dataset:
    """`rows` of a pooled split with its media joined lazily (unchanged for inline storage)."""
    joins = media_joins(directory, manifest, variant, split, rows.column_names)
    if not joins:
        return rows
    join = PoolJoin(
        tuple(
            MediaJoin(spec.id_column or "", pool, tuple((c, c) for c in spec.columns))
            for spec, pool in joins
        ),
        f"{directory} config {variant!r} split {split!r}",
    )
    out = copy.copy(rows)
    out.__class__ = PooledDataset
    datasets.Dataset.set_format(out, POOLED, join=join, inner=None, inner_kwargs={})
    return out
