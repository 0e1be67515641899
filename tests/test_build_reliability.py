"""Builds under hostile conditions, through the CLI: bad options, two builds into one --out, a
SIGKILLed parent, Ctrl-C, a full disk. Each ends in one clear line and leaves nothing
half-written, and the next run resumes."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from symile_bench.cli import app, main
from symile_bench.storage import HashingWriter

SLOW_M3 = [
    "build", "m3", "--languages", "2", "--train-n", "3000", "--val-n", "300", "--test-n", "600",
    "--audio-pool", "60", "--image-pool", "2", "--image-size", "64", "--shard-rows", "150",
    "--workers", "2",
]  # fmt: skip


def start(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "symile_bench", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def session_processes(session: int) -> list[int]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def fingerprint(out: Path) -> str:
    return json.loads((out / "manifest.json").read_text())["fingerprint"]


def main_in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The console entry point itself (its one-line error rendering), in this process."""
    monkey = pytest.MonkeyPatch()
    monkey.setattr(sys, "argv", ["symile-bench", *args])
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        monkey.undo()
    return code, capsys.readouterr().err


def test_a_negative_seed_is_one_line_and_leaves_out_as_it_was(tmp_path: Path, cli) -> None:
    out = tmp_path / "x"
    result = cli("build", "xor", "--seed", "-3", "--out", out, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --seed must be a non-negative integer, got -3"
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    cli("build", "xor", "--seed", "-3", "--out", empty, check=False)
    assert list(empty.iterdir()) == []
    cli("build", "xor", "--p", "1.0", "--seed", "1", "--out", out, "-q")


def test_a_second_build_into_the_same_out_is_refused_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "m3"
    first = start(*SLOW_M3, "--out", out)
    lock = out / ".symile-lock"
    wait_for(lambda: lock.is_file() and lock.read_text().strip() != "")
    second = start(*SLOW_M3, "--out", out)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 1
    assert f"pid {first.pid}" in err and len(err.strip().splitlines()) == 1
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    assert not lock.exists() and (out / "manifest.json").is_file()


def test_a_dead_builds_lock_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / ".symile-lock").write_text("999999999\n")  # its holder is gone: no flock is held
    result = CliRunner().invoke(app, ["build", "xor", "--p", "1.0", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert not (out / ".symile-lock").exists()


def test_a_shards_job_starting_beside_another_is_not_refused_as_foreign(tmp_path: Path) -> None:
    """What a `--shards` job sees while its sibling writes the start marker (the lock file and
    the marker's temp file) is that sibling's build, not foreign files: the build goes on.
    (Found as a race in test_shard_ranges_in_parallel_processes_then_finalize.) Files that
    are not ours are still refused."""
    out = tmp_path / "x"
    out.mkdir()
    (out / ".symile-lock").write_text("")
    (out / ".tmp-.symile-build.json.999999999").write_text("{")
    result = CliRunner().invoke(app, ["build", "xor", "--p", "1.0", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file()
    foreign = tmp_path / "y"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = CliRunner().invoke(app, ["build", "xor", "--p", "1.0", "--out", str(foreign), "-q"])
    assert result.exit_code != 0 and "not a symile-bench dataset" in str(result.exception)


def test_sigkill_of_the_parent_leaves_no_worker_and_the_rerun_resumes(tmp_path: Path) -> None:
    out = tmp_path / "m3"
    build = start(*SLOW_M3, "--out", out, "-q")
    wait_for(lambda: len(list((out / ".symile-progress").glob("*"))) >= 3)
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    wait_for(lambda: not session_processes(build.pid), seconds=5)  # "within a few seconds"
    rerun = start(*SLOW_M3, "--out", out, "-q")
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert not list(out.rglob(".tmp-*")) and (out / "manifest.json").is_file()


def test_ctrl_c_prints_one_line_with_the_resume_command(tmp_path: Path) -> None:
    out = tmp_path / "m3"
    build = start(*SLOW_M3, "--out", out, "-q")
    wait_for(lambda: len(list((out / ".symile-progress").glob("*"))) >= 3)
    os.killpg(build.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = build.communicate(timeout=60)
    assert build.returncode == 130, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), err
    assert f"--out {out}" in lines[0] and "resume" in lines[0]
    assert "Traceback" not in err and "Exception ignored" not in err
    wait_for(lambda: not session_processes(build.pid), seconds=5)


def test_a_full_disk_is_one_line_and_the_next_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC injected at the storage layer after 200 KB of shard bytes (no loop device or
    fixed-size tmpfs can be mounted in CI's sandbox)."""
    args = ["build", "xor", "--p", "0.5", "--train-n", "60000", "--shard-rows", "5000"]
    runner = CliRunner()
    clean = tmp_path / "clean"
    assert runner.invoke(app, [*args, "--out", str(clean), "-q"]).exit_code == 0
    real_write = HashingWriter.write
    budget = {"left": 200_000}

    def write(self: HashingWriter, data: bytes | memoryview) -> int:
        budget["left"] -= len(data)
        if budget["left"] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(HashingWriter, "write", write)
    out = tmp_path / "full"
    code, err = main_in_process([*args, "--out", str(out), "-q", "--executor", "serial"], capsys)
    assert code == 1 and err.startswith("error: no space left on the device of")
    message = " ".join(err.split())
    assert str(out) in message and "bytes" in message and "rerun the same command" in message
    assert "Traceback" not in err
    assert not list(out.rglob(".tmp-*")) and not (out / "manifest.json").exists()
    monkeypatch.setattr(HashingWriter, "write", real_write)
    again = runner.invoke(app, [*args, "--out", str(out), "-q"])
    assert again.exit_code == 0, again.output
    assert fingerprint(out) == fingerprint(clean)


def test_a_full_disk_during_export_is_one_line_and_the_next_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = CliRunner()
    src = tmp_path / "src"
    build = ["build", "xor", "--p", "0.5", "--train-n", "60000", "--shard-rows", "5000"]
    assert runner.invoke(app, [*build, "--out", str(src), "-q"]).exit_code == 0
    clean = tmp_path / "clean"
    exported = runner.invoke(app, ["export", str(src), "--format", "parquet", "--out", str(clean)])
    assert exported.exit_code == 0, exported.output
    real_write = HashingWriter.write
    budget = {"left": 100_000}

    def write(self: HashingWriter, data: bytes | memoryview) -> int:
        budget["left"] -= len(data)
        if budget["left"] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(HashingWriter, "write", write)
    out = tmp_path / "pq"
    code, err = main_in_process(
        ["export", str(src), "--format", "parquet", "--out", str(out)], capsys
    )
    assert code == 1 and err.startswith("error: no space left on the device of")
    assert not list(out.rglob(".tmp-*")) and not (out / "manifest.json").exists()
    monkeypatch.setattr(HashingWriter, "write", real_write)
    again = runner.invoke(app, ["export", str(src), "--format", "parquet", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert (out / "manifest.json").read_text() == (clean / "manifest.json").read_text()
    assert not (out / ".symile-export.json").exists()


def test_a_damaged_shard_is_one_line_and_the_build_command_repairs_it(tmp_path: Path, cli) -> None:
    out = tmp_path / "x"
    cli("build", "xor", "--p", "1.0", "--out", out, "-q")
    before = fingerprint(out)
    shard = next((out / "data").rglob("test-*.arrow"))
    shard.write_bytes(b"x")
    result = cli(
        "evaluate", out, "--model", "xor-oracle", "--out", tmp_path / "r.json", check=False
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{shard} is damaged" in " ".join(result.stderr.split())
    cli("build", "xor", "--p", "1.0", "--out", out, "-q")
    assert fingerprint(out) == before
    cli("evaluate", out, "--model", "xor-oracle", "--out", tmp_path / "r.json")
