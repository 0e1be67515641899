"""`train` against the floor of its optimiser steps, side by side (issue #25, point 1).

For each objective (symile, clip, gram, triangle) on XOR p1.0 with the paper's settings
(10K train rows, batches of 1,000, 100 epochs unless --epochs):

- floor: a bare torch loop doing the same optimiser steps: the same model (``build_model``,
  same seed and standardisers), the same batches (the trainer's permutations, sliced into
  tensors before the clock starts), the same loss function (over distinct rows where the
  trainer's is: XOR's bit vectors) and AdamW, no validation, no
  checkpoint, no progress, on one torch thread (as ``train`` runs a model this small);
- train: the public ``train`` function (features from a warm cache, validation every epoch,
  best-checkpoint selection, model.json + model.pt written).

Repeats alternate floor and train; the ratio printed is the median of the per-pair ratios of
CPU seconds (the machine is shared, so CPU time is the fairer clock), with wall seconds
beside. Target: train / floor <= 1.5.

With ``--before DIR`` (a checkout of older code, e.g. ``git worktree add /tmp/base main``) it
then times ``train`` of that code and of this checkout, each in a fresh process with torch's
default threads as `symile-bench train` runs it, alternating: the speed-up users see.

Run: python benchmarks/train_speed.py [--epochs 100] [--repeat 3] [--losses symile,clip,...]
     [--before DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from symile_bench.baselines.distinct import batch_groups
from symile_bench.baselines.features import split_features
from symile_bench.baselines.losses import contrastive_loss
from symile_bench.baselines.modules import fit_standardizers
from symile_bench.baselines.recipes import recipe_for, settings_for
from symile_bench.baselines.train import build_model, split_ids, train
from symile_bench.build import build, parse_config
from symile_bench.executors import make_executor
from symile_bench.harness.tasks import declared_task
from symile_bench.manifest import read_manifest
from symile_bench.registry import get_builder

CONFIG = "p1.0"
SEED = 0


def build_xor(out: Path) -> Path:
    builder = get_builder("xor")
    build(
        builder,
        parse_config(builder, {"p": [1.0]}),
        out,
        seed=SEED,
        executor=make_executor("serial", 1),
        quiet=True,
        warn=lambda m: None,
    )
    return out


def floor(data: Path, cache: Path, loss: str, epochs: int) -> tuple[float, float]:
    """CPU and wall seconds of the bare loop's optimiser steps."""
    manifest = read_manifest(data)
    recipe = recipe_for(manifest.builder, declared_task(manifest).modalities)
    settings = settings_for(recipe, {"epochs": epochs})
    feats = split_features(data, CONFIG, "train", recipe, settings, cache)
    shapes = {m: tuple(f.shape[1:]) for m, f in feats.features.items()}
    model = build_model(recipe, settings, shapes, SEED)
    for m, f in feats.features.items():
        fit_standardizers(model.encoders[m], f)
    tensors = {m: torch.from_numpy(f) for m, f in feats.features.items()}
    rng, n, size = np.random.default_rng(SEED), len(feats), settings.batch_size
    ids = split_ids(feats, loss, "n", size)  # the distinct rows the trainer's loss groups by
    batches = []
    for _ in range(epochs):
        order = rng.permutation(n)
        for i in range(0, n, size):
            rows = order[i : i + size]
            xs = {m: x[torch.from_numpy(rows)] for m, x in tensors.items()}
            batches.append((xs, [ids[m][rows] for m in xs] if ids else None))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    generator = torch.Generator().manual_seed(SEED)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    cpu, wall = time.process_time(), time.perf_counter()
    for xs, batch_ids in batches:
        reps = [model.embed(m, x) for m, x in xs.items()]
        groups = batch_groups(batch_ids, reps) if batch_ids else None
        value = contrastive_loss(loss, reps, model.logit_scale, generator=generator, groups=groups)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    torch.set_num_threads(before)
    return cpu, wall


def trainer(data: Path, cache: Path, out: Path, loss: str, epochs: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    train(
        data,
        out,
        loss=loss,
        config=CONFIG,
        seed=SEED,
        overrides={"epochs": epochs},
        cache_dir=cache,
    )
    return time.process_time() - cpu, time.perf_counter() - wall


RUN_ONE = """
import sys, time
from pathlib import Path
# the checkout on PYTHONPATH, not the editable install's finder, provides symile_bench
sys.meta_path = [f for f in sys.meta_path if not type(f).__module__.startswith("__editable__")]
import symile_bench
assert symile_bench.__file__.startswith(sys.path[1]), (symile_bench.__file__, sys.path[:2])
from symile_bench.baselines.train import train
cpu, wall = time.process_time(), time.perf_counter()
train(Path(sys.argv[1]), Path(sys.argv[2]), loss=sys.argv[3], config="p1.0",
      overrides={"epochs": int(sys.argv[4])}, cache_dir=Path(sys.argv[5]))
print(time.process_time() - cpu, time.perf_counter() - wall)
"""


def fresh_process(code: Path, data: Path, out: Path, loss: str, epochs: int) -> tuple[float, ...]:
    """``train`` of the code in ``code`` (a checkout) in a fresh process, with torch's default
    threads, as `symile-bench train` runs it: CPU and wall seconds of the call."""
    args = [sys.executable, "-c", RUN_ONE, str(data), str(out), loss, str(epochs)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [*args, str(out.parent / f"cache-{code.name}")],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(done.stderr)
    return tuple(float(x) for x in done.stdout.split()[-2:])


def before_after(data: Path, tmp: Path, before: Path, losses: list[str], epochs: int, repeat: int):
    """The same training by ``before``'s code and by this checkout's, alternating."""
    here = Path(__file__).resolve().parents[1]
    print(f"\ntrain before ({before}) and after (this checkout), fresh processes, {epochs} epochs")
    print(
        f"{'loss':9} {'before cpu s':>12} {'after cpu s':>11} {'before wall':>11} "
        f"{'after wall':>10} {'speed-up (cpu)':>14}"
    )
    for loss in losses:
        pairs = []
        for k in range(repeat):
            b = fresh_process(before, data, tmp / "before" / f"{loss}{k}", loss, epochs)
            a = fresh_process(here, data, tmp / "after" / f"{loss}{k}", loss, epochs)
            pairs.append((b, a))
        speedup = statistics.median(b[0] / a[0] for b, a in pairs)
        med = [statistics.median(x) for x in zip(*(b + a for b, a in pairs), strict=True)]
        print(
            f"{loss:9} {med[0]:12.2f} {med[2]:11.2f} {med[1]:11.2f} {med[3]:10.2f} {speedup:14.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--losses", default="symile,clip,gram,triangle")
    parser.add_argument(
        "--before", type=Path, help="a checkout of the code to compare with (e.g. main)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, cache = build_xor(Path(tmp) / "xor"), Path(tmp) / "cache"
        trainer(data, cache, Path(tmp) / "warm", "clip", 1)  # fills the feature cache
        print(
            f"XOR {CONFIG}, 10K train rows, batch 1000, {args.epochs} epochs; "
            f"{args.repeat} alternating pairs; ratio = median of per-pair CPU ratios"
        )
        print(
            f"{'loss':9} {'floor cpu s':>11} {'train cpu s':>11} {'floor wall':>10} "
            f"{'train wall':>10} {'ratio':>6}  target <= 1.5"
        )
        for loss in args.losses.split(","):
            pairs = []
            for k in range(args.repeat):
                f = floor(data, cache, loss, args.epochs)
                t = trainer(data, cache, Path(tmp) / f"{loss}{k}", loss, args.epochs)
                pairs.append((f, t))
            ratio = statistics.median(t[0] / f[0] for f, t in pairs)
            med = [statistics.median(x) for x in zip(*(f + t for f, t in pairs), strict=True)]
            print(
                f"{loss:9} {med[0]:11.2f} {med[2]:11.2f} {med[1]:10.2f} {med[3]:10.2f} "
                f"{ratio:6.2f}  {'met' if ratio <= 1.5 else 'MISSED'}"
            )
        if args.before is not None:
            losses = args.losses.split(",")
            before_after(data, Path(tmp), args.before, losses, args.epochs, args.repeat)


if __name__ == "__main__":
    main()
