"""Every Symile-M3 option, with the defaults that form the embedded (offline) default."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from symile_bench.builder import BuilderConfig
from symile_bench.lexicon import resolve_languages

MODALITIES = ("audio", "image", "text")

#: (train, validation, test) rows; xs/s/m/l are the release's sizes, tiny is the fast default.
SIZES: dict[str, tuple[int, int, int]] = {
    "tiny": (8_000, 1_000, 1_000),
    "xs": (500_000, 25_000, 25_000),
    "s": (1_000_000, 50_000, 50_000),
    "m": (5_000_000, 250_000, 250_000),
    "l": (10_000_000, 500_000, 500_000),
}


#: pool sizes at size l (11M rows); smaller builds get proportionally fewer, down to the floor
ROWS_AT_L = sum(SIZES["l"])
IMAGES_PER_CLASS_AT_L = 1_300
CLIPS_PER_LANGUAGE_AT_L = 2_000
MIN_IMAGES_PER_CLASS = 10
MIN_CLIPS_PER_LANGUAGE = 100
#: storage "auto" pools the media from size m's row count up
POOLED_FROM_ROWS = sum(SIZES["m"])


def _grown(at_l: int, floor: int, rows: int) -> int:
    """A pool size in proportion to the build's rows, anchored at size l, never under floor."""
    return max(floor, round(at_l * rows / ROWS_AT_L))


def _parse_missing(text: str) -> tuple[float, float, float]:
    """'0.5' -> all three; 'audio:0.3/image:0.6/text:0.5' -> per modality (absent = 0)."""
    text = text.strip()
    if ":" not in text:
        p = float(text)
        return (p, p, p)
    probs = dict.fromkeys(MODALITIES, 0.0)
    for part in text.split("/"):
        name, _, value = part.partition(":")
        name = name.strip()
        if name not in probs:
            raise ValueError(f"unknown modality '{name}' in '{text}'; use audio, image, text")
        probs[name] = float(value)
    return (probs["audio"], probs["image"], probs["text"])


class M3Config(BuilderConfig):
    languages: tuple[str, ...] = Field(
        ("en", "el", "hi", "ja", "uk"),
        description="Languages: 2, 5 or 10 for the paper's sets (en,el / en,el,hi,ja,uk / all "
        "ten), or a comma list of codes from ar,el,en,hi,ja,ko,te,th,uk,zh.",
    )
    words: int | None = Field(
        None, ge=2, description="Words per text (default: the number of languages)."
    )
    mode: Literal["disjoint", "overlap"] = Field(
        "disjoint",
        description="Distractor languages: 'disjoint' (the paper's: all distinct and != L) or "
        "'overlap' (drawn with replacement from the languages != L).",
    )
    size: Literal["tiny", "xs", "s", "m", "l"] = Field(
        "tiny",
        description="Split sizes: tiny 8K/1K/1K; xs 500K/25K/25K, s 1M/50K/50K, m 5M/250K/250K, "
        "l 10M/500K/500K (the release's).",
    )
    train_n: int | None = Field(None, ge=0, description="Train rows (overrides --size).")
    val_n: int | None = Field(None, ge=0, description="Validation rows (overrides --size).")
    test_n: int | None = Field(None, ge=0, description="Test rows (overrides --size).")
    translations: Path | None = Field(
        None,
        description="Class lexicon file: the release's translations.json or a Babel-ImageNet "
        "JSON (default: the embedded lexicon of emoji-drawable ImageNet classes).",
    )
    images: Literal["emoji", "procedural"] = Field(
        "emoji",
        description="Offline image source: Noto Color Emoji renderings (needs Debian "
        "fonts-noto-color-emoji) or procedural class patterns. Ignored with --imagenet.",
    )
    imagenet: Path | None = Field(
        None, description="ILSVRC root (ILSVRC/Data/CLS-LOC/train/<wnid>/*.JPEG) for real images."
    )
    image_size: int = Field(224, ge=16, le=1024, description="Square image side in pixels.")
    image_format: Literal["jpeg", "png", "webp"] = Field(
        "jpeg", description="Encoding of stored images."
    )
    image_pool: int | None = Field(
        None,
        ge=1,
        description="Distinct images per class, drawn once per build (default: grows with the "
        f"build's rows, {IMAGES_PER_CLASS_AT_L:,} per class at size l as ImageNet has, "
        f"never under {MIN_IMAGES_PER_CLASS}).",
    )
    tts: Literal["espeak", "gtts"] = Field(
        "espeak", description="Speech backend: espeak-ng (offline) or gTTS (online)."
    )
    fallback: bool = Field(
        True,
        description="With --tts gtts and no network: fall back to espeak-ng with a "
        "warning (--no-fallback: fail instead).",
    )
    common_voice: Path | None = Field(
        None,
        description="Common Voice root (<locale>/clips/*.mp3 + validated.tsv) for real speech.",
    )
    audio_format: Literal["auto", "mp3", "flac"] = Field(
        "auto",
        description="Encoding of synthesised clips: mp3 (about 35 kbit/s, 1/5 the size) or "
        "lossless flac (encoded about 15x faster). auto: mp3 inline, where every row carries "
        "its clip; flac pooled, where each clip is stored once. Common Voice and gTTS clips "
        "keep their own mp3 bytes.",
    )
    audio_pool: int | None = Field(
        None,
        ge=1,
        description="Distinct audio clips per language, drawn once per build (default: grows "
        f"with the build's rows, {CLIPS_PER_LANGUAGE_AT_L:,} per language at size l, never "
        f"under {MIN_CLIPS_PER_LANGUAGE}).",
    )
    storage: Literal["auto", "inline", "pooled"] = Field(
        "auto",
        description="inline: every row holds its own image and audio bytes; pooled: each "
        "distinct clip and image is stored once, in pool tables the rows refer to by id "
        "(symile_bench.load joins them back). auto: inline below "
        f"{POOLED_FROM_ROWS:,} rows (size m), pooled from there.",
    )
    missing_prob: tuple[tuple[float, float, float], ...] = Field(
        (),
        description="Missing-modality variants for train/val (test stays complete): comma list "
        "of settings, each a probability for all modalities ('0.5') or per modality "
        "('audio:0.3/image:0.6/text:0.5'). Each setting is one more dataset config.",
    )
    shard_rows: int = Field(1_000, ge=1, description="Rows per shard file (at most).")
    max_shard_bytes: int | None = Field(
        None,
        ge=1_000_000,
        description="Cap on a shard's size in bytes: rows per shard become min(--shard-rows, "
        "cap / mean row size measured on the pools). A worker holds about 2x one shard.",
    )

    @field_validator("languages", mode="before")
    @classmethod
    def _languages(cls, value: object) -> tuple[str, ...]:
        return resolve_languages(value)  # type: ignore[arg-type]

    @field_validator("missing_prob", mode="before")
    @classmethod
    def _missing(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(_parse_missing(s) for s in value.split(",") if s.strip())
        if isinstance(value, (int, float)):
            return ((float(value),) * 3,)
        return value

    @field_validator("missing_prob")
    @classmethod
    def _missing_range(
        cls, value: tuple[tuple[float, float, float], ...]
    ) -> tuple[tuple[float, float, float], ...]:
        for setting in value:
            if not all(0.0 <= p < 1.0 for p in setting):
                raise ValueError(f"probabilities must be in [0, 1), got {setting}")
        return value

    @field_validator("translations", "imagenet", "common_voice")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @model_validator(mode="after")
    def _words_fit(self) -> M3Config:
        w = len(self.languages)
        if self.mode == "disjoint" and self.n_words > w:
            raise ValueError(
                f"--words {self.n_words} needs at least that many languages in disjoint mode "
                f"(have {w}); use more --languages or --mode overlap"
            )
        return self

    @property
    def n_words(self) -> int:
        return self.words or len(self.languages)

    @property
    def images_per_class(self) -> int:
        """`image_pool`, or its default grown with the build's rows."""
        rows = sum(self.split_sizes.values())
        return self.image_pool or _grown(IMAGES_PER_CLASS_AT_L, MIN_IMAGES_PER_CLASS, rows)

    @property
    def clips_per_language(self) -> int:
        """`audio_pool`, or its default grown with the build's rows."""
        rows = sum(self.split_sizes.values())
        return self.audio_pool or _grown(CLIPS_PER_LANGUAGE_AT_L, MIN_CLIPS_PER_LANGUAGE, rows)

    @property
    def clip_format(self) -> Literal["mp3", "flac"]:
        """`audio_format`, with auto resolved. Encoding a clip as MP3 costs about 25 ms of CPU
        and as FLAC under 2 ms, for 5x the bytes: pooled, 20,000 clips (size l) grow by
        1.4 GB and the build saves 8 CPU minutes; inline, every row would carry those bytes."""
        if self.audio_format == "auto":
            return "flac" if self.pooled else "mp3"
        return self.audio_format

    @property
    def pooled(self) -> bool:
        """Whether rows refer to pooled media by id (`storage`, with auto resolved)."""
        if self.storage == "auto":
            return sum(self.split_sizes.values()) >= POOLED_FROM_ROWS
        return self.storage == "pooled"

    @property
    def split_sizes(self) -> dict[str, int]:
        train, val, test = SIZES[self.size]
        return {
            "train": train if self.train_n is None else self.train_n,
            "validation": val if self.val_n is None else self.val_n,
            "test": test if self.test_n is None else self.test_n,
        }


def missing_variant_name(probs: tuple[float, float, float]) -> str:
    if len(set(probs)) == 1:
        return f"missing{probs[0]}"
    return "missing-" + "-".join(f"{m[0]}{p}" for m, p in zip(MODALITIES, probs, strict=True))
