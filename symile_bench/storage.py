"""Where a dataset directory lives: a local path, or any fsspec URL (s3://, gs://, file://,
memory://, ...), so Ray tasks on many machines can write one dataset to shared storage.

Every write goes through `atomic_writer`: locally a temp file renamed into place; elsewhere a
temp object moved into place once complete (object stores only show an object when its upload
completes). Progress is one small record per committed file, never an append, because object
stores cannot append.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from symile_bench.errors import DatasetDirError, DiskFullError

TMP_PREFIX = ".tmp-"
_CHUNK = 1 << 20


class HashingWriter:
    """A binary file wrapper that hashes what passes through, so no re-read is needed."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self.closed = False
        self.written = 0

    def write(self, data: bytes | memoryview) -> int:
        self._digest.update(data)
        self.written += len(data)
        return self._handle.write(data)

    def flush(self) -> None:
        self._handle.flush()

    def close(self) -> None:  # pyarrow closes its sink; the real file is closed by the owner
        self.closed = True

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def _is_disk_full(exc: BaseException) -> bool:
    """ENOSPC anywhere in the chain (pyarrow re-raises a sink's OSError as its own)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and (
            seen.errno == errno.ENOSPC or "No space left on device" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _disk_full_message(directory: str, rel: str, written: int) -> str:
    try:
        free = f"{shutil.disk_usage(directory).free:,} bytes free"
    except OSError:
        free = "free space unknown"
    return (
        f"no space left on the device of {directory} while writing {rel} (it needed more than "
        f"the {written:,} bytes written; {free}); free some space and rerun the same command: "
        "complete files are kept"
    )


def as_store(location: Store | str | Path) -> Store:
    return location if isinstance(location, Store) else Store(location)


class Store:
    """One dataset directory. Cheap to create; workers rebuild it from `str(store)`."""

    def __init__(self, location: str | Path) -> None:
        self.location = str(location)
        if "://" in self.location:
            import fsspec

            self.fs, self.root = fsspec.core.url_to_fs(self.location)
            self.local: Path | None = None
        else:
            self.fs, self.root = None, self.location
            self.local = Path(self.location)

    def __str__(self) -> str:
        return self.location

    def path(self, rel: str = "") -> str:
        """Where `rel` is, as the user would write it (for messages)."""
        return self.location.rstrip("/") + ("/" + rel if rel else "")

    def _p(self, rel: str) -> str:
        return str(self.local / rel) if self.local is not None else f"{self.root}/{rel}"

    # -- queries -------------------------------------------------------------------------------
    def exists(self, rel: str = "") -> bool:
        target = self._p(rel) if rel else (str(self.local) if self.local else self.root)
        return os.path.exists(target) if self.local is not None else self.fs.exists(target)

    def is_file(self, rel: str) -> bool:
        if self.local is not None:
            return (self.local / rel).is_file()
        return self.fs.isfile(self._p(rel))

    def is_dir(self) -> bool:
        return self.local.is_dir() if self.local is not None else self.fs.isdir(self.root)

    def is_empty(self) -> bool:
        if self.local is not None:
            return not any(self.local.iterdir())
        return not self.fs.ls(self.root, detail=False)

    def list(self, rel: str) -> list[str]:
        """Names in a sub-directory (empty when it does not exist)."""
        if self.local is not None:
            folder = self.local / rel
            return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        remote = self._p(rel)
        if not self.fs.isdir(remote):
            return []
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(remote, detail=False))

    def _open(self, rel: str) -> BinaryIO:
        """A binary reader for `rel`, local or through fsspec."""
        path = self._p(rel)
        return open(path, "rb") if self.local is not None else self.fs.open(path, "rb")

    def read_bytes(self, rel: str) -> bytes:
        with self._open(rel) as handle:
            return handle.read()

    def size(self, rel: str) -> int:
        if self.local is not None:
            return (self.local / rel).stat().st_size
        return int(self.fs.size(self._p(rel)))

    def read_text(self, rel: str) -> str:
        return self.read_bytes(rel).decode("utf-8")

    def sha256(self, rel: str) -> str:
        digest = hashlib.sha256()
        with self._open(rel) as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def read_table(self, rel: str) -> pa.Table:
        """An Arrow stream file: memory-mapped locally (zero copy), read whole elsewhere."""
        try:
            if self.local is not None:
                source = pa.memory_map(str(self.local / rel))
            else:
                source = pa.BufferReader(self.read_bytes(rel))
            return pa.ipc.open_stream(source).read_all()
        except (OSError, pa.ArrowInvalid) as exc:
            raise DatasetDirError(
                f"{self.path(rel)} is not a readable Arrow file ({exc}); rebuild it"
            ) from exc

    # -- writes --------------------------------------------------------------------------------
    def mkdir(self) -> None:
        if self.local is not None:
            self.local.mkdir(parents=True, exist_ok=True)  # parallel `--shards` jobs may race
        else:
            self.fs.makedirs(self.root, exist_ok=True)

    @contextmanager
    def atomic_writer(self, rel: str) -> Iterator[HashingWriter]:
        """Write `rel` under a temp name and move it into place only if the block succeeds."""
        final = self._p(rel)
        head, _, name = final.rpartition("/")
        # head is "" for a file in the current directory (Store(".")): the temp goes beside it
        tmp = f"{TMP_PREFIX}{name}.{os.getpid()}"
        tmp = f"{head}/{tmp}" if head else tmp
        if self.local is not None:
            Path(head or ".").mkdir(parents=True, exist_ok=True)
            writer = None
            try:
                with open(tmp, "wb", buffering=1 << 20) as handle:
                    writer = HashingWriter(handle)
                    yield writer
                os.replace(tmp, final)
            except OSError as exc:
                if not _is_disk_full(exc):
                    raise
                written = 0 if writer is None else writer.written
                raise DiskFullError(_disk_full_message(head or ".", rel, written)) from None
            finally:
                Path(tmp).unlink(missing_ok=True)
            return
        self.fs.makedirs(head, exist_ok=True)
        try:
            with self.fs.open(tmp, "wb") as handle:
                yield HashingWriter(handle)
            self.fs.mv(tmp, final)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    def write_text(self, rel: str, text: str) -> None:
        with self.atomic_writer(rel) as handle:
            handle.write(text.encode("utf-8"))

    def remove(self, rel: str) -> None:
        """A file or a whole sub-directory; nothing if it is not there."""
        target = self._p(rel)
        if self.local is not None:
            path = Path(target)
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        elif self.fs.exists(target):
            self.fs.rm(target, recursive=True)

    def remove_temps(self) -> None:
        """Delete temp files left by killed writers (they are never complete)."""
        if self.local is not None:
            if self.local.is_dir():
                for stale in self.local.rglob(f"{TMP_PREFIX}*"):
                    stale.unlink(missing_ok=True)
            return
        for stale in self.fs.glob(f"{self.root}/**/{TMP_PREFIX}*"):
            self.fs.rm(stale)
