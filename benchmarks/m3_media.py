"""Symile-M3's media, old settings against new, side by side: CPU per clip and per image.

A size-l build makes 20,000 clips and 315,900 images, and nothing else costs much (issue #25:
16.9 min, all but 55 s of it media). Both sides run interleaved in this process, in
alternating order, so a busy machine slows both alike; each pair's ratio is new / old and the
median ratio is reported.

* audio, one pool file (25 clips of one language) per side and pair: the old side is the
  baseline revision's espeak backend encoding MP3 (the baseline's default), started afresh
  for each file as the baseline's pools did; the new side is this tree's `audio_pool` for a
  size-l config (--audio-format auto: FLAC, as the build is pooled; one backend per
  process). CPU counts the espeak-ng helper processes (benchmarks/proctree.py).
* images, one pool file (8 classes x `--images-per-class` emoji images, JPEG) per side and
  pair: the baseline's augmentation against this tree's `image_pool`; the bytes must be equal.

The baseline modules are read from git (`--baseline`, default cff24a9: main before this
change). From the per-item CPU and bytes, a size-l build's media is estimated.

Run: python benchmarks/m3_media.py [--pairs 10] [--images-per-class 40] [--baseline REV]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from proctree import tree_cpu

from builders.m3.build.classes import class_table
from builders.m3.build.config import M3Config
from builders.m3.build.pools import CLIPS_PER_AUDIO_POOL, audio_pool, image_pool
from symile_bench.builder import task_rng
from symile_bench.media.emoji import _emoji_glyph, emoji_font_path
from symile_bench.media.images import encode_image
from symile_bench.media.utterances import number_utterance

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("ar", "el", "en", "hi", "ja", "ko", "te", "th", "uk", "zh")
CLIPS_AT_L, IMAGES_AT_L = 20_000, 315_900


def baseline_module(rev: str, path: str) -> types.ModuleType:
    """The module at `path` as it was at `rev` (its imports resolve to this tree)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"baseline_{Path(path).stem}")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    return module


def cpu() -> float:
    return tree_cpu(os.getpid())


def old_audio(espeak: types.ModuleType, lang: str, chunk: int, seed: int) -> list[bytes]:
    first = chunk * CLIPS_PER_AUDIO_POOL
    with espeak.EspeakTTS(audio_format="mp3") as tts:
        return [
            tts.synthesize(number_utterance(rng, lang), lang, rng).data
            for j in range(first, first + CLIPS_PER_AUDIO_POOL)
            for rng in [task_rng(seed, "m3-audio", lang, j)]
        ]


def old_images(augment: types.ModuleType, config: M3Config, chunk: int, seed: int) -> list[bytes]:
    table = class_table(config)
    font = str(emoji_font_path())
    blobs = []
    for c in range(chunk * 8, chunk * 8 + 8):
        rng = task_rng(seed, "m3-image", table.lexicon.synset_id[c])
        glyph = _emoji_glyph(font, table.emoji[c])
        for _ in range(config.images_per_class):
            image = augment.augment(glyph, rng, config.image_size, max_rotation=30.0, pastel=False)
            blobs.append(encode_image(image, config.image_format))
    return blobs


def timed(fn: Callable[..., list[bytes]], *args: object) -> tuple[float, list[bytes]]:
    """(CPU seconds of the process tree, the blobs) of one call."""
    start = cpu()
    blobs = fn(*args)
    return cpu() - start, blobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--images-per-class", type=int, default=40)
    parser.add_argument("--baseline", default="cff24a9")
    args = parser.parse_args()
    espeak = baseline_module(args.baseline, "symile_bench/media/espeak.py")
    augment = baseline_module(args.baseline, "symile_bench/media/augment.py")
    config = M3Config(languages="10", size="l", image_pool=args.images_per_class)
    seed = 0

    def new_audio(lang: str, chunk: int) -> list[bytes]:
        return pool_bytes(audio_pool(config, lang, chunk, seed), "audio")

    def new_images(chunk: int) -> list[bytes]:
        return pool_bytes(image_pool(config, class_table(config), chunk, seed), "image")

    new_audio("en", 79)  # warm up both sides (fonts, glyph caches, the kept espeak backend)
    old_audio(espeak, "en", 79, seed)
    rows: dict[str, list[tuple[float, float, int, int, int]]] = {"audio": [], "image": []}
    for pair in range(args.pairs):
        lang = LANGUAGES[pair % len(LANGUAGES)]
        old, new = interleaved(
            pair, (old_audio, (espeak, lang, pair, seed)), (new_audio, (lang, pair))
        )
        rows["audio"].append((old[0], new[0], nbytes(old), nbytes(new), CLIPS_PER_AUDIO_POOL))
        old, new = interleaved(
            pair, (old_images, (augment, config, pair, seed)), (new_images, (pair,))
        )
        if old[1] != new[1]:
            raise SystemExit(f"image pool {pair}: the new images differ from the baseline's")
        images = 8 * args.images_per_class
        rows["image"].append((old[0], new[0], nbytes(old), nbytes(new), images))
    print(f"baseline {args.baseline} vs this tree; {args.pairs} interleaved pairs per medium")
    print("medium  per item:  old CPU ms  new CPU ms  new/old (median of pairs)   old kB  new kB")
    estimate: dict[str, tuple[float, float]] = {}
    gigabytes: dict[str, tuple[float, float]] = {}
    for medium, items_at_l in (("audio", CLIPS_AT_L), ("image", IMAGES_AT_L)):
        per = [
            (oc / n * 1e3, nc / n * 1e3, ob / n / 1e3, nb / n / 1e3)
            for oc, nc, ob, nb, n in rows[medium]
        ]
        old_ms, new_ms = (statistics.median(p[i] for p in per) for i in (0, 1))
        ratio = statistics.median(p[1] / p[0] for p in per)
        old_kb, new_kb = (statistics.mean(p[i] for p in per) for i in (2, 3))
        print(
            f"{medium:6s}  {old_ms:20.2f}  {new_ms:10.2f}  {ratio:8.3f}"
            f"{'':19s}{old_kb:7.1f}  {new_kb:6.1f}"
        )
        estimate[medium] = (old_ms * items_at_l / 1e3, new_ms * items_at_l / 1e3)
        gigabytes[medium] = (old_kb * items_at_l / 1e6, new_kb * items_at_l / 1e6)
    print("images: byte-identical to the baseline's in every pair")
    old_s, new_s = (sum(v[i] for v in estimate.values()) for i in (0, 1))
    print(
        f"estimate for size l's media (20,000 clips + 315,900 images) at this machine's "
        f"current speed: {old_s:.0f} -> {new_s:.0f} CPU s ({new_s / old_s:.3f}x), "
        f"{old_s / 2 / 60:.1f} -> {new_s / 2 / 60:.1f} min on 2 cores; clips "
        f"{gigabytes['audio'][0]:.2f} -> {gigabytes['audio'][1]:.2f} GB"
    )


def pool_bytes(table: pa.Table, column: str) -> list[bytes]:
    return table.column(column).combine_chunks().field("bytes").to_pylist()


def nbytes(timing: tuple[float, list[bytes]]) -> int:
    return sum(map(len, timing[1]))


Call = tuple[Callable[..., list[bytes]], tuple[object, ...]]


def interleaved(
    pair: int, old: Call, new: Call
) -> tuple[tuple[float, list[bytes]], tuple[float, list[bytes]]]:
    """Both sides' (CPU seconds, blobs), the old side first in even pairs, last in odd."""
    order = [old, new] if pair % 2 == 0 else [new, old]
    done = [timed(fn, *args) for fn, args in order]
    return (done[0], done[1]) if pair % 2 == 0 else (done[1], done[0])


if __name__ == "__main__":
    main()
