"""`symile-mimic`: import the paper's own Symile-MIMIC 1.0.0 (the unpacked PhysioNet release)
into a dataset directory that the harness scores exactly as it scores our `mimic` builds.

The release's evaluation (rajesh-lab/symile `experiments/models/symile_mimic_model.py`,
`zeroshot_retrieval`) ranks, for each row with label 1, the CXRs of the 10 rows sharing its
label_hadm_id. Its negatives are copies of other admissions of the same split
(`create_dataset_splits.py`, `sample_negative_candidates`) preprocessed deterministically
(`process_and_save_tensors.py`: centre crop outside train), so each retrieval split is stored as
our `mimic` builder stores it: one row per query admission, with its 10 candidate hadm_ids
(own first, then the negatives in release order) in `candidates`; the task is that builder's
(`stored-sets`, chance 1/10). Arrays are read memory-mapped, a few rows at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import datasets
import numpy as np
import pyarrow as pa

from builders.mimic.task import retrieval_task
from builders.release_mimic.arrays import fixed_shape_array
from builders.release_mimic.config import ReleaseMimicConfig
from builders.release_mimic.layout import (
    CANDIDATES,
    CITATION_DOI,
    CXR_SIZE,
    DATA_CSV,
    LABS_MEANS,
    N_LABS,
    RELEASE_SPLITS,
    RELEASE_VERSION,
    SPLIT_SOURCE,
    read_rows,
)
from builders.release_mimic.source import ReleaseSource, check_release
from symile_bench.builder import DatasetBuilder, ShardTask, TaskContext, split_tasks
from symile_bench.errors import ConfigError
from symile_bench.tasks import RetrievalTask

VARIANT = "default"
BATCH_ROWS = 16  # rows read and converted at a time: bounds memory (a CXR is 1.2 MB)
KEPT = "release"  # files of the release kept beside the shards, for a complete export
HEADERS = f"{KEPT}/csv_columns.json"


class ReleaseMimicBuilder(DatasetBuilder[ReleaseMimicConfig]):
    name = "symile-mimic"
    description = (
        "Import the PhysioNet Symile-MIMIC 1.0.0 release (ECG, labs, CXR arrays + retrieval "
        "sets) as a dataset directory scored with the release's task."
    )
    version = "1.0.0"
    Config = ReleaseMimicConfig
    license = "other"  # PhysioNet Credentialed Health Data License 1.5.0
    source_field = "release"

    def variants(self, config: ReleaseMimicConfig) -> list[str]:
        return [VARIANT]

    def features(self, config: ReleaseMimicConfig, variant: str) -> datasets.Features:
        def labs(dtype: str) -> datasets.List:
            return datasets.List(datasets.Value(dtype), length=N_LABS)

        int64 = datasets.Value("int64")
        return datasets.Features(
            {
                "hadm_id": int64,
                "ecg": datasets.Array2D((5000, 12), "float32"),
                "labs_percentile": labs("float32"),
                "labs_missing": labs("bool"),
                "cxr": datasets.Array3D((3, CXR_SIZE, CXR_SIZE), "float32"),
                "candidates": datasets.List(int64, length=CANDIDATES),
                "csv": datasets.Value("string"),
            }
        )

    def tasks(self, config: ReleaseMimicConfig) -> list[RetrievalTask]:
        return [retrieval_task(CANDIDATES)]

    def answer_columns(self, config: ReleaseMimicConfig) -> list[str]:
        raise ConfigError(
            "--blind is not supported for symile-mimic: every query's own hadm_id is among its "
            "candidates (as for mimic builds), so hiding the answers needs id anonymisation"
        )

    def prepare(
        self, config: ReleaseMimicConfig, warn: Callable[[str], None]
    ) -> ReleaseMimicConfig:
        """Check the whole release before anything is written (every file, shape, length,
        retrieval group and checksum) and record its provenance in the config."""
        if config.release is None:
            raise ConfigError("give the release root: symile-bench import symile-mimic DIR")
        return check_release(config.release.resolve(), config)

    def plan(self, config: ReleaseMimicConfig) -> list[ShardTask]:
        if not config.rows:
            raise ConfigError("plan() needs the row counts that prepare() records")
        return [
            task
            for split in SPLIT_SOURCE
            for task in split_tasks(VARIANT, split, config.rows[split], config.shard_rows)
        ]

    def plan_with_resources(self, config: ReleaseMimicConfig, ctx: TaskContext) -> list[ShardTask]:
        """Also keep, under release/, what the shards do not hold: symile_mimic_data.csv (the
        whole cohort, with the columns the split CSVs drop), labs_means.json and the header of
        each split CSV, so an export gives the release back complete."""
        assert config.release is not None  # prepare() refused a config without it
        for name in (DATA_CSV, LABS_MEANS):
            with (
                (config.release / name).open("rb") as src,
                ctx.store.atomic_writer(f"{KEPT}/{name}") as dst,
            ):
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        headers = {s: ReleaseSource.open(config.release, s).header for s in RELEASE_SPLITS}
        ctx.store.write_text(HEADERS, json.dumps(headers, indent=1) + "\n")
        return self.plan(config)

    def run(
        self, config: ReleaseMimicConfig, task: ShardTask, ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        assert config.release is not None
        source = ReleaseSource.open(config.release, SPLIT_SOURCE[task.split])
        schema = self.features(config, task.variant).arrow_schema
        for start in range(task.start, task.stop, BATCH_ROWS):
            stop = min(task.stop, start + BATCH_ROWS)
            yield _batch(source, np.arange(start, stop), schema)

    def card_variables(
        self, config: ReleaseMimicConfig, manifest: Mapping[str, Any]
    ) -> dict[str, str]:
        files = "\n".join(f"| `{name}` | `{sha}` |" for name, sha in config.files.items())
        checked = (
            "every file matched the release's `SHA256SUMS.txt`"
            if config.sha256sums_checked
            else "the release had no `SHA256SUMS.txt`, so they were not checked against it"
        )
        return {
            "release_version": RELEASE_VERSION,
            "release_files": files,
            "sha256sums_checked": checked,
            "train_n": f"{config.rows.get('train', 0):,}",
            "val_n": f"{config.rows.get('validation', 0):,}",
            "test_n": f"{config.rows.get('test', 0):,}",
            "citation_doi": CITATION_DOI,
        }


def _batch(source: ReleaseSource, queries: np.ndarray, schema: pa.Schema) -> pa.RecordBatch:
    """Rows `queries` (indices into the split's queries) as one Arrow batch."""
    rows = source.query_rows[queries]
    ecg = read_rows(source.arrays["ecg"], rows)[:, 0]  # (n, 1, 5000, 12) -> (n, 5000, 12)
    observed = read_rows(source.arrays["labs_missingness"], rows)
    columns: dict[str, pa.Array] = {
        "hadm_id": pa.array(source.hadm_id[rows]),
        "ecg": fixed_shape_array(ecg, schema.field("ecg").type),
        "labs_percentile": fixed_shape_array(
            read_rows(source.arrays["labs_percentiles"], rows),
            schema.field("labs_percentile").type,
        ),
        "labs_missing": fixed_shape_array(observed == 0, schema.field("labs_missing").type),
        "cxr": fixed_shape_array(read_rows(source.arrays["cxr"], rows), schema.field("cxr").type),
        "candidates": _candidates(source, queries, schema.field("candidates").type),
        "csv": pa.array(
            [
                json.dumps(dict(zip(source.header, row, strict=True)))
                for row in source.csv_rows(rows)
            ],
            pa.string(),
        ),
    }
    return pa.RecordBatch.from_pydict(columns, schema=schema)


def _candidates(source: ReleaseSource, queries: np.ndarray, kind: pa.DataType) -> pa.Array:
    if source.members is None:  # train: no retrieval sets, as in mimic builds
        return pa.nulls(len(queries), kind)
    return fixed_shape_array(source.hadm_id[source.members[queries]], kind)
