"""The two ways in — a model object or a directory of precomputed embeddings — behind one
small interface, so everything after encoding (scoring, bootstrap, results) is shared and the
two give identical numbers for identical embeddings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness import embeddings as files
from symile_bench.harness.batch import ModalityBatch
from symile_bench.harness.distinct import distinct_rows
from symile_bench.harness.embeddings import check_batches, check_matrix
from symile_bench.harness.models import (
    ModelError,
    model_metadata,
    model_name,
    require_modalities,
)
from symile_bench.harness.scorers import get_scorer
from symile_bench.harness.splitdata import ROW, SplitData
from symile_bench.tasks import ModalitySpec

Advance = Callable[[int], None]
DEFAULT_BATCH_SIZE = 256


class Encoder(Protocol):
    name: str
    scoring: str
    metadata: dict[str, Any]

    def require(self, modalities: Sequence[str]) -> None: ...

    def rows(
        self,
        modality: ModalitySpec,
        split: SplitData,
        rows: np.ndarray,
        ids: np.ndarray,
        *,
        hidden: bool,
        advance: Advance,
    ) -> np.ndarray:
        """Embeddings of ``modality`` for split ``rows`` (``hidden``: as missing)."""

    def values(
        self, modality: ModalitySpec, values: np.ndarray, ids: np.ndarray, *, advance: Advance
    ) -> np.ndarray:
        """Embeddings of candidates that are not rows (XOR's vectors), ``ids`` their ids."""


class ModelEncoder:
    """Calls ``model.encode`` batch by batch. ``distinct``: a modality whose rows name their
    medium (``id_column``) is encoded once per distinct medium (``harness.distinct``);
    False encodes every row."""

    def __init__(
        self,
        model: Any,
        spec: str,
        batch_size: int = DEFAULT_BATCH_SIZE,
        *,
        distinct: bool = True,
    ) -> None:
        if batch_size < 1:
            raise HarnessInputError(f"--batch-size must be >= 1, got {batch_size}")
        self.model, self.spec, self.batch_size = model, spec, batch_size
        self.distinct = distinct
        self.name = model_name(model, spec)
        self.scoring = model.scoring
        self.metadata = model_metadata(model, spec)

    def require(self, modalities: Sequence[str]) -> None:
        require_modalities(self.model, self.spec, modalities)

    def rows(self, modality, split, rows, ids, *, hidden, advance):
        shown = tuple(c for c in modality.meta if c not in split.withheld)  # blind: no answers
        split.require(*modality.columns)
        if hidden:
            return self._batches(
                modality.name,
                len(rows),
                lambda i: (
                    ModalityBatch.hidden(modality.name, ids[i], shown),
                    np.ones(len(i), dtype=bool),
                ),
                advance,
            )
        meta = tuple(c for c in shown if split.has(c))
        missing = split.mask(modality.missing_column)

        def encode(at: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            """Rows ``rows[at]`` (``weights``: how many rows each stands for, for progress)."""

            def batch(i: np.ndarray) -> tuple[ModalityBatch, np.ndarray | None]:
                r = rows[at[i]]
                table = split.take([*modality.columns, *meta], r)
                return (
                    ModalityBatch.from_rows(
                        modality.name,
                        table,
                        split.features,
                        modality.columns,
                        meta,
                        ids[at[i]],
                        split,
                    ),
                    missing[r] if missing[r].any() else None,
                )

            return self._batches(modality.name, len(at), batch, advance, weights)

        groups = distinct_rows(split, modality, rows) if self.distinct else None
        if groups is None:
            return encode(np.arange(len(rows)))
        return groups.scatter(
            encode(groups.items, groups.rows_per_item()) if len(groups.items) else None,
            encode(groups.rest) if len(groups.rest) else None,
            self._source(modality.name),
        )

    def values(self, modality, values, ids, *, advance):
        def batch(i: np.ndarray) -> tuple[ModalityBatch, None]:
            return ModalityBatch.from_values(modality.name, values[i], ids[i]), None

        return self._batches(modality.name, len(values), batch, advance)

    def _source(self, modality: str) -> str:
        return f"model {self.spec!r} encode({modality!r})"

    def _batches(
        self,
        modality: str,
        n: int,
        batch: Callable[[np.ndarray], tuple[Sequence[Any], np.ndarray | None]],
        advance: Advance,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """``encode`` of items 0..n-1 in batches of ``batch_size``, stacked; ``batch(i)`` gives
        the batch of positions ``i`` and its ``missing`` mask."""
        out = []
        for i0 in range(0, n, self.batch_size):
            i = np.arange(i0, min(i0 + self.batch_size, n))
            items, mask = batch(i)
            out.append(call_encode(self.model, self.spec, modality, items, mask))
            advance(len(i) if weights is None else int(weights[i].sum()))
        return _stack(out, self._source(modality))


def _stack(parts: list[np.ndarray], source: str) -> np.ndarray:
    check_batches(parts, source)
    return np.concatenate(parts) if len(parts) != 1 else parts[0]


def call_encode(
    model: Any, spec: str, modality: str, batch: Sequence[Any], missing: np.ndarray | None
) -> np.ndarray:
    """``model.encode`` for one batch, its output checked. A model that does not know the
    modality (KeyError / NotImplementedError / LookupError) is a one-line error; any other
    exception is a bug in the model and keeps its traceback."""
    try:
        out = model.encode(modality, batch, missing=missing)
    except (KeyError, NotImplementedError, LookupError) as exc:
        raise ModelError(
            f"model {spec!r} cannot encode modality {modality!r} ({type(exc).__name__}: {exc}); "
            "pick another --target or a model for this modality"
        ) from None
    return check_matrix(
        out,
        f"model {spec!r} encode({modality!r})",
        rows=len(batch),
        ids=getattr(batch, "ids", None),
    )


class FileEncoder:
    """Reads ``<modality>[.candidates|.missing].{npy,parquet,safetensors}`` from a directory
    (see ``embeddings``); ``model.json`` there may give name, scoring and metadata."""

    def __init__(
        self,
        directory: Path,
        *,
        name: str | None = None,
        scoring: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not directory.is_dir():
            raise HarnessInputError(f"--embeddings {directory}: not a directory")
        self.directory = directory
        info = self._model_json()
        self.name = name or info.get("name") or directory.name
        self.scoring = scoring or info.get("scoring") or "mip"
        get_scorer(self.scoring)
        self.metadata = {**info.get("metadata", {}), **(metadata or {})}
        self._cache: dict[str, files.EmbeddingFile] = {}

    def _model_json(self) -> dict[str, Any]:
        path = self.directory / files.MODEL_FILE
        if not path.is_file():
            return {}
        try:
            info = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise HarnessInputError(
                f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        if not isinstance(info, dict):
            raise HarnessInputError(f"{path}: expected an object with name, scoring, metadata")
        return info

    def _file(self, stem: str) -> files.EmbeddingFile:
        if stem not in self._cache:
            self._cache[stem] = files.read_file(files.find_file(self.directory, stem))
        return self._cache[stem]

    def require(self, modalities: Sequence[str]) -> None:
        """Nothing to check up front: reading is fast and each file is checked when read."""

    def rows(self, modality, split, rows, ids, *, hidden, advance):
        emb = self._file(f"{modality.name}.missing" if hidden else modality.name)

        def keys_of(key: str) -> np.ndarray:
            if key == ROW:
                return rows
            if key == files.CANDIDATE_KEY or key not in split.table.column_names:
                raise HarnessInputError(
                    f"{emb.path}: key {key!r} is not 'row' nor a column of split "
                    f"'{split.split}' (columns: {', '.join(split.table.column_names)})"
                )
            return split.numpy(key)[rows]

        out = files.align(emb, len(rows), keys_of, broadcast=hidden)
        advance(len(rows))
        return out

    def values(self, modality, values, ids, *, advance):
        emb = self._file(f"{modality.name}.candidates")

        def keys_of(key: str) -> np.ndarray:
            if key != files.CANDIDATE_KEY:
                raise HarnessInputError(
                    f"{emb.path}: the key of a candidates file must be named "
                    f"'{files.CANDIDATE_KEY}', got {key!r}"
                )
            return ids

        out = files.align(emb, len(values), keys_of)
        advance(len(values))
        return out
