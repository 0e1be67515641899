"""Mozilla Common Voice clips (user-supplied), read in the layout of a release download.

A release (``cv-corpus-<version>-<date>/``) holds one folder per locale::

    <root>/<locale>/clips/common_voice_<locale>_<id>.mp3
    <root>/<locale>/validated.tsv        (also train.tsv, dev.tsv, test.tsv, other.tsv, ...)
    <root>/<locale>/clip_durations.tsv   (releases since 2023: columns ``clip``, ``duration[ms]``)

The TSVs are tab-separated with a header; their columns vary by release (``client_id``,
``path``, ``sentence_id``, ``sentence``, ``sentence_domain``, ``up_votes``, ``down_votes``,
``age``, ``gender``, ``accents`` (``accent`` in older releases), ``variant``, ``locale``,
``segment``), so only ``path`` (the mp3 file name inside ``clips/``) is required. Sentences
contain bare quotes, so the files are read with quoting off.

Our language codes map to Common Voice locales by :data:`COMMON_VOICE_LOCALES` (only Chinese
differs: ``zh`` -> ``zh-CN``, mainland Mandarin; the release of Symile-M3 used the same).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from symile_bench.errors import ConfigError, SourceError
from symile_bench.lexicon.languages import LANGUAGES, normalize_code

__all__ = ["COMMON_VOICE_LOCALES", "CommonVoiceSource"]

COMMON_VOICE_LOCALES: dict[str, str] = {code: code for code in LANGUAGES} | {"zh": "zh-CN"}
"""Our language code -> Common Voice locale folder name."""

CLIP_TABLES = ("validated.tsv", "train.tsv")
"""Clip lists tried in order: every validated clip, else the train split."""
DURATIONS_TABLE = "clip_durations.tsv"


def _read_tsv(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        header = pd.read_csv(path, sep="\t", nrows=0, quoting=csv.QUOTE_NONE).columns
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SourceError(f"cannot read Common Voice table {path}: {exc}") from exc
    missing = [c for c in columns if c not in header]
    if missing:
        raise SourceError(
            f"Common Voice table {path} has no column {missing[0]!r} (columns: "
            f"{', '.join(map(str, header))}); use the TSV files of an official release"
        )
    return pd.read_csv(
        path,
        sep="\t",
        usecols=columns,
        dtype=str,
        quoting=csv.QUOTE_NONE,
        keep_default_na=False,
        engine="c",
    )


class CommonVoiceSource:
    """Clips per language from an extracted Common Voice release folder."""

    def __init__(self, root: Path | str):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise SourceError(
                f"Common Voice folder {self.root} does not exist; pass the extracted "
                "cv-corpus-<version> folder that holds one folder per locale (--common-voice)"
            )
        self._clips: dict[str, list[Path]] = {}

    def __repr__(self) -> str:
        return f"CommonVoiceSource({str(self.root)!r})"

    @staticmethod
    def locale(lang: str) -> str:
        """The Common Voice locale of one of our language codes."""
        code = normalize_code(lang)
        if code not in COMMON_VOICE_LOCALES:
            raise ConfigError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
        return COMMON_VOICE_LOCALES[code]

    def locale_dir(self, lang: str) -> Path:
        return self.root / self.locale(lang)

    def clips(self, lang: str) -> list[Path]:
        """Usable clips of ``lang``, sorted by file name.

        Drops rows whose file is missing or empty and, when ``clip_durations.tsv`` is present,
        clips listed with a zero duration (the release of Symile-M3 removed those too).
        """
        code = normalize_code(lang)
        if code not in self._clips:
            self._clips[code] = self._scan(lang)
        return list(self._clips[code])

    def _scan(self, lang: str) -> list[Path]:
        locale = self.locale(lang)
        folder = self.root / locale
        fix = (
            f"extract cv-corpus-*-{locale}.tar.gz so that {self.root} holds {locale}/clips/ "
            f"and {locale}/validated.tsv"
        )
        if not folder.is_dir():
            raise SourceError(f"Common Voice locale folder {folder} is missing; {fix}")
        table = next((folder / t for t in CLIP_TABLES if (folder / t).is_file()), None)
        if table is None:
            raise SourceError(
                f"Common Voice locale folder {folder} has no {' or '.join(CLIP_TABLES)}; {fix}"
            )
        clip_dir = folder / "clips"
        if not clip_dir.is_dir():
            raise SourceError(f"Common Voice clip folder {clip_dir} is missing; {fix}")

        names = pd.Series(_read_tsv(table, ["path"])["path"].str.strip().unique())
        names = names[names != ""]
        listed = len(names)
        durations_file = folder / DURATIONS_TABLE
        if durations_file.is_file():
            durations = _read_tsv(durations_file, ["clip", "duration[ms]"])
            ms = pd.to_numeric(durations["duration[ms]"], errors="coerce")
            silent = set(durations["clip"][~(ms > 0)])
            names = names[~names.isin(silent)]
        sizes = {e.name: e.stat().st_size for e in os.scandir(clip_dir) if e.is_file()}
        present = names[names.map(lambda n: sizes.get(n, 0) > 0)]
        if present.empty:
            raise SourceError(
                f"Common Voice locale {locale!r} has 0 usable validated clips: {table.name} "
                f"lists {listed}, {listed - len(names)} of them with zero duration, and none of "
                f"the others is a non-empty file in {clip_dir}; {fix}"
            )
        return [clip_dir / n for n in sorted(present)]
