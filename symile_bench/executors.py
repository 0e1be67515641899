"""Where shard tasks run: in this process, or in a pool of worker processes.

Executors only decide *where* a task runs; what it produces depends on the task alone, so
every executor and worker count yields byte-identical shards.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Protocol, TypeVar

from symile_bench.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Executor(Protocol):
    name: str

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Yield results as tasks finish, in any order."""
        ...


class SerialExecutor:
    name = "serial"

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for item in items:
            yield fn(item)


class ProcessExecutor:
    """A spawn-started process pool: no state leaks from the parent (threads, RNG, handles)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        pending_items = list(items)
        if not pending_items:
            return
        context = multiprocessing.get_context("spawn")
        workers = min(self.workers, len(pending_items))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # Keep at most 2 tasks per worker queued: bounded memory, prompt cancellation.
            queue = iter(pending_items)
            running = set()
            for item in queue:
                running.add(pool.submit(fn, item))
                if len(running) >= 2 * workers:
                    break
            while running:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        running.add(pool.submit(fn, nxt))


def make_executor(kind: str, workers: int | None) -> Executor:
    """`workers=None` means every available core; one worker always runs in-process."""
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    n = workers or available_cores()
    if kind == "serial" or n == 1:
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(n)
    raise ConfigError(f"unknown --executor '{kind}'; choose serial or processes")
