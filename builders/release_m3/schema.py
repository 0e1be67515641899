"""The Symile-M3 release's row format, split names and config names, in one place.

Checked against the release's sources (cards/hf-m3.md says which fact came from where): the
columns of `generate_data.py` in rajesh-lab/symile, and the Hub card of arsaporta/symile-m3
(12 configs `symile-m3-{2,5,10}-{xs,s,m,l}`, splits train/val/test, licence CC BY-NC-SA 4.0).
"""

from __future__ import annotations

import re
from pathlib import Path

import datasets
import pyarrow as pa

from builders.m3.config import SIZES
from symile_bench.errors import SourceError

RELEASE_ID = "arsaporta/symile-m3"
LICENSE = "cc-by-nc-sa-4.0"

_STRING = datasets.Value("string")
FEATURES = datasets.Features(
    {
        "lang": _STRING,
        "audio": datasets.Audio(),
        "image": datasets.Image(),
        "text": _STRING,
        "cls": _STRING,
        "cls_id": datasets.Value("int64"),
        "target_text": _STRING,
    }
)
"""The Hub's features, in the Hub's order; an import keeps exactly these columns."""

SCHEMA: pa.Schema = FEATURES.arrow_schema

#: the release's split name -> ours (the harness and `datasets` call it "validation")
SPLITS: dict[str, str] = {"train": "train", "val": "validation", "test": "test"}
RELEASE_SPLITS: dict[str, str] = {ours: theirs for theirs, ours in SPLITS.items()}

RELEASE_SIZES = ("xs", "s", "m", "l")
CONFIG_NAME = re.compile(r"^symile-m3-(?P<w>\d+)-(?P<size>xs|s|m|l)$")


def release_config_name(n_words: int, train_rows: int) -> str:
    """The release's name for a dataset of `n_words` words per text whose train split is
    closest in size to `train_rows` (e.g. `symile-m3-5-xs`)."""
    size = min(RELEASE_SIZES, key=lambda s: abs(SIZES[s][0] - train_rows))
    return f"symile-m3-{n_words}-{size}"


def words_of(config_name: str, text: str | None) -> int:
    """w of a release config: from its name, else the number of words of a text."""
    match = CONFIG_NAME.match(config_name)
    if match:
        return int(match["w"])
    return len((text or "").split("_"))


def check_schema(path: Path, schema: pa.Schema) -> None:
    """Refuse a file whose columns are not the release's (a missing or mistyped column)."""
    for field in SCHEMA:
        if field.name not in schema.names:
            raise SourceError(
                f"{path}: column {field.name!r} is missing (has {', '.join(schema.names)}); "
                "a Symile-M3 release file has lang, audio, image, text, cls, cls_id, "
                "target_text: download it again"
            )
        found = schema.field(field.name).type
        if not found.equals(field.type):
            raise SourceError(
                f"{path}: column {field.name!r} has type {found}, expected {field.type}; "
                "download the file again"
            )
