"""The Symile-M3 release's row format, split names and config names, in one place.

Checked against the release's sources (cards/hf-m3.md says which fact came from where): the
columns of `generate_data.py` in rajesh-lab/symile, and the Hub card of arsaporta/symile-m3
(12 configs `symile-m3-{2,5,10}-{xs,s,m,l}`, splits train/val/test, licence CC BY-NC-SA 4.0).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from builders.m3.build.config import SIZES
from symile_bench.errors import SourceError

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

RELEASE_ID = "arsaporta/symile-m3"
LICENSE = "cc-by-nc-sa-4.0"


@cache
def release_features() -> datasets.Features:
    """The Hub's features, in the Hub's order; an import keeps exactly these columns."""
    import datasets

    string = datasets.Value("string")
    return datasets.Features(
        {
            "lang": string,
            "audio": datasets.Audio(),
            "image": datasets.Image(),
            "text": string,
            "cls": string,
            "cls_id": datasets.Value("int64"),
            "target_text": string,
        }
    )


def release_schema() -> pa.Schema:
    """The Arrow schema of `release_features`."""
    schema: pa.Schema = release_features().arrow_schema
    return schema


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
    for field in release_schema():
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
