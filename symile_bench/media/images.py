"""Encoding images for storage: the same image gives the same bytes.

Rendering lives in :mod:`.emoji` and :mod:`.procedural` (offline classes) and
:mod:`.imagenet` (real photos); they all hand a ``PIL.Image`` to :func:`encode_image`.
"""

from __future__ import annotations

import io

from PIL import Image

from symile_bench.errors import ConfigError

__all__ = ["IMAGE_FORMATS", "encode_image"]

IMAGE_FORMATS: dict[str, str] = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
"""Accepted ``fmt`` values of :func:`encode_image` and the Pillow format each maps to."""


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
