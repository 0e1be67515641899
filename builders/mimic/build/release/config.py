"""Options of the `symile-mimic` importer, and what `prepare` records about the release it read
(no options: provenance and the facts `plan` needs, written into the manifest's config)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic.config import JsonDict

from symile_bench.builder import BuilderConfig

RECORDED: JsonDict = {"cli": False}


class ReleaseMimicConfig(BuilderConfig):
    release: Path | None = Field(
        None,
        description="Root of the unpacked PhysioNet Symile-MIMIC 1.0.0 release (the folder "
        "that holds train.csv, test.csv, labs_means.json and data_npy/).",
    )
    shard_rows: int = Field(
        500, ge=1, description="Rows per shard file (part of the config: it fixes the output)."
    )
    release_name: str = Field("symile-mimic", json_schema_extra=RECORDED)
    release_version: str = Field("1.0.0", json_schema_extra=RECORDED)
    license_name: str = Field(
        "PhysioNet Credentialed Health Data License 1.5.0", json_schema_extra=RECORDED
    )
    files: dict[str, str] = Field(
        default_factory=dict,
        description="Every release file read, relative to its root, with its sha256.",
        json_schema_extra=RECORDED,
    )
    sha256sums_checked: bool = Field(
        False,
        description="True when SHA256SUMS.txt was present and every file read matched it.",
        json_schema_extra=RECORDED,
    )
    rows: dict[str, int] = Field(
        default_factory=dict,
        description="Rows of each split of the import (queries for validation and test).",
        json_schema_extra=RECORDED,
    )
