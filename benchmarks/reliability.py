"""Bad inputs, tried as a new user or an attacker would, through the real CLI: each outcome
is classified as a clear error (non-zero exit, a short message, no traceback), a counted
skip (exit 0, the bad record named in the build report) or a traceback (the defect to fix:
its count must be 0). Also: concurrent builds into one --out (refused?) and SIGKILLs of a
build's parent (orphan workers left?).

Run: python benchmarks/reliability.py   (about 2 minutes on 2 cores)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

CLI = [sys.executable, "-m", "symile_bench"]
M3_SLOW = [
    "build", "m3", "--languages", "2", "--train-n", "3000", "--val-n", "300", "--test-n", "600",
    "--audio-pool", "60", "--image-pool", "2", "--image-size", "64", "--shard-rows", "150",
    "--workers", "2", "-q",
]  # fmt: skip


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def outcome(proc: subprocess.CompletedProcess[str]) -> str:
    text = proc.stdout + proc.stderr
    if "Traceback (most recent call last)" in text:
        return "traceback"
    if proc.returncode == 0:
        return "counted skip" if "skip" in text.lower() else "accepted (!)"
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    return "clear error" if lines and len(lines) <= 3 else "unclear error"


def cases(tmp: Path) -> dict[str, list[tuple[str, tuple[str | Path, ...]]]]:
    """Area -> [(what, the CLI arguments that try it)], on fixtures made here."""
    xor = tmp / "xor"
    run("build", "xor", "--p", "1.0", "--out", xor, "-q", cwd=tmp)
    results = tmp / "r.json"
    run("evaluate", xor, "--model", "xor-oracle", "--out", results, "-q", cwd=tmp)
    a_file = tmp / "a-file"
    a_file.write_text("x")
    foreign = tmp / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")

    def damaged(name: str, edit: Callable[[Path], None]) -> Path:
        copy = tmp / name
        subprocess.run(["cp", "-r", str(xor), str(copy)], check=True)
        edit(copy)
        return copy

    def bad_json(name: str, text: str) -> Path:
        path = tmp / name
        path.write_text(text)
        return path

    truncated = damaged(
        "trunc", lambda d: next((d / "data").rglob("test-*.arrow")).write_bytes(b"x")
    )
    no_manifest = damaged("nomanifest", lambda d: (d / "manifest.json").unlink())
    bad_manifest = damaged("badmanifest", lambda d: (d / "manifest.json").write_text("{"))
    doc = json.loads(results.read_text())
    return {
        "build options": [
            ("negative seed", ("build", "xor", "--seed", "-3", "--out", tmp / "s")),
            ("unknown builder", ("build", "xorr", "--out", tmp / "u")),
            ("p outside [0, 1]", ("build", "xor", "--p", "1.5", "--out", tmp / "p")),
            ("p not a number", ("build", "xor", "--p", "half", "--out", tmp / "p")),
            ("--shards backwards", ("build", "xor", "--shards", "5:2", "--out", tmp / "h")),
            ("--workers 0", ("build", "xor", "--workers", "0", "--out", tmp / "w")),
            ("unknown language", ("build", "m3", "--languages", "en,xx", "--out", tmp / "l")),
            (
                "more words than languages",
                ("build", "m3", "--languages", "2", "--words", "5", "--out", tmp / "l"),
            ),
            ("--out is a file", ("build", "xor", "--out", a_file)),
            ("--out holds other files", ("build", "xor", "--out", foreign)),
            ("other config into a built --out", ("build", "xor", "--p", "0.5", "--out", xor)),
            ("--blind without --answer-key", ("build", "xor", "--blind", "--out", tmp / "b")),
            (
                "answer key inside --out",
                (
                    "build",
                    "xor",
                    "--blind",
                    "--answer-key",
                    tmp / "k" / "key.json",
                    "--out",
                    tmp / "k",
                ),
            ),
            (
                "--blind on mimic",
                (
                    "build",
                    "mimic",
                    "--mimic-iv",
                    tmp,
                    "--mimic-iv-ecg",
                    tmp,
                    "--mimic-cxr-jpg",
                    tmp,
                    "--blind",
                    "--answer-key",
                    tmp / "mk.json",
                    "--out",
                    tmp / "m",
                ),
            ),
        ],
        "dataset directories": [
            ("info on a missing directory", ("info", tmp / "nowhere")),
            ("info without manifest", ("info", no_manifest)),
            ("info on a corrupt manifest", ("info", bad_manifest)),
            ("verify a truncated shard", ("verify", truncated)),
            (
                "evaluate a truncated shard",
                ("evaluate", truncated, "--model", "xor-oracle", "--out", tmp / "t.json"),
            ),
            ("finalize a directory never started", ("finalize", foreign)),
            (
                "export into a non-empty directory",
                ("export", xor, "--format", "parquet", "--out", foreign),
            ),
        ],
        "evaluation": [
            ("unknown model", ("evaluate", xor, "--model", "nope", "--out", tmp / "e.json")),
            (
                "model module missing",
                ("evaluate", xor, "--model", "nomod:make", "--out", tmp / "e.json"),
            ),
            (
                "unknown target",
                (
                    "evaluate",
                    xor,
                    "--model",
                    "xor-oracle",
                    "--target",
                    "z",
                    "--out",
                    tmp / "e.json",
                ),
            ),
            (
                "unknown candidates rule",
                (
                    "evaluate",
                    xor,
                    "--model",
                    "xor-oracle",
                    "--candidates",
                    "some",
                    "--out",
                    tmp / "e.json",
                ),
            ),
            (
                "unknown config",
                (
                    "evaluate",
                    xor,
                    "--config",
                    "p9",
                    "--model",
                    "xor-oracle",
                    "--out",
                    tmp / "e.json",
                ),
            ),
            (
                "unknown scorer",
                (
                    "evaluate",
                    xor,
                    "--embeddings",
                    tmp,
                    "--scoring",
                    "nope",
                    "--out",
                    tmp / "e.json",
                ),
            ),
            (
                "empty embeddings directory",
                ("evaluate", xor, "--embeddings", foreign, "--out", tmp / "e.json"),
            ),
            (
                "--bootstrap 1",
                (
                    "evaluate",
                    xor,
                    "--model",
                    "xor-oracle",
                    "--bootstrap",
                    "1",
                    "--out",
                    tmp / "e.json",
                ),
            ),
        ],
        "results files": [
            ("not JSON", ("validate", bad_json("a.json", "{"))),
            ("a JSON list", ("validate", bad_json("b.json", "[]"))),
            ("no schema_version", ("validate", bad_json("c.json", "{}"))),
            (
                "future schema_version",
                ("validate", bad_json("d.json", json.dumps({**doc, "schema_version": 99}))),
            ),
            (
                "a row without value",
                (
                    "validate",
                    bad_json(
                        "e.json",
                        json.dumps(
                            {
                                **doc,
                                "rows": [{k: v for k, v in doc["rows"][0].items() if k != "value"}],
                            }
                        ),
                    ),
                ),
            ),
            (
                "ranks tampered",
                (
                    "validate",
                    bad_json(
                        "f.json",
                        json.dumps(
                            {
                                **doc,
                                "predictions": [
                                    {
                                        **doc["predictions"][0],
                                        "ranks": [2] * len(doc["predictions"][0]["ranks"]),
                                    }
                                ],
                            }
                        ),
                    ),
                    "--dataset",
                    xor,
                ),
            ),
            (
                "compare files of two datasets",
                (
                    "compare",
                    results,
                    bad_json(
                        "g.json",
                        json.dumps(
                            {
                                **doc,
                                "dataset": {
                                    **doc["dataset"],
                                    "fingerprint": "other",
                                    "split_fingerprint": "other",
                                },
                            }
                        ),
                    ),
                ),
            ),
            ("missing results file", ("report", tmp / "none.json")),
        ],
    }


def concurrent_builds(tmp: Path) -> tuple[int, int]:
    """(refusals, attempts): a second build started while the first runs."""
    out = tmp / "busy"
    first = subprocess.Popen([*CLI, *M3_SLOW, "--out", str(out)], cwd=tmp)
    lock = out / ".symile-lock"
    while first.poll() is None and not (lock.is_file() and lock.read_text().strip()):
        time.sleep(0.1)
    refused = 0
    for _ in range(3):
        second = run(*M3_SLOW, "--out", out, cwd=tmp)
        refused += second.returncode == 1 and "being built by another process" in second.stderr
    first.wait()
    return refused, 3


def orphans_after_kills(tmp: Path, kills: int = 3) -> tuple[int, int]:
    """(workers alive 3 s after their parent's SIGKILL, summed; kills landed)."""
    left = landed = 0
    for k in range(kills):
        build = subprocess.Popen(
            [*CLI, *M3_SLOW, "--out", str(tmp / f"kill{k}")], cwd=tmp, start_new_session=True
        )
        progress = tmp / f"kill{k}" / ".symile-progress"
        while build.poll() is None and len(list(progress.glob("*"))) < 3:
            time.sleep(0.1)
        if build.poll() is not None:
            continue
        os.kill(build.pid, signal.SIGKILL)
        build.wait()
        landed += 1
        time.sleep(3)
        alive = [p for p in Path("/proc").glob("[0-9]*/stat") if _in_session(p, build.pid)]
        left += len(alive)
        for stat in alive:
            os.kill(int(stat.parent.name), signal.SIGKILL)
    return left, landed


def _in_session(stat: Path, session: int) -> bool:
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return int(fields[3]) == session and fields[0] != "Z"


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        table: dict[str, Counter[str]] = defaultdict(Counter)
        bad: list[str] = []
        for area, tried in cases(tmp).items():
            for what, args in tried:
                result = outcome(run(*args, cwd=tmp))
                table[area][result] += 1
                if result not in ("clear error", "counted skip"):
                    bad.append(f"{area}: {what} -> {result}")
        refused, attempts = concurrent_builds(tmp)
        orphans, landed = orphans_after_kills(tmp)
    kinds = ("clear error", "counted skip", "unclear error", "accepted (!)", "traceback")
    print("| area | tried | " + " | ".join(kinds) + " |")
    print("|---|---|" + "---|" * len(kinds))
    for area, counts in table.items():
        row = " | ".join(str(counts[k]) for k in kinds)
        print(f"| {area} | {sum(counts.values())} | {row} |")
    total = sum((c for c in table.values()), Counter())
    print(f"| all | {sum(total.values())} | " + " | ".join(str(total[k]) for k in kinds) + " |")
    print(f"second build into a busy --out refused: {refused} of {attempts}")
    print(f"workers alive 3 s after their parent's SIGKILL: {orphans} over {landed} kills")
    for line in bad:
        print("NOT CLEAR:", line)
    if total["traceback"] or orphans or refused < attempts:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
