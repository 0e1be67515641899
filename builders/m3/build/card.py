"""Values for cards/m3.md: what this particular build contains and where its parts came from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from builders.m3.build.classes import ClassTable
from builders.m3.build.config import POOLED_FROM_ROWS, M3Config, missing_variant_name
from symile_bench.lexicon import LANGUAGE_NAMES


def _sources(config: M3Config, table: ClassTable) -> str:
    lex = table.lexicon
    rows = [
        "| part | source | licence |",
        "|---|---|---|",
        f"| class names | {lex.source} lexicon ({table.size} classes) | {lex.license} |",
    ]
    if config.imagenet is not None:
        rows.append(
            "| images | ImageNet (ILSVRC-2012 train images, resized) | ImageNet terms of access: "
            "non-commercial research and educational use only |"
        )
    elif config.images == "emoji":
        rows.append(
            "| images | rendered from Noto Color Emoji glyphs with seeded augmentation (scale, "
            "rotation, position, background, noise) | glyphs: SIL Open Font License 1.1 |"
        )
    else:
        rows.append("| images | procedural class patterns with seeded augmentation | MIT |")
    if config.common_voice is not None:
        rows.append(
            "| audio | Mozilla Common Voice clips (zero-duration clips dropped) | CC0-1.0 |"
        )
    elif config.tts == "gtts":
        rows.append(
            "| audio | Google Translate text-to-speech via gTTS, random numbers | "
            "check Google's terms before redistribution |"
        )
    else:
        rows.append(
            "| audio | espeak-ng speech synthesis of random numbers, seeded voice variation, "
            f"stored as {config.clip_format.upper()} | "
            "synthesised output, no restriction (espeak-ng itself is GPL-3.0) |"
        )
    return "\n".join(rows)


def _missing_table(config: M3Config) -> str:
    if not config.missing_prob:
        return "This build has no missing-modality variants (`--missing-prob`)."
    rows = [
        "| config | P(audio missing) | P(image missing) | P(text missing) | "
        "expected complete samples (train/validation) |",
        "|---|---|---|---|---|",
    ]
    for a, i, t in config.missing_prob:
        complete = (1 - a) * (1 - i) * (1 - t)
        rows.append(f"| {missing_variant_name((a, i, t))} | {a} | {i} | {t} | {complete:.1%} |")
    return "\n".join(rows)


INLINE_LOADING = """```python
import datasets

test = datasets.load_dataset("PATH/TO/THIS/DIR", "{config}", split="test")
test[0]["audio"]  # decoded by datasets (needs torchcodec + FFmpeg)
test[0]["image"]  # a PIL image
```"""

POOLED_LOADING = """```python
import symile_bench

test = symile_bench.load("PATH/TO/THIS/DIR", "{config}", split="test")
test[0]["audio"], test[0]["image"]  # joined from the pools on access, decoded
```

With `datasets` alone, the rows and each pool are configs of their own; the join is one
dictionary per pool (a pool is small next to the rows):

```python
import datasets

rows = datasets.load_dataset("PATH/TO/THIS/DIR", "{config}", split="test")
images = datasets.load_dataset("PATH/TO/THIS/DIR", "image-pool", split="pool")
row_of = {{image_id: i for i, image_id in enumerate(images["image_id"])}}
image = images[row_of[rows[0]["image_id"]]]["image"]  # likewise audio-pool on audio_id
```"""


def _storage(config: M3Config, manifest: Mapping[str, Any]) -> str:
    """Which storage this build uses and why (`--storage`; auto decides by size)."""
    rows = sum(config.split_sizes.values())
    why = (
        f"chosen with `--storage {config.storage}`"
        if config.storage != "auto"
        else f"the default for {rows:,} rows: inline below {POOLED_FROM_ROWS:,} rows (size m), "
        "pooled from there"
    )
    if not config.pooled:
        return (
            f"**Inline** ({why}): every row holds its own image and audio bytes, so the rows "
            "alone are the dataset. The pools under `pools/` are build-time tables kept so "
            "an interrupted build resumes."
        )
    pools = manifest.get("pools", {})
    sizes = ", ".join(f"`{name}` {p['rows']:,} items" for name, p in pools.items())
    return (
        f"**Pooled** ({why}): each distinct clip and image is stored once, in a pool of its "
        f"own ({sizes}), and the rows hold `audio_id` and `image_id`. At this size, storing "
        "the media in every row would repeat each image and clip many times over. Each pool "
        "has its own fingerprint in `manifest.json`, and the split fingerprints include them. "
        "A missing medium is a null id. `symile_bench.load` joins the media back, so rows "
        "read as an inline build's do, in every format (`with_format`), and a medium follows "
        "its id column through `select_columns`, `remove_columns` and `rename_column`; "
        "`symile-bench export --format parquet` (or `hf-m3`) writes a copy with the media "
        "inline, for a Hub upload."
    )


def card_variables(
    config: M3Config, table: ClassTable, manifest: Mapping[str, Any]
) -> dict[str, str]:
    w = len(config.languages)
    sizes = config.split_sizes
    return {
        "languages": ", ".join(f"{c} ({LANGUAGE_NAMES[c]})" for c in config.languages),
        "w": str(w),
        "n_words": str(config.n_words),
        "mode": config.mode,
        "n_classes": f"{table.size:,}",
        "chance": f"1/{table.size} = {1 / table.size:.4f}",
        "clip_ceiling": f"1/{config.n_words} = {1 / config.n_words:.3f}",
        "sizes": f"train {sizes['train']:,}, validation {sizes['validation']:,}, "
        f"test {sizes['test']:,}",
        "sources_table": _sources(config, table),
        "missing_table": _missing_table(config),
        "audio_pool": f"{config.clips_per_language:,}",
        "image_pool": f"{config.images_per_class:,}",
        "storage_section": _storage(config, manifest),
        "loading_section": (POOLED_LOADING if config.pooled else INLINE_LOADING).format(
            config=next(iter(manifest.get("variants", {"complete": None})))
        ),
        "image_size": str(config.image_size),
        "image_format": config.image_format,
    }
