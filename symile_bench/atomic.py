"""Write-then-rename for single files outside a dataset directory (results files, exported
pages): a reader never sees a half-written file. `storage.Store` does the work.

No fsync: a dataset file damaged by a power loss is caught on resume, which re-hashes every
committed file against its recorded sha256 before keeping it.
"""

from __future__ import annotations

from pathlib import Path

from symile_bench.storage import Store


def write_text_atomic(path: Path, text: str) -> None:
    Store(path.parent).write_text(path.name, text)
