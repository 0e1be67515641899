"""`symile-bench embed`: frozen Whisper / CLIP vectors per distinct medium, checked against a
direct `transformers` computation with the Symile-M3 release's pooling, resumable, and
refusing an encoder that does not fit before encoding anything.

The encoders are tiny random-weight models of the release's classes (tests/paper_models.py),
saved to disk as a user's download would be; nothing is downloaded."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from PIL import Image

from symile_bench.manifest import read_manifest

from .conftest import run_cli
from .paper_models import make_clip, make_whisper, make_xlmr, transformers

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "whisper": make_whisper(root / "whisper"),
        "clip": make_clip(root / "clip"),
        "whisper128": make_whisper(root / "whisper128", mel_bins=128),
        "xlmr": make_xlmr(root / "xlmr", ["dog_σκύλος"]),
    }


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    """One small M3 per storage: 4 clips a language and 1 image a class shared by the rows."""
    root = tmp_path_factory.mktemp("embed-data")
    out = {}
    for storage in ("inline", "pooled"):
        out[storage] = root / storage
        run_cli(
            *("build", "m3", "--languages", "2", "--train-n", "40", "--val-n", "20"),
            *("--test-n", "40", "--audio-pool", "4", "--image-pool", "1", "--image-size", "32"),
            *("--storage", storage, "--executor", "serial", "-q", "--out", out[storage]),
        )
    return out


def read_vectors(path: Path) -> tuple[str, list, np.ndarray]:
    table = pq.read_table(path)
    key = next(c for c in table.column_names if c != "embedding")
    return key, table.column(key).to_pylist(), np.stack(table.column("embedding").to_pylist())


def media_by_id(dataset: Path, column: str, key: str) -> dict:
    """Every distinct medium's stored bytes by id, over all splits, as the split's rows read
    them (a pooled split's from its pool)."""
    from symile_bench.harness.splitdata import open_split

    found = {}
    for split in ("train", "validation", "test"):
        data = open_split(dataset, None, split)
        table = data.take([key, column], data.row_index)
        keys, cells = table.column(key).to_pylist(), table.column(column).to_pylist()
        for k, cell in zip(keys, cells, strict=True):
            if cell is not None:
                found[k] = cell["bytes"]
    return found


def whisper_direct(folder: Path, clip: bytes) -> np.ndarray:
    """The release's audio vector, by hand: resample to 16 kHz, WhisperFeatureExtractor with
    do_normalize (padded to 30 s), the encoder's last_hidden_state averaged over all frames."""
    from symile_bench.baselines.resample import resample

    wave, rate = sf.read(io.BytesIO(clip), dtype="float32")
    wave = wave.mean(axis=1) if wave.ndim == 2 else wave
    extractor = transformers.WhisperFeatureExtractor.from_pretrained(folder)
    inputs = extractor(
        resample(wave, rate, 16000),
        sampling_rate=16000,
        return_tensors="pt",
        return_attention_mask=True,
        do_normalize=True,
    )
    assert inputs["input_features"].shape[-1] == 3000  # 30 s: 1,500 encoder frames
    encoder = transformers.WhisperModel.from_pretrained(folder).encoder.eval()
    with torch.no_grad():
        hidden = encoder(inputs["input_features"]).last_hidden_state
    assert hidden.shape[1] == 1500
    return hidden.mean(dim=1)[0].numpy()


def clip_direct(folder: Path, image: bytes) -> np.ndarray:
    """The release's image vector, by hand: CLIPVisionModel's pooler_output."""
    processor = transformers.CLIPImageProcessorPil.from_pretrained(folder)
    model = transformers.CLIPVisionModel.from_pretrained(folder).eval()
    pixels = processor(images=Image.open(io.BytesIO(image)), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        return model(pixel_values=pixels).pooler_output[0].numpy()


@pytest.mark.parametrize("storage", ["inline", "pooled"])
def test_embed_matches_transformers_with_the_release_pooling(builds, models, storage, tmp_path):
    """Proves `embed` writes one vector per distinct clip and image (by audio_id / image_id,
    on both storages), each equal to the direct transformers computation with the release's
    pooling (Whisper: mean over all 1,500 frames; CLIP: pooler_output), and that the file is
    an embeddings file `evaluate --embeddings` aligns to a split's rows."""
    dataset, out = builds[storage], tmp_path / "feats"
    for modality, model in (("audio", models["whisper"]), ("image", models["clip"])):
        proc = run_cli("embed", dataset, "--modality", modality, "--encoder", model, "--out", out)
        assert "vectors of" in proc.stdout
        key, keys, values = read_vectors(out / f"{modality}.parquet")
        assert key == f"{modality}_id" and len(set(keys)) == len(keys)
        stored = media_by_id(dataset, modality, key)
        if storage == "inline":  # the distinct ids the rows show
            assert set(keys) == set(stored)
        else:  # every item of the pool, used by a row or not
            pool = read_manifest(dataset).pools[f"{modality}-pool"]
            assert set(stored) <= set(keys) and len(keys) == pool.rows
        direct = whisper_direct if modality == "audio" else clip_direct
        used = [(k, v) for k, v in zip(keys, values, strict=True) if k in stored]
        for k, vector in used[:6]:
            np.testing.assert_allclose(vector, direct(model, stored[k]), rtol=1e-4, atol=1e-5)
        info = json.loads((out / f"{modality}.json").read_text())
        assert info["count"] == len(keys) and info["dim"] == values.shape[1]
        assert info["encoder"]["pooling"].startswith(("WhisperEncoder", "CLIPVisionModel"))

    from symile_bench.harness.embeddings import read_file
    from symile_bench.harness.encoders import FileEncoder
    from symile_bench.harness.splitdata import open_split
    from symile_bench.harness.tasks import declared_task

    split = open_split(dataset, None, "test")
    spec = next(m for m in declared_task(split.manifest).modalities if m.name == "image")
    rows = FileEncoder(out).rows(
        spec, split, split.row_index, split.row_index, hidden=False, advance=lambda n: None
    )
    table = read_file(out / "image.parquet")
    ids = split.numpy("image_id")
    assert rows.shape == (len(split), table.values.shape[1])
    first = list(table.keys).index(ids[0])
    np.testing.assert_array_equal(rows[0], table.values[first])
    again = run_cli(
        "embed", dataset, "--modality", "image", "--encoder", models["clip"], "--out", out
    )
    assert "already complete" in again.stdout


def test_a_killed_embed_continues_where_it_stopped(builds, models, tmp_path, monkeypatch):
    """Proves resumability: a run interrupted after its first part leaves that part and
    run.json; the rerun encodes only the remaining media and writes the same vectors as an
    uninterrupted run; the parts are gone afterwards."""
    from symile_bench.baselines import embed as embed_module
    from symile_bench.baselines.frozen import FrozenEncoder

    dataset = builds["inline"]
    original = FrozenEncoder.encode
    calls: list[int] = []

    def dies_after_one(self, items):
        if calls:
            raise KeyboardInterrupt
        calls.append(len(items))
        return original(self, items)

    monkeypatch.setattr(FrozenEncoder, "encode", dies_after_one)
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        embed_module.embed(dataset, "image", models["clip"], out, batch_size=4, part_items=4)
    parts = out / ".image.parts"
    assert (parts / "run.json").is_file() and (parts / "part-000000.npy").is_file()
    assert not (out / "image.parquet").exists()

    counted: list[int] = []

    def counts(self, items):
        counted.append(len(items))
        return original(self, items)

    monkeypatch.setattr(FrozenEncoder, "encode", counts)
    result = embed_module.embed(dataset, "image", models["clip"], out, batch_size=4)
    assert result.encoded == result.count - 4 and sum(counted) == result.count - 4
    assert not parts.exists()
    fresh = embed_module.embed(dataset, "image", models["clip"], tmp_path / "fresh", batch_size=4)
    a, b = read_vectors(result.path), read_vectors(fresh.path)
    assert a[1] == b[1]
    np.testing.assert_allclose(a[2], b[2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("modality", "model", "says"),
    [
        ("audio", "clip", "is a clip (CLIPConfig) model; --modality audio needs a Whisper"),
        ("image", "xlmr", "is a xlm-roberta (XLMRobertaConfig) model; --modality image needs"),
        ("image", "whisper", "--modality image needs a CLIP model"),
        ("text", "xlmr", "modality 'text' is text, not one stored audio or image column"),
    ],
)
def test_embed_refuses_an_encoder_of_another_modality_in_one_line(
    builds, models, tmp_path, modality, model, says
):
    """Proves a model of the wrong kind (CLIP for audio, a text model, Whisper for images) or a
    modality without a frozen encoder is one error line, before any medium is encoded."""
    out = tmp_path / "feats"
    proc = run_cli(
        "embed", builds["inline"], "--modality", modality, "--encoder", models[model],
        "--out", out, check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and says in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_embed_refuses_what_does_not_fit_before_encoding(builds, models, tmp_path):
    """Proves the fit checks: a config.json without a known model class, a feature extractor
    whose mel bins are not the encoder's, another hidden size than the vectors already in
    --out (resuming into them), and a model that is not on this machine (the message says how
    to download it) are each one line, and nothing is encoded."""
    dataset = builds["inline"]

    def fails(model: Path | str, out: Path, says: str) -> None:
        proc = run_cli(
            "embed", dataset, "--modality", "audio", "--encoder", model, "--out", out,
            check=False,
        )  # fmt: skip
        assert proc.returncode != 0 and says in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1

    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"architectures": ["Nothing"]}))
    fails(odd, tmp_path / "o1", "is not a transformers model config")
    assert not (tmp_path / "o1").exists()

    mismatched = tmp_path / "mismatched"
    make_whisper(mismatched)
    transformers.WhisperFeatureExtractor(feature_size=128).save_pretrained(mismatched)
    fails(mismatched, tmp_path / "o2", "gives 128 mel bins but the encoder expects 80")

    out = tmp_path / "o3"
    run_cli("embed", dataset, "--modality", "audio", "--encoder", models["whisper"], "--out", out)
    wider = tmp_path / "wider"
    config = json.loads((models["whisper"] / "config.json").read_text())
    make_whisper(wider)
    config.update(d_model=32)
    (wider / "config.json").write_text(json.dumps(config))
    fails(wider, out, "has hidden size 32, but the audio vectors already written have 24")

    fails("nobody/no-such-model", tmp_path / "o4", "hf download nobody/no-such-model")
    fails(tmp_path / "absent", tmp_path / "o5", "not a model directory here")


def test_resample_is_band_limited_sinc_interpolation():
    """Proves the 16 kHz resampler (torchaudio's default method): output length
    ceil(n · new / old), a 440 Hz tone keeps its shape away from the edges, and a tone above
    the new Nyquist frequency is filtered out."""
    from symile_bench.baselines.resample import resample

    old, new, n = 22050, 16000, 22050
    t = np.arange(n) / old
    out = resample(np.sin(2 * np.pi * 440 * t).astype(np.float32), old, new)
    assert len(out) == math.ceil(n * new / old)
    expected = np.sin(2 * np.pi * 440 * np.arange(len(out)) / new)
    assert np.abs(out[200:-200] - expected[200:-200]).max() < 2e-3
    high = resample(np.sin(2 * np.pi * 10_000 * t).astype(np.float32), old, new)
    assert np.abs(high[200:-200]).max() < 0.02
    same = np.ones(5, np.float32)
    assert resample(same, new, new) is not None and (resample(same, new, new) == same).all()
