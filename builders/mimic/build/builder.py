"""Symile-MIMIC: per hospital admission an ECG, blood labs and a chest X-ray, built from the
user's local MIMIC-IV 2.2, MIMIC-IV-ECG 1.0 and MIMIC-CXR-JPG 2.0.0 with the release's rules.

Flow: `prepare` checks the three roots and every column; the `mimic-cohort` resource selects
the cohort (vectorised, `cohort.py`), splits it and fits lab percentiles (`assemble.py`);
`plan_with_resources` writes `build_report.json` and cuts each split into shards; `run` reads
and preprocesses the chosen ECGs and CXRs of one shard (`media.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from builders.mimic.build.config import MimicConfig
from builders.mimic.build.constants import (
    CHEXPERT_LABELS,
    COHORT,
    ECG_LEADS,
    ECG_SAMPLES,
    N_LABS,
    SPLIT_NAMES,
    chexpert_column,
)
from builders.mimic.build.sources import check_all, locate
from builders.mimic.build.task import retrieval_task
from symile_bench.builder import (
    DatasetBuilder,
    ResourceTask,
    ShardTask,
    TaskContext,
    split_tasks,
)
from symile_bench.errors import ConfigError, SourceError
from symile_bench.tasks import RetrievalTask

if TYPE_CHECKING:  # imported where used: `symile-bench --help` imports this module
    import datasets
    import pyarrow as pa

VARIANT = "default"
REPORT_FILE = "build_report.json"
COHORT_FILE = "cohort.parquet"


class MimicBuilder(DatasetBuilder[MimicConfig]):
    name = "mimic"
    description = (
        "Symile-MIMIC: an ECG, blood labs and a chest X-ray per admission, from your local "
        "MIMIC-IV, MIMIC-IV-ECG and MIMIC-CXR-JPG (credentialed; nothing leaves this machine)."
    )
    version = "1.0.0"
    Config = MimicConfig
    license = "other"  # PhysioNet Credentialed Health Data License 1.5.0

    def __init__(self) -> None:
        self._report: dict[str, Any] | None = None

    # -- planning -------------------------------------------------------------------------
    def variants(self, config: MimicConfig) -> list[str]:
        return [VARIANT]

    def tasks(self, config: MimicConfig) -> list[RetrievalTask]:
        return [retrieval_task(config.candidates)]

    def answer_columns(self, config: MimicConfig) -> list[str]:
        raise ConfigError(
            "--blind is not supported for mimic: every query's own hadm_id is among its stored "
            "candidates, so hiding the answers needs id anonymisation; register the full build "
            "with `symile-bench leaderboard add DIR` and keep that build private"
        )

    def features(self, config: MimicConfig, variant: str) -> datasets.Features:
        import datasets

        def labs(dtype: str) -> datasets.List:
            return datasets.List(datasets.Value(dtype), length=N_LABS)

        int64, string = datasets.Value("int64"), datasets.Value("string")
        when = datasets.Value("timestamp[s]")
        return datasets.Features(
            {
                "hadm_id": int64,
                "subject_id": int64,
                "ecg": datasets.Array2D((ECG_SAMPLES, ECG_LEADS), "float32"),
                "labs_percentile": labs("float32"),
                "labs_missing": labs("bool"),
                "cxr": datasets.Image(),
                "candidates": datasets.List(int64, length=config.candidates),
                "labs_value": labs("float64"),
                "labs_labevent_id": labs("int64"),
                "admittime": when,
                "ecg_study_id": int64,
                "ecg_time": when,
                "ecg_path": string,
                "cxr_dicom_id": string,
                "cxr_study_id": int64,
                "cxr_study_time": when,
                "cxr_view_position": string,
                "cxr_path": string,
                **{chexpert_column(label): datasets.Value("float32") for label in CHEXPERT_LABELS},
            }
        )

    def prepare(self, config: MimicConfig, warn: Callable[[str], None]) -> MimicConfig:
        """Check the three roots and every column we read before anything is written; record
        absolute roots so the build does not depend on the working directory, and whether the
        sources are fake-mimic's (its marker file), so the output can never pass for real."""
        if (config.train_n is None) != (config.val_n is None):
            raise ConfigError(
                "give --train-n and --val-n together (the release used 10000 "
                "and 750), or neither to split by --test-frac/--val-frac"
            )
        sources = locate(config.mimic_iv, config.mimic_iv_ecg, config.mimic_cxr_jpg)
        check_all(sources)
        return config.model_copy(
            update={
                "mimic_iv": config.mimic_iv.resolve(),  # type: ignore[union-attr]
                "mimic_iv_ecg": sources.ecg_root,
                "mimic_cxr_jpg": sources.cxr_root,
                "synthetic": bool(sources.synthetic_markers()),
            }
        )

    def resources(self, config: MimicConfig) -> list[ResourceTask]:
        return [ResourceTask(COHORT, stage=0)]

    def build_resource(self, config: MimicConfig, task: ResourceTask, ctx: TaskContext) -> pa.Table:
        from builders.mimic.build.assemble import build_cohort

        sources = locate(config.mimic_iv, config.mimic_iv_ecg, config.mimic_cxr_jpg)
        table, _, _ = build_cohort(sources, config, ctx.seed)
        return table

    def plan(self, config: MimicConfig) -> list[ShardTask]:
        raise NotImplementedError(
            "mimic's split sizes come from its cohort; the build calls plan_with_resources"
        )

    def plan_with_resources(self, config: MimicConfig, ctx: TaskContext) -> list[ShardTask]:
        """Write build_report.json (and cohort.parquet with --cohort-only); shard each split."""
        import pyarrow.parquet as pq

        from builders.mimic.build.assemble import report_of

        cohort = ctx.resource(COHORT)
        report = {
            "builder": self.name,
            "builder_version": self.version,
            "seed": ctx.seed,
            **report_of(cohort),
        }
        self._report = report
        ctx.store.write_text(REPORT_FILE, json.dumps(report, indent=2) + "\n")
        if config.cohort_only:
            with ctx.store.atomic_writer(COHORT_FILE) as handle:
                pq.write_table(cohort, handle, compression="zstd")
            return []
        ctx.store.remove(COHORT_FILE)  # left by an earlier --cohort-only
        if report["admissions"]["kept"] == 0:
            raise SourceError(
                f"no admission has an ECG, labs and a CXR under the cohort rules (of "
                f"{report['admissions']['total']:,} read); {ctx.store.path(REPORT_FILE)} says "
                "which rule dropped them"
            )
        return [
            task
            for split in SPLIT_NAMES
            for task in split_tasks(
                VARIANT, split, report["splits"][split]["admissions"], config.shard_rows
            )
        ]

    # -- one shard ----------------------------------------------------------------------------
    def run(self, config: MimicConfig, task: ShardTask, ctx: TaskContext) -> pa.Table:
        from builders.mimic.build.rows import shard_rows

        return shard_rows(config, task, ctx, self.features(config, task.variant))

    # -- card ---------------------------------------------------------------------------------
    def card_variables(self, config: MimicConfig, manifest: Mapping[str, Any]) -> dict[str, str]:
        from builders.mimic.build.card import card_variables

        return card_variables(config, manifest, self._report)


__all__ = ["MimicBuilder", "MimicConfig"]
