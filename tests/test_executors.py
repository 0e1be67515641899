"""How the process pool reports a worker that died: Ctrl-C is an interruption, anything else
a broken pool.

A terminal's Ctrl-C reaches the build and its workers together; a worker leaves at once
(exit 130), and the pool can report it broken before the build raises its own
KeyboardInterrupt. These tests send SIGINT to the worker alone, so the broken pool is all the
build ever sees: the slowest case of that race, made certain."""

from __future__ import annotations

import signal
from concurrent.futures.process import BrokenProcessPool

import pytest

from symile_bench.executors import make_executor


def test_a_worker_leaving_on_ctrl_c_is_reported_as_an_interruption() -> None:
    executor = make_executor("processes", 2)
    with pytest.raises(KeyboardInterrupt):
        list(executor.map_unordered(signal.raise_signal, [signal.SIGINT, signal.SIGINT]))


def test_a_worker_killed_otherwise_is_still_a_broken_pool() -> None:
    executor = make_executor("processes", 2)
    with pytest.raises(BrokenProcessPool):
        list(executor.map_unordered(signal.raise_signal, [signal.SIGKILL, signal.SIGKILL]))
