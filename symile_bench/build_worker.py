"""What runs in a worker: one shard or resource task, committed as one file.

A worker may be a process of a local pool (one per build phase), a long-lived Ray worker, or
the parent itself (the serial executor), so everything it keeps between tasks is keyed by the
phase it serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from symile_bench.builder import (
    BuilderConfig,
    DatasetBuilder,
    ResourceTask,
    ShardTask,
    TaskContext,
    instantiate,
    iter_batches,
)
from symile_bench.manifest import FileRecord
from symile_bench.shards import hf_schema, write_shard
from symile_bench.storage import Store


@dataclass(frozen=True)
class WorkItem:
    """Everything a worker process needs; small and picklable."""

    builder_class: str
    config: dict[str, Any]
    seed: int
    out_dir: str
    task: ShardTask | ResourceTask
    phase: str = ""  # one id per phase of one build: what a worker's cached context is for


_WORKER_BUILDERS: dict[str, DatasetBuilder[Any]] = {}


#: per process, the parsed config and the context (with its memory-mapped resources) of the
#: build a worker serves: a size-l M3 build has ~11,000 shards that each read 800 pool files
_WORKER_CONTEXTS: dict[str, tuple[BuilderConfig, TaskContext]] = {}


def _worker_context(
    builder: DatasetBuilder[Any], item: WorkItem
) -> tuple[BuilderConfig, TaskContext]:
    """A worker (a pool process, a long-lived Ray worker, or this process) keeps the context
    of the phase it serves only: files a later phase or build rewrites are mapped afresh."""
    if item.phase not in _WORKER_CONTEXTS:
        _WORKER_CONTEXTS.clear()
        context = TaskContext(seed=item.seed, store=Store(item.out_dir))
        _WORKER_CONTEXTS[item.phase] = (builder.Config(**item.config), context)
    return _WORKER_CONTEXTS[item.phase]


def execute(item: WorkItem) -> FileRecord:
    """Run one task and commit its file (runs in a worker process or in-process)."""
    builder = _WORKER_BUILDERS.get(item.builder_class)
    if builder is None:
        builder = _WORKER_BUILDERS[item.builder_class] = instantiate(item.builder_class)
    config, ctx = _worker_context(builder, item)
    store = ctx.store
    task = item.task
    if isinstance(task, ResourceTask):
        table = builder.build_resource(config, task, ctx)
        pool = next((p for p in builder.pools(config) if task.name in p.resources), None)
        schema = table.schema if pool is None else hf_schema(pool.features)
        return write_shard(store, task.file, table.to_batches(), schema)
    schema = hf_schema(builder.features(config, task.variant))
    rec = write_shard(store, task.file, iter_batches(builder.run(config, task, ctx)), schema)
    if rec.rows != task.rows:
        raise RuntimeError(
            f"{builder.name} wrote {rec.rows} rows to {task.file}, planned {task.rows}"
        )
    return rec
