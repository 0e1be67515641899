"""`--arch paper` features: the frozen audio and image vectors that `symile-bench embed` wrote,
looked up per row, and XLM-R token ids for the text, as the release's
``save_representations.py`` saved them.

* audio / image: the row's vector from ``settings.extra["features"]`` (``<modality>.parquet``),
  by the row's ``audio_id`` / ``image_id``, or by the sha256 of its bytes when the vectors are
  keyed that way (imported releases); a missing row gets zeros (the model imputes the mean);
* text: ``tokenizer(text, padding="max_length", max_length=L)`` where L is the token count of
  the longest text of the row's split (the release's ``max_token_len.py``, computed per split),
  and ``[MISSING]`` (a token added to the tokenizer) for a missing text.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from symile_bench.baselines.embed import EmbeddedVectors, read_embedded
from symile_bench.baselines.hf_models import model_dir, require_transformers
from symile_bench.baselines.media_items import DIGEST, digest
from symile_bench.baselines.recipes import Settings
from symile_bench.errors import ConfigError
from symile_bench.harness.batch import ModalityBatch
from symile_bench.harness.splitdata import SplitData

MISSING_TOKEN = "[MISSING]"
TEXT_ENCODER = "FacebookAI/xlm-roberta-large"
TOKEN_CHUNK = 4_096


def features_dir(settings: Settings) -> Path:
    """Where `embed` wrote the frozen vectors (``train --features``), or a one-line error."""
    path = settings.extra.get("features")
    if not path:
        raise ConfigError(
            "m3 --arch paper trains on frozen audio and image vectors: run `symile-bench embed "
            "DATASET --modality audio --encoder openai/whisper-large-v3 --out FEATS` (and "
            "--modality image --encoder openai/clip-vit-large-patch14), then pass --features "
            "FEATS"
        )
    return Path(path)


def vectors(settings: Settings, modality: str) -> EmbeddedVectors:
    return read_embedded(features_dir(settings), modality)


def frozen_features(modality: str, batch: ModalityBatch, settings: Settings) -> np.ndarray:
    """``[n, hidden]``: each present row's vector, zeros where the medium is missing."""
    table = vectors(settings, modality)
    n = len(batch)
    if table.key == DIGEST:
        keys: list[Any] = [digest(cell) if cell is not None else None for cell in batch.raw()]
    else:
        meta = getattr(batch, "meta", {}) or {}
        if table.key not in meta:
            raise ConfigError(
                f"{table.path} is keyed by {table.key!r}, which these {modality} rows do not "
                "show (a blind split withholds it); embed the dataset again: rows without ids "
                "are embedded by the sha256 of their bytes"
            )
        cells = batch.raw()
        keys = [k if c is not None else None for k, c in zip(meta[table.key], cells, strict=True)]
    out = np.zeros((n, table.dim), np.float32)
    present = [i for i, k in enumerate(keys) if k is not None]
    if present:
        where = "this split" if getattr(batch, "split", None) is None else _name(batch.split)
        out[present] = table.lookup([keys[i] for i in present], where)
    return out


def _name(split: SplitData | None) -> str:
    return "" if split is None else f"{split.path} config '{split.config}' split '{split.split}'"


@lru_cache(maxsize=4)
def tokenizer_for(spec: str) -> Any:
    """The XLM-R tokenizer at ``spec`` (a directory or a cached Hub id) with ``[MISSING]``
    added, as the release's data module adds it."""
    transformers = require_transformers()
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        model_dir(spec, "--recipe-arg text_encoder"), local_files_only=True
    )
    if MISSING_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_tokens([MISSING_TOKEN])
    return tokenizer


def text_encoder_spec(settings: Settings) -> str:
    return str(settings.extra.get("text_encoder") or TEXT_ENCODER)


def special_tokens(settings: Settings) -> dict[str, Any]:
    """What the text encoder needs from the tokenizer: the vocabulary size with ``[MISSING]``,
    the padding id and the tokens of a missing text."""
    tokenizer = tokenizer_for(text_encoder_spec(settings))
    return {
        "vocab": len(tokenizer),
        "pad": int(tokenizer.pad_token_id),
        "missing_ids": list(tokenizer(MISSING_TOKEN)["input_ids"]),
    }


def _longest(tokenizer: Any, texts: list[str]) -> int:
    longest = 0
    for i in range(0, len(texts), TOKEN_CHUNK):
        ids = tokenizer(texts[i : i + TOKEN_CHUNK])["input_ids"]
        longest = max([longest, *map(len, ids)])
    return longest


@lru_cache(maxsize=32)
def _split_longest(spec: str, path: str, config: str, split: str, fingerprint: str) -> int:
    from symile_bench.harness.splitdata import open_split

    data = open_split(Path(path), config, split)
    texts = [t for t in data.column("text").to_pylist() if t is not None]
    return _longest(tokenizer_for(spec), [*texts, MISSING_TOKEN])


def text_features(batch: ModalityBatch, settings: Settings) -> np.ndarray:
    """``[n, L]`` token ids (as float32, exact below 2^24) padded to the split's longest."""
    spec = text_encoder_spec(settings)
    tokenizer = tokenizer_for(spec)
    texts = [MISSING_TOKEN if t is None else t for t in batch.raw()]
    split = getattr(batch, "split", None)
    if split is not None:
        length = _split_longest(spec, str(split.path), split.config, split.split, split.fingerprint)
    else:  # rows that are not a split's (a caller's own batch): their own longest
        length = _longest(tokenizer, texts)
    ids = tokenizer(texts, padding="max_length", max_length=length, return_tensors="np")
    return np.asarray(ids["input_ids"], dtype=np.float32)
