"""Binary XOR (docs/paper.md, "Binary XOR") with M >= 3 modalities: the target b is recoverable
from the other modalities only jointly.

x_1 ... x_{M-1} i.i.d. uniform on {0,1}^d; one switch i ~ Bernoulli(p) per sample;
x_M = x_1 XOR ... XOR x_{M-1} if i else x_1. The modalities are named a, b, c, ... in order
(``modality_names``), so M = 3 is the paper's (a, b, c) with c = a XOR b if i else a.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field, SerializerFunctionWrapHandler, field_validator, model_serializer

from builders.xor.build.names import DEFAULT_MODALITIES, MAX_MODALITIES, modality_names
from symile_bench.builder import BuilderConfig, DatasetBuilder, ShardTask, TaskContext, split_tasks
from symile_bench.tasks import CandidateRuleSpec, ModalitySpec, RetrievalTask

if TYPE_CHECKING:  # imported where used: `symile-bench --help` imports this module
    import datasets
    import pyarrow as pa

P_GRID = tuple(round(0.1 * k, 1) for k in range(11))


class XorConfig(BuilderConfig):
    modalities: int = Field(
        DEFAULT_MODALITIES,
        description="Number of modalities M, named a, b, c, ... (the letters without i, the "
        "switch): x_1 ... x_{M-1} uniform, x_M = x_1 XOR ... XOR x_{M-1} when the switch is on, "
        "else x_M = x_1. The target is b. Default 3: the paper's (a, b, c).",
    )
    d: int = Field(5, ge=1, le=20, description="Vector length d; the task has 2^d candidates.")
    p: tuple[float, ...] = Field(
        P_GRID,
        description="Probability that the last modality is the XOR of the others (else a "
        "copy of a; with 3 modalities c = a XOR b, else c = a). One value or a comma list; "
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

    @field_validator("modalities")
    @classmethod
    def _check_modalities(cls, value: int) -> int:
        if value < 3:
            raise ValueError(
                f"XOR needs at least 3 modalities, got {value}: with 2 the second is always a "
                "copy of a, so there is no higher-order interaction"
            )
        if value > MAX_MODALITIES:
            raise ValueError(
                f"at most {MAX_MODALITIES} modalities (named a ... z without i, the switch), "
                f"got {value}"
            )
        return value

    @model_serializer(mode="wrap")
    def _omit_default_modalities(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A three-modality config serialises as it did before ``modalities`` existed, so the
        manifest's config, the dataset fingerprint (a hash of it) and the card's configuration
        block of a default build are unchanged; any other M is recorded."""
        data: dict[str, Any] = handler(self)
        if self.modalities == DEFAULT_MODALITIES:
            data.pop("modalities", None)
        return data

    @property
    def names(self) -> tuple[str, ...]:
        return modality_names(self.modalities)


def variant_name(p: float) -> str:
    return f"p{p}"


class XorBuilder(DatasetBuilder[XorConfig]):
    name = "xor"
    description = (
        "Binary XOR of M >= 3 modalities (default the triples a, b, c): only all the other "
        "modalities together determine b."
    )
    version = "1.0.0"
    Config = XorConfig

    def variants(self, config: XorConfig) -> list[str]:
        return [variant_name(p) for p in config.p]

    def features(self, config: XorConfig, variant: str) -> datasets.Features:
        import datasets

        vector = datasets.List(datasets.Value("int8"), length=config.d)
        return datasets.Features({**{m: vector for m in config.names}, "i": datasets.Value("int8")})

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
        # the draw order is part of the output: x_1 ... x_{M-1}, then the switch (for M = 3:
        # a, b, then i, the order of every build before M was an option)
        free = [rng.integers(0, 2, size=(n, d), dtype=np.int8) for _ in config.names[:-1]]
        i = (rng.random(n) < p).astype(np.int8)
        rest = free[1]
        for x in free[2:]:
            rest = rest ^ x
        last = free[0] ^ (rest * i[:, None])  # x_1 XOR ... XOR x_{M-1} where i = 1, else x_1

        def vectors(x: np.ndarray) -> pa.Array:
            return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), d)

        columns = dict(zip(config.names, [*free, last], strict=True))
        return pa.table({**{m: vectors(x) for m, x in columns.items()}, "i": pa.array(i)})

    def tasks(self, config: XorConfig) -> list[RetrievalTask]:
        n = 2**config.d
        queries = ", ".join(m for m in config.names if m != "b")
        return [
            RetrievalTask(
                name="xor",
                description=f"predict b from ({queries}) among all 2^d = {n} binary vectors",
                modalities=tuple(
                    ModalitySpec(name=m, kind="vector", columns=(m,)) for m in config.names
                ),
                target="b",
                candidates=(CandidateRuleSpec(name="all", kind="binary-vectors"),),
                chance=1 / n,
                chance_label=f"1/{n}",
            )
        ]

    def label(self, config: XorConfig) -> str:
        """``m4``, ``m5``, ...: builds with another number of modalities share config names
        (p0.5) but not a leaderboard benchmark; empty for the paper's three."""
        return "" if config.modalities == DEFAULT_MODALITIES else f"m{config.modalities}"

    def answer_columns(self, config: XorConfig) -> list[str]:
        """b is the target; i says whether b is determined by the other modalities."""
        return ["b", "i"]

    def card_variables(self, config: XorConfig, manifest: Mapping[str, Any]) -> dict[str, str]:
        d, names = config.d, config.names
        m = len(names)
        queries = ", ".join(x for x in names if x != "b")
        free = names[:-1]
        return {
            "d": str(d),
            "modalities": str(m),
            "modalities_minus_one": str(m - 1),
            "title_modalities": "" if m == DEFAULT_MODALITIES else f" with {m} modalities",
            "names": ", ".join(names),
            "queries": queries,
            "columns": ", ".join(f"`{x}`" for x in names),
            "process": "\n".join(
                [
                    f"- `{', '.join(free)}` i.i.d. uniform on {{0,1}}^{d} (every coordinate "
                    "Bernoulli(0.5));",
                    "- one switch `i ~ Bernoulli(p)`, drawn once per sample and shared by all "
                    "coordinates;",
                    f"- `{names[-1]} = {' XOR '.join(free)}` if `i = 1`, else "
                    f"`{names[-1]} = {names[0]}`.",
                ]
            ),
            "info_table": _info_markdown(d, config.p, m),
            "n_candidates": f"{2**d:,}",
            "chance": f"1/{2**d} = {1 / 2**d:.4f}",
            "p_values": ", ".join(str(p) for p in config.p),
            "train_n": f"{config.train_n:,}",
            "val_n": f"{config.val_n:,}",
            "test_n": f"{config.test_n:,}",
        }


def _info_markdown(d: int, ps: tuple[float, ...], modalities: int) -> str:
    """The card's table of exact information terms, or why it is not there."""
    from builders.xor.build.info import info_rows
    from symile_bench.errors import ConfigError

    try:
        header, rows = info_rows(d, ps, modalities)
    except ConfigError as exc:
        return f"(Not enumerated for this build: {exc}.)"
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    if any("×" in row[0] for row in rows):
        lines += ["", "×k: k terms of equal value (x_2 … x_{M−1} are exchangeable)."]
    return "\n".join(lines)
