"""Media pools: audio clips per language and images per class, synthesised (or read) once per
build, as the release drew from fixed corpora. Each pool member's randomness is keyed by its
language or synset, so pools do not depend on how classes are grouped into pool files."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np
import pyarrow as pa
from PIL import Image

from builders.m3.build.classes import ClassTable
from builders.m3.build.config import M3Config
from symile_bench.builder import task_rng
from symile_bench.media.commonvoice import CommonVoiceSource
from symile_bench.media.emoji import render_emoji_image
from symile_bench.media.imagenet import ImageNetSource
from symile_bench.media.images import encode_image
from symile_bench.media.procedural import render_procedural_image
from symile_bench.media.speech import SpeechBackend
from symile_bench.media.tts import make_tts
from symile_bench.media.utterances import number_utterance
from symile_bench.media_struct import media_array

#: pool files hold this many classes / clips: small enough to spread over every worker
CLASSES_PER_IMAGE_POOL = 8
CLIPS_PER_AUDIO_POOL = 25
#: ... and at most about this many images (fewer classes a file for large pools), so that a
#: worker holds ~30 MB of encoded images at a time, not the 140 MB of 8 x 1,300
IMAGES_PER_FILE = 2_000


def classes_per_image_file(config: M3Config) -> int:
    return max(1, min(CLASSES_PER_IMAGE_POOL, IMAGES_PER_FILE // config.images_per_class))


def audio_chunks(config: M3Config) -> int:
    return -(-config.clips_per_language // CLIPS_PER_AUDIO_POOL)


@cache
def _process_tts(backend: str, audio_format: str) -> SpeechBackend:
    """One backend per worker process, not per pool file: starting espeak-ng's fork-server
    costs about 50 ms of CPU, and a size-l build writes 800 audio pool files. Its clips do
    not depend on what it synthesised before (see :mod:`symile_bench.media._espeak_worker`)."""
    return make_tts(backend, audio_format=audio_format)


def audio_pool(config: M3Config, lang: str, chunk: int, seed: int) -> pa.Table:
    """Clips [chunk * 25, ...) of `lang`'s pool; their content never depends on a class.
    Each clip's randomness is keyed by (language, clip index), whatever the chunking."""
    first = chunk * CLIPS_PER_AUDIO_POOL
    last = min(first + CLIPS_PER_AUDIO_POOL, config.clips_per_language)
    blobs: list[bytes] = []
    names: list[str] = []
    ids: list[str] = []
    if config.common_voice is not None:
        clips = CommonVoiceSource(config.common_voice).clips(lang)
        rng = task_rng(seed, "m3-audio", lang)
        chosen = np.sort(
            rng.choice(len(clips), size=min(config.clips_per_language, len(clips)), replace=False)
        )
        for i in chosen[first:last]:
            blobs.append(clips[i].read_bytes())
            names.append(clips[i].name)
            ids.append(f"common-voice:{lang}:{clips[i].name}")
    else:
        tts = _process_tts(config.tts, config.clip_format)
        for j in range(first, last):
            rng = task_rng(seed, "m3-audio", lang, j)
            clip = tts.synthesize(number_utterance(rng, lang), lang, rng)
            blobs.append(clip.data)
            ids.append(f"{config.tts}:{lang}:{j:05d}")
            names.append(f"{lang}-{j:05d}.{clip.format}")
    # typed: a chunk past the end of a small Common Voice locale is empty
    return pa.table({"audio": media_array(blobs, names), "audio_id": pa.array(ids, pa.string())})


def image_pool(config: M3Config, table: ClassTable, chunk: int, seed: int) -> pa.Table:
    """`images_per_class` images for each class of one chunk of the class table
    (`classes_per_image_file` classes)."""
    lexicon = table.lexicon
    per_file = classes_per_image_file(config)
    first = chunk * per_file
    last = min(first + per_file, table.size)
    source = ImageNetSource(config.imagenet) if config.imagenet is not None else None
    blobs, names, ids, classes = [], [], [], []
    ext = {"jpeg": "jpg"}.get(config.image_format, config.image_format)
    for c in range(first, last):
        synset = lexicon.synset_id[c]
        rng = task_rng(seed, "m3-image", synset)
        if source is not None:
            files = source.files(synset)
            chosen = np.sort(
                rng.choice(len(files), size=min(config.images_per_class, len(files)), replace=False)
            )
            images: Iterator[tuple[Image.Image, str]] = (
                (source.load(files[i], config.image_size), files[i].name) for i in chosen
            )
        elif table.emoji is not None:
            images = (
                (render_emoji_image(table.emoji[c], rng, config.image_size), f"{synset}-{j:04d}")
                for j in range(config.images_per_class)
            )
        else:
            images = (
                (
                    render_procedural_image(int(lexicon.cls_id[c]), rng, config.image_size),
                    f"{synset}-{j:04d}",
                )
                for j in range(config.images_per_class)
            )
        # Each image is encoded as soon as it is drawn: a class of 1,300 decoded images
        # would hold ~200 MB (the rng draws happen in the same order either way).
        for image, name in images:
            stem = name.rsplit(".", 1)[0]
            blobs.append(encode_image(image, config.image_format))
            names.append(f"{stem}.{ext}")
            ids.append(f"{'imagenet' if source else config.images}:{stem}")
            classes.append(c)
    return pa.table(
        {
            "image": media_array(blobs, names),
            "image_id": pa.array(ids, pa.string()),
            "class_index": pa.array(classes, pa.int32()),
        }
    )


def n_image_pools(config: M3Config, table: ClassTable) -> int:
    return -(-table.size // classes_per_image_file(config))
