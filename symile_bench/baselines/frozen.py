"""Frozen pretrained encoders with the Symile-M3 release's pooling: one vector per medium.

The release (``save_representations.py`` in rajesh-lab/symile) ran two frozen Hugging Face
encoders once over the data and trained only small heads on their outputs:

* audio: ``WhisperModel(...).encoder`` on ``WhisperFeatureExtractor`` log-mel features of the
  clip resampled to 16 kHz, with ``do_normalize=True`` and the extractor's default padding to
  30 s; the ``last_hidden_state`` averaged over all 1,500 frames, padding included (1,280-d for
  ``openai/whisper-large-v3``);
* image: ``CLIPVisionModel`` on the CLIP image processor's pixels; the ``pooler_output`` (the
  class token after the final layer norm, before CLIP's projection: 1,024-d for
  ``openai/clip-vit-large-patch14``).

``load_frozen`` checks that the model fits the modality — its config class, the processor's
output against the encoder's input, the hidden size against what the caller expects — before
any weight is loaded or any medium encoded, so a wrong ``--encoder`` is one line, not a
traceback in the middle of a run. The image processor is the PIL one
(``CLIPImageProcessorPil``): the release used the PIL-based processor, and the default one of
transformers 5 needs torchvision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symile_bench.baselines.device import torch_device as torch_device_of
from symile_bench.baselines.hf_models import describe, model_dir, read_config, require_transformers
from symile_bench.baselines.resample import mono, resample
from symile_bench.errors import ConfigError

MODALITIES = ("audio", "image")
#: model types each modality accepts (``config.model_type``) and what to suggest instead
ACCEPTS = {
    "audio": (("whisper",), "a Whisper model (WhisperModel, e.g. openai/whisper-large-v3)"),
    "image": (
        ("clip", "clip_vision_model"),
        "a CLIP model (CLIPModel or CLIPVisionModel, e.g. openai/clip-vit-large-patch14)",
    ),
}
POOLING = {
    "audio": "WhisperEncoder last_hidden_state, mean over all frames (padding included)",
    "image": "CLIPVisionModel pooler_output (before the projection)",
}


@dataclass
class FrozenEncoder:
    """A loaded, frozen encoder: ``encode(items)`` -> ``[n, hidden_size]`` float32."""

    modality: str
    directory: Path
    hidden_size: int
    model: Any
    processor: Any
    device: torch.device
    dtype: torch.dtype

    @property
    def info(self) -> dict[str, Any]:
        """What produced the vectors (recorded beside them, checked on resume)."""
        config = self.model.config
        return {
            "modality": self.modality,
            "encoder": str(self.directory),
            "model_type": config.model_type,
            "name_or_path": getattr(config, "_name_or_path", "") or str(self.directory),
            "hidden_size": self.hidden_size,
            "pooling": POOLING[self.modality],
            "processor": type(self.processor).__name__,
            "dtype": str(self.dtype).removeprefix("torch."),
        }

    @torch.inference_mode()
    def encode(self, items: Sequence[Any]) -> np.ndarray:
        """Decoded media (a harness batch's items: audio dicts or PIL images) -> vectors."""
        if self.modality == "audio":
            rate = int(self.processor.sampling_rate)
            waves = [
                resample(mono(item["array"]), int(item["sampling_rate"]), rate) for item in items
            ]
            inputs = self.processor(
                waves,
                sampling_rate=rate,
                return_tensors="pt",
                return_attention_mask=True,
                do_normalize=True,
            )
            features = inputs["input_features"].to(self.device, self.dtype)
            hidden = self.model(features).last_hidden_state
            out = hidden.mean(dim=1)
        else:
            pixels = self.processor(images=list(items), return_tensors="pt")["pixel_values"]
            out = self.model(pixel_values=pixels.to(self.device, self.dtype)).pooler_output
        return out.float().cpu().numpy()


def _hidden_size(modality: str, config: Any) -> int:
    if modality == "audio":
        return int(config.d_model)
    vision = getattr(config, "vision_config", config)
    return int(vision.hidden_size)


def _check_processor(modality: str, processor: Any, config: Any, where: str) -> None:
    """The processor's output must be the encoder's input (mel bins and frames; image side)."""
    if modality == "audio":
        bins, frames = int(processor.feature_size), int(processor.nb_max_frames)
        if bins != config.num_mel_bins:
            raise ConfigError(
                f"{where}: the feature extractor gives {bins} mel bins but the encoder expects "
                f"{config.num_mel_bins}; its preprocessor_config.json belongs to another Whisper"
            )
        if frames != 2 * config.max_source_positions:
            raise ConfigError(
                f"{where}: the feature extractor gives {frames} frames but the encoder expects "
                f"{2 * config.max_source_positions} (2 x max_source_positions)"
            )
        return
    vision = getattr(config, "vision_config", config)
    crop = processor.crop_size if processor.do_center_crop else processor.size
    sides = {int(v) for k, v in dict(crop).items() if k in ("height", "width", "shortest_edge")}
    if sides != {int(vision.image_size)}:
        raise ConfigError(
            f"{where}: the image processor gives {sorted(sides)} px images but the encoder "
            f"expects {vision.image_size} px; its preprocessor_config.json belongs to another "
            "model"
        )


def _processor(modality: str, directory: Path, where: str) -> Any:
    transformers = require_transformers()
    if not (directory / "preprocessor_config.json").is_file():
        kind = "feature extractor" if modality == "audio" else "image processor"
        raise ConfigError(
            f"{where}: no preprocessor_config.json (the model's {kind}); save it with the "
            "model or download the whole Hub repository"
        )
    cls = (
        transformers.WhisperFeatureExtractor
        if modality == "audio"
        else transformers.CLIPImageProcessorPil
    )
    try:
        return cls.from_pretrained(directory, local_files_only=True)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{where}: cannot read its {cls.__name__} ({exc})") from None


def check_frozen(
    modality: str, spec: str | Path, *, expect_hidden: int | None = None
) -> tuple[Path, int]:
    """The model directory and hidden size of the frozen ``modality`` encoder at ``spec`` (a
    directory or a cached Hub id), after every check that needs no weights (module
    docstring). ``expect_hidden``: the hidden size of vectors already written."""
    if modality not in MODALITIES:
        raise ConfigError(
            f"--modality must be one of {', '.join(MODALITIES)} (the paper's frozen encoders; "
            f"its text encoder is fine-tuned by `train --arch paper`), got {modality!r}"
        )
    directory = model_dir(spec, "--encoder")
    where = f"--encoder {spec}"
    config = read_config(directory, "--encoder")
    accepted, wanted = ACCEPTS[modality]
    if config.model_type not in accepted:
        raise ConfigError(
            f"{where} is a {describe(config)} model; --modality {modality} needs {wanted}"
        )
    hidden = _hidden_size(modality, config)
    if expect_hidden is not None and hidden != expect_hidden:
        raise ConfigError(
            f"{where} has hidden size {hidden}, but the {modality} vectors already written have "
            f"{expect_hidden}: a different encoder; use another --out or --overwrite"
        )
    _check_processor(modality, _processor(modality, directory, where), config, where)
    return directory, hidden


def check_dtype(dtype: str) -> dict[str, torch.dtype]:
    """The precisions ``--dtype`` names, after checking that ``dtype`` is one of them."""
    dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype not in dtypes:
        raise ConfigError(f"--dtype must be one of {', '.join(dtypes)}, got {dtype!r}")
    return dtypes


def load_frozen(
    modality: str, spec: str | Path, *, device: str = "cpu", dtype: str = "float32"
) -> FrozenEncoder:
    """The frozen ``modality`` encoder at ``spec``, checked (``check_frozen``), loaded with
    gradients off, in eval mode, on ``device``."""
    directory, hidden = check_frozen(modality, spec)
    processor = _processor(modality, directory, f"--encoder {spec}")
    torch_device = torch_device_of(device)
    dtypes = check_dtype(dtype)
    transformers = require_transformers()
    if modality == "audio":
        whisper = transformers.WhisperModel.from_pretrained(directory, local_files_only=True)
        model = whisper.get_encoder()
    else:
        model = transformers.CLIPVisionModel.from_pretrained(directory, local_files_only=True)
    model.requires_grad_(False)
    model.eval()
    model.to(torch_device, dtypes[dtype])
    return FrozenEncoder(modality, directory, hidden, model, processor, torch_device, dtypes[dtype])
