"""Check, before a build writes its first file, that it can finish.

A build ends by writing the card (`README.md`), `croissant.json` and `manifest.json` from
what the builder declares. If any of that is missing or incoherent (most often a third-party
builder without a card template), finding out at the end costs the whole build and leaves a
directory of shards without its card. So the parent checks first, in milliseconds: the
builder's configs and features, its pools, its card template, and a dry run of the manifest,
card and croissant from the plan (placeholder hashes, the rows the plan gives). Each problem is
a `BuilderError` naming the builder, what is missing and the fix.
"""

from __future__ import annotations

import re
from typing import Any

import datasets
from pydantic import ValidationError

from symile_bench.build_manifest import assemble_manifest
from symile_bench.builder import BuilderConfig, DatasetBuilder, ResourceTask, ShardTask
from symile_bench.errors import BuilderError, SymileBenchError
from symile_bench.manifest import FileRecord, Manifest

_NO_VALUE = re.compile(r"card placeholder (\{\{\w+\}\}) has no value")


def preflight(builder: DatasetBuilder[Any], config: BuilderConfig) -> None:
    """Raise `BuilderError` if a build of `builder` with `config` could not write its
    manifest, card and croissant once its shards were done."""
    _check_variants(builder, config)
    _check_pools(builder, config)
    _check_template(builder)  # the likeliest gap of a plugin, named before anything else
    manifest = _dry_manifest(builder, config)
    who = f"builder {builder.name!r} ({builder.import_path()})"
    try:
        builder.render_card(config, manifest)
    except SymileBenchError:
        raise
    except KeyError as exc:
        missing = _NO_VALUE.search(str(exc))
        if missing is None:
            raise _cannot(who, "its card (README.md)", exc) from exc
        raise BuilderError(
            f"{who}: its card template uses {missing.group(1)}, which card_variables() does "
            "not give; add it there or remove it from the template"
        ) from exc
    except Exception as exc:
        raise _cannot(who, "its card (README.md)", exc) from exc
    try:
        builder.render_croissant(manifest)
    except SymileBenchError:
        raise
    except Exception as exc:
        raise _cannot(who, "croissant.json", exc) from exc


def _cannot(who: str, what: str, exc: Exception) -> BuilderError:
    first = (str(exc).splitlines() or [""])[0]
    return BuilderError(
        f"{who} cannot render {what} ({type(exc).__name__}: {first}); fix the builder before "
        "building (nothing was written)"
    )


def _check_template(builder: DatasetBuilder[Any]) -> None:
    """The card template exists, or one line says where it was looked for."""
    try:
        builder.card_template()
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        looked = getattr(exc, "filename", None) or f"cards/{builder.name}.md"
        raise BuilderError(
            f"builder {builder.name!r} ({builder.import_path()}) has no card template "
            f"({looked} not found): override card_template() to return its Markdown, or add "
            f"cards/{builder.name}.md"
        ) from None


def _check_variants(builder: DatasetBuilder[Any], config: BuilderConfig) -> None:
    who = f"builder {builder.name!r}"
    variants = builder.variants(config)
    if not variants or len(set(variants)) != len(variants) or not all(variants):
        raise BuilderError(
            f"{who}: variants() returned {variants!r}; it must name each of its configs once"
        )
    for variant in variants:
        features = builder.features(config, variant)
        if not isinstance(features, datasets.Features) or not features:
            raise BuilderError(
                f"{who}: features(config, {variant!r}) returned {features!r}; it must return "
                "a non-empty datasets.Features"
            )
        try:
            datasets.Features.from_dict(features.to_dict()).arrow_schema  # noqa: B018
        except Exception as exc:
            raise BuilderError(
                f"{who}: the features of config {variant!r} cannot be stored in the manifest "
                f"({type(exc).__name__}: {exc})"
            ) from exc


def _check_pools(builder: DatasetBuilder[Any], config: BuilderConfig) -> None:
    who = f"builder {builder.name!r}"
    built = {task.name for task in builder.resources(config)}
    for pool in builder.pools(config):
        missing = [name for name in pool.resources if name not in built]
        if missing:
            raise BuilderError(
                f"{who}: pool {pool.name!r} is made of resources {missing} that resources() "
                "does not build; list them there or drop them from pools()"
            )
        if pool.key not in pool.features:
            raise BuilderError(
                f"{who}: pool {pool.name!r} is keyed by {pool.key!r}, which is not among its "
                f"features {list(pool.features)}"
            )


def _dry_manifest(builder: DatasetBuilder[Any], config: BuilderConfig) -> Manifest:
    """The manifest a build would end with, from the plan, with placeholder file hashes.
    A builder whose plan needs its built resources (MIMIC's cohort) gives none here: the
    dry run then has configs without splits."""
    try:
        shards = builder.plan(config)
    except NotImplementedError:
        shards = []
    variants = builder.variants(config)
    strays = sorted({t.variant for t in shards} - set(variants))
    if strays:
        raise BuilderError(
            f"builder {builder.name!r}: plan() has shards of configs {strays} that variants() "
            f"does not list ({variants})"
        )
    resources = builder.resources(config)
    tasks: list[ShardTask | ResourceTask] = [*resources, *shards]
    records = {
        t.file: FileRecord(file=t.file, rows=t.rows, sha256="0" * 64, bytes=0) for t in tasks
    }
    try:
        return assemble_manifest(builder, config, 0, shards, resources, records)
    except ValidationError as exc:
        first = str(exc).splitlines()
        raise BuilderError(
            f"builder {builder.name!r}: its manifest would not be valid ({' '.join(first[:3])}); "
            "check tasks() and label()"
        ) from None
