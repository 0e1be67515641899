"""Where a model runs: the CPU (default) or a CUDA GPU, with mixed precision for training there.

Training on a GPU runs the forward pass and the loss under ``torch.autocast``: bfloat16 where
the GPU supports it (no loss scaling needed), else float16 with a gradient scaler. Parameters
and optimiser state stay float32, so a checkpoint is the same kind of file on either device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from symile_bench.errors import ConfigError


def torch_device(device: str | None) -> torch.device:
    """``cpu`` (also for None) or a CUDA device that exists, else a one-line error."""
    name = device or "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"--device {name}: no CUDA device is available to torch {torch.__version__} "
            "(a CPU build, or no GPU); leave --device out to run on the CPU"
        )
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device must be cpu, cuda or cuda:N, got {name!r}") from None


def mixed_precision(device: torch.device) -> torch.dtype | None:
    """The autocast dtype for training on ``device``: None on the CPU (full float32)."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """``torch.autocast`` on ``device`` when ``dtype`` is set, else nothing."""
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def grad_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler | None:
    """A gradient scaler for float16 (whose small gradients underflow); None otherwise."""
    if dtype is torch.float16:
        return torch.amp.GradScaler(device.type)
    return None


#: a model with fewer parameters than this trains on one torch thread (``threads_for``)
SMALL_MODEL_PARAMETERS = 1_000_000


@contextlib.contextmanager
def threads_for(model: torch.nn.Module, device: torch.device) -> Iterator[int]:
    """Train a small model on the CPU with one intra-op thread, restoring the caller's count
    afterwards; yields the count used. Its ops (``[N, d]`` encoders, ``[N, N]`` logits) are
    too small to split well: on 2 cores one ``[1000, 16] @ [16, 1000]`` product took 2.1 ms of
    CPU on one thread and 16 ms on two while other processes ran (the threads spin waiting
    for each other), and ``reproduce`` already runs one training per core."""
    before = torch.get_num_threads()
    small = sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMETERS
    if device.type != "cpu" or not small or before == 1:
        yield before
        return
    torch.set_num_threads(1)
    try:
        yield 1
    finally:
        torch.set_num_threads(before)
