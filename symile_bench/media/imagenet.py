"""Training images of ILSVRC-2012 (user-supplied), read in the official layout."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from symile_bench.errors import ConfigError, SourceError

__all__ = ["ImageNetSource"]

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
                img: Image.Image = im.convert("RGB")
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
