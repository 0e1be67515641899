"""Scale-out: Ray executor, shard ranges + finalize, and repeated SIGKILLs all end with the
fingerprint of one uninterrupted local build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from symile_bench.build import build, parse_config
from symile_bench.executors import make_executor
from symile_bench.manifest import read_manifest
from symile_bench.registry import get_builder

from .conftest import run_cli

XOR = {"p": "0.3,1.0", "train_n": 30_000, "shard_rows": 5_000}
M3 = [
    "--languages",
    "2",
    "--train-n",
    "1200",
    "--val-n",
    "200",
    "--test-n",
    "400",
    "--audio-pool",
    "30",
    "--image-pool",
    "1",
    "--image-size",
    "32",
    "--shard-rows",
    "200",
]
M3_OPTIONS = {
    "languages": "2",
    "train_n": 1200,
    "val_n": 200,
    "test_n": 400,
    "audio_pool": 30,
    "image_pool": 1,
    "image_size": 32,
    "shard_rows": 200,
}


def fingerprint_of(name: str, options: dict, out: Path | str, executor: str) -> str:
    builder = get_builder(name)
    result = build(
        builder,
        parse_config(builder, options),
        out,
        executor=make_executor(executor, 2),
        quiet=True,
    )
    return result.manifest.fingerprint


@pytest.fixture(scope="module")
def m3_local(tmp_path_factory) -> str:
    """The fingerprint of the uninterrupted process-pool build of `M3` that every other way of
    building it (Ray, shard jobs + finalize, killed and rerun, fsspec URLs) must give: built once
    for the module."""
    return fingerprint_of("m3", M3_OPTIONS, tmp_path_factory.mktemp("m3") / "local", "processes")


@pytest.fixture(scope="module")
def ray_cluster():
    import ray  # part of the dev extra: its absence is a failure, not a skip

    ray.init(
        num_cpus=2, include_dashboard=False, object_store_memory=128 * 2**20, log_to_driver=False
    )
    yield ray
    ray.shutdown()


def test_ray_builds_equal_local_builds(ray_cluster, m3_local, tmp_path):
    """XOR and a tiny M3, inline (MP3 clips) and pooled (FLAC clips, --audio-format auto),
    on a local Ray cluster: same fingerprints as the process pool."""
    pooled = {**M3_OPTIONS, "storage": "pooled"}
    for name, options in (("xor", XOR), ("m3", pooled)):
        label = f"{name}-{options.get('storage', 'auto')}"
        on_ray = fingerprint_of(name, options, tmp_path / f"{label}-ray", "ray")
        local = fingerprint_of(name, options, tmp_path / f"{label}-local", "processes")
        assert on_ray == local, label
    assert fingerprint_of("m3", M3_OPTIONS, tmp_path / "m3-ray", "ray") == m3_local


def test_ray_without_ray_installed_says_how_to_install(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from symile_bench.cli import main\n"
        f"sys.argv = ['symile-bench', 'build', 'xor', '--executor', 'ray', '--out', "
        f"{str(tmp_path / 'x')!r}]\nmain()"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "pip install 'symile-bench[ray]'" in proc.stderr


def test_shard_ranges_in_parallel_processes_then_finalize(m3_local, tmp_path):
    """Two jobs build halves of one M3 build at the same time (both need the pools), then
    `finalize` writes a manifest equal to an uninterrupted build's."""
    shared = tmp_path / "shared"
    jobs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "symile_bench",
                "build",
                "m3",
                *M3,
                "--workers",
                "1",
                "-q",
                "--shards",
                part,
                "--out",
                str(shared),
            ]
        )
        for part in ("0:5", "5:")
    ]
    assert [job.wait(timeout=600) for job in jobs] == [0, 0]
    assert not (shared / "manifest.json").exists()
    run_cli("finalize", shared)
    assert read_manifest(shared).fingerprint == m3_local
    assert run_cli("verify", shared).returncode == 0


def test_finalize_names_the_missing_shard(tmp_path):
    out = tmp_path / "part"
    run_cli(
        "build",
        "xor",
        "--p",
        "0.5",
        "--train-n",
        "30000",
        "--shard-rows",
        "5000",
        "-q",
        "--shards",
        "0:2",
        "--out",
        out,
    )
    proc = run_cli("finalize", out, check=False)
    assert proc.returncode != 0 and "--shards 2:3" in proc.stderr


def test_repeated_sigkills_then_rerun_equal_uninterrupted(m3_local, tmp_path):
    """Kill a multi-shard M3 build at three random moments, rerun each time: same result."""
    rng = np.random.default_rng(7)
    args = [
        sys.executable,
        "-m",
        "symile_bench",
        "build",
        "m3",
        *M3,
        "--workers",
        "2",
        "-q",
        "--out",
        str(tmp_path / "killed"),
    ]
    for _ in range(3):
        proc = subprocess.Popen(args, start_new_session=True)
        time.sleep(float(rng.uniform(1.0, 5.0)))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert subprocess.run(args, timeout=600).returncode == 0
    assert read_manifest(tmp_path / "killed").fingerprint == m3_local
    assert not list((tmp_path / "killed").rglob(".tmp-*"))


def test_fsspec_urls_build_the_same_dataset(m3_local, tmp_path):
    """An fsspec URL as --out (file:// through fsspec, and memory://, which has no rename or
    memory map) gives the local build's fingerprint; verify and info read it back."""
    local = m3_local
    url = f"file://{tmp_path / 'viafsspec'}"
    proc = run_cli("build", "m3", *M3, "-q", "--workers", "2", "--out", url)
    assert proc.returncode == 0
    assert read_manifest(tmp_path / "viafsspec").fingerprint == local
    assert run_cli("verify", url).returncode == 0
    assert run_cli("info", url).stdout.count("complete") >= 3
    # memory:// lives in this process only, so the in-process serial executor writes it
    assert fingerprint_of("m3", M3_OPTIONS, "memory://symile/m3", "serial") == local
