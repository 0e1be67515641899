"""Emoji images (the default offline image source): a class's emoji from Noto Color Emoji.

The glyph of a class is rendered once per process (cached) at the font's only bitmap size;
an image costs only the augmentation (:mod:`symile_bench.media.augment`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from symile_bench.errors import ConfigError, MissingDependencyError
from symile_bench.media.augment import augment

__all__ = ["FONT_ENV", "emoji_font_path", "render_emoji_image"]

FONT_ENV = "SYMILE_BENCH_EMOJI_FONT"
"""Environment variable naming an emoji font file to use instead of the system's."""

_DEBIAN_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
_FONT_FAMILY = "Noto Color Emoji"
_FONT_FIX = "install it with: apt-get install fonts-noto-color-emoji (or use --images procedural)"
# CBDT colour bitmaps exist at one strike only: FreeType loads Noto Color Emoji at size 109.
_BITMAP_SIZE = 109


@lru_cache(maxsize=1)
def _fc_match() -> Path | None:
    """The file fontconfig resolves "Noto Color Emoji" to, if it really is that family."""
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-f", "%{family}\t%{file}", _FONT_FAMILY],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    family, _, file = out.partition("\t")
    # fontconfig always answers with *some* font; accept it only if it is the emoji family.
    if _FONT_FAMILY.lower() not in family.lower() or not file:
        return None
    path = Path(file)
    return path if path.is_file() else None


def emoji_font_path() -> Path:
    """Locate NotoColorEmoji.ttf: ``$SYMILE_BENCH_EMOJI_FONT``, the Debian path, fontconfig.

    Raises :class:`MissingDependencyError` when the font is not installed.
    """
    override = os.environ.get(FONT_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise MissingDependencyError(
                f"{FONT_ENV}={override} is not a font file; point it at NotoColorEmoji.ttf or "
                f"unset it and {_FONT_FIX}"
            )
        return path
    if _DEBIAN_FONT.is_file():
        return _DEBIAN_FONT
    found = _fc_match()
    if found is not None:
        return found
    raise MissingDependencyError(
        f"emoji font Noto Color Emoji not found ({_DEBIAN_FONT} missing, fc-match has no "
        f"such family); {_FONT_FIX}"
    )


@lru_cache(maxsize=4)
def _font(path: str) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, _BITMAP_SIZE)
    except OSError as exc:
        raise MissingDependencyError(
            f"cannot load emoji font {path} at size {_BITMAP_SIZE} ({exc}); {_FONT_FIX}"
        ) from exc


@lru_cache(maxsize=8192)
def _emoji_glyph(font_path: str, emoji: str) -> Image.Image:
    """The emoji rendered once at the font's bitmap size, RGBA, cropped to its ink."""
    font = _font(font_path)
    left, top, right, bottom = font.getbbox(emoji)
    # int(): the stubs type the box as floats; a bitmap font gives whole pixels
    width, height = int(max(right - left, 1)) + 8, int(max(bottom - top, 1)) + 8
    canvas = Image.new("RGBA", (width, height))
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), emoji, font=font, embedded_color=True)
    box = canvas.getchannel("A").getbbox()
    if box is None:
        raise ConfigError(
            f"emoji {emoji!r} has no glyph in {font_path}; fix the class's emoji in the "
            "lexicon or use --images procedural"
        )
    glyph = canvas.crop(box)
    glyph.load()
    return glyph


def render_emoji_image(emoji: str, rng: np.random.Generator, size: int = 224) -> Image.Image:
    """An RGB ``size`` x ``size`` image of ``emoji`` (Noto Color Emoji) with seeded augmentation.

    Raises :class:`MissingDependencyError` without the font and :class:`ConfigError` for an
    emoji the font has no glyph for.
    """
    glyph = _emoji_glyph(str(emoji_font_path()), emoji)
    return augment(glyph, rng, size, max_rotation=30.0, pastel=False)
