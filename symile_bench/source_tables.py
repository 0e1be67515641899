"""Read the tables of a source someone downloaded (a release's CSVs), with one-line errors.

Every problem a user can fix (a missing file or column, a date in an unexpected format, a quote
that never closes, a path that leaves the release) raises `SourceError` naming the file (and
column, value or line) and the fix. Empty values are not errors: the rows are skipped and
counted by the caller. Every CSV is read through `_Counted` (one reading path), and every file
named inside a table is opened through `resolve_under` (one path rule), so neither check can be
forgotten at a call site. Used by the MIMIC cohort and the Symile-M3 release CSV importer.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from symile_bench.errors import SourceError

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
TIME_FORMAT_TEXT = "YYYY-MM-DD HH:MM:SS"


def _open_text(path: Path, errors: str = "strict") -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors=errors, newline="")
    return open(path, encoding="utf-8", errors=errors, newline="")


def header_columns(path: Path) -> list[str]:
    """The column names in the first line of a CSV (decompressing only that much)."""
    try:
        with _open_text(path) as handle:
            return next(csv.reader(handle), [])
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read ({exc}); re-download the file") from None


def require_columns(path: Path, needed: Sequence[str]) -> list[str]:
    """Check the header names every column we read; return the header."""
    header = header_columns(path)
    absent = [c for c in needed if c not in header]
    if absent:
        raise SourceError(
            f"{path}: column {', '.join(repr(c) for c in absent)} missing (found "
            f"{', '.join(header[:12]) or 'no header'}); is this the release's file, "
            "as downloaded?"
        )
    return header


_CONVERSION = re.compile(r"column #(\d+).*conversion error to ([^:]+): invalid value '(.*)'", re.S)


def _explain(path: Path, header: list[str], exc: Exception) -> SourceError:
    match = _CONVERSION.search(str(exc))
    if match:
        index, kind, value = int(match.group(1)), match.group(2), match.group(3)
        column = header[index] if index < len(header) else f"#{index}"
        expected = TIME_FORMAT_TEXT if kind.startswith("timestamp") else kind
        return SourceError(
            f"{path}: column '{column}' has value '{value[:40]}', expected {expected}; fix or "
            "re-download the file (it must be the release's file, not a re-saved copy)"
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SourceError(f"{path}: cannot parse ({first}); re-download the file")


def _options(
    types: dict[str, pa.DataType], block_size: int | None = None
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    read = pacsv.ReadOptions(block_size=block_size) if block_size else pacsv.ReadOptions()
    # MIMIC free-text columns (labevents.comments) may hold quoted line breaks.
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        include_columns=list(types),
        column_types=types,
        timestamp_parsers=list(TIME_FORMATS),
        strings_can_be_null=True,
    )
    return read, parse, convert


class _Counted:
    """The CSV's bytes as pyarrow reads them (decompressed natively), counting double quotes
    on the way. With quoted line breaks allowed, a quote that never closes makes pyarrow fold
    the rest of the file into one value without an error; in valid CSV quotes come in pairs,
    so an odd count at the end is the one cheap sign of it (no second pass over the file)."""

    def __init__(self, path: Path) -> None:
        self._stream = pa.input_stream(str(path))
        self.quotes = 0
        self.closed = False

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._stream.read(None if size is None or size < 0 else size)
        self.quotes += data.count(b'"')
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stream.close()
        self.closed = True


def _first_bad_line(path: Path, width: int) -> tuple[int, str] | None:
    """(line, problem) of the first record that is not valid CSV (strict quoting, `width`
    fields), or None. Python's csv module, so slow: run only once a file is known broken.
    Undecodable bytes are replaced: only the structure matters here."""
    with _open_text(path, errors="replace") as handle:
        reader = csv.reader(handle, strict=True)
        line = 1  # the line the next record starts on
        try:
            for fields in reader:
                if fields and len(fields) != width:
                    return line, f"{len(fields)} fields where the header has {width}"
                line = reader.line_num + 1
        except csv.Error as exc:
            return line, f"a quoted field opened here does not close properly ({exc})"
    return None


def _line_error(path: Path, header: list[str]) -> SourceError | None:
    """The error naming the first broken line of a file whose quotes do not pair up (or that
    pyarrow could not parse); None when a strict reading finds nothing wrong."""
    found = _first_bad_line(path, len(header))
    if found is None:
        return None
    line, problem = found
    return SourceError(
        f"{path}: line {line}: {problem}, so the rows after it would be lost or misread; fix "
        "that line or re-download the file"
    )


def read_table(path: Path, types: dict[str, pa.DataType]) -> pa.Table:
    """Read the named columns with their types; a malformed value or line raises
    SourceError."""
    header = require_columns(path, list(types))
    read, parse, convert = _options(types)
    source = _Counted(path)
    try:
        table = pacsv.read_csv(
            source, read_options=read, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        raise _parse_error(path, header, exc) from None
    finally:
        source.close()
    _check_quotes(source, path, header)
    return table


def stream_table(
    path: Path, types: dict[str, pa.DataType], block_size: int = 16 << 20
) -> Iterator[pa.RecordBatch]:
    """Stream the named columns in record batches of about `block_size` bytes of CSV. A
    broken quote is only known at the end: the last step raises, after every batch."""
    header = require_columns(path, list(types))
    read, parse, convert = _options(types, block_size)
    source = _Counted(path)
    reader = None
    try:
        reader = pacsv.open_csv(
            source, read_options=read, parse_options=parse, convert_options=convert
        )
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            yield batch
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        raise _parse_error(path, header, exc) from None
    finally:
        # stop the reader's read-ahead thread before the error travels on: one still running
        # when the process exits aborts it ("terminate called without an active exception")
        if reader is not None:
            reader.close()
        source.close()
    _check_quotes(source, path, header)


def _check_quotes(source: _Counted, path: Path, header: list[str]) -> None:
    """After a complete read: an odd quote count means a quote may never close; the strict
    reading decides (a literal quote inside an unquoted field is valid and kept)."""
    if source.quotes % 2:
        error = _line_error(path, header)
        if error is not None:
            raise error


def _parse_error(path: Path, header: list[str], exc: Exception) -> SourceError:
    """A CSV parse error (a row with the wrong number of fields) names its line."""
    if isinstance(exc, pa.ArrowInvalid) and str(exc).startswith("CSV parse error"):
        return _line_error(path, header) or _explain(path, header, exc)
    return _explain(path, header, exc)


# Absolute (POSIX or Windows), a `..` part, or a NUL byte: never in a release's paths.
_UNSAFE_PATH = r"^[/\\]|^[A-Za-z]:|(^|[/\\])\.\.([/\\]|$)|\x00"


def resolve_under(root: Path, relative: Sequence[str] | np.ndarray, origin: str) -> list[Path]:
    """`root / path` for each path read from a table (`origin` names it): the only way a
    builder step turns a table's path into a file to open. A path that is absolute or has a
    `..` part could name any file on the machine, so it is refused, never opened (symlinks
    inside the root are followed: users keep `files/` on another disk)."""
    values = pa.array(relative, pa.string())
    unsafe = pc.match_substring_regex(values, _UNSAFE_PATH)
    if pc.any(unsafe).as_py():
        value = pc.filter(values, unsafe)[0].as_py()
        raise SourceError(
            f"{origin}: path {value!r} is absolute or leaves {root} (a '..' part); the "
            "release's paths are relative to its root and nothing outside it is read: restore "
            "the file as downloaded"
        )
    return [root / path for path in values.to_pylist()]
