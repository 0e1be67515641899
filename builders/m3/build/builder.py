"""Symile-M3: spoken audio in language L, an image of class C, and text of w words in w
languages, one of which is C's name in L. Only audio AND text together identify the image.

Offline by default (espeak-ng speech, emoji-font images, the embedded lexicon); the real
sources (Common Voice, ImageNet, the release's translations.json, gTTS) are used when given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from builders.m3.build.config import M3Config, missing_variant_name
from builders.m3.build.task import m3_task
from symile_bench.builder import (
    DatasetBuilder,
    PoolSpec,
    ResourceTask,
    ShardTask,
    TaskContext,
    split_tasks,
)
from symile_bench.tasks import RetrievalTask

if TYPE_CHECKING:  # imported where used: `symile-bench --help` imports this module
    import datasets
    import pyarrow as pa

COMPLETE = "complete"
#: the published pools of a pooled build (configs of their own for `load_dataset`)
AUDIO_POOL, IMAGE_POOL = "audio-pool", "image-pool"


class M3Builder(DatasetBuilder[M3Config]):
    name = "m3"
    description = (
        "Symile-M3: multilingual audio, image and text; only audio and text together "
        "identify the image."
    )
    #: 1.1.0: --audio-format auto (pooled builds store espeak-ng clips as FLAC, 1.0.0 as MP3)
    version = "1.1.0"
    Config = M3Config

    # -- planning -------------------------------------------------------------------------
    def variants(self, config: M3Config) -> list[str]:
        return [COMPLETE, *(missing_variant_name(p) for p in config.missing_prob)]

    def features(self, config: M3Config, variant: str) -> datasets.Features:
        """Pooled storage: the same columns without `audio` and `image`, which the pools hold
        (joined on `audio_id` and `image_id`)."""
        import datasets

        string = datasets.Value("string")
        flag = datasets.Value("bool")
        features = datasets.Features(
            {
                "lang": string,
                "audio": datasets.Audio(),
                "image": datasets.Image(),
                "text": string,
                "cls": string,
                "cls_id": datasets.Value("int64"),
                "target_text": string,
                "synset_id": string,
                "audio_id": string,
                "image_id": string,
                "audio_missing": flag,
                "image_missing": flag,
                "text_missing": flag,
            }
        )
        if config.pooled:
            del features["audio"], features["image"]
        return features

    def pools(self, config: M3Config) -> list[PoolSpec]:
        if not config.pooled:
            return []
        import datasets

        string = datasets.Value("string")
        names = [t.name for t in self.resources(config)]
        return [
            PoolSpec(
                AUDIO_POOL,
                "audio_id",
                tuple(n for n in names if n.startswith("audio-")),
                datasets.Features({"audio": datasets.Audio(), "audio_id": string}),
            ),
            PoolSpec(
                IMAGE_POOL,
                "image_id",
                tuple(n for n in names if n.startswith("images-")),
                datasets.Features(
                    {
                        "image": datasets.Image(),
                        "image_id": string,
                        "class_index": datasets.Value("int32"),
                    }
                ),
            ),
        ]

    def prepare(self, config: M3Config, warn: Callable[[str], None]) -> M3Config:
        """Fail fast on unusable sources; resolve an unreachable gTTS to espeak-ng once."""
        from builders.m3.build.classes import class_table
        from symile_bench.media.tts import choose_tts

        class_table(config)  # lexicon coverage, drawable classes
        if config.common_voice is None:
            tts = choose_tts(config.tts, config.languages, fallback=config.fallback, warn=warn)
            config = config.model_copy(update={"tts": tts})
        else:
            from symile_bench.media.commonvoice import CommonVoiceSource

            source = CommonVoiceSource(config.common_voice)
            for lang in config.languages:
                _check_clip_count(source.locale(lang), len(source.clips(lang)), config, warn)
        if config.imagenet is not None:
            from symile_bench.media.imagenet import ImageNetSource

            ImageNetSource(config.imagenet).require(class_table(config).lexicon.synset_id)
        elif config.images == "emoji":
            from symile_bench.media.emoji import emoji_font_path

            emoji_font_path()
        return config

    def resources(self, config: M3Config) -> list[ResourceTask]:
        from builders.m3.build.classes import class_table
        from builders.m3.build.pools import (
            CLIPS_PER_AUDIO_POOL,
            audio_chunks,
            classes_per_image_file,
            n_image_pools,
        )

        table = class_table(config)
        per_file = classes_per_image_file(config)
        return [
            *(
                ResourceTask(
                    f"audio-{lang}-{chunk:03d}",
                    min(
                        CLIPS_PER_AUDIO_POOL,
                        config.clips_per_language - chunk * CLIPS_PER_AUDIO_POOL,
                    ),
                )
                for lang in config.languages
                for chunk in range(audio_chunks(config))
            ),
            *(
                ResourceTask(
                    f"images-{chunk:04d}",
                    config.images_per_class * min(per_file, table.size - chunk * per_file),
                )
                for chunk in range(n_image_pools(config, table))
            ),
        ]

    def build_resource(self, config: M3Config, task: ResourceTask, ctx: TaskContext) -> pa.Table:
        from builders.m3.build.classes import class_table
        from builders.m3.build.pools import audio_pool, image_pool

        kind, *key = task.name.split("-")
        if kind == "audio":
            return audio_pool(config, key[0], int(key[1]), ctx.seed)
        return image_pool(config, class_table(config), int(key[0]), ctx.seed)

    def plan(self, config: M3Config, shard_rows: int | None = None) -> list[ShardTask]:
        return [
            task
            for variant in self.variants(config)
            for split, n in config.split_sizes.items()
            for task in split_tasks(variant, split, n, shard_rows or config.shard_rows)
        ]

    def plan_with_resources(self, config: M3Config, ctx: TaskContext) -> list[ShardTask]:
        """With --max-shard-bytes, size shards from the mean media bytes of the built pools
        (deterministic: the pools are)."""
        if config.max_shard_bytes is None:
            return self.plan(config)
        if config.pooled:  # rows hold ids and text only, a few hundred bytes
            return self.plan(config, min(config.max_shard_bytes // 512, config.shard_rows))
        audio = [ctx.resource(t.name) for t in self.resources(config) if t.name[0] == "a"]
        images = [ctx.resource(t.name) for t in self.resources(config) if t.name[0] == "i"]
        row_bytes = (
            256
            + sum(t.nbytes for t in audio) / sum(t.num_rows for t in audio)
            + sum(t.nbytes for t in images) / sum(t.num_rows for t in images)
        )
        rows = max(1, int(config.max_shard_bytes // row_bytes))
        return self.plan(config, min(rows, config.shard_rows))

    # -- one shard --------------------------------------------------------------------------
    def run(self, config: M3Config, task: ShardTask, ctx: TaskContext) -> pa.Table:
        from builders.m3.build.rows import shard_rows

        missing_prob = (
            None
            if task.variant == COMPLETE
            else config.missing_prob[self.variants(config).index(task.variant) - 1]
        )
        return shard_rows(config, task, ctx, missing_prob)

    # -- evaluation task ---------------------------------------------------------------------
    def tasks(self, config: M3Config) -> list[RetrievalTask]:
        from builders.m3.build.classes import class_table

        return [
            m3_task(
                class_table(config).size,
                config.n_words,
                audio_meta=("lang", "audio_id"),
                image_meta=("cls_id", "synset_id", "image_id"),
                with_missing=True,
                ids=True,
                pools=(AUDIO_POOL, IMAGE_POOL) if config.pooled else None,
            )
        ]

    def label(self, config: M3Config) -> str:
        """w and the languages (and the distractor mode when it is not the paper's)."""
        mode = "" if config.mode == "disjoint" else f"-{config.mode}"
        return f"w{config.n_words}-{'.'.join(config.languages)}{mode}"

    # -- blind test split (`build --blind`) -------------------------------------------------
    def answer_columns(self, config: M3Config) -> list[str]:
        """The image's class in every form; the query's language (`lang`) and the media stay."""
        return ["cls", "cls_id", "target_text", "synset_id", "image_id"]

    def blind_table(self, config: M3Config, table: pa.Table) -> pa.Table:
        """Also drop the image file names (they start with the synset id); the bytes stay."""
        from symile_bench.media_struct import without_paths

        table = super().blind_table(config, table)
        if "image" not in table.column_names:  # pooled: the blind split's pool has no names
            return table
        scrubbed = without_paths(table.column("image").combine_chunks())
        index = table.schema.get_field_index("image")
        return table.set_column(index, table.schema.field(index), scrubbed)

    # -- card ------------------------------------------------------------------------------
    def card_variables(self, config: M3Config, manifest: Mapping[str, Any]) -> dict[str, str]:
        from builders.m3.build.card import card_variables
        from builders.m3.build.classes import class_table

        return card_variables(config, class_table(config), manifest)


def _check_clip_count(
    locale: str, clips: int, config: M3Config, warn: Callable[[str], None]
) -> None:
    """A locale with fewer clips than the pool asks for (one without any is refused by the
    reader) gives a smaller pool, whose clips the rows then reuse more often: the sampling
    indexes the pool that exists, without bias."""
    if clips < config.clips_per_language:
        warn(
            f"Common Voice locale {locale!r} has {clips} usable validated clips, fewer than "
            f"--audio-pool {config.clips_per_language}: its pool holds those {clips}, and rows "
            "reuse them"
        )
