"""The generic recipe: a third-party builder whose modalities are all fixed-length vectors trains
and scores without writing a recipe (`symile_bench.baselines.recipes.VectorRecipe`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import Field

from symile_bench.baselines.recipes import RECIPES, VECTORS, recipe_for
from symile_bench.baselines.train import train
from symile_bench.build import build
from symile_bench.builder import BuilderConfig, DatasetBuilder, ShardTask, TaskContext, split_tasks
from symile_bench.errors import ConfigError
from symile_bench.executors import make_executor
from symile_bench.tasks import CandidateRuleSpec, ModalitySpec, RetrievalTask

from .conftest import run_cli

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

CARD = "# parity\n\n{{summary_table}}\n\nFingerprint `{{fingerprint}}`.\n"


class ParityConfig(BuilderConfig):
    d: int = Field(4, ge=1, le=8)
    rows: int = Field(1200, ge=10)


class ParityBuilder(DatasetBuilder[ParityConfig]):
    """Four bit vectors u, v, w, z with z = u XOR v XOR w: a third party's higher-order
    benchmark that registers no recipe."""

    name = "parity-demo"
    description = "z = u XOR v XOR w"
    version = "0.1.0"
    Config = ParityConfig

    def variants(self, config: ParityConfig) -> list[str]:
        return ["default"]

    def features(self, config: ParityConfig, variant: str) -> datasets.Features:
        import datasets

        vector = datasets.List(datasets.Value("int8"), length=config.d)
        return datasets.Features({m: vector for m in "uvwz"})

    def plan(self, config: ParityConfig) -> list[ShardTask]:
        sizes = {"train": config.rows, "validation": config.rows // 4, "test": config.rows // 4}
        return [t for s, n in sizes.items() for t in split_tasks("default", s, n, 10_000)]

    def run(self, config: ParityConfig, task: ShardTask, ctx: TaskContext) -> pa.Table:
        import numpy as np
        import pyarrow as pa

        rng = task.rng(ctx.seed)
        u, v, w = (rng.integers(0, 2, (task.rows, config.d), dtype=np.int8) for _ in range(3))
        columns = {"u": u, "v": v, "w": w, "z": u ^ v ^ w}
        return pa.table(
            {
                k: pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), config.d)
                for k, x in columns.items()
            }
        )

    def tasks(self, config: ParityConfig) -> list[RetrievalTask]:
        n = 2**config.d
        return [
            RetrievalTask(
                name="parity",
                modalities=tuple(ModalitySpec(name=m, kind="vector", columns=(m,)) for m in "uvwz"),
                target="z",
                candidates=(CandidateRuleSpec(name="all", kind="binary-vectors"),),
                chance=1 / n,
                chance_label=f"1/{n}",
            )
        ]

    def card_template(self) -> str:
        return CARD


@pytest.fixture
def one_thread():
    """One torch thread, as `reproduce` trains: these models are too small to gain from more,
    and on shared cores intra-op threads slow them several-fold."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def parity(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("parity") / "data"
    builder = ParityBuilder()
    build(builder, builder.Config(), out, executor=make_executor("serial", 1), quiet=True)
    return out


def test_vector_builder_without_a_recipe_trains_and_scores(parity, tmp_path, one_thread):
    """Proves a builder that registers no recipe, with four vector modalities, trains with the
    generic recipe (recorded in model.json as `vectors`), and that `evaluate` in a fresh process,
    where the builder is not even importable by name, loads the checkpoint and scores it: Symile
    learns the four-way parity above chance 1/16."""
    assert "parity-demo" not in RECIPES
    out = tmp_path / "model"
    train(parity, out, loss="symile", overrides={"epochs": 25, "batch_size": 200})
    info = json.loads((out / "model.json").read_text())
    assert info["recipe"] == "vectors" and info["builder"] == "parity-demo"
    results = tmp_path / "r.json"
    run_cli(
        "evaluate",
        parity,
        "--model",
        "symile_bench.baselines:load",
        "--model-arg",
        f"path={out}",
        "--out",
        results,
        "--bootstrap",
        200,
        "-q",
    )
    row = next(r for r in json.loads(results.read_text())["rows"] if r["metric"] == "top1")
    assert row["ci_low"] > 1 / 16


def test_recipe_lookup_prefers_the_builders_own_and_refuses_other_kinds():
    """Proves the lookup order: a builder's registered recipe wins (XOR's, although its
    modalities are vectors too); a builder without one gets the generic recipe only when every
    modality is a vector; otherwise the error says how to register one or that vectors need
    none."""
    vectors = [ModalitySpec(name=m, kind="vector", columns=(m,)) for m in "ab"]
    assert recipe_for("xor", vectors).name == "xor"
    assert recipe_for("someone-elses", vectors) is VECTORS
    mixed = [vectors[0], ModalitySpec(name="t", kind="text", columns=("t",))]
    with pytest.raises(ConfigError, match=r"register_recipe.*kind 'vector'"):
        recipe_for("someone-elses", mixed)
