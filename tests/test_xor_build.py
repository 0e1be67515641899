"""The foundation end to end on the XOR benchmark: build, load, determinism, resume, verify."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml

import symile_bench
from symile_bench.manifest import read_manifest

from .conftest import run_cli


def shard_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.arrow"))}


def card_configs(out: Path) -> list[dict]:
    text = (out / "README.md").read_text()
    return yaml.safe_load(text.split("---")[1])["configs"]


@pytest.fixture(scope="module")
def default_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("xor") / "default"
    run_cli("build", "xor", "--out", out, "--quiet")
    return out


def test_default_build_loads_offline_with_declared_features(default_build, monkeypatch):
    """load_dataset(OUT, 'p0.5', split='test') gives 5000 rows with the declared features,
    and every config that the card lists loads."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    test = datasets.load_dataset(str(default_build), "p0.5", split="test")
    assert test.num_rows == 5000
    vector = datasets.List(datasets.Value("int8"), length=5)
    assert test.features == datasets.Features(
        {"a": vector, "b": vector, "c": vector, "i": datasets.Value("int8")}
    )
    configs = card_configs(default_build)
    assert [c["config_name"] for c in configs] == [f"p{k / 10}" for k in range(11)]
    for config in configs:
        loaded = datasets.load_dataset(str(default_build), config["config_name"])
        assert {k: v.num_rows for k, v in loaded.items()} == {
            "train": 10_000,
            "validation": 1_000,
            "test": 5_000,
        }
    assert not (default_build / "state.json").exists()


def test_symile_bench_load_matches_load_dataset(default_build):
    """The zero-copy loader returns the same rows as datasets.load_dataset."""
    ours = symile_bench.load(default_build, config="p0.3", split="validation")
    theirs = datasets.load_dataset(str(default_build), "p0.3", split="validation")
    assert ours.features == theirs.features
    assert ours.to_dict() == theirs.to_dict()


def test_same_seed_is_byte_identical_for_any_worker_count(tmp_path):
    """Same command twice, and --workers 1 vs 2, give identical fingerprints and bytes."""
    args = ["build", "xor", "--p", "0.2,0.9", "--train-n", "25000", "--shard-rows", "4000", "-q"]
    outs = []
    for name, workers in (("w1", "1"), ("w2", "2"), ("w2again", "2")):
        run_cli(*args, "--workers", workers, "--out", tmp_path / name)
        outs.append(tmp_path / name)
    prints = {read_manifest(o).fingerprint for o in outs}
    assert len(prints) == 1
    assert len(shard_bytes(outs[0])) > 6  # several shards per split, really spread over workers
    assert shard_bytes(outs[0]) == shard_bytes(outs[1]) == shard_bytes(outs[2])
    run_cli(*args, "--seed", "1", "--out", tmp_path / "seed1")
    assert read_manifest(tmp_path / "seed1").fingerprint not in prints


def test_sigkill_midway_then_rerun_equals_uninterrupted_build(tmp_path):
    """A build killed with SIGKILL resumes with the same command and ends identical."""
    args = [
        "build",
        "xor",
        "--p",
        "0.5",
        "--train-n",
        "8000000",
        "--shard-rows",
        "100000",
        "--workers",
        "1",
        "-q",
    ]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "symile_bench", *args, "--out", str(killed)],
        start_new_session=True,
    )
    progress = killed / ".symile-progress"  # one record per committed shard
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if progress.is_dir() and len(list(progress.iterdir())) >= 5:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "manifest.json").exists(), "the build finished before the kill"
    partial = len(list(killed.rglob("*.arrow")))
    assert 5 <= partial < 80

    run_cli(*args, "--out", killed)
    run_cli(*args, "--out", tmp_path / "clean")
    assert read_manifest(killed).fingerprint == read_manifest(tmp_path / "clean").fingerprint
    assert not list(killed.rglob(".tmp-*"))


def test_rerun_of_complete_build_keeps_everything(tmp_path):
    out = tmp_path / "x"
    run_cli("build", "xor", "--p", "0.5", "--out", out, "-q")
    before = shard_bytes(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.arrow")}
    proc = run_cli("build", "xor", "--p", "0.5", "--out", out)
    assert "3 kept" in proc.stdout
    assert shard_bytes(out) == before
    assert mtimes == {p: p.stat().st_mtime_ns for p in out.rglob("*.arrow")}


def test_different_config_is_refused_naming_options_unless_overwrite(tmp_path):
    out = tmp_path / "x"
    run_cli("build", "xor", "--p", "0.5", "--out", out, "-q")
    proc = run_cli("build", "xor", "--p", "0.5", "--d", "4", "--out", out, check=False)
    assert proc.returncode != 0
    assert "--d 5 -> 4" in proc.stderr and "--overwrite" in proc.stderr
    run_cli("build", "xor", "--p", "0.5", "--d", "4", "--out", out, "--overwrite", "-q")
    assert read_manifest(out).config["d"] == 4


def test_statistics_of_the_generating_process(tmp_path):
    """p=1: c = a XOR b; p=0: c = a; b independent of a and of c; mean(i) within 4 SE of p."""
    from scipy.stats import chi2_contingency

    out = tmp_path / "x"
    run_cli("build", "xor", "--p", "0.0,0.5,1.0", "--train-n", "40000", "--out", out, "-q")
    weights = 1 << np.arange(5)

    def arrays(config: str) -> dict[str, np.ndarray]:
        table = symile_bench.load(out, config=config, split="train").with_format("arrow")[:]
        vectors = {k: table[k].combine_chunks().flatten().to_numpy().reshape(-1, 5) for k in "abc"}
        return {**vectors, "i": table["i"].to_numpy()}

    one, zero = arrays("p1.0"), arrays("p0.0")
    assert np.array_equal(one["c"], one["a"] ^ one["b"]) and one["i"].all()
    assert np.array_equal(zero["c"], zero["a"]) and not zero["i"].any()
    for config in ("p0.5", "p1.0"):
        x = arrays(config)
        b_code = x["b"] @ weights
        for other in ("a", "c"):
            table = np.zeros((32, 32))
            np.add.at(table, (b_code, x[other] @ weights), 1)
            assert chi2_contingency(table).pvalue > 1e-3, (config, other)
    half = arrays("p0.5")["i"]
    se = np.sqrt(0.25 / half.size)
    assert abs(half.mean() - 0.5) < 4 * se
    # and the sanity check that the chi-square test has power: a and c are dependent here
    x = arrays("p0.5")
    table = np.zeros((32, 32))
    np.add.at(table, (x["a"] @ weights, x["c"] @ weights), 1)
    assert chi2_contingency(table).pvalue < 1e-6


def test_verify_reports_a_flipped_byte(tmp_path):
    out = tmp_path / "x"
    run_cli("build", "xor", "--p", "0.5", "--out", out, "-q")
    assert run_cli("verify", out).returncode == 0
    shard = sorted(out.rglob("train-*.arrow"))[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    proc = run_cli("verify", out, check=False)
    assert proc.returncode != 0
    assert str(shard.relative_to(out)) in proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["build", "xor", "--p", "1.5"], "--p"),
        (["build", "xor", "--d", "0"], "--d"),
        (["build", "xor", "--train-n", "-1"], "--train-n"),
        (["build", "xorr"], "Did you mean 'xor'"),
        (["build", "xor", "--out", "FILE"], "existing file"),
        (["info", "NOPE"], "manifest.json"),
    ],
)
def test_bad_input_gets_one_clear_line(tmp_path, args, needle):
    file = tmp_path / "file.txt"
    file.write_text("not a directory")
    args = [str(file) if a == "FILE" else str(tmp_path / a) if a == "NOPE" else a for a in args]
    proc = run_cli(*args, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_export_parquet_loads_with_same_rows(tmp_path):
    out = tmp_path / "x"
    run_cli("build", "xor", "--p", "0.5,1.0", "--out", out, "-q")
    run_cli("export", out, "--format", "parquet", "--out", tmp_path / "pq")
    exported = datasets.load_dataset(str(tmp_path / "pq"), "p1.0", split="test")
    original = datasets.load_dataset(str(out), "p1.0", split="test")
    assert exported.features == original.features
    assert exported.to_dict() == original.to_dict()
    assert run_cli("verify", tmp_path / "pq").returncode == 0


def test_list_and_info(default_build):
    assert "xor" in run_cli("list").stdout
    info = run_cli("info", default_build).stdout
    assert "p0.5" in info and "5,000" in info
    manifest = json.loads((default_build / "manifest.json").read_text())
    assert manifest["fingerprint"][:16] in info
