"""The augmentation shared by emoji and procedural images: one glyph, a new picture per draw.

A glyph is placed on a random background with random scale, rotation, position, brightness
and pixel noise, so no two images of a class are alike while the class stays recognisable.
All randomness comes from the generator passed in: the same generator state gives the same
pixels. About a millisecond per 224 x 224 image, so glyphs are rendered once and only this
runs per image.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from symile_bench.errors import ConfigError

__all__ = ["augment"]


def _random_colour(rng: np.random.Generator, lo: float = 0.0, hi: float = 255.0) -> np.ndarray:
    return rng.uniform(lo, hi, size=3).astype(np.float32)


def _background(rng: np.random.Generator, size: int, *, pastel: bool) -> Image.Image:
    """A random RGB background: solid, gradient, noise blobs or stripes."""
    kind = int(rng.integers(6))
    lo = 110.0 if pastel else 0.0
    c1, c2 = _random_colour(rng, lo), _random_colour(rng, lo)
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = coords[:, None], coords[None, :]
    t: np.ndarray
    if kind == 0:  # solid colour
        t = np.zeros((size, size), np.float32)
    elif kind == 1:  # linear gradient at a random angle
        angle = rng.uniform(0.0, 2.0 * np.pi)
        t = x * np.float32(np.cos(angle)) + y * np.float32(np.sin(angle))
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    elif kind == 2:  # radial gradient around a random centre
        cy, cx = rng.uniform(0.0, 1.0, size=2).astype(np.float32)
        t = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        t = t / max(float(t.max()), 1e-6)
    elif kind == 3:  # smooth noise blobs: a coarse random grid upsampled bicubically
        cells = int(rng.integers(2, 9))
        coarse = (rng.random((cells, cells), dtype=np.float32) * 255).astype(np.uint8)
        t = np.asarray(
            Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC), np.float32
        ) / np.float32(255.0)
    elif kind == 4:  # soft stripes at a random angle and frequency
        angle = rng.uniform(0.0, np.pi)
        freq = rng.uniform(2.0, 12.0)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        u = x * np.float32(np.cos(angle)) + y * np.float32(np.sin(angle))
        t = 0.5 + 0.5 * np.sin(np.float32(2.0 * np.pi * freq) * u + np.float32(phase))
    else:  # checkerboard of random cell size
        cells = int(rng.integers(2, 12))
        t = ((np.floor(x * cells) + np.floor(y * cells)) % 2).astype(np.float32)
    return _blend(t.astype(np.float32, copy=False), c1, c2)


def _blend(t: np.ndarray, c1: np.ndarray, c2: np.ndarray) -> Image.Image:
    """The RGB image c1 + t * (c2 - c1), clipped to bytes. Computed one channel at a time:
    broadcasting a (size, size, 1) array against 3 colours runs numpy's inner loop 3
    elements at a time, ten times slower for the same float32 operations and bytes."""
    planes = np.empty((3, *t.shape), np.float32)
    for channel, (start, step) in enumerate(zip(c1, c2 - c1, strict=True)):
        np.multiply(t, step, out=planes[channel])
        planes[channel] += start
    np.clip(planes, 0, 255, out=planes)
    return Image.merge("RGB", [Image.fromarray(plane) for plane in planes.astype(np.uint8)])


def _gain_table(gain: float) -> list[int]:
    """`Image.point` table scaling R, G and B by `gain` (alpha kept): as multiplying each
    channel in float32, clipping and truncating, but one table look-up a pixel."""
    levels = np.arange(256, dtype=np.float32) * np.float32(gain)
    scaled = np.clip(levels, 0, 255).astype(np.uint8).tolist()
    return scaled * 3 + list(range(256))


def augment(
    glyph: Image.Image,
    rng: np.random.Generator,
    size: int,
    *,
    max_rotation: float,
    pastel: bool,
) -> Image.Image:
    """Place an RGBA glyph on a random background with random scale/rotation/position/noise."""
    if size < 8:
        raise ConfigError(f"image size {size} is too small; use --image-size 8 or more")
    canvas = _background(rng, size, pastel=pastel)

    scale = rng.uniform(0.40, 0.85)  # glyph's longer side as a fraction of the image side
    angle = rng.uniform(-max_rotation, max_rotation)
    gain = rng.uniform(0.80, 1.20)  # glyph brightness
    sigma = rng.uniform(0.0, 12.0)  # pixel noise s.d. (0-255 scale)
    fx, fy = rng.uniform(0.0, 1.0, size=2)

    w, h = glyph.size
    factor = scale * size / max(w, h)
    g = glyph.resize(
        (max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BICUBIC
    )
    g = g.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    # Position: anywhere that keeps the glyph inside the frame (centred if it is larger).
    x0 = round(fx * (size - g.width)) if g.width <= size else (size - g.width) // 2
    y0 = round(fy * (size - g.height)) if g.height <= size else (size - g.height) // 2

    if gain != 1.0:
        g = g.point(_gain_table(gain))
    canvas.paste(g, (x0, y0), g)

    # Triangular noise (difference of two uniform bytes, sd 104.5): near-Gaussian, and drawn
    # from raw random bytes, several times faster than standard_normal.
    raw = np.frombuffer(rng.bytes(2 * size * size * 3), np.uint8).reshape(2, size, size, 3)
    noise = raw[0].astype(np.float32)
    noise -= raw[1]
    noise *= np.float32(sigma / 104.5)
    noise += np.asarray(canvas, np.float32)
    noise += np.float32(0.5)  # round half up when truncating below
    np.clip(noise, 0.0, 255.0, out=noise)
    return Image.fromarray(noise.astype(np.uint8), "RGB")
