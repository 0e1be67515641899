"""`clock`, build side: a start hour, a number of hours added, and the end hour on a clock of
`hours` hours. The end is independent of the start alone and of the step alone; only both
together determine it (the smallest dataset with Symile-M3's structure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from symile_bench.builder import BuilderConfig, DatasetBuilder, ShardTask, TaskContext, split_tasks
from symile_bench.tasks import CandidateRuleSpec, ModalitySpec, RetrievalTask

if TYPE_CHECKING:  # imported where used, so `symile-bench --help` stays fast
    import datasets
    import pyarrow as pa

CARD = """# clock: start + step = end

{{summary_table}}

Built by `{{builder}}` {{builder_version}} with seed {{seed}}; fingerprint `{{fingerprint}}`.
"""


class ClockConfig(BuilderConfig):
    hours: int = Field(12, ge=2, le=64, description="Hours on the clock (and candidates).")
    train_n: int = Field(2000, ge=0, description="Rows in the train split.")
    val_n: int = Field(500, ge=0, description="Rows in the validation split.")
    test_n: int = Field(600, ge=0, description="Rows in the test split.")


class ClockBuilder(DatasetBuilder[ClockConfig]):
    name = "clock"
    description = "Start hour and step; only both together give the end hour."
    version = "0.1.0"
    Config = ClockConfig

    def variants(self, config: ClockConfig) -> list[str]:
        return ["default"]

    def features(self, config: ClockConfig, variant: str) -> datasets.Features:
        import datasets

        hour = datasets.Value("int64")
        return datasets.Features({"start": hour, "step": hour, "end": hour})

    def plan(self, config: ClockConfig) -> list[ShardTask]:
        sizes = {"train": config.train_n, "validation": config.val_n, "test": config.test_n}
        return [t for s, n in sizes.items() for t in split_tasks("default", s, n, 1000)]

    def run(self, config: ClockConfig, task: ShardTask, ctx: TaskContext) -> pa.Table:
        import pyarrow as pa

        rng = task.rng(ctx.seed)  # keyed by (seed, variant, split, shard): any worker count
        start = rng.integers(0, config.hours, task.rows)
        step = rng.integers(0, config.hours, task.rows)
        return pa.table({"start": start, "step": step, "end": (start + step) % config.hours})

    def tasks(self, config: ClockConfig) -> list[RetrievalTask]:
        n = config.hours
        return [
            RetrievalTask(
                name="clock",
                description="find the end hour of (start, step) among the split's end hours",
                modalities=tuple(
                    ModalitySpec(name=m, kind="category", columns=(m,))
                    for m in ("start", "step", "end")
                ),
                target="end",
                candidates=(
                    CandidateRuleSpec(name="all", kind="split-rows", params={"label": "end"}),
                ),
                chance=1 / n,
                chance_label=f"1/{n}",
            )
        ]

    def card_template(self) -> str:
        return CARD
