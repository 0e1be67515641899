"""A model scored on Symile-M3 gets its audio as numpy samples decoded with soundfile, in a
process where torchcodec (which `datasets`' own Audio decoder needs) cannot be imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import symile_bench

from .conftest import run_cli

# `--model probe_model:make` finds this file in the working directory of `evaluate`.
PROBE_MODEL = """
import io, json
import numpy as np
import soundfile as sf

class Probe:
    scoring = "mip"

    def __init__(self, out):
        self.out, self.seen = out, []

    def encode(self, modality, batch, *, missing=None):
        if modality == "audio":
            for item, cell in zip(batch, batch.raw()):
                if item is None:
                    continue
                stored, rate = sf.read(io.BytesIO(cell["bytes"]), dtype="float32")
                self.seen.append({
                    "keys": sorted(item),
                    "type": type(item["array"]).__name__,
                    "dtype": str(item["array"].dtype),
                    "shape": list(item["array"].shape),
                    "rate": item["sampling_rate"],
                    "path": item["path"],
                    "same_as_soundfile": bool(np.array_equal(item["array"], stored))
                    and item["sampling_rate"] == rate,
                })
            try:
                import torchcodec  # noqa: F401
                blocked = False
            except ImportError:
                blocked = True
            with open(self.out, "w") as handle:
                json.dump({"torchcodec_blocked": blocked, "clips": self.seen}, handle)
        return np.ones((len(batch), 4), np.float32)

def make(out):
    return Probe(out)
"""

# The interpreter refuses torchcodec before anything else is imported, then runs the CLI.
NO_TORCHCODEC = (
    "import sys; sys.modules['torchcodec'] = None; "
    "from symile_bench.cli import main; sys.argv = ['symile-bench', *sys.argv[1:]]; main()"
)


def test_model_gets_numpy_audio_without_torchcodec(tmp_path: Path) -> None:
    data = tmp_path / "m3"
    run_cli(
        "build", "m3", "--languages", "2", "--train-n", "0", "--val-n", "0", "--test-n", "12",
        "--audio-pool", "3", "--image-pool", "1", "--image-size", "16", "-q", "--out", data,
    )  # fmt: skip
    (tmp_path / "probe_model.py").write_text(PROBE_MODEL)
    seen = tmp_path / "seen.json"
    evaluate = ["evaluate", str(data), "--model", "probe_model:make", "--model-arg", f"out={seen}"]
    proc = subprocess.run(
        [sys.executable, "-c", NO_TORCHCODEC, *evaluate, "--bootstrap", "10", "-q",
         "--out", str(tmp_path / "r.json")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(seen.read_text())
    assert report["torchcodec_blocked"]
    clips = report["clips"]
    distinct = set(symile_bench.load(data, split="test")["audio_id"])
    assert len(clips) == len({c["path"] for c in clips}) == len(distinct)  # each clip once
    for clip in clips:
        assert clip["keys"] == ["array", "path", "sampling_rate"]
        assert clip["type"] == "ndarray" and clip["dtype"] == "float32"
        assert len(clip["shape"]) == 1 and clip["shape"][0] > clip["rate"] // 2  # mono, > 0.5 s
        assert clip["rate"] == 22050 and clip["path"].endswith(".mp3")
        assert clip["same_as_soundfile"]
