"""Binary XOR (docs/paper.md, "Binary XOR"): b is recoverable from (a, c)
only jointly.

a_j, b_j ~ Bernoulli(0.5); one switch i ~ Bernoulli(p) per sample; c = a XOR b if i else a.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from symile_bench.builder import BuilderConfig, DatasetBuilder, ShardTask, TaskContext, split_tasks
from symile_bench.tasks import CandidateRuleSpec, ModalitySpec, RetrievalTask

if TYPE_CHECKING:  # imported where used: `symile-bench --help` imports this module
    import datasets
    import pyarrow as pa

P_GRID = tuple(round(0.1 * k, 1) for k in range(11))


class XorConfig(BuilderConfig):
    d: int = Field(5, ge=1, le=20, description="Vector length d; the task has 2^d candidates.")
    p: tuple[float, ...] = Field(
        P_GRID,
        description="Probability that c = a XOR b (else c = a). One value or a comma list; "
        "each value becomes a dataset config named like p0.5. Default: 0.0, 0.1, ..., 1.0.",
    )
    train_n: int = Field(10_000, ge=0, description="Rows in the train split.")
    val_n: int = Field(1_000, ge=0, description="Rows in the validation split.")
    test_n: int = Field(5_000, ge=0, description="Rows in the test split.")
    shard_rows: int = Field(
        1_000_000,
        ge=1,
        description="Rows per shard file (part of the config: it fixes the output).",
    )

    @field_validator("p", mode="before")
    @classmethod
    def _parse_p(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return tuple(float(x) for x in value.split(",") if x.strip())
            except ValueError:
                raise ValueError(f"expected numbers separated by commas, got '{value}'") from None
        if isinstance(value, (int, float)):
            return (float(value),)
        return value

    @field_validator("p")
    @classmethod
    def _check_p(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            raise ValueError("give at least one p value")
        for p in value:
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"p must be between 0 and 1, got {p}")
        if len(set(value)) != len(value):
            raise ValueError("p values must be distinct")
        return value


def variant_name(p: float) -> str:
    return f"p{p}"


class XorBuilder(DatasetBuilder[XorConfig]):
    name = "xor"
    description = "Binary XOR triples (a, b, c): only a and c together determine b."
    version = "1.0.0"
    Config = XorConfig

    def variants(self, config: XorConfig) -> list[str]:
        return [variant_name(p) for p in config.p]

    def features(self, config: XorConfig, variant: str) -> datasets.Features:
        import datasets

        vector = datasets.List(datasets.Value("int8"), length=config.d)
        return datasets.Features(
            {"a": vector, "b": vector, "c": vector, "i": datasets.Value("int8")}
        )

    def plan(self, config: XorConfig) -> list[ShardTask]:
        sizes = {"train": config.train_n, "validation": config.val_n, "test": config.test_n}
        return [
            task
            for variant in self.variants(config)
            for split, n in sizes.items()
            for task in split_tasks(variant, split, n, config.shard_rows)
        ]

    def run(self, config: XorConfig, task: ShardTask, ctx: TaskContext) -> pa.Table:
        import numpy as np
        import pyarrow as pa

        p = config.p[self.variants(config).index(task.variant)]
        rng = task.rng(ctx.seed)
        n, d = task.rows, config.d
        a = rng.integers(0, 2, size=(n, d), dtype=np.int8)
        b = rng.integers(0, 2, size=(n, d), dtype=np.int8)
        i = (rng.random(n) < p).astype(np.int8)
        c = a ^ (b * i[:, None])  # = a XOR b where i = 1, else a

        def vectors(x: np.ndarray) -> pa.Array:
            return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), d)

        return pa.table({"a": vectors(a), "b": vectors(b), "c": vectors(c), "i": pa.array(i)})

    def tasks(self, config: XorConfig) -> list[RetrievalTask]:
        n = 2**config.d
        return [
            RetrievalTask(
                name="xor",
                description=f"predict b from (a, c) among all 2^d = {n} binary vectors",
                modalities=tuple(ModalitySpec(name=m, kind="vector", columns=(m,)) for m in "abc"),
                target="b",
                candidates=(CandidateRuleSpec(name="all", kind="binary-vectors"),),
                chance=1 / n,
                chance_label=f"1/{n}",
            )
        ]

    def answer_columns(self, config: XorConfig) -> list[str]:
        """b is the target; i says whether b is determined by (a, c)."""
        return ["b", "i"]

    def card_variables(self, config: XorConfig, manifest: Mapping[str, Any]) -> dict[str, str]:
        d = config.d
        return {
            "d": str(d),
            "n_candidates": f"{2**d:,}",
            "chance": f"1/{2**d} = {1 / 2**d:.4f}",
            "p_values": ", ".join(str(p) for p in config.p),
            "train_n": f"{config.train_n:,}",
            "val_n": f"{config.val_n:,}",
            "test_n": f"{config.test_n:,}",
        }
