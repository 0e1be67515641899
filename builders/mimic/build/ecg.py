"""MIMIC-IV-ECG WFDB records: a direct reader for their format-16 layout, checked against
`wfdb.rdrecord` (tests), with `wfdb` as the fallback for any header it does not cover.

A record is `files/pNNNN/pSUBJECT/sSTUDY/STUDY.hea` (text header) + `STUDY.dat` (12 leads of
5000 little-endian int16 samples, interleaved). Physical values are
`(digital - baseline) / gain` in float64, NaN where digital is -32768 (format 16's invalid
sample), exactly as `wfdb.rdrecord(...).p_signal` computes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builders.mimic.build.constants import ECG_FS, ECG_LEADS, ECG_SAMPLES
from symile_bench.errors import MissingDependencyError

INVALID_16 = -32768

# Outcomes of checking one record; only "ok" may be chosen.
OK = "ok"
NAN = "nan"  # contains NaN (the release drops these)
ALL_ZERO = "all_zero"  # every sample is 0 (the release drops these)
CONSTANT = "constant"  # min == max != 0: the release's [-1, 1] scaling divides by 0
MISSING = "missing_file"  # .hea or .dat absent
UNREADABLE = "unreadable_file"  # .hea or .dat cannot be read: a directory, a symlink loop, ...
CORRUPT = "corrupt_header"  # header unreadable
BAD_SHAPE = "bad_shape"  # not 12 leads x 5000 samples at 500 Hz
TRUNCATED = "truncated"  # .dat shorter than the header says
ERRORS = (NAN, ALL_ZERO, CONSTANT, MISSING, UNREADABLE, CORRUPT, BAD_SHAPE, TRUNCATED)


class EcgError(Exception):
    """A record that cannot be used; `reason` is one of the codes above."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason

    @classmethod
    def opening(cls, path: Path, exc: OSError) -> EcgError:
        """Why `path` could not be opened: absent (a dangling link too) is MISSING; present
        but not a readable file (a directory, a symlink loop, no permission) is UNREADABLE.
        Either way one record, skipped and counted: the build goes on."""
        if isinstance(exc, FileNotFoundError):
            return cls(MISSING, str(path))
        return cls(UNREADABLE, f"{path}: {exc.strerror or type(exc).__name__}")


@dataclass(frozen=True)
class Header:
    dat_name: str
    n_sig: int
    fs: float
    sig_len: int
    gain: np.ndarray  # (n_sig,) float64
    baseline: np.ndarray  # (n_sig,) int64


class _NotFastPath(Exception):
    """Valid WFDB the direct reader does not handle; `wfdb` reads it instead."""


def parse_header(text: str) -> Header:
    """Parse the header lines the direct reader supports (one format-16 .dat, no offsets)."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise EcgError(CORRUPT, "empty header")
    record = lines[0].split()
    try:
        n_sig = int(record[1])
        fs = float(record[2].split("/")[0].split("(")[0]) if len(record) > 2 else 250.0
        sig_len = int(record[3]) if len(record) > 3 else -1
    except (IndexError, ValueError):
        raise EcgError(CORRUPT, f"record line {lines[0][:60]!r}") from None
    if "/" in record[0]:
        raise _NotFastPath("multi-segment record")
    if len(lines) - 1 < n_sig:
        raise EcgError(CORRUPT, f"{n_sig} signals declared, {len(lines) - 1} signal lines")
    dat_names, gains, baselines = set(), [], []
    for line in lines[1 : 1 + n_sig]:
        fields = line.split()
        if len(fields) < 3:
            raise EcgError(CORRUPT, f"signal line {line[:60]!r}")
        if "/" in fields[0] or "\\" in fields[0] or fields[0] in (".", ".."):
            # a file elsewhere (and never read by wfdb either: outside the root, perhaps)
            raise EcgError(CORRUPT, f"signal file {fields[0][:60]!r} not in the record's folder")
        if fields[1] != "16":
            raise _NotFastPath(f"format {fields[1]}")
        dat_names.add(fields[0])
        spec = fields[2]
        try:
            gain_text = spec.split("/")[0]
            if "(" in gain_text:
                gain_part, _, rest = gain_text.partition("(")
                baseline = int(rest.rstrip(")"))
            else:
                gain_part = gain_text
                baseline = int(fields[4]) if len(fields) > 4 else 0  # WFDB: adc_zero
            gain = float(gain_part)
        except (ValueError, IndexError):
            raise EcgError(CORRUPT, f"signal line {line[:60]!r}") from None
        if gain == 0:
            raise _NotFastPath("zero gain (WFDB default gain applies)")
        gains.append(gain)
        baselines.append(baseline)
    if len(dat_names) != 1:
        raise _NotFastPath("signals in several files")
    return Header(
        dat_names.pop(),
        n_sig,
        fs,
        sig_len,
        np.asarray(gains, dtype=np.float64),
        np.asarray(baselines, dtype=np.int64),
    )


_SAMPLE_BYTES = ECG_SAMPLES * ECG_LEADS * 2
_buffers = threading.local()


def _read_fast(record: Path, reuse: bool = False) -> tuple[np.ndarray, Header]:
    """Digital samples (5000, 12) int16 and the header, or raise EcgError / _NotFastPath.
    With `reuse`, the samples live in a per-thread buffer (valid until this thread's next
    call): reading into it is several times faster than allocating a fresh one per record."""
    hea = record.with_name(record.name + ".hea")
    try:
        text = hea.read_text("latin-1")
    except OSError as exc:
        raise EcgError.opening(hea, exc) from None
    header = parse_header(text)
    if (header.n_sig, header.sig_len, header.fs) != (ECG_LEADS, ECG_SAMPLES, float(ECG_FS)):
        raise EcgError(BAD_SHAPE, f"{header.n_sig} signals x {header.sig_len} at {header.fs} Hz")
    dat = record.with_name(header.dat_name)
    buffer = getattr(_buffers, "data", None) if reuse else None
    if buffer is None:
        buffer = bytearray(_SAMPLE_BYTES)
        if reuse:
            _buffers.data = buffer
    try:
        with open(dat, "rb", buffering=0) as handle:
            size = handle.readinto(buffer)
    except OSError as exc:
        raise EcgError.opening(dat, exc) from None
    if size < _SAMPLE_BYTES:
        raise EcgError(TRUNCATED, f"{dat}: {size // 2} of {_SAMPLE_BYTES // 2} samples")
    digital = np.frombuffer(buffer, dtype="<i2", count=ECG_SAMPLES * ECG_LEADS)
    return digital.reshape(ECG_SAMPLES, ECG_LEADS), header


def physical(digital: np.ndarray, header: Header) -> np.ndarray:
    """`wfdb.rdrecord(...).p_signal` from digital samples: float64, NaN for invalid samples."""
    signal = digital.astype(np.float64)
    np.subtract(signal, header.baseline, signal)
    np.divide(signal, header.gain, signal)
    signal[digital == INVALID_16] = np.nan
    return signal


def _read_wfdb(record: Path) -> np.ndarray:
    try:
        import wfdb
    except ImportError:
        raise MissingDependencyError(
            f"{record}.hea needs the wfdb package (pip install 'symile-bench[mimic]')"
        ) from None
    if not record.with_name(record.name + ".hea").is_file():
        raise EcgError(MISSING, f"{record}.hea")
    try:
        rec = wfdb.rdrecord(str(record))
    except OSError as exc:
        raise EcgError.opening(record, exc) from None
    except Exception as exc:  # wfdb raises many types for a damaged record
        raise EcgError(CORRUPT, f"{type(exc).__name__}: {exc}") from None
    signal = rec.p_signal
    if signal is None or signal.shape != (ECG_SAMPLES, ECG_LEADS) or rec.fs != ECG_FS:
        shape = None if signal is None else signal.shape
        raise EcgError(BAD_SHAPE, f"{shape} at {rec.fs} Hz")
    return np.asarray(signal, dtype=np.float64)


def read_physical(record: Path) -> np.ndarray:
    """The record's physical signal, (5000, 12) float64 (NaN where invalid)."""
    try:
        digital, header = _read_fast(record)
    except _NotFastPath:
        return _read_wfdb(record)
    return physical(digital, header)


def check(record: Path) -> str:
    """OK or the reason the record can never be chosen (see the codes above)."""
    try:
        try:
            digital, header = _read_fast(record, reuse=True)
        except _NotFastPath:
            return classify(_read_wfdb(record))
    except EcgError as exc:
        return exc.reason
    # Decide on the int16 samples: much cheaper than converting to float64 first.
    if digital.min() == INVALID_16:  # -32768 is the smallest int16: any invalid sample is it
        return NAN
    if (digital[1] == digital[0]).all() and (digital == digital[0]).all():
        # every lead is constant: look at the 12 physical values
        values = (digital[0].astype(np.float64) - header.baseline) / header.gain
        if (values == 0).all():
            return ALL_ZERO
        if (values == values[0]).all():
            return CONSTANT
    return OK


def classify(signal: np.ndarray) -> str:
    if np.isnan(signal).any():
        return NAN
    if (signal == 0).all():
        return ALL_ZERO
    if signal.max() == signal.min():
        return CONSTANT
    return OK


def scale(signal: np.ndarray) -> np.ndarray:
    """The release's scaling: `2 (x - min) / (max - min) - 1` over the whole record, in
    float64, then float32 (shape (5000, 12))."""
    lo, hi = signal.min(), signal.max()
    scaled: np.ndarray = (2 * (signal - lo) / (hi - lo) - 1).astype(np.float32)
    return scaled


def check_many(
    records: Sequence[Path], threads: int = 8, progress: Callable[[int], None] | None = None
) -> list[str]:
    """`check` every record, in threads (file reads and numpy release the GIL), in order."""
    if not records:
        return []
    chunk = max(1, min(256, len(records) // (threads * 4) or 1))
    chunks = [records[i : i + chunk] for i in range(0, len(records), chunk)]

    def run(part: Sequence[Path]) -> list[str]:
        out = [check(r) for r in part]
        if progress:
            progress(len(part))
        return out

    if threads <= 1 or len(chunks) == 1:
        return [s for part in chunks for s in run(part)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [s for part in pool.map(run, chunks) for s in part]
