"""Parse an untrusted request body as JSON without letting any value reach a recursive parser,
the database or a page in a form they cannot take.

Python's ``json`` recurses once per nesting level (a body of 100,000 ``[`` exhausts the stack)
and accepts what storage cannot hold: lone UTF-16 surrogates (``"\\ud800"``, not encodable as
UTF-8), NUL characters (PostgreSQL text refuses them), integers of any size and ``1e999`` (read
as infinity). So before parsing, one vectorised pass over the text outside strings measures the
nesting depth and the longest run of digits; after parsing, one walk checks every string, key
and number. Every refusal is a 422 naming the field (dotted path, like the schema's errors) and
the limit, and the limits are documented in ``docs/leaderboard.md``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from symile_bench.leaderboard.errors import SubmissionRejected

MAX_DEPTH = 32  # a results.json nests 5 levels; model.metadata gets the rest
MAX_DIGITS = 40  # per run of digits in a number (int64 has 19, a float64 17 significant)
INT64 = (-(2**63), 2**63 - 1)

# A string as the parser reads it, from its opening quote; an unterminated one runs to the end
# of the text, so a match never fails once started (else every later quote would rescan the
# rest of the text: quadratic on a body of escaped quotes).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_TOKEN = re.compile(_STRING.pattern + r"|[\[\]{},:]", re.DOTALL)
_STEP = np.zeros(128, dtype=np.int8)  # +1 opens, -1 closes; indexed by ASCII code
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def dotted(loc: tuple[Any, ...] | list[Any]) -> str:
    """A field's path as the API's messages write it (``predictions.0.top_k``); each part
    shortened and escaped, since a refused key can itself be the bad string."""
    parts = (str(p) if len(str(p)) <= 60 else str(p)[:57] + "..." for p in loc)
    text = ".".join(parts).encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\u0000") or "(top level)"


def refuse(loc: tuple[Any, ...] | list[Any], problem: str) -> SubmissionRejected:
    return SubmissionRejected(f"invalid field {dotted(loc)}: {problem}", 422)


def _path_at(text: str, end: int) -> list[Any]:
    """The path of the value at character ``end`` (only computed for a refusal's message)."""
    stack: list[list[Any]] = []
    key: Any = None
    for m in _TOKEN.finditer(text, 0, end):
        tok = m.group()
        if tok in "[{":
            stack.append([tok, 0 if tok == "[" else None])
        elif tok in "]}" and stack:
            stack.pop()
        elif tok == "," and stack and stack[-1][0] == "[":
            stack[-1][1] += 1
        elif tok == ":" and stack:
            stack[-1][1] = key
        elif tok.startswith('"'):
            key = tok[1:-1]
    return [slot for _, slot in stack]


def _prescan(text: str) -> None:
    """Depth and number length from the text outside strings, before any recursion."""
    outside = _STRING.sub('""', text)
    codes = np.frombuffer(outside.encode("ascii", "replace"), dtype=np.uint8)
    steps = _STEP[codes]
    at = np.flatnonzero(steps)
    depth = np.cumsum(steps[at], dtype=np.int64)
    if len(depth) and depth.max() > MAX_DEPTH:
        cut = int(at[np.argmax(depth > MAX_DEPTH)])
        loc = _path_at(text, _original_offset(text, outside, cut))[:MAX_DEPTH]
        raise refuse(loc, f"nested deeper than the limit of {MAX_DEPTH} levels")
    digit = ((codes >= ord("0")) & (codes <= ord("9"))).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], digit, [0]))))
    runs = edges[1::2] - edges[::2]
    if len(runs) and runs.max() > MAX_DIGITS:
        start = int(edges[::2][np.argmax(runs > MAX_DIGITS)])
        loc = _path_at(text, _original_offset(text, outside, start))
        raise refuse(loc, f"a number with more than {MAX_DIGITS} digits (the limit)")


def _original_offset(text: str, outside: str, pos: int) -> int:
    """Map a position in the string-stripped text back to ``text``."""
    shift = 0
    for m in _STRING.finditer(text):
        if m.start() - shift >= pos:
            break
        shift += len(m.group()) - 2
    return pos + shift


def _check_str(loc: list[Any], s: str) -> None:
    if "\x00" in s:
        raise refuse(loc, "a NUL character (\\u0000) is not allowed in strings")
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise refuse(
                loc, "a lone UTF-16 surrogate (e.g. \\ud800) is not text; send valid Unicode"
            ) from None


def _check_scalar(loc: list[Any], v: Any) -> None:
    if isinstance(v, str):
        _check_str(loc, v)
    elif isinstance(v, float) and not math.isfinite(v):
        raise refuse(loc, "a number beyond the float64 range (about ±1.8e308, the limit)")
    elif isinstance(v, int) and not isinstance(v, bool) and not INT64[0] <= v <= INT64[1]:
        raise refuse(loc, "an integer beyond the 64-bit range [-2**63, 2**63 - 1] (the limit)")


def _int64_array(v: list[Any]) -> bool:
    """True when numpy holds the (possibly nested) list as int64: every leaf an int in range."""
    try:
        return bool(np.asarray(v).dtype.kind == "i")
    except (ValueError, OverflowError):  # ragged, or an int beyond 64 bits
        return False


def _walk(doc: Any) -> None:
    """Every value and key, iteratively; a (nested) list of ints is checked in one numpy pass."""
    todo: list[tuple[list[Any], Any]] = [([], doc)]
    while todo:
        loc, v = todo.pop()
        if isinstance(v, dict):
            for k, child in v.items():
                _check_str([*loc, k], k)
                todo.append(([*loc, k], child))
        elif isinstance(v, list):
            if _int64_array(v):
                continue
            todo.extend(([*loc, i], child) for i, child in enumerate(v))
        else:
            _check_scalar(loc, v)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(body: bytes) -> Any:
    """The body's JSON value; 400 when it is not JSON, 422 when it breaks a limit above."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SubmissionRejected(f"the body is not valid JSON ({e})", 400) from None
    _prescan(text)
    try:
        doc = json.loads(text, parse_constant=_no_constants)
    except ValueError as e:
        raise SubmissionRejected(f"the body is not valid JSON ({e})", 400) from None
    _walk(doc)
    return doc
