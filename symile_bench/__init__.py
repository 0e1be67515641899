"""symile-bench: build, load and score multimodal benchmarks beyond two modalities."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from symile_bench.errors import ConfigError, SymileBenchError

if TYPE_CHECKING:
    import datasets

try:
    __version__ = version("symile-bench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"


def load(
    path: str | Path,
    config: str | None = None,
    split: str | None = None,
    *,
    name: str | None = None,
    join: bool = True,
) -> datasets.Dataset | datasets.DatasetDict:
    """Memory-map a built dataset directory as `datasets` objects (see `dataset_dir.load`).
    `name` is the config, as `datasets.load_dataset(path, name=...)` calls it. A pooled
    build's media are joined from its pools on access, in every format and after column
    operations (`symile_bench.pooled_dataset`); `join=False` reads its rows as stored."""
    from symile_bench.dataset_dir import load as _load

    if name is not None and config is not None and name != config:
        raise ConfigError(f"give the config once: name={name!r} or config={config!r}")
    return _load(path, config=config or name, split=split, join=join)


__all__ = ["SymileBenchError", "__version__", "load"]
