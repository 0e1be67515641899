"""Values for cards/m3.md: what this particular build contains and where its parts came from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from builders.m3.classes import ClassTable
from builders.m3.config import M3Config, missing_variant_name
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
            "| audio | espeak-ng speech synthesis of random numbers, seeded voice variation | "
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
        "audio_pool": str(config.audio_pool),
        "image_pool": str(config.image_pool),
        "image_size": str(config.image_size),
        "image_format": config.image_format,
    }
