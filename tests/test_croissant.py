"""Every dataset directory ships `croissant.json` (MLCommons Croissant 1.0 JSON-LD) beside its
card: valid for the `mlcroissant` reference implementation, naming every shard with its sha256
and one record set per (config, split) with the dataset's features as fields; the Parquet export
ships one too, from which `mlcroissant` reads the same rows as `datasets`."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import mlcroissant as mlc
import pytest

from .conftest import run_cli


@pytest.fixture(scope="module")
def xor_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("xor") / "dir"
    run_cli("build", "xor", "--out", out, "--train-n", "30", "--val-n", "5", "--test-n", "7", "-q")
    return out


def test_build_ships_valid_croissant_with_shards_and_fields(xor_dir):
    """mlcroissant accepts the build's croissant.json (no errors); it lists each shard with the
    manifest's sha256 and each (config, split) as a record set whose fields are the features."""
    dataset = mlc.Dataset(jsonld=xor_dir / "croissant.json")
    assert not dataset.metadata.issues.errors
    manifest = json.loads((xor_dir / "manifest.json").read_text())
    document = json.loads((xor_dir / "croissant.json").read_text())
    shards = {d["contentUrl"]: d["sha256"] for d in document["distribution"] if "sha256" in d}
    expected = {
        s["file"]: s["sha256"]
        for v in manifest["variants"].values()
        for r in v["splits"].values()
        for s in r["shards"]
    }
    assert shards == expected
    sets = {rs.name: [f.name for f in rs.fields] for rs in dataset.metadata.record_sets}
    variant = next(iter(manifest["variants"]))
    assert sets[f"{variant}/test"] == list(manifest["variants"][variant]["features"])
    assert document["license"] == "mit"


def test_parquet_export_croissant_reads_the_same_rows(xor_dir, tmp_path):
    """`export --format parquet` writes its own croissant.json, from which mlcroissant reads the
    test split's rows, equal to what `datasets.load_dataset` reads."""
    dest = tmp_path / "parquet"
    run_cli("export", xor_dir, "--out", dest)
    dataset = mlc.Dataset(jsonld=dest / "croissant.json")
    test_set = next(rs.uuid for rs in dataset.metadata.record_sets if rs.name.endswith("/test"))
    records = list(dataset.records(test_set))
    loaded = datasets.load_dataset(str(dest), split="test")
    assert len(records) == loaded.num_rows == 7
    for record, row in zip(records, loaded, strict=True):
        values = {key.rsplit("/", 1)[1]: _plain(value) for key, value in record.items()}
        assert values == row


def _plain(value):
    """A value as mlcroissant yields it (numpy arrays for lists), as plain Python."""
    return value.tolist() if hasattr(value, "tolist") else value
