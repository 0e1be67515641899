"""The Symile-M3 release's ``SymileM3Model`` (experiments/models/symile_m3_model.py in
rajesh-lab/symile), for `train --arch paper`.

* Audio and image: the frozen encoders' vectors (`symile-bench embed`) through a Linear layer
  and a LayerNorm to d (8192 in the paper). When the training data has missing modalities the
  release learns ``nn.Embedding(2, hidden)`` (observed / missing), concatenates it to the
  vector (so the Linear reads 2 x hidden) and gives a missing row the mean vector of the
  observed training rows; without missing data the Linear reads the vector alone.
* Text: XLM-R's embeddings and first encoder layer only, both fine-tuned (the release loads
  the whole model and freezes the rest, which never runs; we keep just the two parts), on the
  tokens padded to the split's longest text, then a Linear applied to every token, the mean
  over all positions (padding included) and a LayerNorm. Missing text is the token
  ``[MISSING]``, added to the tokenizer and to the embedding matrix.
* No L2 normalisation (the LayerNorm's output is the representation); the log-temperature is
  learned, initialised at −6 by the recipe.

``ContrastiveModel`` replaces a missing row's output by a learned vector; this model handles
missing rows inside each encoder, as the release does, so ``embed`` hands the mask over.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from symile_bench.baselines.hf_models import require_transformers
from symile_bench.baselines.modules import ContrastiveModel, FitsFeatures


class FrozenFeatureHead(FitsFeatures):
    """``[n, hidden]`` frozen vectors -> ``[n, d]``: (mean-imputed vector ⊕ observed/missing
    embedding) -> Linear -> LayerNorm. ``fit`` stores the observed training rows' mean."""

    def __init__(self, hidden: int, dim: int, missingness: bool) -> None:
        super().__init__()
        self.missingness_embed = nn.Embedding(2, hidden) if missingness else None
        self.fc = nn.Linear(hidden * 2 if missingness else hidden, dim, bias=True)
        self.layer_norm = nn.LayerNorm(dim)
        self.train_mean: torch.Tensor
        self.register_buffer("train_mean", torch.zeros(hidden))

    def fit(self, features: np.ndarray) -> None:
        if len(features):
            self.train_mean.copy_(torch.as_tensor(features, dtype=torch.float32).mean(0))

    def forward(self, x: torch.Tensor, missing: torch.Tensor | None = None) -> torch.Tensor:
        if missing is not None:
            x = torch.where(missing[:, None], self.train_mean.to(x.dtype), x)
        if self.missingness_embed is not None:
            indicator = (
                missing.long()
                if missing is not None
                else torch.zeros(len(x), dtype=torch.long, device=x.device)
            )
            x = torch.cat((x, self.missingness_embed(indicator).to(x.dtype)), dim=1)
        return self.layer_norm(self.fc(x))


class XlmrFirstLayer(nn.Module):
    """Token ids ``[n, L]`` (float, as cached features) -> ``[n, d]``: XLM-R's embeddings and
    encoder layer 0, a per-token Linear, the mean over all L positions, LayerNorm.
    ``missing_ids`` (``<s> [MISSING] </s>``) replace the tokens of a row marked missing."""

    def __init__(
        self, embeddings: nn.Module, layer: nn.Module, hidden: int, dim: int, special: dict
    ) -> None:
        super().__init__()
        self.embeddings = embeddings
        self.encoder_layer = layer
        self.fc = nn.Linear(hidden, dim, bias=True)
        self.layer_norm = nn.LayerNorm(dim)
        self.pad_id = int(special["pad"])
        self.missing_ids: torch.Tensor
        self.register_buffer("missing_ids", torch.tensor(special["missing_ids"], dtype=torch.long))

    def forward(self, x: torch.Tensor, missing: torch.Tensor | None = None) -> torch.Tensor:
        ids = x.long()
        if missing is not None and bool(missing.any()):
            filler = torch.full_like(ids[0], self.pad_id)
            k = min(len(self.missing_ids), ids.shape[1])
            filler[:k] = self.missing_ids[:k]
            ids = torch.where(missing[:, None], filler[None, :], ids)
        # the release's extended mask: 0 where a token is attended to, the dtype's minimum at
        # padding, broadcast over heads and query positions
        mask = (ids != self.pad_id)[:, None, None, :].to(torch.float32)
        extended = (1.0 - mask) * torch.finfo(torch.float32).min
        hidden = self.embeddings(input_ids=ids)
        out = self.encoder_layer(hidden, attention_mask=extended.to(hidden.dtype))
        tokens = out[0] if isinstance(out, tuple) else out  # transformers 4 returned a tuple
        return self.layer_norm(self.fc(tokens).mean(dim=1))


def xlmr_first_layer(directory: Path, dim: int, special: dict[str, Any]) -> XlmrFirstLayer:
    """The text encoder from a local XLM-R (``from_pretrained``, offline), its vocabulary
    grown to ``special["vocab"]`` tokens (``[MISSING]`` added)."""
    transformers = require_transformers()
    model = transformers.AutoModel.from_pretrained(directory, local_files_only=True)
    if model.get_input_embeddings().num_embeddings != special["vocab"]:
        model.resize_token_embeddings(int(special["vocab"]))
    hidden = int(model.config.hidden_size)
    layer = model.encoder.layer[0]
    model.requires_grad_(True)
    return XlmrFirstLayer(model.embeddings, layer, hidden, dim, special)


class SymileM3PaperModel(ContrastiveModel):
    """The three encoders above and the learned log-temperature; missing rows are handled
    inside each encoder and nothing is L2-normalised (module docstring)."""

    def __init__(self, encoders: Mapping[str, nn.Module], dim: int, log_temperature: float):
        super().__init__(encoders, dim, log_temperature=log_temperature, normalize=False)
        self.missing = nn.ParameterDict()  # no learned output vector for a missing row

    def embed(
        self, modality: str, x: torch.Tensor, missing: torch.Tensor | None = None
    ) -> torch.Tensor:
        out: torch.Tensor = self.encoders[modality](x, missing)
        return out
