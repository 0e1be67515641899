"""Procedural class images (the offline fallback without the emoji font): 1,000 classes, each
a shape x colour x fill pattern glyph, augmented per image like the emoji."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from symile_bench.errors import ConfigError
from symile_bench.media.augment import augment

__all__ = ["PROCEDURAL_CLASSES", "render_procedural_image"]

PROCEDURAL_CLASSES = 1000
"""Number of distinct procedural classes (10 shapes x 10 colours x 10 fill patterns)."""

# Chosen so that no two differ only by a rotation within the +-15 degree augmentation.
_SHAPES = (
    "circle",
    "square",
    "triangle",
    "star",
    "plus",
    "ring",
    "crescent",
    "semicircle",
    "bar",
    "hexagon",
)
_COLOURS = (
    (220, 40, 40),
    (245, 140, 20),
    (235, 215, 30),
    (40, 165, 60),
    (30, 190, 200),
    (40, 80, 220),
    (130, 60, 200),
    (240, 100, 180),
    (130, 80, 40),
    (35, 35, 35),
)
_PATTERNS = (
    "solid",
    "hstripes",
    "vstripes",
    "diagonal",
    "dots",
    "checker",
    "rings",
    "grid",
    "split",
    "crosshatch",
)
_GLYPH = 128  # side of the procedural glyph canvas


def _regular_polygon(
    n: int, radius: float, phase: float, c: float = _GLYPH / 2
) -> list[tuple[float, float]]:
    angles = phase + 2 * np.pi * np.arange(n) / n
    return [(c + radius * np.cos(a), c + radius * np.sin(a)) for a in angles]


def _shape_mask(shape: str) -> Image.Image:
    m = Image.new("L", (_GLYPH, _GLYPH), 0)
    d = ImageDraw.Draw(m)
    s, c = _GLYPH, _GLYPH / 2
    if shape == "circle":
        d.ellipse((8, 8, s - 8, s - 8), fill=255)
    elif shape == "square":
        d.rectangle((14, 14, s - 14, s - 14), fill=255)
    elif shape == "triangle":
        d.polygon(_regular_polygon(3, 60, -np.pi / 2, c + 8), fill=255)
    elif shape == "star":
        outer = _regular_polygon(5, 60, -np.pi / 2)
        inner = _regular_polygon(5, 25, -np.pi / 2 + np.pi / 5)
        d.polygon([p for pair in zip(outer, inner, strict=True) for p in pair], fill=255)
    elif shape == "plus":
        d.rectangle((44, 8, s - 44, s - 8), fill=255)
        d.rectangle((8, 44, s - 8, s - 44), fill=255)
    elif shape == "ring":
        d.ellipse((8, 8, s - 8, s - 8), fill=255)
        d.ellipse((40, 40, s - 40, s - 40), fill=0)
    elif shape == "crescent":
        d.ellipse((8, 8, s - 8, s - 8), fill=255)
        d.ellipse((60, 4, s + 36, s - 28), fill=0)
    elif shape == "semicircle":
        d.pieslice((8, 24, s - 8, s + 88), 180, 360, fill=255)
    elif shape == "bar":
        d.rectangle((6, 38, s - 6, s - 38), fill=255)
    else:  # hexagon
        d.polygon(_regular_polygon(6, 60, 0.0), fill=255)
    return m


def _pattern(pattern: str, colour: np.ndarray) -> np.ndarray:
    """(GLYPH, GLYPH, 3) float32 fill: the class colour with a pattern in a lighter tint."""
    coords = np.arange(_GLYPH, dtype=np.float32)
    y, x = coords[:, None], coords[None, :]
    # The pattern's second colour: much lighter for dark colours, much darker for light ones.
    luminance = float(colour @ np.array([0.299, 0.587, 0.114], np.float32))
    tint = colour + (255.0 - colour) * 0.7 if luminance < 130 else colour * 0.35
    if pattern == "solid":
        t = np.zeros((_GLYPH, _GLYPH), np.float32)
    elif pattern == "hstripes":
        t = (y // 12 % 2) * np.ones_like(x)
    elif pattern == "vstripes":
        t = (x // 12 % 2) * np.ones_like(y)
    elif pattern == "diagonal":
        t = ((x + y) // 14 % 2).astype(np.float32)
    elif pattern == "dots":
        t = (((x % 20) - 10) ** 2 + ((y % 20) - 10) ** 2 < 25).astype(np.float32)
    elif pattern == "checker":
        t = ((x // 16 + y // 16) % 2).astype(np.float32)
    elif pattern == "rings":
        r = np.sqrt((x - _GLYPH / 2) ** 2 + (y - _GLYPH / 2) ** 2)
        t = (r // 10 % 2).astype(np.float32)
    elif pattern == "grid":
        t = ((x % 22 < 4) | (y % 22 < 4)).astype(np.float32)
    elif pattern == "split":
        t = (y >= _GLYPH / 2) * np.ones_like(x)  # lower half tinted
    else:  # crosshatch: thin lines along both diagonals
        t = (((x + y) % 24 < 4) | ((x - y) % 24 < 4)).astype(np.float32)
    t = t.astype(np.float32)[..., None]
    return colour[None, None, :] * (1 - t) + tint[None, None, :] * t


def _erode(a: np.ndarray, radius: int) -> np.ndarray:
    """Grey-scale erosion with a (2r+1)-square window (separable min filter, zero border)."""
    out = a
    for axis in (0, 1):
        padded = np.pad(out, [(radius, radius) if ax == axis else (0, 0) for ax in (0, 1)])
        n = out.shape[axis]
        out = padded.take(range(0, n), axis=axis)
        for k in range(1, 2 * radius + 1):
            out = np.minimum(out, padded.take(range(k, k + n), axis=axis))
    return out


@lru_cache(maxsize=PROCEDURAL_CLASSES)
def _procedural_glyph(class_index: int) -> Image.Image:
    """The class's canonical RGBA glyph: shape, colour and fill pattern from its digits."""
    shape = _SHAPES[class_index // 100]
    colour = np.array(_COLOURS[class_index // 10 % 10], np.float32)
    pattern = _PATTERNS[class_index % 10]
    mask = _shape_mask(shape)
    # An outline (dark, or light for the black class) keeps the shape visible on any background.
    alpha = np.asarray(mask, np.float32) / 255.0
    inner = _erode(np.asarray(mask), 3).astype(np.float32)[..., None] / 255.0
    edge = np.float32(235.0) if colour.mean() < 60 else np.float32(25.0)
    rgb = _pattern(pattern, colour) * inner + edge * (1.0 - inner)
    rgba = np.dstack([rgb, alpha * 255.0])
    glyph = Image.fromarray(np.clip(np.rint(rgba), 0, 255).astype(np.uint8), "RGBA")
    glyph.load()
    return glyph


def render_procedural_image(
    class_index: int, rng: np.random.Generator, size: int = 224
) -> Image.Image:
    """An RGB image of procedural class ``class_index`` (0-999) with seeded augmentation.

    The class fixes shape (hundreds digit), colour (tens) and fill pattern (units), so all
    1,000 classes differ; the augmentation (scale, +-15 degree rotation, position, pastel
    background, brightness, pixel noise) makes every image of a class different.
    """
    index = int(class_index)
    if not 0 <= index < PROCEDURAL_CLASSES:
        raise ConfigError(
            f"procedural class index {class_index} is outside 0-{PROCEDURAL_CLASSES - 1}; "
            "use --images emoji or --imagenet for more classes"
        )
    return augment(_procedural_glyph(index), rng, size, max_rotation=15.0, pastel=True)
