"""What Symile-M3's clips say: a few random numbers, independent of the image class.

Numbers are the one content every espeak-ng voice reads natively in its own language (checked
phoneme by phoneme, see :mod:`symile_bench.media.espeak`), and a clip that says nothing about
the class keeps the audio useful only for telling the language.
"""

from __future__ import annotations

import numpy as np

from symile_bench.media.speech import speech_language

__all__ = ["number_utterance"]

# Clause separator per language: the script's own comma, which espeak-ng treats as a pause.
_SEPARATORS = {"ar": "، ", "ja": "、", "zh": "，"}
# espeak-ng 1.51 reads Arabic numbers >= 10 unreliably: the phonemes of ~2,500 of 0-9999 change
# from run to run (e.g. 2917 ends in "A-aSaR", "A-aSCaR" or "A-qaSqaR") and valgrind reports reads
# of uninitialised stack memory in the number code (likely the buffer overflow fixed upstream in
# espeak-ng PR #2092). Single digits are clean, so Arabic numbers are written digit by digit
# ("2 9 1 7"). The other nine voices read 0-99 and 1,400 random numbers up to 9999 identically
# in repeated runs, and valgrind is clean for their utterances.
_DIGIT_BY_DIGIT = frozenset({"ar"})


def number_utterance(rng: np.random.Generator, lang: str) -> str:
    """A short utterance of 2-4 random numbers of 1-4 digits each, e.g. ``"42, 7, 1795"``.

    Written with ASCII digits (every voice reads them natively, ja and zh included) and the
    language's own comma, so each number is its own clause; Arabic numbers are read digit by
    digit (``"4 2، 7"``) to avoid an espeak-ng bug. Every language makes the same draws, so
    the generator advances identically whatever the language.
    """
    code = speech_language(lang)
    count = int(rng.integers(2, 5))
    digits = rng.integers(1, 5, size=count)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    numbers = [str(int(n)) for n in rng.integers(low, 10**digits)]
    if code in _DIGIT_BY_DIGIT:
        numbers = [" ".join(n) for n in numbers]
    return _SEPARATORS.get(code, ", ").join(numbers)
