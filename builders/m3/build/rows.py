"""One shard of Symile-M3 rows: samples drawn per (split, shard), media taken from the pools
(or their ids, for pooled storage), text assembled column-wise in Arrow, masks per variant."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builders.m3.build.classes import class_table
from builders.m3.build.config import M3Config
from builders.m3.build.pools import audio_chunks, n_image_pools
from builders.m3.build.sampling import compose_text, draw_missing, draw_samples
from symile_bench.builder import ShardTask, TaskContext, task_rng

#: the splits whose rows lose modalities in a missing-data variant (test stays complete)
MASKED_SPLITS = ("train", "validation")


def shard_rows(
    config: M3Config,
    task: ShardTask,
    ctx: TaskContext,
    missing_prob: tuple[float, float, float] | None,
) -> pa.Table:
    """The rows of ``task``; ``missing_prob`` is the variant's missingness (None: complete)."""
    table = class_table(config)
    lexicon, k, w = table.lexicon, table.size, len(config.languages)
    # The samples depend on (split, shard) only: every variant holds the same rows and
    # differs only in its missingness masks.
    rng = task_rng(ctx.seed, "m3-sample", task.split, task.index)
    s = draw_samples(
        rng, task.rows, n_languages=w, n_classes=k, n_words=config.n_words, mode=config.mode
    )
    text, target = compose_text(pa.array(table.vocabulary()), s, k)

    audio_parts = [
        [ctx.resource(f"audio-{lang}-{c:03d}") for c in range(audio_chunks(config))]
        for lang in config.languages
    ]
    inline = not config.pooled  # pooled rows hold ids, never bytes
    audio = pa.concat_tables(
        [
            part.select(["audio_id", "audio"] if inline else ["audio_id"])
            for parts in audio_parts
            for part in parts
        ]
    )
    if config.pooled:  # ids only: one array, not one chunk per pool file, for fast takes
        audio = audio.combine_chunks()
    sizes = np.array([sum(p.num_rows for p in parts) for parts in audio_parts])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    audio_rows = offsets[s.lang] + (s.audio_u * sizes[s.lang]).astype(np.int64)

    images = pa.concat_tables(
        [
            ctx.resource(f"images-{c:04d}").select(
                ["image_id", "class_index", *(["image"] if inline else [])]
            )
            for c in range(n_image_pools(config, table))
        ]
    )
    if config.pooled:
        images = images.combine_chunks()
    per_class = np.bincount(images["class_index"].to_numpy(), minlength=k)
    class_offsets = np.concatenate([[0], np.cumsum(per_class)[:-1]])
    image_rows = class_offsets[s.cls] + (s.image_u * per_class[s.cls]).astype(np.int64)

    missing = np.zeros((task.rows, 3), dtype=bool)
    if missing_prob is not None and task.split in MASKED_SPLITS:
        missing = draw_missing(
            task_rng(ctx.seed, "m3-missing", task.variant, task.split, task.index),
            task.rows,
            missing_prob,
        )

    def unless(mask: np.ndarray, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        if not mask.any():
            return values
        return pc.if_else(pa.array(mask), pa.nulls(len(mask), values.type), values)

    audio_rows_pa, image_rows_pa = pa.array(audio_rows), pa.array(image_rows)
    cls_ids = lexicon.cls_id[s.cls]
    columns = {
        "lang": pc.take(pa.array(config.languages), pa.array(s.lang)),
        **(
            {
                "audio": unless(missing[:, 0], pc.take(audio["audio"], audio_rows_pa)),
                "image": unless(missing[:, 1], pc.take(images["image"], image_rows_pa)),
            }
            if inline
            else {}
        ),
        "text": unless(missing[:, 2], text),
        "cls": pc.take(pa.array(lexicon.english), pa.array(s.cls)),
        "cls_id": pa.array(cls_ids, pa.int64()),
        "target_text": target,
        "synset_id": pc.take(pa.array(lexicon.synset_id), pa.array(s.cls)),
        "audio_id": unless(missing[:, 0], pc.take(audio["audio_id"], audio_rows_pa)),
        "image_id": unless(missing[:, 1], pc.take(images["image_id"], image_rows_pa)),
        "audio_missing": pa.array(missing[:, 0]),
        "image_missing": pa.array(missing[:, 1]),
        "text_missing": pa.array(missing[:, 2]),
    }
    return pa.table(columns)
