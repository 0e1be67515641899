"""Synthetic signals for `fake-mimic`: ECG waveforms, lab values and CXR images shaped by a
per-admission latent, so that models trained on a fake tree can beat chance.

The latent is three 4-bit codes per admission: `ecg`, `labs` and `cxr`.
- `none`: the three codes are independent (nothing to learn across modalities);
- `pairwise`: one shared code (every pair of modalities is informative);
- `higher-order`: ecg and labs codes independent and uniform; the cxr's first two bits are the
  XOR of the ecg's and the labs' first two, its last two are the labs' last two. So the CXR is
  independent of the ECG alone, the labs alone give half of it, and the two jointly determine
  it: the structure of Symile-M3, where the audio alone says nothing about the image, the text
  alone narrows it to w classes and the two jointly name it. A pairwise objective can learn
  the shared half (above chance), a higher-order one the whole;
- `xor`: cxr = ecg XOR labs, independent of each alone: only a higher-order objective can beat
  chance.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from builders.mimic.build.constants import ECG_FS, ECG_LEADS, ECG_SAMPLES

SIGNALS = ("none", "pairwise", "higher-order", "xor")
BITS = 4
GAIN = 200.0  # ADC units per mV, as in MIMIC-IV-ECG headers

# The labs that carry the labs code (common ones, so most admissions have them in window).
SIGNAL_LAB_ITEMS = (51221, 51265, 50912, 50971)
LEAD_GAIN = np.array([1.0, 1.25, 0.35, -0.85, 0.7, 0.45, -0.55, 0.25, 0.8, 1.15, 1.0, 0.85])


def latent_codes(n: int, signal: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """(n, 4) bits per modality."""

    def draw() -> np.ndarray:
        return rng.integers(0, 2, size=(n, BITS), dtype=np.int8)

    if signal == "none":
        return {"ecg": draw(), "labs": draw(), "cxr": draw()}
    if signal == "pairwise":
        shared = draw()
        return {"ecg": shared, "labs": shared.copy(), "cxr": shared.copy()}
    if signal == "higher-order":
        a, b = draw(), draw()
        cxr = b.copy()
        cxr[:, :2] ^= a[:, :2]
        return {"ecg": a, "labs": b, "cxr": cxr}
    if signal == "xor":
        a, b = draw(), draw()
        return {"ecg": a, "labs": b, "cxr": a ^ b}
    raise ValueError(f"--signal must be one of {', '.join(SIGNALS)}, got {signal!r}")


# -- ECG ----------------------------------------------------------------------------------


def _template(inverted_t: bool, tall_qrs: bool, st_elevation: bool) -> np.ndarray:
    t = (np.arange(400) - 150) / ECG_FS

    def wave(mu: float, sd: float, amp: float) -> np.ndarray:
        return amp * np.exp(-0.5 * ((t - mu) / sd) ** 2)

    beat = wave(-0.16, 0.02, 0.12)
    beat += wave(-0.025, 0.008, -0.12) + wave(0.0, 0.01, 2.0 if tall_qrs else 1.0)
    beat += wave(0.03, 0.01, -0.25)
    if st_elevation:
        beat += 0.15 * np.clip((t - 0.05) / 0.02, 0, 1) * np.clip((0.2 - t) / 0.05, 0, 1)
    beat += wave(0.28, 0.05, -0.3 if inverted_t else 0.3)
    return beat


class EcgSynth:
    """(5000, 12) int16 digital samples from a 4-bit code: bit 0 heart rate (60 or 95 bpm),
    bit 1 inverted T wave, bit 2 tall QRS, bit 3 ST elevation; plus noise."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.templates = {
            code: _template(bool(code & 1), bool(code & 2), bool(code & 4)) for code in range(8)
        }
        self.noise = rng.normal(0, 0.03, size=(8, ECG_SAMPLES + 1000, ECG_LEADS))

    def digital(self, bits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        period = 316 if bits[0] else 500
        template = self.templates[int(bits[1]) | int(bits[2]) << 1 | int(bits[3]) << 2]
        base = np.zeros(ECG_SAMPLES + 800)
        for start in range(int(rng.integers(0, period)), ECG_SAMPLES + 400, period):
            base[start : start + 400] += template
        base = base[250 : 250 + ECG_SAMPLES] * rng.uniform(0.8, 1.2)
        offset = int(rng.integers(0, 1000))
        noise = self.noise[int(rng.integers(0, 8)), offset : offset + ECG_SAMPLES]
        mv = base[:, None] * LEAD_GAIN[None, :] + noise
        digital: np.ndarray = np.clip(np.round(mv * GAIN), -32767, 32767).astype("<i2")
        return digital


def wfdb_header(record: str, digital: np.ndarray, when: str, subject_id: int) -> str:
    """A MIMIC-IV-ECG style header: `STUDY 12 500 5000 HH:MM:SS DD/MM/YYYY`, then one
    `STUDY.dat 16 200.0(0)/mV 16 0 INIT CHECKSUM 0 LEAD` line per lead."""
    from builders.mimic.build.constants import ECG_LEAD_NAMES

    day, clock = when.split(" ")
    y, m, d = day.split("-")
    lines = [f"{record} {ECG_LEADS} {ECG_FS} {ECG_SAMPLES} {clock} {d}/{m}/{y}"]
    checksums = digital.astype(np.int64).sum(axis=0) % 65536
    for lead in range(ECG_LEADS):
        lines.append(
            f"{record}.dat 16 {GAIN:.1f}(0)/mV 16 0 {int(digital[0, lead])} "
            f"{int(checksums[lead])} 0 {ECG_LEAD_NAMES[lead]}"
        )
    lines.append(f"# <subject_id>: {subject_id}")
    return "\n".join(lines) + "\n"


# -- labs ---------------------------------------------------------------------------------


def lab_distribution(itemids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fixed (mean, sd) per itemid (a hash of the id; no real reference ranges)."""
    x = (itemids.astype(np.int64) * 2654435761) % 1000
    mean = 5.0 + x * 0.2
    return mean, mean * 0.15


# -- CXR ----------------------------------------------------------------------------------

CXR_SHAPES = ((352, 416), (416, 352), (384, 384))  # (width, height): portrait, landscape, square


class CxrSynth:
    """8-bit grayscale chest-like images: a body, two dark lungs, and one bright round opacity
    per set bit of the 4-bit code (upper/lower x left/right lung)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.base, self.blobs = {}, {}
        for w, h in CXR_SHAPES:
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            cx, cy = w / 2, h / 2
            image = 30 + 20 * yy / h
            body = ((xx - cx) / (0.45 * w)) ** 2 + ((yy - cy) / (0.5 * h)) ** 2 < 1
            image = image + 90 * body
            for side in (-1, 1):
                lung = ((xx - cx - side * 0.2 * w) / (0.15 * w)) ** 2 + (
                    (yy - cy + 0.02 * h) / (0.32 * h)
                ) ** 2 < 1
                image = image - 55 * lung
            self.base[(w, h)] = image
            blobs = []
            for bit in range(BITS):
                side = -1 if bit % 2 == 0 else 1
                level = -0.15 if bit < 2 else 0.15
                blob = ((xx - cx - side * 0.2 * w) ** 2 + (yy - cy - level * h) ** 2) < (
                    0.07 * min(w, h)
                ) ** 2
                blobs.append(70 * blob.astype(np.float32))
            self.blobs[(w, h)] = blobs
        self.noise = rng.normal(0, 8, size=(4, 480, 480)).astype(np.float32)

    def jpeg(self, bits: np.ndarray, rng: np.random.Generator) -> bytes:
        shape = CXR_SHAPES[int(rng.integers(0, len(CXR_SHAPES)))]
        w, h = shape
        image = self.base[shape] * rng.uniform(0.9, 1.1)
        for bit in range(BITS):
            if bits[bit]:
                image = image + self.blobs[shape][bit]
        oy, ox = int(rng.integers(0, 480 - h + 1)), int(rng.integers(0, 480 - w + 1))
        image = image + self.noise[int(rng.integers(0, 4)), oy : oy + h, ox : ox + w]
        out = io.BytesIO()
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "L").save(
            out, format="JPEG", quality=90
        )
        return out.getvalue()
