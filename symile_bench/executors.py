"""Where shard tasks run: in this process, in a pool of local worker processes, or as Ray
tasks across a cluster.

Executors only decide *where* a task runs; what it produces depends on the task alone, so
every executor and worker count yields byte-identical shards.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol, TypeVar

from symile_bench.errors import ConfigError, MissingDependencyError

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


PARENT_POLL_SECONDS = 0.5


def _worker_init(parent: int, interrupted: ctypes.c_bool | None = None) -> None:
    """Every pool worker: leaves quietly on Ctrl-C (the parent reports what was kept, once),
    and exits within a poll interval of its parent's death (a SIGKILLed build must leave no
    worker writing into its directory). A worker that exits mid-shard publishes nothing: its
    file is renamed into place only when complete.

    Leaving on Ctrl-C first sets `interrupted` (when given), shared with the parent: the pool
    then reports the worker's exit as broken, and that flag is how the parent tells a Ctrl-C
    from a crash (see `ProcessExecutor.map_unordered`)."""

    def leave(signum: int, frame: object) -> None:
        if interrupted is not None:
            interrupted.value = True
        os._exit(130)

    signal.signal(signal.SIGINT, leave)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


class ProcessExecutor:
    """A spawn-started process pool: no state leaks from the parent (threads, RNG, handles)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Raises KeyboardInterrupt, not BrokenProcessPool, when the pool broke because Ctrl-C
        reached a worker: the worker can die (and the pool report it) before this process
        raises its own KeyboardInterrupt, and a Ctrl-C must read as one, never as a crash. A
        worker killed any other way (OOM, SIGKILL) still raises BrokenProcessPool."""
        pending_items = list(items)
        if not pending_items:
            return
        context = multiprocessing.get_context("spawn")
        interrupted = context.RawValue(ctypes.c_bool, False)
        try:
            yield from self._run(context, interrupted, fn, pending_items)
        except BrokenProcessPool:
            if interrupted.value:
                raise KeyboardInterrupt from None
            raise

    def _run(
        self,
        context: multiprocessing.context.SpawnContext,
        interrupted: ctypes.c_bool,
        fn: Callable[[T], R],
        pending_items: list[T],
    ) -> Iterator[R]:
        workers = min(self.workers, len(pending_items))
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_worker_init,
            initargs=(os.getpid(), interrupted),
        ) as pool:
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


class RayExecutor:
    """Tasks as Ray tasks. Connects to `address` (`auto`, `ray://HOST:PORT`), reuses a Ray
    already initialised in this process, or else starts a local one with `workers` CPUs.

    Every node must have symile-bench installed and see the output directory at the same
    path (a shared filesystem): tasks write their shards there themselves and return only the
    small file record, so nothing large crosses the object store.
    """

    name = "ray"

    def __init__(self, workers: int | None, address: str | None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise MissingDependencyError(
                "--executor ray needs Ray: pip install 'symile-bench[ray]'"
            ) from None
        self.workers = workers
        self.address = address

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        import ray

        pending_items = list(items)
        if not pending_items:
            return
        started_here = not ray.is_initialized()
        if started_here:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=self.workers or available_cores(),
                    include_dashboard=False,
                    object_store_memory=128 * 2**20,
                    log_to_driver=False,
                )
        try:
            remote = ray.remote(num_cpus=1, max_retries=2)(fn)
            limit = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
            queue = iter(pending_items)
            # range first: zip would otherwise draw (and drop) one item past the limit
            running = [remote.remote(item) for _, item in zip(range(limit), queue, strict=False)]
            while running:
                done, running = ray.wait(running, num_returns=1)
                yield ray.get(done[0])
                nxt = next(queue, None)
                if nxt is not None:
                    running.append(remote.remote(nxt))
        finally:
            if started_here:
                ray.shutdown()


def make_executor(kind: str, workers: int | None, ray_address: str | None = None) -> Executor:
    """`workers=None` means every available core; one local worker always runs in-process."""
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if kind == "ray":
        return RayExecutor(workers, ray_address)
    if ray_address is not None:
        raise ConfigError("--ray-address only applies with --executor ray")
    n = workers or available_cores()
    if kind == "serial" or n == 1:
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(n)
    raise ConfigError(f"unknown --executor '{kind}'; choose processes, serial or ray")
