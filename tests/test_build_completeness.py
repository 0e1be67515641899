"""A build either finishes or is plainly unfinished: a builder that could not write its card
fails before its first shard, the manifest (the marker of a complete build) is written after
the card and croissant, and `verify` refuses a directory whose manifest, card or croissant is
missing or incomplete, or whose build never finished, naming each file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from symile_bench.build import build, parse_config
from symile_bench.executors import SerialExecutor
from symile_bench.registry import get_builder
from symile_bench.storage import Store

from .conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = '''
from symile_bench.builder import DatasetBuilder
from clock_bench.build import ClockBuilder


class NoCard(ClockBuilder):
    """The clock builder without its card template: what a plugin gets by default."""

    name = "nocard"
    card_template = DatasetBuilder.card_template


class UnknownPlaceholder(ClockBuilder):
    name = "badcard"

    def card_template(self) -> str:
        return "# clock\\n\\n{{summary_table}} {{accuracy_table}}\\n"
'''
ENTRY_POINTS = """\
[symile_bench.builders]
nocard = cardless_plugin:NoCard
badcard = cardless_plugin:UnknownPlaceholder
"""


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An installed-looking plugin (a dist-info with entry points on PYTHONPATH)."""
    site = tmp_path_factory.mktemp("site")
    dist = site / "cardless_plugin-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cardless-plugin\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    (site / "cardless_plugin.py").write_text(PLUGIN)
    path = [str(site), str(ROOT / "tests" / "plugin" / "clock-bench"), str(ROOT)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), "COLUMNS": "200"}


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("nocard", ["builder 'nocard'", "no card template", "nocard.md", "card_template()"]),
        ("badcard", ["builder 'badcard'", "{{accuracy_table}}", "card_variables()"]),
    ],
)
def test_a_builder_that_cannot_write_its_card_fails_before_its_first_shard(
    plugin_env: dict[str, str], tmp_path: Path, name: str, needles: list[str]
) -> None:
    """A builder without a card template (or with a placeholder nothing fills) used to write
    every shard and the manifest, then die with a traceback; now the build exits 1 with one
    line naming the builder, what is missing and the fix, and writes nothing at all."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "symile_bench", "build", name, "--out", str(out)],
        env=plugin_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert all(n in lines[0] for n in needles), lines[0]
    assert not out.exists()


class RecordingStore(Store):
    """A local store that notes what the build process writes and removes, in order."""

    def __init__(self, location: Path) -> None:
        super().__init__(location)
        self.log: list[tuple[str, str]] = []

    def write_text(self, rel: str, text: str) -> None:
        super().write_text(rel, text)
        self.log.append(("write", rel))

    def remove(self, rel: str) -> None:
        super().remove(rel)
        self.log.append(("remove", rel))


class KilledAtManifest(RecordingStore):
    """The build process dies just as it would write `manifest.json`."""

    def write_text(self, rel: str, text: str) -> None:
        if rel == "manifest.json":
            raise KeyboardInterrupt
        super().write_text(rel, text)


def xor_build(store: Store) -> None:
    builder = get_builder("xor")
    config = parse_config(builder, {"p": "0.5", "train_n": 300, "val_n": 50, "test_n": 80})
    build(builder, config, store, executor=SerialExecutor(), quiet=True)


def test_the_manifest_is_written_after_the_card_and_croissant_and_a_stop_before_it_resumes(
    tmp_path: Path,
) -> None:
    """The manifest, the marker of a complete build, comes after README.md and
    croissant.json, and the in-progress files go after it. A build stopped just before the
    manifest is refused by `verify` (naming the manifest and the unfinished build), and the
    same build command finishes it with the uninterrupted build's bytes."""
    store = RecordingStore(tmp_path / "whole")
    xor_build(store)
    finished = [e for e in store.log if e[1] in ("README.md", "croissant.json", "manifest.json")]
    assert finished == [
        ("write", "README.md"),
        ("write", "croissant.json"),
        ("write", "manifest.json"),
    ]
    after = store.log[store.log.index(("write", "manifest.json")) :]
    assert ("remove", ".symile-build.json") in after and ("remove", ".symile-progress") in after

    stopped = tmp_path / "stopped"
    with pytest.raises(Exception, match="interrupted"):
        xor_build(KilledAtManifest(stopped))
    assert (stopped / "README.md").is_file() and not (stopped / "manifest.json").exists()
    proc = run_cli("verify", stopped, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "manifest.json" in proc.stderr and ".symile-build.json" in proc.stderr
    run_cli("build", "xor", "--p", "0.5", "--train-n", "300", "--val-n", "50", "--test-n", "80",
            "--out", stopped, "-q")  # fmt: skip
    assert run_cli("verify", stopped).returncode == 0
    for name in ("manifest.json", "README.md", "croissant.json"):
        assert (stopped / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


@pytest.fixture(scope="module")
def complete(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("complete") / "xor"
    run_cli("build", "xor", "--p", "0.5", "--train-n", "300", "--val-n", "50", "--test-n", "80",
            "--out", out, "-q")  # fmt: skip
    assert run_cli("verify", out).returncode == 0
    return out


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _strip_front_matter(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[text.index("\n---\n", 3) + 5 :])


def _stale_croissant(path: Path) -> None:
    document = json.loads(path.read_text())
    document["distribution"][0]["sha256"] = "0" * 64
    path.write_text(json.dumps(document))


DAMAGE = {
    "README.md deleted": ("README.md", lambda p: p.unlink()),
    "croissant.json deleted": ("croissant.json", lambda p: p.unlink()),
    "manifest.json deleted": ("manifest.json", lambda p: p.unlink()),
    "manifest.json cut short": ("manifest.json", _truncate),
    "README.md without its YAML": ("README.md", _strip_front_matter),
    "croissant.json cut short": ("croissant.json", _truncate),
    "croissant.json of other shards": ("croissant.json", _stale_croissant),
    "progress records left": (".symile-progress", lambda p: p.mkdir()),
    "build marker left": (".symile-build.json", lambda p: p.write_text("{}\n")),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_verify_names_each_missing_or_incomplete_file(
    complete: Path, tmp_path: Path, case: str
) -> None:
    """Every shard re-hashes fine, yet the directory is not a complete build: `verify` exits 1
    with one line naming the file at fault (it used to report every file matching)."""
    out = tmp_path / "copy"
    shutil.copytree(complete, out)
    name, damage = DAMAGE[case]
    damage(out / name)
    proc = run_cli("verify", out, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out / name) in lines[0], proc.stderr
