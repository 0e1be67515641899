"""Symile-M3 build speed, measured side by side in one run.

1. Sample-index generation alone (language, class, distractors, word order, text) at 1M rows
   on one core, for w = 2, 5, 10 (target: >= 300,000 rows/s; the release's row-by-row
   generator does about 3,500 rows/s).
2. A full build with media (pools + shards + manifest + card) against its media floor: the
   time to synthesise and encode the same pools (TTS and images) alone, at the same worker
   count (target: full build within 1.5x of the floor).

Run: python benchmarks/m3_build.py [--rows 1000000] [--languages 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from builders.m3.build.builder import M3Builder
from builders.m3.build.classes import class_table
from builders.m3.build.pools import audio_chunks, audio_pool, image_pool, n_image_pools
from builders.m3.build.sampling import compose_text, draw_samples
from symile_bench.build import build, parse_config
from symile_bench.executors import make_executor


def index_rate(rows: int, languages: str) -> float:
    builder = M3Builder()
    config = parse_config(builder, {"languages": languages, "images": "procedural"})
    table = class_table(config)
    vocab = pa.array(table.vocabulary())
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    s = draw_samples(
        rng,
        rows,
        n_languages=len(config.languages),
        n_classes=table.size,
        n_words=config.n_words,
        mode=config.mode,
    )
    compose_text(vocab, s, table.size)
    return rows / (time.perf_counter() - start)


def media_floor(config, workers: int) -> float:
    """Seconds to make every pool once (serial time divided by the workers it would use)."""
    table = class_table(config)
    start = time.perf_counter()
    for lang in config.languages:
        for chunk in range(audio_chunks(config)):
            audio_pool(config, lang, chunk, 0)
    for chunk in range(n_image_pools(config, table)):
        image_pool(config, table, chunk, 0)
    return (time.perf_counter() - start) / workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--languages", default="5")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    print(f"index generation, {args.rows:,} rows, one core:")
    for w in ("2", "5", "10"):
        print(f"  w={w:>2}: {index_rate(args.rows, w):12,.0f} rows/s   (target >= 300,000)")

    builder = M3Builder()
    config = parse_config(builder, {"languages": args.languages})
    floor = media_floor(config, args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = build(
            builder,
            config,
            Path(tmp) / "m3",
            executor=make_executor("processes", args.workers),
            quiet=True,
        )
        full = time.perf_counter() - start
    rows = sum(r.rows for v in result.manifest.variants.values() for r in v.splits.values())
    print(f"full build, default config (--languages {args.languages}), {args.workers} workers:")
    print(f"  {rows:,} rows in {full:.1f} s = {rows / full:,.0f} rows/s")
    print(f"  media floor (pools alone, TTS + images, same workers): {floor:.1f} s")
    print(
        f"  share of build time in media: {floor / full:.0%}; build/floor = "
        f"{full / floor:.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
