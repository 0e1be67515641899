"""`symile-bench export DIR --format NAME --out DIR2`: export formats, by name.

An exporter writes a dataset directory in another layout (Hub Parquet, a release's own
format). It is a callable `(source, dest) -> Path` returning where it wrote; formats come
from benchmark declarations (`Benchmark.exporters`) or the entry-point group
`symile_bench.exporters`, so a benchmark package adds the formats of its own releases without
core knowing them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from symile_bench.errors import ConfigError
from symile_bench.registry import Registry

Exporter = Callable[[Path, Path], Any]


def _loaded_exporter(obj: Any) -> Exporter:
    if not callable(obj):
        raise ConfigError(
            f"an entry point of group symile_bench.exporters must load a callable, got {obj!r}"
        )
    return obj


EXPORTERS: Registry[Exporter] = Registry(
    "export format",
    group="symile_bench.exporters",
    facet="exporters",
    builtin={"parquet": "symile_bench.dataset_dir:export_parquet"},
    option="--format",
    load=_loaded_exporter,
)
