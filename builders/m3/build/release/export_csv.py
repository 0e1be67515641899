"""`symile-bench export DIR --format m3-csv`: a Symile-M3 dataset directory as the release
code's CSVs (`generate_data.py`: train.csv, val.csv, test.csv) plus the media trees they point
into, so DIR2 is both the CSV dir and the --common-voice / --imagenet root of `import m3-csv`:
`cv/<lang>/clips/<clip>` and `ILSVRC/Data/CLS-LOC/train/<synset>/<image>`.

Each distinct clip or image is written once, its bytes unchanged; its file name is the one the
dataset stored (or one made from its hash), with the extension of its real format.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path, PurePosixPath
from typing import Any

from builders.m3.build.release.export_common import export_source
from symile_bench.atomic import atomic_directory
from symile_bench.errors import DatasetDirError
from symile_bench.lexicon import imagenet1k_synset_ids
from symile_bench.progress import progress_bar

COLUMNS = (
    "lang",
    "audio_path",
    "audio_filename",
    "cls",
    "image_path",
    "cls_id",
    "target_text",
    "text",
)
IMAGE_ROOT = PurePosixPath("ILSVRC/Data/CLS-LOC/train")
# leading bytes -> extension, for cells stored without a file name
_MAGIC = (
    (b"\xff\xd8\xff", ".JPEG"),
    (b"\x89PNG", ".png"),
    (b"RIFF", ".wav"),
    (b"fLaC", ".flac"),
    (b"OggS", ".ogg"),
    (b"ID3", ".mp3"),
    (b"\xff\xfb", ".mp3"),
    (b"\xff\xf3", ".mp3"),
    (b"\xff\xf2", ".mp3"),
)


def export_m3_csv(source: Path, dest: Path) -> Path:
    src = export_source(Path(source), "m3-csv")
    synsets = imagenet1k_synset_ids()
    with atomic_directory(Path(dest)) as out:
        media = _MediaTree(out)
        total = sum(r.rows for r in src.manifest.variants[src.variant].splits.values())
        with progress_bar() as progress:
            bar = progress.add_task("export m3-csv", total=total, unit="rows")
            for split, shards in src.splits().items():
                with (out / f"{split}.csv").open("w", newline="", encoding="utf-8") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(COLUMNS)
                    for shard in shards:
                        for batch in src.batches(shard):
                            for row in batch.to_pylist():
                                synset = _synset(synsets, row["cls_id"], src.path)
                                audio = media.put(
                                    PurePosixPath("cv", row["lang"], "clips"), row["audio"]
                                )
                                image = media.put(IMAGE_ROOT / synset, row["image"])
                                writer.writerow(
                                    [
                                        row["lang"],
                                        audio,
                                        PurePosixPath(audio).stem,
                                        row["cls"],
                                        image,
                                        row["cls_id"],
                                        row["target_text"],
                                        row["text"],
                                    ]
                                )
                            progress.advance(bar, batch.num_rows)
    return Path(dest)


class _MediaTree:
    """Writes each distinct media file once under its folder; a name already taken by other
    bytes gets the hash appended."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: dict[PurePosixPath, str] = {}

    def put(self, folder: PurePosixPath, cell: dict[str, Any]) -> str:
        data: bytes = cell["bytes"]
        digest = hashlib.sha256(data).hexdigest()
        stored = PurePosixPath(cell.get("path") or "").name
        name = PurePosixPath(stored if stored not in ("", "..") else digest[:16])
        if not name.suffix:
            name = name.with_suffix(_extension(data))
        path = folder / name
        if self.written.get(path, digest) != digest:
            path = folder / f"{name.stem}-{digest[:12]}{name.suffix}"
        if path not in self.written:
            (self.root / path).parent.mkdir(parents=True, exist_ok=True)
            (self.root / path).write_bytes(data)
            self.written[path] = digest
        return path.as_posix()


def _synset(synsets: tuple[str, ...], cls_id: int, path: Path) -> str:
    """The ImageNet folder of a class (the CSV layout files images under their synset)."""
    if not 0 <= cls_id < len(synsets):
        raise DatasetDirError(
            f"{path}: cls_id {cls_id} is not an ImageNet-1k index (0-999), so its images have "
            "no ILSVRC folder; export this dataset with --format hf-m3"
        )
    return synsets[cls_id]


def _extension(data: bytes) -> str:
    return next((ext for magic, ext in _MAGIC if data.startswith(magic)), ".bin")
