"""Write-then-rename outside a dataset directory: single files (results files, exported
pages; `storage.Store` does the work) and whole directories (exports in a release's layout):
a reader never sees a half-written file or tree.

No fsync: a dataset file damaged by a power loss is caught on resume, which re-hashes every
committed file against its recorded sha256 before keeping it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from symile_bench.errors import ConfigError
from symile_bench.storage import Store


def write_text_atomic(path: Path, text: str) -> None:
    Store(path.parent).write_text(path.name, text)


@contextmanager
def atomic_directory(dest: Path) -> Iterator[Path]:
    """A temporary sibling of ``dest`` to fill, renamed to ``dest`` when the block succeeds and
    removed when it fails (Ctrl-C included): ``dest`` never holds half an export. ``dest`` may
    exist only as an empty directory."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(f"--out {dest} exists and is not an empty directory")
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        yield temp
        if dest.exists():
            dest.rmdir()
        temp.rename(dest)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
