"""`symile-bench embed`: a frozen encoder's vector for every distinct medium of a dataset.

Output, in the directory ``--out`` (one pair of files per modality, so audio and image can be
embedded by separate runs, on separate machines, into one folder):

* ``<modality>.parquet``: a key column and ``embedding`` (float32), one row per distinct
  medium (``media_items``). Keyed by ``audio_id`` / ``image_id`` it is an embeddings file that
  `evaluate --embeddings` aligns to any split's rows (docs/evaluation.md, "Way 2"); `train
  --arch paper` looks rows up in it by id, or by the sha256 of their bytes;
* ``<modality>.json``: what produced it (the dataset's fingerprint, the encoder, its pooling,
  the dimension, the count), checked whenever the file is read.

Resumable: vectors are written in parts of ``part_items`` media into
``.<modality>.parts/`` (each part written beside and renamed, so a killed run never leaves a
half part) with ``run.json`` naming the dataset, the media list and the encoder; a rerun of
the same command encodes only the parts that are not there, and a rerun with another encoder
or dataset is refused rather than mixed. The parquet is written (row group by row group, so
memory stays at one part) and renamed into place last, then the parts are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from symile_bench.atomic import write_text_atomic
from symile_bench.baselines.device import torch_device
from symile_bench.baselines.frozen import FrozenEncoder, check_dtype, check_frozen, load_frozen
from symile_bench.baselines.media_items import Media, list_media, modality_spec
from symile_bench.errors import ConfigError, DatasetDirError
from symile_bench.harness.embeddings import VECTOR
from symile_bench.manifest import read_manifest

FORMAT_VERSION = 1
PART_ITEMS = 1_024
Track = Callable[[str, int, str], Callable[[int], None]]


def _no_track(description: str, total: int, unit: str) -> Callable[[int], None]:
    return lambda n: None


@dataclass
class EmbedResult:
    path: Path
    count: int
    dim: int
    encoded: int  # media encoded by this run (0: the output was already complete)
    seconds: float


def output_paths(out: Path, modality: str) -> tuple[Path, Path, Path]:
    """``<modality>.parquet``, ``<modality>.json`` and the parts folder under ``out``."""
    return out / f"{modality}.parquet", out / f"{modality}.json", out / f".{modality}.parts"


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _identity(dataset: Path, modality: str, directory: Path, hidden: int, dtype: str) -> dict:
    """What a run's vectors depend on (besides the media list): compared on every resume."""
    manifest = read_manifest(dataset)
    return {
        "format_version": FORMAT_VERSION,
        "modality": modality,
        "dataset": {"builder": manifest.builder, "fingerprint": manifest.fingerprint},
        "encoder": {
            "directory": str(directory.resolve()),
            "config_sha256": _file_sha(directory / "config.json"),
            "preprocessor_sha256": _file_sha(directory / "preprocessor_config.json"),
            "hidden_size": hidden,
            "dtype": dtype,
        },
    }


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def embed(
    dataset: Path,
    modality: str,
    encoder: str | Path,
    out: Path,
    *,
    device: str = "cpu",
    batch_size: int = 32,
    dtype: str = "float32",
    overwrite: bool = False,
    part_items: int = PART_ITEMS,
    track: Track = _no_track,
) -> EmbedResult:
    """Embed every distinct ``modality`` medium of ``dataset`` with the frozen ``encoder``
    into ``out`` (module docstring). Every check runs before the first medium is encoded."""
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {batch_size}")
    check_dtype(dtype)
    torch_device(device)
    started = time.perf_counter()
    manifest = read_manifest(dataset)
    modality_spec(manifest, modality, dataset)
    final, info_path, parts = output_paths(out, modality)
    if overwrite:
        shutil.rmtree(parts, ignore_errors=True)
        final.unlink(missing_ok=True)
        info_path.unlink(missing_ok=True)
    done = _read_json(info_path)
    run = _read_json(parts / "run.json")
    known = (done or run or {}).get("encoder", {}).get("hidden_size")
    directory, hidden = check_frozen(modality, encoder, expect_hidden=known)
    identity = _identity(dataset, modality, directory, hidden, dtype)
    if done is not None and final.is_file():
        if not _matches(done, identity):
            raise ConfigError(
                f"{final} was written from another dataset or encoder ({_differs(done, identity)}"
                "); use another --out, or --overwrite to replace it"
            )
        return EmbedResult(final, int(done["count"]), int(done["dim"]), 0, 0.0)
    media = list_media(dataset, modality, track)
    if not len(media):
        raise DatasetDirError(f"{dataset}: no {modality} to embed (every row is missing it)")
    expected = {**identity, "key": media.key, "count": len(media), "keys": media.keys_digest()}
    if run is not None:
        if not _matches(run, expected):
            raise ConfigError(
                f"{parts} holds an unfinished run of another dataset, media list or encoder "
                f"({_differs(run, expected)}); rerun that command, or pass --overwrite"
            )
        part_items = int(run["part_items"])
    else:
        parts.mkdir(parents=True, exist_ok=True)
        write_text_atomic(
            parts / "run.json", json.dumps({**expected, "part_items": part_items}, indent=2)
        )
    todo = [
        p
        for p in range(-(-len(media) // part_items))
        if not (parts / f"part-{p:06d}.npy").is_file()
    ]
    encoded = 0
    if todo:
        model = load_frozen(modality, directory, device=device, dtype=dtype)
        advance = track(f"embed {modality}", len(media), modality)
        advance(len(media) - sum(_part_size(p, part_items, len(media)) for p in todo))
        for p in todo:
            vectors = _encode_part(model, media, p, part_items, batch_size, advance)
            _save_part(parts / f"part-{p:06d}.npy", vectors)
            encoded += len(vectors)
    dim = _assemble(media, parts, part_items, final)
    seconds = time.perf_counter() - started
    info = {
        **expected,
        "dim": dim,
        "encoder": {**expected["encoder"], **_encoder_info(modality, directory, hidden, dtype)},
        "dataset": {**expected["dataset"], "path": str(dataset)},
        "seconds_last_run": round(seconds, 2),
    }
    write_text_atomic(info_path, json.dumps(info, indent=2) + "\n")
    shutil.rmtree(parts, ignore_errors=True)
    return EmbedResult(final, len(media), dim, encoded, seconds)


def _matches(found: Any, wanted: Any) -> bool:
    """Whether ``found`` holds everything ``wanted`` does (dicts compared key by key, so the
    finished file's extra provenance does not count)."""
    if isinstance(wanted, dict):
        return isinstance(found, dict) and all(_matches(found.get(k), v) for k, v in wanted.items())
    return bool(found == wanted)


def _differs(found: dict[str, Any], wanted: dict[str, Any]) -> str:
    keys = [k for k in wanted if not _matches(found.get(k), wanted[k])]
    return "differs in " + ", ".join(keys) if keys else "unreadable"


def _encoder_info(modality: str, directory: Path, hidden: int, dtype: str) -> dict[str, Any]:
    from symile_bench.baselines.frozen import POOLING
    from symile_bench.baselines.hf_models import require_transformers

    config = json.loads((directory / "config.json").read_text("utf-8"))
    return {
        "model_type": config.get("model_type"),
        "name_or_path": config.get("_name_or_path") or str(directory),
        "pooling": POOLING[modality],
        "transformers": require_transformers().__version__,
    }


def _part_size(p: int, part_items: int, count: int) -> int:
    return min(part_items, count - p * part_items)


def _encode_part(
    model: FrozenEncoder,
    media: Media,
    p: int,
    part_items: int,
    batch_size: int,
    advance: Callable[[int], None],
) -> np.ndarray:
    start, stop = p * part_items, min((p + 1) * part_items, len(media))
    out = []
    for i in range(start, stop, batch_size):
        j = min(i + batch_size, stop)
        out.append(model.encode(media.items(i, j)))
        advance(j - i)
    return np.concatenate(out).astype(np.float32)


def _save_part(path: Path, vectors: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        np.save(handle, vectors)
    tmp.replace(path)


def _assemble(media: Media, parts: Path, part_items: int, final: Path) -> int:
    """The parts as one Parquet file (a row group per part), renamed into place."""
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    writer: pq.ParquetWriter | None = None
    dim = 0
    try:
        for p in range(-(-len(media) // part_items)):
            vectors = np.load(parts / f"part-{p:06d}.npy")
            dim = vectors.shape[1]
            keys = media.keys[p * part_items : p * part_items + len(vectors)]
            flat = pa.array(np.ascontiguousarray(vectors).reshape(-1))
            table = pa.table(
                {media.key: pa.array(keys), VECTOR: pa.FixedSizeListArray.from_arrays(flat, dim)}
            )
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(final)
    return dim


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedVectors:
    """``embed``'s output for one modality, read back: look vectors up by key."""

    path: Path
    key: str
    index: pd.Index
    values: np.ndarray  # [n, dim] float32
    info: dict[str, Any]

    @property
    def dim(self) -> int:
        return int(self.values.shape[1])

    def lookup(self, keys: list[Any], where: str) -> np.ndarray:
        """Rows of ``values`` for ``keys`` (each must be there)."""
        found = np.asarray(self.index.get_indexer(pd.Index(keys)), dtype=np.int64)
        if (found < 0).any():
            first = keys[int(np.flatnonzero(found < 0)[0])]
            raise DatasetDirError(
                f"{self.path}: no vector for {self.key} {first!r} ({int((found < 0).sum())} of "
                f"{len(keys)} missing in {where}); embed this dataset again with "
                "`symile-bench embed`"
            )
        return self.values[found]


def read_embedded(features: Path, modality: str) -> EmbeddedVectors:
    """The vectors `embed` wrote for ``modality`` into the directory ``features``."""
    final, info_path, parts = output_paths(features, modality)
    stat = final.stat() if final.is_file() else None
    if stat is None or not info_path.is_file():
        hint = "it holds an unfinished run: rerun it" if parts.is_dir() else "run it"
        raise ConfigError(
            f"{features}: no finished {modality} vectors ({final.name} and {info_path.name}); "
            f"`symile-bench embed DATASET --modality {modality} --encoder PATH --out "
            f"{features}` writes them ({hint})"
        )
    return _read(str(final.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int, size: int) -> EmbeddedVectors:
    """Read once per process and file version (training and evaluation featurise split after
    split from the same file)."""
    final = Path(path)
    info = _read_json(final.with_suffix(".json")) or {}
    table = pq.read_table(final)
    key = next(c for c in table.column_names if c != VECTOR)
    column = table.column(VECTOR).combine_chunks()
    dim = column.type.list_size
    values = column.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)
    index = pd.Index(table.column(key).to_pylist())
    return EmbeddedVectors(final, key, index, values.astype(np.float32, copy=False), info)
