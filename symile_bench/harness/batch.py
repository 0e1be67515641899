"""``ModalityBatch``: the ``batch`` a model's ``encode(modality, batch, *, missing=None)`` gets.

It is a ``Sequence`` (the protocol's contract), one item per row, so any framework can iterate
it; items are decoded lazily, on access, so a model that never looks at the pixels never pays
for decoding them. Items are framework-neutral: ``Image`` -> ``PIL.Image``; ``Audio`` -> a dict
``{"array": float32 numpy samples, "sampling_rate": int, "path": str | None}`` at
the file's own rate, the array ``[n]`` for mono and ``[n, channels]`` (frames first, as
soundfile reads it) otherwise, decoded with soundfile (WAV, FLAC, OGG, MP3), so scoring needs
neither torch nor torchcodec (``datasets``' own ``Audio`` decoder needs both); lists -> lists.
Beyond the sequence:

* ``numpy()`` (also ``np.asarray(batch)``): the values as one array ``[n, ...]`` for numeric
  modalities (XOR vectors, ECGs; several columns, e.g. MIMIC labs' 50 percentiles and 50
  missingness bits, are cast to float32 and concatenated on the last axis);
* ``raw()``: undecoded values (``{"bytes", "path"}`` dicts for media);
* ``ids``: the query id of each row (row index, or the task's id column such as ``hadm_id``),
  or the candidate id for candidates that are not rows (XOR's vector codes);
* ``meta``: the task's side columns for the modality (M3 audio: ``lang``, ``audio_id``; image:
  ``cls_id``, ...). They exist for oracles and debugging; a model meant to be compared should
  use the values only;
* ``split``: the ``SplitData`` the rows come from (None for candidates that are not rows and
  for hidden batches), for preprocessing defined over a whole split: the Symile-M3 release
  pads every text to the longest of its split, so a text's tokens depend on that length.

A hidden batch (the modality is unobserved under the missing-modality protocol) has ``None``
items and ``None`` meta, the way a missing modality is stored in the training data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import datasets
import numpy as np
import pyarrow as pa

from symile_bench.audio_codec import decode_audio
from symile_bench.errors import HarnessInputError
from symile_bench.harness.splitdata import SplitData, column_to_numpy
from symile_bench.media_struct import media_bytes


class ModalityBatch(Sequence[Any]):
    def __init__(
        self,
        modality: str,
        ids: np.ndarray,
        *,
        table: pa.Table | None = None,
        features: datasets.Features | None = None,
        columns: tuple[str, ...] = (),
        meta: Mapping[str, Sequence[Any]] | None = None,
        values: np.ndarray | None = None,
        split: SplitData | None = None,
    ) -> None:
        self.modality = modality
        self.split = split
        self.ids = np.asarray(ids)
        self.columns = columns
        self.meta: Mapping[str, Sequence[Any]] = dict(meta or {})
        self._table = table
        self._features = features
        self._values = values
        self._raw: dict[str, list[Any]] = {}

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_rows(
        cls,
        modality: str,
        table: pa.Table,
        features: datasets.Features,
        columns: tuple[str, ...],
        meta_columns: tuple[str, ...],
        ids: np.ndarray,
        split: SplitData | None = None,
    ) -> ModalityBatch:
        """Rows of ``split`` (``table`` holds just those rows)."""
        meta = {c: table.column(c).to_pylist() for c in meta_columns if c in table.column_names}
        return cls(
            modality, ids, table=table, features=features, columns=columns, meta=meta, split=split
        )

    @classmethod
    def from_values(cls, modality: str, values: np.ndarray, ids: np.ndarray) -> ModalityBatch:
        """Candidates that are not rows of the split (XOR's enumerated vectors)."""
        return cls(modality, ids, values=np.asarray(values))

    @classmethod
    def hidden(
        cls, modality: str, ids: np.ndarray, meta_columns: tuple[str, ...] = ()
    ) -> ModalityBatch:
        """The modality is unobserved for every row: items and meta are ``None``."""
        n = len(ids)
        return cls(modality, ids, meta={c: [None] * n for c in meta_columns})

    # -- Sequence -------------------------------------------------------------------------
    @property
    def is_hidden(self) -> bool:
        return self._table is None and self._values is None

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]  # IndexError / negative indices like a list
        if self._values is not None:
            return self._values[i]
        if self._table is None:
            return None
        items = {c: self._decode(c, self._column(c)[i]) for c in self.columns}
        return items[self.columns[0]] if len(self.columns) == 1 else items

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        state = "hidden" if self.is_hidden else f"columns={list(self.columns) or 'values'}"
        return f"ModalityBatch({self.modality!r}, rows={len(self)}, {state})"

    # -- whole-batch views ----------------------------------------------------------------
    def raw(self) -> list[Any]:
        """Undecoded values (one dict per row when the modality has several columns)."""
        if self._values is not None:
            return list(self._values)
        if self._table is None:
            return [None] * len(self)
        if len(self.columns) == 1:
            return list(self._column(self.columns[0]))
        cols = [self._column(c) for c in self.columns]
        return [dict(zip(self.columns, row, strict=True)) for row in zip(*cols, strict=True)]

    def numpy(self, dtype: Any = None) -> np.ndarray:
        """All values as one array ``[n, ...]`` (numeric modalities only)."""
        if self._values is not None:
            out = self._values
        elif self._table is None:
            raise HarnessInputError(
                f"modality {self.modality!r} is missing in this batch (see the `missing` mask): "
                "encode it without reading its values"
            )
        elif len(self.columns) == 1:
            out = column_to_numpy(self._table.column(self.columns[0]), self.columns[0])
        else:
            parts = [
                column_to_numpy(self._table.column(c), c).astype(np.float32).reshape(len(self), -1)
                for c in self.columns
            ]
            out = np.concatenate(parts, axis=1)
        return out if dtype is None else out.astype(dtype)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.numpy(dtype)

    # -- helpers --------------------------------------------------------------------------
    def _column(self, name: str) -> list[Any]:
        if name not in self._raw:
            assert self._table is not None  # only batches of split rows have columns
            self._raw[name] = self._table.column(name).to_pylist()
        return self._raw[name]

    def _decode(self, name: str, value: Any) -> Any:
        feature = self._features.get(name) if self._features is not None else None
        if value is None:
            return None
        if isinstance(feature, datasets.Audio):
            return _audio_item(value, name)
        if isinstance(feature, datasets.Image):
            return feature.decode_example(value)
        return value


def _audio_item(cell: dict[str, Any], column: str) -> dict[str, Any]:
    """One stored clip as samples, with soundfile rather than ``datasets``' torchcodec decoder."""
    path = cell.get("path")
    data = media_bytes(cell)
    if data is None:
        raise HarnessInputError(f"column {column!r}: a clip has neither bytes nor a path")
    samples, rate = decode_audio(data, name=f"{column!r} clip {path or ''}".rstrip())
    return {"array": samples, "sampling_rate": rate, "path": path}
