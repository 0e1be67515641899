"""symile-bench: build, load and score multimodal benchmarks beyond two modalities."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from symile_bench.errors import SymileBenchError

try:
    __version__ = version("symile-bench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"


def load(path, config: str | None = None, split: str | None = None):
    """Memory-map a built dataset directory as `datasets` objects (see `dataset_dir.load`)."""
    from symile_bench.dataset_dir import load as _load

    return _load(path, config=config, split=split)


__all__ = ["SymileBenchError", "__version__", "load"]
