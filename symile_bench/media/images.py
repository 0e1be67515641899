"""Images for Symile-M3: emoji renderings, procedural class patterns, or real ImageNet photos.

Offline images come from one glyph per class (an emoji from Noto Color Emoji, or a procedural
shape/colour/pattern combination) placed on a random background with random scale, rotation,
position, colour jitter and pixel noise, so no two images of a class are alike. All randomness
comes from the ``numpy.random.Generator`` passed in: the same generator state gives the same
pixels (and, through :func:`encode_image`, the same bytes).

The glyph of a class is rendered once per process (cached); an image costs only the
augmentation, a few milliseconds at 224 x 224.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from symile_bench.errors import ConfigError, MissingDependencyError, SourceError

__all__ = [
    "IMAGE_FORMATS",
    "PROCEDURAL_CLASSES",
    "ImageNetSource",
    "emoji_font_path",
    "encode_image",
    "render_emoji_image",
    "render_procedural_image",
]

FONT_ENV = "SYMILE_BENCH_EMOJI_FONT"
"""Environment variable naming an emoji font file to use instead of the system's."""

_DEBIAN_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
_FONT_FAMILY = "Noto Color Emoji"
_FONT_FIX = "install it with: apt-get install fonts-noto-color-emoji (or use --images procedural)"
# CBDT colour bitmaps exist at one strike only: FreeType loads Noto Color Emoji at size 109.
_BITMAP_SIZE = 109

IMAGE_FORMATS: dict[str, str] = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
"""Accepted ``fmt`` values of :func:`encode_image` and the Pillow format each maps to."""

PROCEDURAL_CLASSES = 1000
"""Number of distinct procedural classes (10 shapes x 10 colours x 10 fill patterns)."""


# ------------------------------------------------------------------------------------------
# Fonts and glyphs
# ------------------------------------------------------------------------------------------
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
    canvas = Image.new("RGBA", (max(right - left, 1) + 8, max(bottom - top, 1) + 8))
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


# ------------------------------------------------------------------------------------------
# Augmentation shared by emoji and procedural images
# ------------------------------------------------------------------------------------------
def _random_colour(rng: np.random.Generator, lo: float = 0.0, hi: float = 255.0) -> np.ndarray:
    return rng.uniform(lo, hi, size=3).astype(np.float32)


def _background(rng: np.random.Generator, size: int, *, pastel: bool) -> np.ndarray:
    """A random (size, size, 3) float32 background: solid, gradient, noise blobs or stripes."""
    kind = int(rng.integers(6))
    lo = 110.0 if pastel else 0.0
    c1, c2 = _random_colour(rng, lo), _random_colour(rng, lo)
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = coords[:, None], coords[None, :]
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
    return c1 + t[..., None].astype(np.float32) * (c2 - c1)


def _augment(
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
    bg = _background(rng, size, pastel=pastel)

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

    canvas = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8), "RGB")
    if gain != 1.0:
        rgb = np.asarray(g, np.float32)
        rgb[..., :3] *= np.float32(gain)
        g = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGBA")
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


def render_emoji_image(emoji: str, rng: np.random.Generator, size: int = 224) -> Image.Image:
    """An RGB ``size`` x ``size`` image of ``emoji`` (Noto Color Emoji) with seeded augmentation.

    Raises :class:`MissingDependencyError` without the font and :class:`ConfigError` for an
    emoji the font has no glyph for.
    """
    glyph = _emoji_glyph(str(emoji_font_path()), emoji)
    return _augment(glyph, rng, size, max_rotation=30.0, pastel=False)


# ------------------------------------------------------------------------------------------
# Procedural classes (fallback without the emoji font)
# ------------------------------------------------------------------------------------------
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


def _regular_polygon(n: int, radius: float, phase: float, c: float = _GLYPH / 2) -> list:
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
    return _augment(_procedural_glyph(index), rng, size, max_rotation=15.0, pastel=True)


# ------------------------------------------------------------------------------------------
# Encoding
# ------------------------------------------------------------------------------------------
def encode_image(img: Image.Image, fmt: str = "png", quality: int = 90) -> bytes:
    """Encode ``img`` as png, jpeg (jpg) or webp; the same image gives the same bytes.

    No metadata (EXIF, ICC, timestamps) is written.
    """
    key = str(fmt).lower()
    if key not in IMAGE_FORMATS:
        raise ConfigError(
            f"unknown image format {fmt!r}; use one of {', '.join(sorted(IMAGE_FORMATS))}"
        )
    if not 1 <= int(quality) <= 100:
        raise ConfigError(f"image quality {quality} is outside 1-100")
    pil_format = IMAGE_FORMATS[key]
    if img.mode not in ("RGB", "L") and not (pil_format != "JPEG" and img.mode == "RGBA"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    if pil_format == "PNG":
        img.save(buf, format="PNG", compress_level=6)
    elif pil_format == "JPEG":
        img.save(buf, format="JPEG", quality=int(quality), optimize=False, subsampling=2)
    else:
        img.save(buf, format="WEBP", quality=int(quality), method=4, exact=False)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------
# ImageNet (user-supplied)
# ------------------------------------------------------------------------------------------
_WNID = re.compile(r"^n\d{8}$")
_IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}
_TRAIN_SUBDIR = Path("ILSVRC", "Data", "CLS-LOC", "train")


class ImageNetSource:
    """Training images of ILSVRC-2012 in the official layout.

    ``root`` is the folder that holds ``ILSVRC/Data/CLS-LOC/train/<wnid>/*.JPEG`` (the
    Kaggle / image-net.org extraction) or that ``train/`` folder itself.
    """

    def __init__(self, root: Path | str):
        root = Path(root).expanduser()
        if not root.is_dir():
            raise SourceError(
                f"ImageNet root {root} does not exist; pass the folder that holds "
                f"{_TRAIN_SUBDIR}/<wnid>/*.JPEG (--imagenet)"
            )
        nested = root / _TRAIN_SUBDIR
        if nested.is_dir():
            self.train_dir = nested
        elif root.name == "train" or any(
            e.is_dir() and _WNID.match(e.name) for e in os.scandir(root)
        ):
            self.train_dir = root
        else:
            raise SourceError(
                f"ImageNet root {root} has no {_TRAIN_SUBDIR}/ and no <wnid>/ folders; pass the "
                f"folder that holds {_TRAIN_SUBDIR} or that train/ folder itself (--imagenet)"
            )
        self.root = root
        self._files: dict[str, list[Path]] = {}

    def __repr__(self) -> str:
        return f"ImageNetSource({str(self.train_dir)!r})"

    def _scan(self, wnid: str) -> list[Path] | None:
        folder = self.train_dir / wnid
        if not folder.is_dir():
            return None
        return sorted(
            (
                folder / e.name
                for e in os.scandir(folder)
                if e.is_file() and os.path.splitext(e.name)[1].lower() in _IMAGE_SUFFIXES
            ),
            key=lambda p: p.name,
        )

    def require(self, wnids: Sequence[str]) -> None:
        """Check every wnid has a non-empty folder; name the first that does not."""
        for wnid in wnids:
            if wnid in self._files:
                continue
            files = self._scan(wnid)
            folder = self.train_dir / wnid
            if files is None:
                raise SourceError(
                    f"ImageNet class folder {folder} is missing; the ImageNet root must hold "
                    f"{_TRAIN_SUBDIR}/{wnid}/*.JPEG for every class of the lexicon"
                )
            if not files:
                raise SourceError(
                    f"ImageNet class folder {folder} has no .JPEG images; re-extract the "
                    "ILSVRC-2012 train set there"
                )
            self._files[wnid] = files

    def files(self, wnid: str) -> list[Path]:
        """The class's image files, sorted by name."""
        if wnid not in self._files:
            self.require([wnid])
        return list(self._files[wnid])

    @staticmethod
    def load(path: Path | str, size: int) -> Image.Image:
        """Decode ``path`` as RGB, scale its shorter side to ``size`` and centre-crop square."""
        if size < 1:
            raise ConfigError(f"image size {size} must be positive")
        try:
            with Image.open(path) as im:
                # JPEG: let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers size.
                im.draft("RGB", (size, size))
                img = im.convert("RGB")
        except (OSError, UnidentifiedImageError) as exc:
            raise SourceError(
                f"cannot decode ImageNet image {path}: {exc}; replace the file"
            ) from exc
        w, h = img.size
        factor = size / min(w, h)
        nw, nh = max(size, round(w * factor)), max(size, round(h * factor))
        if (nw, nh) != (w, h):
            img = img.resize((nw, nh), Image.Resampling.BICUBIC)
        left, top = (nw - size) // 2, (nh - size) // 2
        return img.crop((left, top, left + size, top + size))
