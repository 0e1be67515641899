"""Find a config's Parquet files in a local copy of the Hub repo `arsaporta/symile-m3` and
check them before anything is written: every split present with all its parts, every file a
readable Parquet file with the release's columns.

Layout (the Hub card's `configs` / `data_files`): `<config>/<split>-NNNNN-of-MMMMM.parquet`,
splits train, val, test; `translations.json` at the root.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from builders.m3.build.release.schema import SPLITS, check_schema
from symile_bench.errors import ConfigError, SourceError

PART = re.compile(r"^(?P<split>[a-z]+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.parquet$")


def release_configs(repo: Path) -> list[str]:
    """Config folders of the repo: those holding at least one `<split>-…parquet` part."""
    if not repo.is_dir():
        raise SourceError(f"{repo} is not a directory; give a local copy of {repo.name or repo}")
    return sorted(
        d.name for d in repo.iterdir() if d.is_dir() and any(_parts(d, s) for s in SPLITS)
    )


def choose_config(repo: Path, config: str | None) -> str:
    """`--config`, checked; or the only config the repo holds."""
    present = release_configs(repo)
    if not present:
        raise SourceError(
            f"{repo}: no config folder with <split>-NNNNN-of-MMMMM.parquet files; give the "
            "root of a local copy of the Hub repo arsaporta/symile-m3"
        )
    if config is None:
        if len(present) > 1:
            raise ConfigError(
                f"{repo} holds {len(present)} configs; choose one with --config: "
                + ", ".join(present)
            )
        return present[0]
    if config not in present:
        raise ConfigError(
            f"--config {config}: not in {repo}; it has: {', '.join(present)} (download that "
            "config's folder, or choose one of these)"
        )
    return config


def _parts(folder: Path, split: str) -> list[tuple[int, int, Path]]:
    found = []
    for path in folder.glob(f"{split}-*.parquet"):
        match = PART.match(path.name)
        if match and match["split"] == split:
            found.append((int(match["index"]), int(match["count"]), path))
    return sorted(found)


def split_files(repo: Path, config: str) -> dict[str, list[Path]]:
    """Every part of every split (our split names), or a one-line error naming what is
    missing."""
    folder = repo / config
    found = {split: _parts(folder, split) for split in SPLITS}
    missing = [split for split, parts in found.items() if not parts]
    if missing:
        present = [split for split, parts in found.items() if parts]
        raise SourceError(
            f"{folder}: split {', '.join(missing)} is missing (has "
            f"{', '.join(present) or 'none'}); download every split of {config}"
        )
    result: dict[str, list[Path]] = defaultdict(list)
    for split, parts in found.items():
        counts = {count for _, count, _ in parts}
        indices = [index for index, _, _ in parts]
        if len(counts) != 1 or indices != list(range(counts.pop())):
            names = ", ".join(p.name for _, _, p in parts)
            raise SourceError(
                f"{folder}: the parts of split {split} are incomplete or inconsistent "
                f"({names}); download the missing parts"
            )
        result[SPLITS[split]] = [path for _, _, path in parts]
    return dict(result)


def open_checked(path: Path) -> pq.ParquetFile:
    """A readable Parquet file with the release's columns, or a one-line error."""
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(
            f"{path}: not a readable Parquet file ({exc}); it is truncated or corrupt: "
            "download it again"
        ) from None
    check_schema(path, handle.schema_arrow)
    return handle
