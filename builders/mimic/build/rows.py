"""One shard of Symile-MIMIC: the shard's cohort rows with their ECGs read and scaled and their
chest X-rays resized and cropped (`media.py`), in threads (PIL and the WFDB reader release the
GIL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import datasets
import numpy as np
import pyarrow as pa

from builders.mimic.build.assemble import report_of
from builders.mimic.build.config import MimicConfig
from builders.mimic.build.constants import COHORT, SPLIT_NAMES
from builders.mimic.build.media import cxr_png, ecg_scaled
from symile_bench.builder import ResourceTask, ShardTask, TaskContext
from symile_bench.media_struct import media_array
from symile_bench.source_tables import resolve_under

MEDIA_THREADS = 4


def shard_rows(
    config: MimicConfig, task: ShardTask, ctx: TaskContext, features: datasets.Features
) -> pa.Table:
    """The rows of ``task`` in the schema of ``features``."""
    cohort = ctx.resource(COHORT)
    sizes = report_of(cohort)["splits"]
    offset = sum(sizes[s]["admissions"] for s in SPLIT_NAMES[: SPLIT_NAMES.index(task.split)])
    rows = cohort.slice(offset + task.start, task.rows)
    if rows["split"].unique().to_pylist() != [task.split]:
        raise RuntimeError(f"cohort rows {offset + task.start}.. are not all {task.split}")
    ecg_root, cxr_root = config.mimic_iv_ecg, config.mimic_cxr_jpg
    if ecg_root is None or cxr_root is None:
        raise RuntimeError("run() needs the roots that prepare() recorded in the config")
    origin = f"{ctx.store.path(ResourceTask(COHORT).file)}: column"
    ecg_files = resolve_under(ecg_root, rows["ecg_path"].to_pylist(), f"{origin} 'ecg_path'")
    cxr_files = resolve_under(cxr_root, rows["cxr_path"].to_pylist(), f"{origin} 'cxr_path'")
    crop = task.split != "train"
    with ThreadPoolExecutor(max_workers=MEDIA_THREADS) as pool:  # PIL releases the GIL
        images = list(pool.map(lambda p: cxr_png(p, config.cxr_size, crop), cxr_files))
        ecgs = np.stack(list(pool.map(ecg_scaled, ecg_files)))
    columns: dict[str, Any] = {name: rows[name] for name in features if name in rows.column_names}
    columns["ecg"] = _array2d(ecgs, features.arrow_schema.field("ecg").type)
    columns["cxr"] = media_array(images)
    return pa.table({name: columns[name] for name in features})


def _array2d(values: np.ndarray, ext_type: pa.DataType) -> pa.Array:
    """(n, rows, cols) float32 -> the Array2D extension array (storage list<list<float>>)."""
    n, rows, cols = values.shape
    inner = pa.ListArray.from_arrays(
        pa.array(np.arange(0, n * rows * cols + 1, cols, dtype=np.int32)),
        pa.array(values.reshape(-1)),
    )
    outer = pa.ListArray.from_arrays(
        pa.array(np.arange(0, n * rows + 1, rows, dtype=np.int32)), inner
    )
    return pa.ExtensionArray.from_storage(ext_type, outer)
