"""Whether a dataset directory is complete: what `symile-bench verify` checks beside the hashes.

A build writes its card (`README.md`) and `croissant.json`, then `manifest.json`, the marker
of a complete build, and only then removes its in-progress files (`.symile-build.json`,
`.symile-progress/`); an export removes its `.symile-export.json` last. So a directory is
complete when those three files are there and whole and no in-progress file is left. A
directory that fails here was stopped (or damaged) and is finished by rerunning the command
that made it; each problem names its file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from symile_bench.build_dir import PROGRESS_DIR, SPEC_NAME
from symile_bench.cards import CARD_NAME
from symile_bench.croissant import CROISSANT_NAME
from symile_bench.manifest import MANIFEST_NAME, Manifest
from symile_bench.storage import Store

EXPORT_MARKER = ".symile-export.json"
RERUN = "rerun the command that made the directory to finish it"


@dataclass(frozen=True)
class Mismatch:
    """One problem of a dataset directory: the file (relative to it) and what is wrong."""

    file: str
    problem: str


def completeness(store: Store) -> tuple[Manifest | None, list[Mismatch]]:
    """The directory's manifest (None when missing or unreadable) and every problem that
    makes it incomplete: a missing or broken manifest, card or croissant, in-progress files."""
    problems = _in_progress(store)
    manifest, problem = _manifest(store)
    problems += [p for p in (problem, _card(store, manifest), _croissant(store, manifest)) if p]
    return manifest, problems


def _in_progress(store: Store) -> list[Mismatch]:
    problems = []
    if store.is_file(SPEC_NAME):
        problems.append(
            Mismatch(
                SPEC_NAME,
                "a build into this directory has not finished; rerun its build command (after "
                f"`--shards` jobs: symile-bench finalize {store})",
            )
        )
    if store.exists(PROGRESS_DIR):
        problems.append(
            Mismatch(
                PROGRESS_DIR,
                "the progress records of an unfinished build are still here; rerun its build "
                "command to finish it",
            )
        )
    if store.is_file(EXPORT_MARKER):
        problems.append(
            Mismatch(EXPORT_MARKER, "an export into this directory has not finished; rerun it")
        )
    return problems


def _manifest(store: Store) -> tuple[Manifest | None, Mismatch | None]:
    if not store.is_file(MANIFEST_NAME):
        return None, Mismatch(MANIFEST_NAME, f"missing: the directory is not complete; {RERUN}")
    try:
        return Manifest.model_validate(json.loads(store.read_text(MANIFEST_NAME))), None
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
        first = (str(exc).splitlines() or [""])[0]
        return None, Mismatch(MANIFEST_NAME, f"not a valid manifest ({first}); {RERUN}")


def _card(store: Store, manifest: Manifest | None) -> Mismatch | None:
    """The card must open with the YAML front matter that tells `datasets.load_dataset` the
    configs, and list those of the manifest."""
    if not store.is_file(CARD_NAME):
        return Mismatch(CARD_NAME, f"missing: the dataset card; {RERUN}")
    meta = _front_matter(store.read_text(CARD_NAME))
    configs = meta.get("configs") if meta is not None else None
    if not isinstance(configs, list) or not all(isinstance(c, dict) for c in configs):
        return Mismatch(
            CARD_NAME,
            "has no YAML front matter listing its configs (datasets.load_dataset cannot read "
            f"the directory); {RERUN}",
        )
    if manifest is not None:
        named = {str(c.get("config_name")) for c in configs}
        expected = {*manifest.variants, *manifest.pools}
        if named != expected:
            return Mismatch(
                CARD_NAME,
                f"lists configs {sorted(named)}, manifest.json has {sorted(expected)}; {RERUN}",
            )
    return None


def _front_matter(text: str) -> dict[str, Any] | None:
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 3)
    if end < 0:
        return None
    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return None
    return meta if isinstance(meta, dict) else None


def _croissant(store: Store, manifest: Manifest | None) -> Mismatch | None:
    """`croissant.json` must be a whole Croissant document naming the manifest's shards."""
    if not store.is_file(CROISSANT_NAME):
        return Mismatch(CROISSANT_NAME, f"missing: the Croissant description; {RERUN}")
    try:
        document = json.loads(store.read_text(CROISSANT_NAME))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return Mismatch(CROISSANT_NAME, f"not valid JSON ({exc}); {RERUN}")
    if not isinstance(document, dict) or document.get("@type") != "sc:Dataset":
        return Mismatch(CROISSANT_NAME, f"not a Croissant dataset description; {RERUN}")
    if manifest is not None:
        listed = {
            d.get("contentUrl"): d.get("sha256")
            for d in document.get("distribution", [])
            if isinstance(d, dict) and d.get("@type") == "cr:FileObject"
        }
        shards = {
            s.file: s.sha256
            for v in manifest.variants.values()
            for r in v.splits.values()
            for s in r.shards
        }
        if listed != shards:
            return Mismatch(
                CROISSANT_NAME,
                f"does not describe the shards of manifest.json (files or sha256 differ); {RERUN}",
            )
    return None
