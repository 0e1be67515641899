"""Where lexicons come from: the embedded table, the release's translations.json, Babel-ImageNet.

Formats (confirmed against the public sources, see docs in each reader):

* lexicon TSV (our own, also the embedded default): tab-separated, ``#`` comment lines, optional
  ``# source: ...`` / ``# license: ...`` metadata lines, then a header with ``cls_id``,
  ``synset_id``, optional ``emoji``, one column per language code, optional ``ja_kana`` and
  ``zh_pinyin`` (speech forms), optional ``english`` (defaults to the ``en`` column).
* ``translations.json`` (Symile-M3 release): ``{english name: {"synset_id", "cls_id", "ar", ...,
  "zh-CN"}}``.
* Babel-ImageNet: ``{LANG: [[ImageNet indices], [labels]]}`` with upper-case language keys.

Every reader removes surrounding whitespace from words and returns rows sorted by ``cls_id``.
"""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from symile_bench.errors import SourceError

from .core import Lexicon
from .imagenet import NUM_CLASSES, imagenet1k_classes
from .languages import LANGUAGES

EMBEDDED_FILE = "default_lexicon.tsv"
EMBEDDED_LICENSE = "MIT (symile-bench embedded lexicon, written for this project)"
TRANSLATIONS_LICENSE = (
    "CC BY-NC-SA 4.0 (Symile-M3 release translations.json, non-commercial; "
    "check the terms of your copy)"
)
BABEL_LICENSE = (
    "BabelNet Non-Commercial License (Babel-ImageNet labels, processed from BabelNet 5.2; "
    "non-commercial use only; https://babelnet.org/full-license)"
)
SPEECH_COLUMNS = {"ja_kana": "ja", "zh_pinyin": "zh"}
# translations.json spells Chinese as the release's Google Translate / Common Voice code.
_TRANSLATIONS_KEYS = {lang: (("zh-CN", "zh") if lang == "zh" else (lang,)) for lang in LANGUAGES}


def _first(value: Any) -> str:
    """First candidate of a word entry: sources may hold one string or a list of alternatives."""
    while isinstance(value, (list, tuple)):
        if not value:
            return ""
        value = value[0]
    if isinstance(value, dict):  # a BabelNet sense record
        value = value.get("lemma", "")
    if value is None:
        return ""
    return str(value).strip()


# ----------------------------------------------------------------------------- lexicon TSV


@lru_cache(maxsize=1)
def load_default() -> Lexicon:
    """The embedded lexicon: ImageNet-1k classes that have an emoji, in all ten languages.

    Shipped as package data so the default build needs no download; every class has an emoji
    (for the emoji image source), kana/pinyin speech forms and passes :meth:`Lexicon.check`.
    """
    text = resources.files(__package__).joinpath(EMBEDDED_FILE).read_text("utf-8")
    return _parse_tsv(
        text, origin=EMBEDDED_FILE, default_source="embedded", default_license=EMBEDDED_LICENSE
    )


def read_lexicon_tsv(path: Path) -> Lexicon:
    """Read a lexicon in the embedded table's TSV format (e.g. an edited copy of it)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(
            f"lexicon file {path}: cannot read it as UTF-8 text ({exc}); fix the file"
        ) from exc
    return _parse_tsv(
        text,
        origin=str(path),
        default_source=f"tsv:{path.name}",
        default_license="unknown (user-supplied; add a '# license: ...' line)",
    )


def _parse_tsv(text: str, *, origin: str, default_source: str, default_license: str) -> Lexicon:
    meta: dict[str, str] = {}
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep and key.strip().lower() in ("source", "license"):
                meta[key.strip().lower()] = value.strip()
            continue
        if line.strip():
            body.append(line)
    if not body:
        raise SourceError(
            f"lexicon file {origin}: no header row; the first non-comment line must name columns"
        )
    reader = csv.reader(io.StringIO("\n".join(body)), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip() for h in next(reader)]
    for required in ("cls_id", "synset_id"):
        if required not in header:
            raise SourceError(
                f"lexicon file {origin}: column {required!r} is missing from the header; add it"
            )
    langs = [h for h in header if h in LANGUAGES]
    if not langs:
        raise SourceError(
            f"lexicon file {origin}: no language columns; add columns named {', '.join(LANGUAGES)}"
        )
    if "english" not in header and "en" not in header:
        raise SourceError(
            f"lexicon file {origin}: needs an 'en' or 'english' column for class names"
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for n, cells in enumerate(reader, start=2):
        if len(cells) != len(header):
            raise SourceError(
                f"lexicon file {origin}: data row {n} has {len(cells)} cells, the header "
                f"{len(header)}; use exactly one tab between cells"
            )
        row = dict(zip(header, (c.strip() for c in cells), strict=True))
        try:
            rows.append((int(row["cls_id"]), row))
        except ValueError:
            raise SourceError(
                f"lexicon file {origin}: data row {n}: cls_id {row['cls_id']!r} is not an integer"
            ) from None
    rows.sort(key=lambda r: r[0])
    _refuse_repeated_ids([cls for cls, _ in rows], origin)
    return Lexicon(
        cls_id=np.array([cls for cls, _ in rows], dtype=np.int64),
        synset_id=tuple(r["synset_id"] for _, r in rows),
        english=tuple(r.get("english") or r.get("en", "") for _, r in rows),
        words={lang: tuple(r[lang] for _, r in rows) for lang in langs},
        speech={
            lang: tuple(r[col] for _, r in rows)
            for col, lang in SPEECH_COLUMNS.items()
            if col in header
        },
        emoji=tuple(r["emoji"] for _, r in rows) if "emoji" in header else None,
        source=meta.get("source", default_source),
        license=meta.get("license", default_license),
        origin=origin,
    )


def _refuse_repeated_ids(ids: list[int], origin: str) -> None:
    seen: set[int] = set()
    for c in ids:
        if c in seen:
            raise SourceError(
                f"lexicon file {origin}: cls_id {c} appears twice; each class must appear once"
            )
        seen.add(c)


# ----------------------------------------------------------------------------- JSON sources


def _load_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"lexicon file {path}: not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}); fix the file or pass a lexicon TSV"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"lexicon file {path}: cannot read it as UTF-8 text ({exc})") from exc


def read_translations_json(path: Path) -> Lexicon:
    """Read the Symile-M3 release's ``translations.json``.

    Format (the release's ``source_data.py`` and data README, rajesh-lab/symile): a JSON object
    mapping an English class name (the synset's first WordNet lemma; "crane bird" /
    "crane machine" and "swimsuit" where that repeats) to ``{"synset_id": "n01440764",
    "cls_id": 0, "ar": ..., "el": ..., "en": ..., "hi": ..., "ja": ..., "ko": ..., "te": ...,
    "th": ..., "uk": ..., "zh-CN": ...}``. ``zh-CN`` becomes ``zh``; other keys (e.g. extra
    languages) are ignored. Classes are identified by ``cls_id``; where it is absent it is
    looked up from ``synset_id``. A word given as a list keeps its first item.
    """
    path = Path(path)
    return _from_translations(_load_json(path), path)


def _looks_like_translations(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(v, dict) and "synset_id" in v for v in obj.values())
    )


def _from_translations(obj: Any, path: Path) -> Lexicon:
    if not _looks_like_translations(obj):
        raise SourceError(
            f"lexicon file {path}: not in translations.json format (an object mapping class "
            f"names to {{'synset_id': ..., 'cls_id': ..., 'en': ..., ...}})"
        )
    table = imagenet1k_classes()
    rows = []
    for name, entry in obj.items():
        synset = str(entry["synset_id"]).strip()
        cls = entry.get("cls_id")
        if cls is None:
            cls = table.index.get(synset)
            if cls is None:
                raise SourceError(
                    f"lexicon file {path}: entry {name!r} has no cls_id and synset_id {synset!r} "
                    f"is not an ImageNet-1k class; add its cls_id (0-999)"
                )
        if isinstance(cls, bool) or not isinstance(cls, int) or not 0 <= cls < NUM_CLASSES:
            raise SourceError(
                f"lexicon file {path}: entry {name!r} has cls_id {cls!r}; it must be an "
                f"integer 0-999 (the ImageNet-1k index)"
            )
        words = {}
        for lang, keys in _TRANSLATIONS_KEYS.items():
            words[lang] = next((_first(entry[k]) for k in keys if k in entry), "")
        rows.append((cls, synset, str(name).strip(), words))
    rows.sort(key=lambda r: r[0])
    _refuse_repeated_ids([r[0] for r in rows], str(path))
    return Lexicon(
        cls_id=np.array([r[0] for r in rows], dtype=np.int64),
        synset_id=tuple(r[1] for r in rows),
        english=tuple(r[2] for r in rows),
        words={lang: tuple(r[3][lang] for r in rows) for lang in LANGUAGES},
        speech={},
        emoji=None,
        source="translations.json",
        license=TRANSLATIONS_LICENSE,
        origin=str(path),
    )


def read_babel_imagenet(path: Path) -> Lexicon:
    """Read Babel-ImageNet labels for our ten languages.

    Format (gregor-ge/Babel-ImageNet, ``data/babel_imagenet-298.json`` and the script that writes
    it): ``{"FR": [[0, 1, 2, ...], ["tanche", "poisson rouge", ...]], ...}``, upper-case language
    codes (``ZH`` for Chinese), ImageNet-1k indices and one label per listed class; classes a
    language lacks are simply not listed (they become missing entries here). The raw BabelNet
    crawl (``{LANG: [[sense, ...] x 1000]}``, senses as strings or ``{"lemma": ...}``) is read too;
    where a class has several labels the first is kept, deterministically. ``_`` inside a label
    becomes a space (``_`` joins the words of Symile-M3 text). The labels' English is usually
    absent (Babel-ImageNet evaluates English with OpenAI's class names); then ``en`` is the
    release's English name of each class. No speech forms, no emoji. Non-commercial licence.
    """
    path = Path(path)
    return _from_babel(_load_json(path), path)


def _babel_columns(value: Any) -> dict[int, str] | None:
    """One language's entry -> {cls_id: label}; None if it is not in a Babel-ImageNet shape."""
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], list)
        and isinstance(value[1], list)
        and len(value[0]) == len(value[1])
        and all(isinstance(i, int) and not isinstance(i, bool) for i in value[0])
    ):
        return {int(i): _first(label) for i, label in zip(value[0], value[1], strict=True)}
    if (
        isinstance(value, list)
        and len(value) == NUM_CLASSES
        and all(isinstance(c, list) for c in value)
    ):
        return {i: _first(senses) for i, senses in enumerate(value) if _first(senses)}
    return None


def _looks_like_babel(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) and k == k.upper() for k in obj)
        and all(_babel_columns(v) is not None for v in obj.values())
    )


def _from_babel(obj: Any, path: Path) -> Lexicon:
    if not _looks_like_babel(obj):
        raise SourceError(
            f"lexicon file {path}: not in Babel-ImageNet format (an object mapping upper-case "
            f"language codes to [[ImageNet indices], [labels]])"
        )
    table = imagenet1k_classes()
    columns: dict[str, dict[int, str]] = {}
    for lang in LANGUAGES:
        key = next((k for k in obj if k.lower() == lang), None)
        if key is None:
            continue
        col = _babel_columns(obj[key]) or {}
        for i in col:
            if not 0 <= i < NUM_CLASSES:
                raise SourceError(
                    f"lexicon file {path}: language {key} lists class index {i}; "
                    f"Babel-ImageNet indices must be ImageNet-1k indices 0-999"
                )
        columns[lang] = {i: w.replace("_", " ") for i, w in col.items() if w}
    if not any(lang != "en" for lang in columns):
        raise SourceError(
            f"lexicon file {path}: none of the languages "
            f"{', '.join(lang.upper() for lang in LANGUAGES if lang != 'en')} is in it; "
            f"use a Babel-ImageNet file that includes them"
        )
    ids = sorted({i for lang, col in columns.items() if lang != "en" for i in col})
    if "en" not in columns:
        columns["en"] = {i: table.release_names[i] for i in ids}
    return Lexicon(
        cls_id=np.array(ids, dtype=np.int64),
        synset_id=tuple(table.synset_ids[i] for i in ids),
        english=tuple(table.release_names[i] for i in ids),
        words={
            lang: tuple(columns[lang].get(i, "") for i in ids)
            for lang in LANGUAGES
            if lang in columns
        },
        speech={},
        emoji=None,
        source="babel-imagenet",
        license=BABEL_LICENSE,
        origin=str(path),
    )


def load_lexicon(path: Path | None) -> Lexicon:
    """Load a lexicon: ``None`` -> the embedded default; a file -> its format, sniffed.

    ``.tsv`` files are read as lexicon TSVs; JSON is recognised by shape as the release's
    translations.json or as Babel-ImageNet. Anything else is a :class:`SourceError` naming the file.
    """
    if path is None:
        return load_default()
    path = Path(path)
    if not path.is_file():
        raise SourceError(
            f"lexicon file {path} does not exist; pass a translations.json, a Babel-ImageNet "
            f"JSON or a lexicon TSV, or leave it out to use the embedded default"
        )
    if path.suffix.lower() in (".tsv", ".tab"):
        return read_lexicon_tsv(path)
    obj = _load_json(path)
    if _looks_like_translations(obj):
        return _from_translations(obj, path)
    if _looks_like_babel(obj):
        return _from_babel(obj, path)
    raise SourceError(
        f"lexicon file {path}: neither the Symile-M3 translations.json format ({{class name: "
        f"{{'synset_id', 'cls_id', 'en', ...}}}}) nor Babel-ImageNet's "
        f"({{'EL': [[indices], [labels]], ...}}); "
        f"convert it to one of them or to a lexicon TSV"
    )
