"""The model protocol and how ``--model`` finds a model.

A model is any object with ``encode(modality, batch, *, missing=None) -> array [n, d]`` and a
``scoring`` attribute (``"mip"`` for Symile, ``"pairwise"`` for CLIP, or a registered scorer) — no
base class, no framework (docs/evaluation.md, "Way 1"). Optional attributes: ``name`` (default: the
spec), ``metadata`` (a JSON-able dict stored in results) and ``modalities`` (the names it can
encode; checked before any work starts).

``--model`` takes ``package.module:factory`` (``factory`` may be dotted, e.g. ``mod:Class.load``;
the current directory is importable, so ``my_model:make`` finds ``./my_model.py``) or a
registered name: the built-in examples (``constant``, ``content-hash``), a benchmark's models
(``Benchmark.models``: ``xor-oracle``, ...) or an entry point in the group
``symile_bench.models``. The object found is used as the model when it is an instance with
``encode``; a class or another callable is called with the ``--model-arg`` values.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Mapping, Sequence
from importlib import import_module
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.scorers import get_scorer
from symile_bench.registry import Registry


class ModelError(HarnessInputError):
    """A model cannot be loaded, lacks what the task needs, or returned unusable embeddings."""


@runtime_checkable
class RetrievalModel(Protocol):
    scoring: str

    def encode(
        self, modality: str, batch: Sequence[Any], *, missing: np.ndarray | None = None
    ) -> np.ndarray: ...


MODELS: Registry[Any] = Registry(
    "model",
    group="symile_bench.models",
    facet="models",
    builtin={
        "constant": "symile_bench.harness.examples:constant",
        "content-hash": "symile_bench.harness.examples:content_hash",
    },
    option="--model",
    error=ModelError,
)


def parse_model_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``["dim=16", "name=foo"]`` -> ``{"dim": 16, "name": "foo"}`` (JSON values, else text)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ModelError(f"--model-arg {pair!r}: use KEY=VALUE with KEY a Python identifier")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _find(spec: str) -> Any:
    if ":" not in spec:
        return MODELS.get(spec)
    module_name, _, attr = spec.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # the current directory, as `python -m` would have it
    try:
        obj: Any = import_module(module_name)
    except ImportError as exc:
        raise ModelError(
            f"--model {spec!r}: cannot import module {module_name!r} ({exc}); check the name, "
            "install the package, or run from the directory that holds it"
        ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ModelError(f"--model {spec!r}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def load_model(spec: str, args: Mapping[str, Any] | None = None) -> RetrievalModel:
    """The model named by ``spec`` (see module docstring), checked against the protocol."""
    obj = _find(spec)
    if isinstance(obj, type) or (not hasattr(obj, "encode") and callable(obj)):
        try:
            obj = obj(**dict(args or {}))
        except TypeError as exc:
            raise ModelError(
                f"--model {spec!r}: calling the factory failed ({exc}); check --model-arg"
            ) from None
    elif args:
        raise ModelError(f"--model {spec!r} is an object, not a factory: it takes no --model-arg")
    check_model(obj, spec)
    return cast(RetrievalModel, obj)


def check_model(model: Any, name: str) -> None:
    if not callable(getattr(model, "encode", None)):
        raise ModelError(
            f"model {name!r} has no encode(modality, batch, *, missing=None) method; see "
            "docs/evaluation.md for the model protocol"
        )
    scoring = getattr(model, "scoring", None)
    if not isinstance(scoring, str):
        raise ModelError(
            f"model {name!r} has no `scoring` attribute; set it to 'mip', 'pairwise' or a "
            "registered scorer name"
        )
    get_scorer(scoring)


def model_name(model: Any, spec: str) -> str:
    name = getattr(model, "name", None)
    return name if isinstance(name, str) and name else spec


def model_metadata(model: Any, spec: str) -> dict[str, Any]:
    meta = getattr(model, "metadata", None) or {}
    if not isinstance(meta, Mapping):
        raise ModelError(f"model {spec!r}: `metadata` must be a dict, got {type(meta).__name__}")
    try:
        json.dumps(dict(meta))
    except TypeError as exc:
        raise ModelError(f"model {spec!r}: `metadata` must be JSON-serialisable ({exc})") from None
    return dict(meta)


def require_modalities(model: Any, spec: str, needed: Collection[str]) -> None:
    """Fail before encoding anything when the model declares ``modalities`` without one the
    task needs."""
    declared = getattr(model, "modalities", None)
    if declared is None:
        return
    lacking = [m for m in needed if m not in set(declared)]
    if lacking:
        raise ModelError(
            f"model {spec!r} does not encode modalit{'y' if len(lacking) == 1 else 'ies'} "
            f"{', '.join(map(repr, lacking))} (it "
            f"encodes: {', '.join(sorted(declared))}); the task needs {', '.join(needed)} — pick "
            "another --target or a model for these modalities"
        )
