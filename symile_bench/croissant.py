"""`croissant.json`: the MLCommons Croissant 1.0 JSON-LD description written beside the card of
every dataset directory, so tools that read that standard (dataset search, loaders) find a
build or an import: what it is, its licence, every shard with its sha256, and one record set
per (config, split) whose fields are the dataset's features.

Written from the manifest alone (like the card's YAML), by hand: building needs no Croissant
package; the tests validate the output with `mlcroissant`.
"""

from __future__ import annotations

import json
from typing import Any

import datasets

from symile_bench.cards import SYMILE_BIBTEX
from symile_bench.manifest import Manifest

CROISSANT_NAME = "croissant.json"
ENCODINGS = {"arrow": "application/vnd.apache.arrow.file", "parquet": "application/x-parquet"}
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}


def _data_type(feature: Any) -> tuple[str, bool]:
    """(schema.org type, repeated) of one `datasets` feature: a list or ArrayND is its value
    type, repeated; media are ImageObject / AudioObject."""
    if isinstance(feature, datasets.Image):
        return "sc:ImageObject", False
    if isinstance(feature, datasets.Audio):
        return "sc:AudioObject", False
    if isinstance(feature, datasets.ClassLabel):
        return "sc:Integer", False
    if isinstance(feature, (datasets.Array2D, datasets.Array3D, datasets.Array4D)):
        return _data_type(datasets.Value(feature.dtype))[0], True
    if isinstance(feature, (datasets.List, datasets.LargeList, list)):
        inner = feature[0] if isinstance(feature, list) else feature.feature
        return _data_type(inner)[0], True
    dtype = getattr(feature, "dtype", "string")
    if dtype == "bool":
        return "sc:Boolean", False
    if dtype.startswith(("int", "uint")):
        return "sc:Integer", False
    if dtype.startswith("float"):
        return "sc:Float", False
    if dtype.startswith(("timestamp", "date")):
        return "sc:DateTime", False
    return "sc:Text", False


def croissant(
    manifest: Manifest, *, title: str, description: str, license_id: str, extension: str
) -> dict[str, Any]:
    """The Croissant JSON-LD of a dataset directory described by `manifest`."""
    distribution: list[dict[str, Any]] = []
    record_sets = []
    encoding = ENCODINGS[extension]
    for variant, record in manifest.variants.items():
        features = datasets.Features.from_dict(record.features)
        for split, rec in record.splits.items():
            split_id = f"{variant}/{split}"
            distribution += [
                {
                    "@type": "cr:FileObject",
                    "@id": shard.file,
                    "name": shard.file,
                    "contentUrl": shard.file,
                    "encodingFormat": encoding,
                    "sha256": shard.sha256,
                }
                for shard in rec.shards
            ]
            distribution.append(
                {
                    "@type": "cr:FileSet",
                    "@id": f"files/{split_id}",
                    "name": f"files/{split_id}",
                    "encodingFormat": encoding,
                    "includes": f"data/{variant}/{split}-*.{extension}",
                }
            )
            fields = []
            for name, feature in features.items():
                kind, repeated = _data_type(feature)
                field: dict[str, Any] = {
                    "@type": "cr:Field",
                    "@id": f"{split_id}/{name}",
                    "name": name,
                    "dataType": kind,
                    "source": {
                        "fileSet": {"@id": f"files/{split_id}"},
                        "extract": {"column": name},
                    },
                }
                if repeated:
                    field["repeated"] = True
                fields.append(field)
            record_sets.append(
                {
                    "@type": "cr:RecordSet",
                    "@id": split_id,
                    "name": split_id,
                    "description": f"{rec.rows} rows of config {variant}, split {split}",
                    "field": fields,
                }
            )
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": title,
        "description": description,
        "license": license_id,
        "url": f"urn:symile-bench:{manifest.builder}:{manifest.fingerprint}",
        "version": manifest.builder_version,
        "citeAs": SYMILE_BIBTEX,
        "distribution": distribution,
        "recordSet": record_sets,
    }


def croissant_text(
    manifest: Manifest, *, title: str, description: str, license_id: str, extension: str
) -> str:
    """`croissant(...)` as the file's text (stable key order, so a rebuild is byte-identical)."""
    document = croissant(
        manifest,
        title=title,
        description=description,
        license_id=license_id,
        extension=extension,
    )
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
