"""The builder contract: a config, a pure plan of shard tasks, and a function that runs one.

A task depends only on (config, seed, variant, split, shard index). Its random stream comes
from `numpy.random.SeedSequence(seed, spawn_key=...)` keyed by the *names* of the variant and
split plus the shard index, so output is byte-identical for any worker count or executor, and a
variant built alone equals the same variant built inside a larger grid.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from symile_bench.hashing import stable_int

if TYPE_CHECKING:  # imported where used, so `symile-bench --help` does not load them
    import datasets
    import numpy as np
    import pyarrow as pa

    from symile_bench.manifest import Manifest
    from symile_bench.storage import Store
    from symile_bench.tasks import RetrievalTask

SPLITS: tuple[str, ...] = ("train", "validation", "test")


class BuilderConfig(BaseModel):
    """Base for every builder's options. Field descriptions become the CLI's `--help` text.
    A field marked `json_schema_extra={"cli": False}` is no option: `prepare` records a fact
    about the sources there (it is in the manifest's config like any other field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


C = TypeVar("C", bound=BuilderConfig)


def task_rng(seed: int, *key: str | int) -> np.random.Generator:
    """The generator for one unit of work, keyed by names and indices (never by order)."""
    import numpy as np

    spawn_key = tuple(k if isinstance(k, int) else stable_int(k) for k in key)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=spawn_key))


@dataclass(frozen=True)
class ShardTask:
    """Rows [start, stop) of one split of one variant, written as one Arrow shard."""

    variant: str
    split: str
    index: int
    n_shards: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start

    @property
    def file(self) -> str:
        """Path relative to the dataset directory (HF's `<split>-00000-of-00012` naming)."""
        return f"data/{self.variant}/{self.split}-{self.index:05d}-of-{self.n_shards:05d}.arrow"

    def rng(self, seed: int) -> np.random.Generator:
        return task_rng(seed, "shard", self.variant, self.split, self.index)


@dataclass(frozen=True)
class ResourceTask:
    """A table every shard may read (an audio or image pool, a cohort), built once and kept
    for resume. Resources of a lower `stage` are all complete before a higher stage starts,
    so a resource may read those of earlier stages through `TaskContext.resource`."""

    name: str
    rows: int = 0
    stage: int = 0

    @property
    def file(self) -> str:
        return f"pools/{self.name}.arrow"

    def rng(self, seed: int) -> np.random.Generator:
        return task_rng(seed, "resource", self.name)


@dataclass
class TaskContext:
    """What a running task may use besides its own task: the seed, the built resources, and
    the dataset directory (`store`, local or remote) for builders that write extra files."""

    seed: int
    store: Store
    _cache: dict[str, pa.Table] = field(default_factory=dict)

    def resource(self, name: str) -> pa.Table:
        """A pool table, memory-mapped when local (read once per process)."""
        if name not in self._cache:
            self._cache[name] = self.store.read_table(ResourceTask(name).file)
        return self._cache[name]


@dataclass(frozen=True)
class PoolSpec:
    """A pool a build publishes (pooled storage): the resources whose tables make it up, the
    column its rows are keyed by (rows of the dataset hold that key instead of the medium),
    and its `datasets.Features`, with which its files are written so that
    `datasets.load_dataset(DIR, name)` reads the pool as a config of its own."""

    name: str
    key: str
    resources: tuple[str, ...]
    features: datasets.Features


def split_tasks(variant: str, split: str, n_rows: int, shard_rows: int) -> list[ShardTask]:
    """Cut one split into shards of `shard_rows` (the last may be shorter)."""
    if n_rows == 0:
        return []
    n_shards = -(-n_rows // shard_rows)
    return [
        ShardTask(variant, split, i, n_shards, i * shard_rows, min(n_rows, (i + 1) * shard_rows))
        for i in range(n_shards)
    ]


class DatasetBuilder(ABC, Generic[C]):
    """Subclass this (or follow its shape) and register it under the entry-point group
    `symile_bench.builders`; core discovers it from there and never imports it by name."""

    name: ClassVar[str]
    description: ClassVar[str]
    version: ClassVar[str]
    Config: type[C]
    license: ClassVar[str] = "mit"
    #: an importer of a released dataset (docs/architecture.md: "importers are builders whose
    #: source is a release") names the Config field that `symile-bench import NAME SOURCE`
    #: fills from its positional SOURCE argument; None for builders that generate their data
    source_field: ClassVar[str | None] = None

    @abstractmethod
    def variants(self, config: C) -> list[str]:
        """Dataset config names (one per variant, e.g. an XOR p value)."""

    @abstractmethod
    def features(self, config: C, variant: str) -> datasets.Features:
        """The `datasets.Features` of every split of `variant`."""

    @abstractmethod
    def plan(self, config: C) -> list[ShardTask]:
        """Every shard of every variant and split. Pure: no I/O, no randomness."""

    def plan_with_resources(self, config: C, ctx: TaskContext) -> list[ShardTask]:
        """The plan the build uses, called in the parent once every resource is complete (read
        them through `ctx.resource`). Default: `plan(config)`. Override it when row counts
        come from the sources (e.g. a cohort selected from MIMIC) rather than the config."""
        return self.plan(config)

    @abstractmethod
    def run(
        self, config: C, task: ShardTask, ctx: TaskContext
    ) -> pa.Table | Iterable[pa.RecordBatch]:
        """Produce the rows of one shard, in the schema of `features(config, task.variant)`."""

    def prepare(self, config: C, warn: Callable[[str], None]) -> C:
        """Check sources and resolve choices once, in the parent, before any work starts.

        Returns the config actually built (e.g. an unreachable online backend replaced by its
        offline fallback, after `warn`), so the manifest records what really happened.
        """
        return config

    def resources(self, config: C) -> list[ResourceTask]:
        """Pools that shards draw from; most builders have none."""
        return []

    def build_resource(self, config: C, task: ResourceTask, ctx: TaskContext) -> pa.Table:
        raise NotImplementedError(f"{self.name} declares resource {task.name} but cannot build it")

    def pools(self, config: C) -> list[PoolSpec]:
        """The resources published as pools that rows refer to by id (pooled storage).
        Empty (the default): rows hold their own values, and resources stay build-time
        tables."""
        return []

    def tasks(self, config: C) -> list[RetrievalTask]:
        """The retrieval tasks this build defines (the first is the default), written into
        `manifest.json`: the harness scores a dataset directory from this declaration alone.
        Empty (the default): the dataset can be built and loaded but not evaluated."""
        return []

    def label(self, config: C) -> str:
        """A few characters, safe in a URL, naming what tells a build of this builder apart
        from its other builds when the config names alone do not (M3's variants are all
        'complete': its label names w and the languages); written into `manifest.json`, it
        starts the leaderboard's default benchmark name. Empty (the default): none needed."""
        return ""

    def answer_columns(self, config: C) -> list[str]:
        """Columns that hold the answers of the evaluation task (labels, and anything that
        gives them away). `build --blind` nulls them in the test split and keeps the answers in
        a separate answer-key file. Empty (the default): the builder cannot be built blind; a
        builder may raise `ConfigError` here to say why."""
        return []

    def blind_table(self, config: C, table: pa.Table) -> pa.Table:
        """One shard of a blind split: `table` with every answer column null (same schema).
        Override to also scrub values that leak an answer (M3: image file names)."""
        import pyarrow as pa

        withheld = set(self.answer_columns(config))
        return pa.table(
            [
                pa.nulls(len(table), f.type) if f.name in withheld else table.column(f.name)
                for f in table.schema
            ],
            schema=table.schema,
        )

    def card_variables(self, config: C, manifest: Mapping[str, Any]) -> dict[str, str]:
        """Values substituted for `{{name}}` placeholders in the builder's card template."""
        return {}

    def card_template(self) -> str:
        """Markdown prose of the dataset card; our builders keep theirs in `cards/<name>.md`."""
        from symile_bench.cards import packaged_template

        return packaged_template(self.name)

    def render_card(self, config: C, manifest: Manifest, extension: str = "arrow") -> str:
        """The dataset card (`README.md`) of a build of this builder with `config`."""
        from symile_bench.cards import render_card

        variables = {
            "builder": self.name,
            "builder_version": self.version,
            "config_json": config.model_dump_json(indent=2),
            **self.card_variables(config, manifest.model_dump()),
        }
        return render_card(
            manifest,
            template=self.card_template(),
            license_id=self.license,
            variables=variables,
            extension=extension,
        )

    def render_croissant(self, manifest: Manifest, extension: str = "arrow") -> str:
        """The Croissant JSON-LD (`croissant.json`) written beside the card, so tools that read
        that standard find the dataset: name, description, licence, shards, fields."""
        from symile_bench.croissant import croissant_text

        return croissant_text(
            manifest,
            title=self.name,
            description=self.description,
            license_id=self.license,
            extension=extension,
        )

    @classmethod
    def import_path(cls) -> str:
        return f"{cls.__module__}:{cls.__qualname__}"

    @cached_property
    def default_variant(self) -> str:
        return self.variants(self.Config())[0]


def instantiate(import_path: str) -> DatasetBuilder[Any]:
    """Create a builder from `module:Class` (how worker processes get theirs)."""
    module_name, _, attr = import_path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    builder = obj()
    if not isinstance(builder, DatasetBuilder):
        raise TypeError(f"{import_path} is not a DatasetBuilder subclass")
    return builder


def iter_batches(produced: pa.Table | Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    if isinstance(produced, pa.Table):
        yield from produced.to_batches()
    else:
        yield from produced
