"""Helpers for the evaluate tests: test-only models (imported by the CLI subprocess as
`tests.evaluate_fixtures:NAME`), a MIMIC-shaped dataset directory written in the real on-disk
layout (shards + manifest, the builder's column names), and small file/JSON helpers."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
from PIL import Image

from builders.mimic.build.task import retrieval_task
from symile_bench.manifest import (
    Manifest,
    SplitRecord,
    VariantRecord,
    dataset_fingerprint,
    split_fingerprint,
    write_manifest,
)
from symile_bench.shards import write_shard

ROOT = Path(__file__).resolve().parents[1]
N_LABS, ECG_SHAPE, N_CANDIDATES = 50, (40, 12), 10


def use_test_models(monkeypatch) -> None:
    """Let the CLI subprocess import `tests.evaluate_fixtures` from any working directory."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    )


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def comparable(results: dict[str, Any]) -> dict[str, Any]:
    """What must agree between two ways in: everything but timestamps and run settings."""
    return {k: results[k] for k in ("dataset", "task", "rows", "predictions")}


# -- models ---------------------------------------------------------------------------------
def _id_vectors(ids: np.ndarray, dim: int) -> np.ndarray:
    return np.stack([np.random.default_rng(int(i)).choice([-1.0, 1.0], dim) for i in ids])


class MimicIdOracle:
    """Exact on the MIMIC task through ids only: ECG and CXR of admission h embed to the same
    random ±1 vector r(h), labs to ones, so MIP = r(h)·r(h') is largest (= dim) for the own CXR.
    It also checks what the harness hands it (shapes, decoded images, ids)."""

    scoring = "mip"
    name = "mimic-id-oracle"
    modalities = ("ecg", "labs", "cxr")

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def encode(self, modality, batch, *, missing=None):
        if modality == "ecg":
            assert batch.numpy().shape == (len(batch), *ECG_SHAPE)
        elif modality == "labs":
            assert batch.numpy().shape == (len(batch), 2 * N_LABS)
            return np.ones((len(batch), self.dim), dtype=np.float32)
        elif modality == "cxr":
            assert isinstance(batch[0], Image.Image)
        else:
            raise KeyError(modality)
        return _id_vectors(batch.ids, self.dim).astype(np.float32)


def mimic_id_oracle(dim: int = 64) -> MimicIdOracle:
    return MimicIdOracle(dim)


class NoB:
    """Declares it encodes only a and c (so an XOR evaluation must refuse it up front)."""

    scoring = "mip"
    modalities = ("a", "c")

    def encode(self, modality, batch, *, missing=None):
        return np.ones((len(batch), 4), dtype=np.float32)


class KeyErrorOnB:
    """Declares nothing; raises KeyError for b, like a dict of per-modality encoders would."""

    scoring = "mip"

    def encode(self, modality, batch, *, missing=None):
        return {"a": np.ones((len(batch), 4)), "c": np.ones((len(batch), 4))}[modality]


# -- a MIMIC-shaped dataset directory ---------------------------------------------------------
def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8, 8), color=value % 256).save(buf, format="PNG")
    return buf.getvalue()


def mimic_features() -> datasets.Features:
    return datasets.Features(
        {
            "hadm_id": datasets.Value("int64"),
            "ecg": datasets.Array2D(ECG_SHAPE, "float32"),
            "labs_percentile": datasets.List(datasets.Value("float32"), length=N_LABS),
            "labs_missing": datasets.List(datasets.Value("bool"), length=N_LABS),
            "cxr": datasets.Image(),
            "candidates": datasets.List(datasets.Value("int64"), length=N_CANDIDATES),
        }
    )


def _mimic_rows(rng: np.random.Generator, hadm: np.ndarray, with_candidates: bool) -> dict:
    n = len(hadm)
    candidates = []
    for i in range(n):
        others = rng.choice(np.delete(hadm, i), N_CANDIDATES - 1, replace=False)
        row = np.insert(others, rng.integers(0, N_CANDIDATES), hadm[i])
        candidates.append(row.tolist() if with_candidates else None)
    return {
        "hadm_id": hadm.tolist(),
        "ecg": rng.uniform(-1, 1, (n, *ECG_SHAPE)).astype(np.float32).tolist(),
        "labs_percentile": rng.uniform(0, 1, (n, N_LABS)).astype(np.float32).tolist(),
        "labs_missing": (rng.random((n, N_LABS)) < 0.3).tolist(),
        "cxr": [{"bytes": _png(int(h)), "path": None} for h in hadm],
        "candidates": candidates,
    }


def write_mimic_dir(out: Path, test_n: int = 40, seed: int = 0) -> Path:
    """`out` holds config 'default' with a train split (no candidate sets, as the builder
    writes it) and a test split with 10 stored candidates per admission."""
    rng = np.random.default_rng(seed)
    features = mimic_features()
    feats = features.to_dict()
    schema = features.arrow_schema
    splits = {}
    hadm = {"train": 20_000_000 + 13 * np.arange(30), "test": 29_000_000 + 7 * np.arange(test_n)}
    for split, ids in hadm.items():
        table = pa.Table.from_pydict(_mimic_rows(rng, ids, split == "test"), schema=schema)
        rel = f"data/default/{split}-00000-of-00001.arrow"
        record = write_shard(out, rel, table.to_batches(), schema)
        splits[split] = SplitRecord(
            rows=record.rows,
            shards=[record],
            fingerprint=split_fingerprint("mimic", "fixture", "default", split, feats, [record]),
        )
    variants = {"default": VariantRecord(features=feats, splits=splits)}
    write_manifest(
        out,
        Manifest(
            builder="mimic",
            builder_version="fixture",
            builder_class="tests.fixture:Mimic",
            toolkit_version="0",
            config={},
            seed=seed,
            variants=variants,
            tasks=[retrieval_task(N_CANDIDATES)],
            fingerprint=dataset_fingerprint({}, seed, variants),
        ),
    )
    return out
