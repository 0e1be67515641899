"""Harness speed against its floors, measured side by side in one run.

Run: python benchmarks/harness_scoring.py [--quick] [--threads N] [--repeats R]
         [--backend torch --device cuda] [--skip-bootstrap] [--against-old REV|none]
         [--scorings gram,triangle|none] [--skip-floor]

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
   copy of the two arrays to it), synchronised. ``--against-old REV`` (default ``9e16c18``, the
   single-module scoring before the split by job; ``none`` to skip) also times the scoring of
   that commit — its ``scoring.py`` and ``rowstats.py`` extracted with ``git show`` into a
   temporary package — in the same alternation (the order of old and new swapped every
   repeat), checks that it gives the same ranks and top-k, and prints the new/old ratio.
   Target: 1.00 ± 0.05.
2. Other scorings against ``mip``: ``rank_candidates`` with each of ``--scorings`` (default
   ``gram`` and ``triangle``, symile_bench/harness/volumes.py) and with ``mip`` on the same
   shapes and data, alternated in one run (the order rotated every repeat). Printed: each
   scoring's times and its ratio to ``mip`` (median of the ratios of the same repeat's pair, and
   best/best). Target: ratio <= 1.5. Beside them, the chunked matmul floors: ``mip`` needs one
   inner product per (query, candidate) pair, ``gram`` and ``triangle`` one per query
   modality, so their floor is that many matmuls, and each scoring's ratio to its own floor
   shows its overhead. ``--skip-floor`` runs this without section 1.
3. Bootstrap: 1,000 percentile-bootstrap resamples over 500,000 queries, for 0/1 outcomes
   (top-1), reciprocal ranks of a realistic model (MRR), all-distinct values (the general
   worst case, index sampler) and a paired comparison. Target: < 5 s each.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

if "--threads" in sys.argv:  # must be set before numpy loads its BLAS
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np

from symile_bench.harness.bootstrap import bootstrap_mean, paired_bootstrap
from symile_bench.harness.metrics import outcomes
from symile_bench.harness.ranking import DEFAULT_MEMORY_BUDGET, Ranking, rank_candidates
from symile_bench.harness.scorers import Scorer, get_scorer
from symile_bench.harness.volumes import GRAM, TRIANGLE

OLD_REV = "9e16c18"
REPO = Path(__file__).resolve().parents[1]


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


def load_old_scoring(rev: str) -> ModuleType:
    """``symile_bench/harness/scoring.py`` as of ``rev``, importable beside today's: it and its
    ``rowstats.py`` are written into a temporary package (removed at exit) whose rowstats
    import is pointed at the copy; everything else it imports is today's (its errors from
    ``symile_bench.errors``, where the harness's errors now live)."""
    root = Path(tempfile.mkdtemp(prefix="symile-old-scoring-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    package = root / "_old_scoring"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("scoring", "rowstats"):
        text = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:symile_bench/harness/{name}.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        text = text.replace("symile_bench.harness.rowstats", "_old_scoring.rowstats")
        text = text.replace("symile_bench.harness.errors", "symile_bench.errors")
        (package / f"{name}.py").write_text(text)
    sys.path.insert(0, str(root))
    return importlib.import_module("_old_scoring.scoring")


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
    old: tuple[str, Callable[..., Ranking]] | None = None,
) -> None:
    """``old``: (its commit, its ``rank_candidates``), timed in the same alternation."""
    queries, cand, cand_labels, q_labels = make_data(n, m, d, classes=1000, noise=noise)
    v = queries[0] * queries[1]  # what the mip scorer multiplies against the candidates
    qblock = max(1, min(n, DEFAULT_MEMORY_BUDGET // (m * cand.dtype.itemsize)))

    def floor() -> float:
        if backend == "torch":
            return floor_matmul_torch(v, cand, qblock, device or "cpu")
        return floor_matmul(v, cand, qblock)

    def timed(rank: Callable[..., Ranking]) -> Callable[[], tuple[float, Ranking]]:
        def run() -> tuple[float, Ranking]:
            start = time.perf_counter()
            ranking = rank(
                queries,
                cand,
                query_labels=q_labels,
                candidate_labels=cand_labels,
                scorer="mip",
                backend=backend,
                device=device,
                threads=threads,
            )
            return time.perf_counter() - start, ranking

        return run

    runs = {"new": timed(rank_candidates)} | ({"old": timed(old[1])} if old else {})
    times: dict[str, list[float]] = {"floor": [], "new": [], "old": []}
    rankings: dict[str, Ranking] = {}
    for i in range(repeats):
        times["floor"].append(floor())
        # old and new swap places every repeat, so neither always runs right after the floor
        for which in list(runs) if i % 2 == 0 else list(runs)[::-1]:
            t, rankings[which] = runs[which]()
            times[which].append(t)
    ranking = rankings["new"]
    assert ranking.extra["query_block"] == qblock
    top1 = outcomes(ranking.ranks, "top1").mean()
    print(
        f"scoring, {label} (top-1 {top1:.3f}, median rank {np.median(ranking.ranks):.0f}): "
        f"{n:,} queries x {m:,} candidates, d={d}, float32, query chunk {qblock} rows, "
        f"backend {ranking.backend} on {ranking.device}"
    )
    print(f"  floor (chunked matmul only)  : {', '.join(f'{t:.2f}' for t in times['floor'])} s")
    print(f"  rank_candidates (mip, top-10): {', '.join(f'{t:.2f}' for t in times['new'])} s")
    if old:
        same = all(
            np.array_equal(getattr(rankings["old"], f), getattr(ranking, f))
            for f in ("ranks", "top_k", "top_k_scores")
        )
        print(
            f"  {f'old ({old[0]})':<29}: {', '.join(f'{t:.2f}' for t in times['old'])} s   "
            f"(ranks, top-k, scores {'identical' if same else 'DIFFER'})"
        )
    print_ratio("ratio", times["new"], times["floor"], "(target <= 1.5x)")
    if old:
        print_ratio("old ratio", times["old"], times["floor"], "(target <= 1.5x)")
        print_ratio("new / old", times["new"], times["old"], "(target 1.00 +- 0.05)")


def bench_scorings(
    n: int,
    d: int,
    repeats: int,
    noise: float,
    label: str,
    scorings: list[Scorer],
    backend: str = "numpy",
    device: str | None = None,
    threads: int | None = None,
) -> None:
    """Each scoring's time as a ratio to ``mip``'s, on the same shapes, alternated; beside
    them the floors: one chunked matmul (``mip``'s) and one per query modality (what a scorer
    of pairwise inner products cannot do without), so the overhead of each is visible."""
    queries, cand, cand_labels, q_labels = make_data(n, n, d, classes=1000, noise=noise)
    qblock = max(1, min(n, DEFAULT_MEMORY_BUDGET // (n * cand.dtype.itemsize)))
    stacked = np.concatenate(queries)  # the inner products of every query modality

    def floor(v: np.ndarray) -> Callable[[], float]:
        if backend == "torch":
            return lambda: floor_matmul_torch(v, cand, qblock, device or "cpu")
        return lambda: floor_matmul(v, cand, qblock)

    def ranked(scorer: str | Scorer) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            ranking = rank_candidates(
                queries,
                cand,
                query_labels=q_labels,
                candidate_labels=cand_labels,
                scorer=scorer,
                backend=backend,
                device=device,
                threads=threads,
            )
            top1[get_scorer(scorer).name] = float(outcomes(ranking.ranks, "top1").mean())
            return time.perf_counter() - start

        return run

    top1: dict[str, float] = {}
    runs = {"mip": ranked("mip"), **{s.name: ranked(s) for s in scorings}}
    runs |= {"floor: 1 matmul": floor(queries[0]), f"floor: {len(queries)} matmuls": floor(stacked)}
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            times[name].append(runs[name]())
    print(
        f"scorings against mip, {label}: {n:,} queries x {n:,} candidates, d={d}, float32, "
        f"{len(queries)} query modalities, backend {backend}"
    )
    for name in names:
        quality = f"   (top-1 {top1[name]:.3f})" if name in top1 else ""
        print(f"  {name:<29}: {', '.join(f'{t:.2f}' for t in times[name])} s{quality}")
    for s in scorings:
        print_ratio(f"{s.name} / mip", times[s.name], times["mip"], "(target <= 1.5x)")
    base, more = times["floor: 1 matmul"], times[f"floor: {len(queries)} matmuls"]
    print_ratio("mip / its floor", times["mip"], base, "(1 matmul per pair)")
    for s in scorings:
        print_ratio(f"{s.name} / its floor", times[s.name], more, f"({len(queries)} per pair)")


def print_ratio(name: str, times: list[float], base: list[float], target: str) -> None:
    """The median of the ratios of adjacent pairs (robust when other processes load the machine
    for a while) and the ratio of the best times."""
    pairs = np.median([t / b for b, t in zip(base, times, strict=True)])
    print(
        f"  {name:<29}: {pairs:.2f}x median of pairs, "
        f"{min(times) / min(base):.2f}x best/best   {target}"
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


def warm_up(rank: Callable[..., Ranking], threads: int | None) -> None:
    """One small run, so that compiling (or loading) the numba pass is not timed."""
    queries, cand, cand_labels, q_labels = make_data(512, 8192, 16, classes=100, noise=2.0)
    rank(queries, cand, query_labels=q_labels, candidate_labels=cand_labels, threads=threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k x 10k scoring, 100k bootstrap")
    parser.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    parser.add_argument("--skip-bootstrap", action="store_true")
    parser.add_argument("--skip-floor", action="store_true", help="skip the mip-vs-floor runs")
    parser.add_argument(
        "--scorings",
        default="gram,triangle",
        help="scorings timed against mip (comma list of gram, triangle; 'none' to skip)",
    )
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    parser.add_argument("--repeats", type=int, default=None, help="(floor, ours) pairs per model")
    parser.add_argument(
        "--against-old",
        default=OLD_REV,
        metavar="REV",
        help=f"also time the scoring of this commit (default {OLD_REV}; 'none' to skip)",
    )
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
    old = None
    if args.against_old != "none" and not args.skip_floor:
        old = (args.against_old, load_old_scoring(args.against_old).rank_candidates)
        warm_up(old[1], args.threads)
    warm_up(rank_candidates, args.threads)
    known = {s.name: s for s in (GRAM, TRIANGLE)}
    scorings = [known[x] for x in args.scorings.split(",") if x != "none"]
    for scorer in scorings:
        warm_up(functools.partial(rank_candidates, scorer=scorer), args.threads)
    for noise, label in ((2.0, "informative model"), (100.0, "near-random model")):
        if not args.skip_floor:
            bench_scoring(n, n, 256, repeats, noise, label, args.backend, device, args.threads, old)
        if scorings:
            bench_scorings(
                n, 256, repeats, noise, label, scorings, args.backend, device, args.threads
            )
    if not args.skip_bootstrap:
        bench_bootstrap(boot_n, 1000)


if __name__ == "__main__":
    main()
