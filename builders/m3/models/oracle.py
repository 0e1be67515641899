"""The Symile-M3 oracle: exact from metadata (a perfect language identifier for audio, a
perfect image classifier for images, and the lexicon for text), a known answer that checks the
harness end to end (``--model m3-oracle``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.examples import all_missing, missing_as_ones


class M3Oracle:
    """Coordinates are (language, class) pairs. Audio in language L: ones on L's block. Text:
    a one at (language, class) for each word (the lexicon has no word in two languages). Image
    of class C: ones on C's column. MIP = [the text's word in language L names C], so the
    query's class ranks first."""

    scoring = "mip"
    name = "m3-oracle"
    modalities = ("audio", "image", "text")

    def __init__(self, lexicon: str | None = None) -> None:
        from pathlib import Path

        from symile_bench.lexicon import load_lexicon

        lex = load_lexicon(Path(lexicon) if lexicon else None)
        self.languages = tuple(lex.words)
        self.class_index = {int(c): k for k, c in enumerate(lex.cls_id)}
        self.word_index = {
            word: (li, k)
            for li, lang in enumerate(self.languages)
            for k, word in enumerate(lex.words[lang])
            if word
        }
        self.dim = len(self.languages) * len(self.class_index)
        self.metadata = {"lexicon": lexicon or "default", "dim": self.dim}

    def _meta(self, batch: Any, column: str) -> Sequence[Any]:
        meta = getattr(batch, "meta", None)
        if meta is None or column not in meta:
            raise HarnessInputError(f"m3-oracle needs batch.meta[{column!r}] (a ModalityBatch)")
        return meta[column]

    def encode(self, modality: str, batch: Sequence[Any], *, missing=None) -> np.ndarray:
        k = len(self.class_index)
        out = np.zeros((len(batch), len(self.languages), k), dtype=np.float32)
        if all_missing(missing):
            return np.ones((len(batch), self.dim), dtype=np.float32)
        if modality == "audio":
            for i, lang in enumerate(self._meta(batch, "lang")):
                if lang is not None:
                    out[i, self.languages.index(lang), :] = 1.0
        elif modality == "image":
            for i, cls_id in enumerate(self._meta(batch, "cls_id")):
                if cls_id is not None:
                    out[i, :, self.class_index[int(cls_id)]] = 1.0
        elif modality == "text":
            for i, text in enumerate(batch):
                for word in (text or "").split("_"):
                    if word not in self.word_index:
                        raise HarnessInputError(
                            f"m3-oracle: word {word!r} is not in the lexicon; pass "
                            "--model-arg lexicon=PATH (the build's --translations file)"
                        )
                    out[i, self.word_index[word][0], self.word_index[word][1]] = 1.0
        else:
            raise KeyError(modality)
        return missing_as_ones(out.reshape(len(batch), -1), missing)


def m3_oracle(lexicon: str | None = None) -> M3Oracle:
    return M3Oracle(lexicon)
