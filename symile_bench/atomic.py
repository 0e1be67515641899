"""Write-then-rename helpers: a reader never sees a half-written file (`storage.Store`
does the work for local paths and fsspec URLs alike)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

TMP_PREFIX = ".tmp-"


class HashingWriter:
    """A binary file wrapper that hashes what passes through, so no re-read is needed."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        self._digest.update(data)
        return self._handle.write(data)

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:  # pyarrow closes its sink; the real file is closed by the owner
        self.closed = True

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


@contextmanager
def atomic_writer(path: Path) -> Iterator[HashingWriter]:
    """Open a temp file beside `path`; rename it into place only if the block succeeds.

    No fsync: a file damaged by a power loss is caught on resume, which re-hashes every
    committed file against its recorded sha256 before keeping it.
    """
    from symile_bench.storage import Store

    with Store(path.parent).atomic_writer(path.name) as handle:
        yield handle


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text.encode("utf-8"))
