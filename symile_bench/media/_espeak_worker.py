"""Fork-server for libespeak-ng, run as ``python -S -I _espeak_worker.py`` by :mod:`.tts`.

Why: libespeak-ng keeps synthesis state between utterances (pitch-flutter phase, automatic
gain, breath noise), so the samples of a clip would depend on the clips synthesised before it
in the same process; even selecting voices without synthesising drifts the state (measured:
the same request gave a different clip every ~85 requests when the voice was set in this
process). This worker therefore only loads and initialises the library; for each request it
forks a child that selects the voice, synthesises from that pristine state and exits. Every
clip is thus independent of its history and byte-identical to what ``espeak-ng --stdout``
prints for the same options, while skipping the process start-up (exec, dynamic linking,
loading the phoneme data) that one ``espeak-ng`` process per clip pays.

Only the standard library is used, so the worker starts in a few milliseconds.

Protocol (all integers little-endian):
  request:   u32 length, then that many bytes of UTF-8 JSON
             {"voice": "ja+f2", "rate": 170, "pitch": 50, "gap": 1, "text": "42、7"}
  response:  u8 status (0 ok, 1 error), u32 sample rate, u64 length, payload
             (ok: 16-bit mono PCM; error: UTF-8 message).
The first response, sent without a request, is the handshake (status and sample rate).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import struct
import sys
from typing import Any, BinaryIO

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_RATE, ESPEAK_PITCH, ESPEAK_WORDGAP = 1, 3, 7
POS_CHARACTER = 1
# As the espeak-ng command line: UTF-8 text, plus the pause it appends at the end.
CHARS_UTF8, ENDPAUSE = 0x1, 0x1000

_EXIT_NO_VOICE, _EXIT_FAILED = 2, 3

_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def _load_library() -> ctypes.CDLL:
    names = [
        ctypes.util.find_library("espeak-ng"),
        "libespeak-ng.so.1",
        "libespeak-ng.so",
        "libespeak-ng.dylib",
        "libespeak-ng.1.dylib",
    ]
    errors = []
    for name in filter(None, names):
        try:
            return ctypes.CDLL(name)
        except OSError as exc:
            errors.append(str(exc))
    raise OSError("libespeak-ng not found: " + "; ".join(errors))


def _respond(out: BinaryIO, status: int, rate: int, payload: bytes) -> None:
    out.write(struct.pack("<BIQ", status, rate, len(payload)))
    out.write(payload)
    out.flush()


def _read_exact(inp: BinaryIO, n: int) -> bytes | None:
    data: bytes | None = inp.read(n)
    if data is None or len(data) < n:
        return None
    return data


def main() -> int:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    try:
        lib = _load_library()
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
        if rate <= 0:
            raise OSError(f"espeak_Initialize failed ({rate})")
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
    except Exception as exc:  # report any start-up failure to the parent, then stop
        _respond(out, 1, 0, f"{type(exc).__name__}: {exc}".encode())
        return 1

    chunks: list[bytes] = []

    def collect(wav: Any, n: int, _events: Any) -> int:
        if n > 0:
            chunks.append(ctypes.string_at(wav, 2 * n))
        return 0

    callback = _CALLBACK(collect)  # kept referenced for as long as the library may call it
    lib.espeak_SetSynthCallback(callback)
    _respond(out, 0, rate, b"")

    while True:
        head = _read_exact(inp, 4)
        if head is None:
            return 0
        (length,) = struct.unpack("<I", head)
        body = _read_exact(inp, length)
        if body is None:
            return 0
        try:
            req = json.loads(body)
            voice = req["voice"].encode()
            settings = [
                (ESPEAK_RATE, int(req["rate"])),
                (ESPEAK_PITCH, int(req["pitch"])),
                (ESPEAK_WORDGAP, int(req["gap"])),
            ]
            text = req["text"].encode("utf-8") + b"\0"
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            _respond(out, 1, rate, f"bad request: {exc}".encode())
            continue

        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: select the voice and synthesise, from the pristine state
            code = _EXIT_FAILED
            try:
                os.close(r)
                if lib.espeak_SetVoiceByName(voice) != 0:
                    code = _EXIT_NO_VOICE
                else:
                    for param, value in settings:
                        lib.espeak_SetParameter(param, value, 0)
                    libc.srand(1)  # as in a fresh process (breath noise uses rand())
                    chunks.clear()
                    if (
                        lib.espeak_Synth(
                            text, len(text), 0, POS_CHARACTER, 0, CHARS_UTF8 | ENDPAUSE, None, None
                        )
                        == 0
                    ):
                        lib.espeak_Synchronize()
                        view = memoryview(b"".join(chunks))
                        while view:
                            view = view[os.write(w, view) :]
                        code = 0
            finally:
                os._exit(code)
        os.close(w)
        parts = []
        while block := os.read(r, 1 << 20):
            parts.append(block)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        if code == 0:
            _respond(out, 0, rate, b"".join(parts))
        elif code == _EXIT_NO_VOICE:
            _respond(out, 1, rate, f"espeak-ng has no voice {req['voice']!r}".encode())
        else:
            _respond(out, 1, rate, f"synthesis failed (child status {status})".encode())


if __name__ == "__main__":
    sys.exit(main())
