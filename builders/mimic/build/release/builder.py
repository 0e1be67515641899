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
from typing import TYPE_CHECKING, Any

from builders.mimic.build.release.config import ReleaseMimicConfig
from builders.mimic.build.release.layout import (
    CANDIDATES,
    CITATION_DOI,
    CXR_SIZE,
    DATA_CSV,
    LABS_MEANS,
    N_LABS,
    RELEASE_SPLITS,
    RELEASE_VERSION,
    SPLIT_SOURCE,
)
from builders.mimic.build.task import retrieval_task
from symile_bench.builder import DatasetBuilder, ShardTask, TaskContext, split_tasks
from symile_bench.errors import ConfigError
from symile_bench.tasks import RetrievalTask

if TYPE_CHECKING:  # imported where used: `symile-bench --help` imports this module
    import datasets
    import pyarrow as pa

VARIANT = "default"
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
        import datasets

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
        from builders.mimic.build.release.source import check_release

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
        from builders.mimic.build.release.source import ReleaseSource

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
        from builders.mimic.build.release.rows import shard_batches

        schema = self.features(config, task.variant).arrow_schema
        return shard_batches(config.release, task, schema)

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
