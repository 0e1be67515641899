"""Client of one ``_espeak_worker.py`` process (see there for why it forks per clip).

Kept apart from :mod:`symile_bench.media.espeak` because it is the one piece that speaks the
worker's pipe protocol; the backend only asks it for a clip and falls back to the command line
when it raises ``OSError``.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import IO

__all__ = ["EspeakWorker"]

_HEADER = struct.Struct("<BIQ")  # status, sample rate, payload length


class EspeakWorker:
    """One fork-server process; ``synthesize`` sends a request and reads 16-bit mono PCM."""

    def __init__(self) -> None:
        script = Path(__file__).with_name("_espeak_worker.py")
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-I", str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        if self.proc.stdin is None or self.proc.stdout is None:  # pragma: no cover - PIPE given
            raise OSError("espeak-ng worker has no pipes")
        self._stdin: IO[bytes] = self.proc.stdin
        self._stdout: IO[bytes] = self.proc.stdout
        self._finalizer = weakref.finalize(self, EspeakWorker._stop, self.proc)
        status, rate, payload = self._read()
        if status != 0:
            self.close()
            raise OSError(payload.decode(errors="replace"))
        self.sample_rate = rate

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes]) -> None:
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout:
                proc.stdout.close()

    def close(self) -> None:
        self._finalizer()

    def _read(self) -> tuple[int, int, bytes]:
        head = self._stdout.read(_HEADER.size)
        if len(head) < _HEADER.size:
            raise OSError("espeak-ng worker exited")
        status, rate, length = _HEADER.unpack(head)
        payload = self._stdout.read(length)
        if len(payload) < length:
            raise OSError("espeak-ng worker exited mid-clip")
        return status, rate, payload

    def synthesize(self, request: Mapping[str, object]) -> bytes:
        """16-bit mono PCM for one request (``voice``, ``rate``, ``pitch``, ``gap``, ``text``);
        a failed synthesis raises ``RuntimeError``, a dead worker ``OSError``."""
        body = json.dumps(dict(request)).encode()
        self._stdin.write(struct.pack("<I", len(body)) + body)
        self._stdin.flush()
        status, _, payload = self._read()
        if status != 0:
            raise RuntimeError(payload.decode(errors="replace"))
        return payload
