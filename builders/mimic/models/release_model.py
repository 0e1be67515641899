"""``--model symile-mimic-release``: the checkpoint of PhysioNet's Symile-MIMIC 1.0.0 release as a
model of the harness, so the paper's own model is scored like any other.

```
symile-bench evaluate DIR --model symile-mimic-release \
    --model-arg path=symile_mimic_model.ckpt [--model-arg device=cuda] [--model-arg batch_size=32]
```

``DIR`` is an import of the release (``import symile-mimic``) or a build of ours (``build
mimic``); ``release_inputs`` makes the release's input tensors from either. The embeddings are
the encoders' LayerNorm outputs, never L2-normalised, as the release's ``forward`` returns them,
and the scoring is the one the checkpoint was trained for: ``mip`` for ``loss_fn = symile``
(``pairwise`` for ``clip``). The release's retrieval logits are ``exp(logit_scale) * MIP(ECG,
labs, CXR)``; the positive factor is the same for every candidate, so it changes no rank and is
left out (``logit_scale`` is recorded in the results' model metadata with the checkpoint's
``hyper_parameters``).

Rows are distinct admissions (a MIMIC directory stores each admission once, its 10 candidates
as ids of other rows: the release's 4,640 test rows are 464 admissions), so each ECG, lab
vector and CXR is encoded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from builders.mimic.models.release_checkpoint import load_release_checkpoint
from builders.mimic.models.release_inputs import (
    RELEASE_CXR_SIZE,
    cxr_input,
    ecg_input,
    labs_input,
)
from symile_bench.harness.models import ModelError

NAME = "symile-mimic-release"
MIN_CXR_SIZE = 32  # below this a ResNet-50's stride-32 feature map is empty


class SymileMimicRelease:
    """The release's encoders from ``path``.

    ``device``: a torch device (``cpu``, ``cuda``, ``cuda:1``); ``batch_size``: rows per
    forward pass inside one ``encode`` call (bounds activation memory: a 320 x 320 CXR through
    ResNet-50 needs ~0.1 GB per row); ``cxr_size``: the side of the CXR the encoder reads,
    320 as in the release (smaller sizes are for tests and experiments; an import's arrays
    must have it).
    """

    modalities = ("ecg", "labs", "cxr")

    def __init__(
        self,
        path: str | Path | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        cxr_size: int = RELEASE_CXR_SIZE,
    ) -> None:
        if path is None:
            raise ModelError(
                f"--model {NAME} needs --model-arg path=symile_mimic_model.ckpt (the "
                "checkpoint of PhysioNet's Symile-MIMIC 1.0.0 release)"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ModelError(f"--model-arg batch_size={batch_size!r}: give a positive integer")
        if not isinstance(cxr_size, int) or cxr_size < MIN_CXR_SIZE:
            raise ModelError(
                f"--model-arg cxr_size={cxr_size!r}: give an integer >= {MIN_CXR_SIZE} (the "
                f"release's is {RELEASE_CXR_SIZE})"
            )
        self.device = _device(str(device))
        self.batch_size, self.cxr_size = batch_size, cxr_size
        checkpoint = load_release_checkpoint(Path(path).expanduser())
        self.encoders = checkpoint.encoders.to(self.device)
        self.scoring = checkpoint.scoring
        self.name = NAME
        self.metadata = {**checkpoint.metadata(), "cxr_size": cxr_size}

    def encode(
        self, modality: str, batch: Sequence[Any], *, missing: np.ndarray | None = None
    ) -> np.ndarray:
        """``[n, d]`` float32 LayerNorm outputs of the modality's encoder."""
        if modality not in self.modalities:
            raise KeyError(modality)
        if missing is not None and np.asarray(missing).any():
            raise NotImplementedError(
                "the release's encoders have no input for a missing modality (its training data "
                "had none); drop --missing-protocol"
            )
        if modality == "ecg":
            x = ecg_input(batch)
        elif modality == "labs":
            x = labs_input(batch)
        else:
            x = cxr_input(batch, self.cxr_size)
        return self._forward(self.encoders[modality], x)

    def _forward(self, encoder: torch.nn.Module, x: np.ndarray) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for start in range(0, len(x), self.batch_size):
                # a copy: arrays read from a dataset are read-only views of its Arrow buffers
                chunk = torch.tensor(x[start : start + self.batch_size], device=self.device)
                out.append(encoder(chunk).float().cpu().numpy())
        d = int(self.metadata["d"])
        return np.concatenate(out) if out else np.zeros((0, d), np.float32)


def _device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ModelError(f"--model-arg device={name}: {e}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(
            f"--model-arg device={name}: this torch has no CUDA device; use device=cpu"
        )
    return device
