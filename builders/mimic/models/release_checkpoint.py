"""Reading the Symile-MIMIC release's ``symile_mimic_model.ckpt`` (PhysioNet symile-mimic 1.0.0)
without Lightning, and without running arbitrary pickle.

The file is a PyTorch Lightning checkpoint (``torch.save`` zip archive) with the top-level keys
``epoch``, ``global_step``, ``pytorch-lightning_version``, ``state_dict``, ``loops``,
``callbacks``, ``optimizer_states``, ``lr_schedulers``, ``hparams_name`` and
``hyper_parameters``; the last is the training script's argparse namespace as a dict, whose
path arguments (``data_dir``, ``ckpt_save_dir``, ``save_dir``) are ``pathlib.PosixPath``
objects. A pickle can name any global, and unpickling calls it, so loading is two steps:

1. the pickle's globals are listed without running it
   (``torch.serialization.get_unsafe_globals_in_checkpoint``); any besides ``pathlib.PosixPath``
   refuses the file, naming them;
2. ``torch.load(weights_only=True)`` (torch's restricted unpickler: tensors, containers and
   numbers only) with ``PosixPath`` allowed for this one load (``safe_globals``), memory-mapped,
   so the optimizer's state (two thirds of the file) is never read.

The ``state_dict`` must then hold exactly the release's encoder keys (``release_nets``) with the
release's shapes at the embedding size ``d`` its weights give; anything else (another
architecture, another input width, a bare ``state_dict`` file) is one line naming what differs.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PosixPath
from typing import Any

import torch
from torch import nn

from builders.mimic.models.release_nets import (
    D_KEY,
    LOGIT_SCALE,
    release_encoders,
    release_names,
)
from symile_bench.harness.models import ModelError

# the globals the release's hyper_parameters need, under the names a pickle may give them
# (Python 3.13 moved the class to pathlib._local)
ALLOWED_GLOBALS: list[Any] = [
    (PosixPath, "pathlib.PosixPath"),
    (PosixPath, "pathlib._local.PosixPath"),
]
ALLOWED_NAMES = {name for _, name in ALLOWED_GLOBALS}
NEEDED_KEYS = ("state_dict", "hyper_parameters")
LIGHTNING_KEYS = (
    "epoch",
    "global_step",
    "pytorch-lightning_version",
    "state_dict",
    "loops",
    "callbacks",
    "optimizer_states",
    "lr_schedulers",
    "hparams_name",
    "hyper_parameters",
)
SCORING = {"symile": "mip", "clip": "pairwise"}  # hyper_parameters["loss_fn"] -> our scorer


@dataclass
class ReleaseCheckpoint:
    """The encoders (eval mode, weights from the file), ``d``, the scorer the training loss
    implies, and what the file says about its training (JSON-safe)."""

    path: Path
    encoders: nn.ModuleDict
    d: int
    loss: str
    logit_scale: float
    hyper_parameters: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def scoring(self) -> str:
        return SCORING[self.loss]

    def metadata(self) -> dict[str, Any]:
        """What results record as ``model.metadata``."""
        params = sum(int(p.numel()) for p in self.encoders.parameters())
        return {
            "checkpoint": self.path.name,
            "sha256": file_sha256(self.path),
            "d": self.d,
            "loss": self.loss,
            "negative_sampling": self.hyper_parameters.get("negative_sampling"),
            "logit_scale": self.logit_scale,
            "parameters": params,
            **self.info,
            "hyper_parameters": self.hyper_parameters,
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def load_release_checkpoint(path: Path) -> ReleaseCheckpoint:
    """The release's model from ``path`` (see the module docstring); ``ModelError`` naming the
    file and what differs from the release's checkpoint otherwise."""
    ckpt = _read(path)
    missing = [k for k in NEEDED_KEYS if k not in ckpt]
    if missing:
        hint = " (a bare state_dict?)" if any(str(k).endswith(".weight") for k in ckpt) else ""
        raise ModelError(
            f"{path}: not a Lightning checkpoint of the release: no {' or '.join(missing)} at "
            f"the top level{hint}; give symile_mimic_model.ckpt from PhysioNet symile-mimic 1.0.0"
        )
    state, hparams = ckpt["state_dict"], ckpt["hyper_parameters"]
    if not isinstance(state, dict) or not isinstance(hparams, dict):
        raise ModelError(f"{path}: state_dict and hyper_parameters must be dicts")
    d = _embedding_size(path, state)
    hp = json_safe(hparams)
    if "d" in hp and hp["d"] != d:
        raise ModelError(f"{path}: hyper_parameters say d = {hp['d']} but the weights have d = {d}")
    loss = hp.get("loss_fn", "symile")
    if loss not in SCORING:
        raise ModelError(
            f"{path}: hyper_parameters loss_fn is {loss!r}; the release trains 'symile' or 'clip'"
        )
    encoders = _encoders(path, state, d)
    return ReleaseCheckpoint(
        path=path,
        encoders=encoders,
        d=d,
        loss=loss,
        logit_scale=float(state[LOGIT_SCALE].reshape(())),
        hyper_parameters=hp,
        info={k: json_safe(ckpt[k]) for k in ("epoch", "global_step", "pytorch-lightning_version")}
        | {"lightning_keys_absent": [k for k in LIGHTNING_KEYS if k not in ckpt]},
    )


def _read(path: Path) -> dict[Any, Any]:
    """The checkpoint's top-level dict, unpickled only after its globals were checked."""
    if not path.is_file():
        raise ModelError(
            f"--model-arg path={path}: no such file; give the release's symile_mimic_model.ckpt"
        )
    if not zipfile.is_zipfile(path):
        raise ModelError(
            f"{path}: not a torch.save zip archive (truncated, or another format); download "
            "symile_mimic_model.ckpt again and check its sha256 against the release's SHA256SUMS"
        )
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        forbidden = sorted(set(unsafe) - ALLOWED_NAMES)
        if forbidden:
            raise ModelError(
                f"{path}: its pickle calls {', '.join(forbidden)}, which the release's checkpoint "
                "does not; refusing to load it (unpickling could run arbitrary code)"
            )
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, zipfile.BadZipFile) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(
            f"{path}: cannot read this checkpoint ({detail}); download symile_mimic_model.ckpt "
            "again and check its sha256"
        ) from None
    if not isinstance(ckpt, dict):
        raise ModelError(f"{path}: holds a {type(ckpt).__name__}, not a Lightning checkpoint dict")
    return ckpt


def _embedding_size(path: Path, state: dict[str, Any]) -> int:
    weight = state.get(D_KEY)
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise ModelError(
            f"{path}: state_dict has no 2-D {D_KEY!r}, so it is not the release's model "
            "(its labs encoder ends in Linear(1024, d))"
        )
    return int(weight.shape[0])


def _encoders(path: Path, state: dict[str, Any], d: int) -> nn.ModuleDict:
    """Our encoders holding the file's tensors, after the key sets and every shape matched."""
    # built on the CPU (on the meta device the initialisers take seconds on first use); the
    # file's tensors replace every parameter and buffer (assign=True: no copy)
    encoders = release_encoders(d)
    names = release_names(encoders)
    expected = set(names.values()) | {LOGIT_SCALE}
    found = set(state)
    lacking, extra = sorted(expected - found), sorted(found - expected)
    if lacking:
        raise ModelError(
            f"{path}: state_dict lacks {len(lacking)} key(s) of the release's encoders, e.g. "
            f"{lacking[0]!r}; this is not the release's model"
        )
    if extra:
        raise ModelError(
            f"{path}: state_dict has {len(extra)} key(s) the release's model does not, e.g. "
            f"{extra[0]!r} (another architecture?)"
        )
    ours = encoders.state_dict()
    loaded = {}
    for key, name in names.items():
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != tuple(ours[key].shape):
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor)
            raise ModelError(
                f"{path}: {name!r} has shape {shape}, the release's is {tuple(ours[key].shape)} "
                f"(at d = {d}); this is not the release's model"
            )
        loaded[key] = tensor.float() if tensor.is_floating_point() else tensor
    scale = state[LOGIT_SCALE]
    if not isinstance(scale, torch.Tensor) or scale.numel() != 1:
        raise ModelError(f"{path}: {LOGIT_SCALE!r} must be a scalar tensor")
    encoders.load_state_dict(loaded, strict=True, assign=True)
    return encoders.eval().requires_grad_(False)


def json_safe(value: Any) -> Any:
    """A checkpoint value for results JSON: paths as text, tensors as numbers or shapes."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, torch.Tensor):
        return json_safe(value.item()) if value.numel() == 1 else f"tensor{tuple(value.shape)}"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # results JSON holds finite numbers only
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
