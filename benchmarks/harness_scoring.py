"""Harness speed against its floors, measured side by side in one run.

Run: python benchmarks/harness_scoring.py [--quick] [--threads N] [--repeats R]
         [--backend torch --device cuda] [--skip-bootstrap]

1. Retrieval scoring: ``rank_candidates`` (mip scorer, 2 query modalities, M3-shaped labels:
   1,000 classes, ranks with the exact tie rule + top-10 per query) against the bare matmul of
   the same shapes (default 50,000 queries x 50,000 candidates, d = 256, float32), for an
   informative model (most queries near rank 1: the common, cheap case) and a near-random one
   (every row is counted in full: the expensive case). A bare 50k x 50k float32 score matrix
   is 10 GB, so the floor is the *chunked* matmul alone: the same
   query-chunk size as the scorer picks for its memory budget, writing into one reused output
   buffer (as the scorer does), nothing else. Both run in this process on the same arrays,
   alternated (floor, ours, floor, ours, ...). Printed: the median of the ratios of adjacent
   (floor, ours) pairs — robust when other processes load the machine for a while — and the
   ratio of the best times. Target: ratio <= 1.5. ``--threads N`` pins the floor's BLAS to N
   threads and the scorer to N threads (default: all cores for both), e.g. 1 for a per-core
   comparison. With
   ``--backend torch`` the floor is the chunked torch matmul on the same device (including the
   copy of the two arrays to it), synchronised.
2. Bootstrap: 1,000 percentile-bootstrap resamples over 500,000 queries, for 0/1 outcomes
   (top-1), reciprocal ranks of a realistic model (MRR), all-distinct values (the general
   worst case, index sampler) and a paired comparison. Target: < 5 s each.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if "--threads" in sys.argv:  # must be set before numpy loads its BLAS
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np

from symile_bench.harness.bootstrap import bootstrap_mean, paired_bootstrap
from symile_bench.harness.metrics import outcomes
from symile_bench.harness.scoring import DEFAULT_MEMORY_BUDGET, rank_candidates


def make_data(n: int, m: int, d: int, classes: int, noise: float, seed: int = 0):
    """M3-shaped embeddings: a (x) t = class prototype + noise, image = prototype + noise, so
    mip ranks are informative (noise 2: top-1 about 0.9) or nearly random (noise 100)."""
    rng = np.random.default_rng(seed)
    proto = rng.standard_normal((classes, d), dtype=np.float32)
    cand_labels = rng.integers(0, classes, m)
    cand = proto[cand_labels] + noise * rng.standard_normal((m, d), dtype=np.float32)
    q_labels = cand_labels[rng.integers(0, m, n)]
    a = np.where(rng.random((n, d)) < 0.5, -1.0, 1.0).astype(np.float32)
    t = a * (proto[q_labels] + noise * rng.standard_normal((n, d), dtype=np.float32))
    return [a, t], cand, cand_labels, q_labels


def floor_matmul(v: np.ndarray, cand: np.ndarray, qblock: int) -> float:
    buf = np.empty((qblock, len(cand)), dtype=cand.dtype)
    start = time.perf_counter()
    for q0 in range(0, len(v), qblock):
        q1 = min(len(v), q0 + qblock)
        np.matmul(v[q0:q1], cand.T, out=buf[: q1 - q0])
    return time.perf_counter() - start


def floor_matmul_torch(v: np.ndarray, cand: np.ndarray, qblock: int, device: str) -> float:
    """The torch floor: arrays to the device, chunked matmul into one buffer, synchronised."""
    import torch

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    sync()
    start = time.perf_counter()
    vt, ct = torch.from_numpy(v).to(device), torch.from_numpy(cand).to(device)
    buf = torch.empty((qblock, len(cand)), dtype=ct.dtype, device=device)
    for q0 in range(0, len(v), qblock):
        q1 = min(len(v), q0 + qblock)
        torch.matmul(vt[q0:q1], ct.T, out=buf[: q1 - q0])
    sync()
    return time.perf_counter() - start


def bench_scoring(
    n: int,
    m: int,
    d: int,
    repeats: int,
    noise: float,
    label: str,
    backend: str = "numpy",
    device: str | None = None,
    threads: int | None = None,
) -> None:
    queries, cand, cand_labels, q_labels = make_data(n, m, d, classes=1000, noise=noise)
    v = queries[0] * queries[1]  # what the mip scorer multiplies against the candidates
    qblock = max(1, min(n, DEFAULT_MEMORY_BUDGET // (m * cand.dtype.itemsize)))
    floors, ours = [], []
    ranking = None
    for _ in range(repeats):
        if backend == "torch":
            floors.append(floor_matmul_torch(v, cand, qblock, device or "cpu"))
        else:
            floors.append(floor_matmul(v, cand, qblock))
        start = time.perf_counter()
        ranking = rank_candidates(
            queries,
            cand,
            query_labels=q_labels,
            candidate_labels=cand_labels,
            scorer="mip",
            backend=backend,
            device=device,
            threads=threads,
        )
        ours.append(time.perf_counter() - start)
    assert ranking.extra["query_block"] == qblock
    best_floor, best_ours = min(floors), min(ours)
    top1 = outcomes(ranking.ranks, "top1").mean()
    print(
        f"scoring, {label} (top-1 {top1:.3f}, median rank {np.median(ranking.ranks):.0f}): "
        f"{n:,} queries x {m:,} candidates, d={d}, float32, query chunk {qblock} rows, "
        f"backend {ranking.backend} on {ranking.device}"
    )
    print(f"  floor (chunked matmul only)  : {', '.join(f'{t:.2f}' for t in floors)} s")
    print(f"  rank_candidates (mip, top-10): {', '.join(f'{t:.2f}' for t in ours)} s")
    pairs = np.median([o / f for f, o in zip(floors, ours, strict=True)])
    print(
        f"  ratio                        : {pairs:.2f}x median of pairs, "
        f"{best_ours / best_floor:.2f}x best/best   (target <= 1.5x)"
    )


def bench_bootstrap(n: int, resamples: int) -> None:
    rng = np.random.default_rng(1)
    ranks = np.minimum(rng.geometric(0.4, n), 50_000)  # a model with top-1 about 0.4
    other = np.minimum(rng.geometric(0.38, n), 50_000)
    cases = {
        "top1 (0/1 outcomes)": lambda: bootstrap_mean(outcomes(ranks, "top1"), resamples=resamples),
        "mrr (reciprocal ranks)": lambda: bootstrap_mean(
            outcomes(ranks, "mrr"), resamples=resamples
        ),
        "all-distinct values (worst case)": lambda: bootstrap_mean(
            rng.random(n), resamples=resamples
        ),
        "paired top1 (a - b)": lambda: paired_bootstrap(
            outcomes(ranks, "top1"), outcomes(other, "top1"), resamples=resamples
        ),
        "paired all-distinct (worst case)": lambda: paired_bootstrap(
            rng.random(n), rng.random(n), resamples=resamples
        ),
    }
    print(f"bootstrap: {resamples:,} resamples over {n:,} queries (target < 5 s each)")
    for name, run in cases.items():
        start = time.perf_counter()
        run()
        print(f"  {name:<34}: {time.perf_counter() - start:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k x 10k scoring, 100k bootstrap")
    parser.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    parser.add_argument("--skip-bootstrap", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    parser.add_argument("--repeats", type=int, default=None, help="(floor, ours) pairs per model")
    args = parser.parse_args()
    n, repeats, boot_n = (10_000, 5, 100_000) if args.quick else (50_000, 3, 500_000)
    repeats = args.repeats or repeats
    print(
        f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, cpus: {os.cpu_count()}"
    )
    device = args.device
    if args.backend == "torch" and device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    for noise, label in ((2.0, "informative model"), (100.0, "near-random model")):
        bench_scoring(n, n, 256, repeats, noise, label, args.backend, device, args.threads)
    if not args.skip_bootstrap:
        bench_bootstrap(boot_n, 1000)


if __name__ == "__main__":
    main()
