"""Hugging Face `transformers` models, found on this machine only.

The paper's encoders (Whisper, CLIP, XLM-R) are large downloads that a user fetches once; a
command never downloads them itself (no network in tests, on CI or on a cluster's compute
nodes). A model is named by a directory holding its ``config.json`` (``save_pretrained`` or
``hf download ID --local-dir DIR``), or by its Hub id when it is already in the local Hugging
Face cache; anything else is a one-line error saying how to get it. ``transformers`` is an
optional extra (``pip install 'symile-bench[paper]'``), imported only here and where a model
runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from symile_bench.errors import ConfigError, MissingDependencyError

#: the extra that installs transformers (pyproject.toml)
EXTRA = "paper"


def require_transformers() -> Any:
    """The ``transformers`` module, or a one-line error naming the extra that installs it."""
    try:
        import transformers
    except ImportError:
        raise MissingDependencyError(
            "the paper's encoders need Hugging Face transformers: "
            f"pip install 'symile-bench[{EXTRA}]'"
        ) from None
    return transformers


def how_to_get(spec: str) -> str:
    """The commands that put a Hub model on this machine (what an error about it suggests)."""
    repo = spec if "/" in spec and not Path(spec).is_absolute() else "ORG/MODEL"
    return (
        f"download it once with `hf download {repo} --local-dir DIR` (huggingface_hub's "
        "CLI; `huggingface-cli download` on older versions) and pass DIR"
    )


def model_dir(spec: str | Path, option: str) -> Path:
    """The local directory of a model named by ``spec``: a directory with a ``config.json``,
    or a Hub id already in the local Hugging Face cache (looked up offline, never
    downloaded). ``option`` names the command-line option in errors."""
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"{option} {spec}: no config.json in that directory; it must hold a model saved "
                f"with save_pretrained or downloaded from the Hub ({how_to_get(str(spec))})"
            )
        return path
    text = str(spec)
    looks_like_id = text.count("/") <= 1 and not text.startswith((".", "/", "~"))
    if looks_like_id and not path.exists():
        cached = _from_cache(text)
        if cached is not None:
            return cached
    raise ConfigError(
        f"{option} {spec}: not a model directory here, nor in the local Hugging Face cache; "
        f"{how_to_get(text)}"
    )


def _from_cache(repo_id: str) -> Path | None:
    """The cached snapshot of ``repo_id`` that holds a config.json, offline; None if absent."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return None
    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not cached, or not a valid id: both mean "not here"
        return None
    return folder if (folder / "config.json").is_file() else None


def read_config(directory: Path, option: str) -> Any:
    """The model's ``transformers`` config (``AutoConfig``), offline, or a one-line error for a
    config.json that names no model type transformers knows."""
    transformers = require_transformers()
    try:
        return transformers.AutoConfig.from_pretrained(directory, local_files_only=True)
    except (ValueError, KeyError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"{option} {directory}: its config.json is not a transformers model config ({first})"
        ) from None


def describe(config: Any) -> str:
    """``whisper (WhisperConfig)``: a config's model type and class, for error messages."""
    return f"{getattr(config, 'model_type', '?')} ({type(config).__name__})"


def quiet_transformers() -> None:
    """Keep transformers to errors and without its own progress bars (a command shows one
    bar per step; the weight-loading report of a CLIPVisionModel read from a full CLIP
    checkpoint lists every unused text-tower key). A no-op without transformers."""
    try:
        from transformers.utils import logging
    except ImportError:
        return
    logging.set_verbosity_error()
    logging.disable_progress_bar()
