"""The Symile-M3 release formats (issue #15): a local copy of the Hub repo (`hf-m3`) and the
release code's CSVs with their media trees (`m3-csv`) import into first-class dataset
directories scored with the release's task, and `export --format hf-m3|m3-csv` writes any
Symile-M3 directory back in those layouts, so that import(export(X)) is X.

Fixtures are written in the release's exact layouts by tests/fixtures_release_m3.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import symile_bench
from builders.m3.build.release.schema import release_config_name

from .conftest import run_cli
from .fixtures_release_m3 import HUB_FEATURES, N_CLASSES, write_csv_release, write_hub_repo
from .test_leaderboard_support import serve

CONFIG = "symile-m3-2-xs"
SPLITS = ("train", "validation", "test")
VAL_PART = "val-00000-of-00001.parquet"


def import_release(fmt: str, source: Path, *args: str | Path, out: Path, check: bool = True):
    """`symile-bench import FORMAT SOURCE ...` (serial: the fixtures are tiny)."""
    return run_cli(
        "import", fmt, source, *args, "--out", out, "--executor", "serial", "--quiet",
        check=check,
    )  # fmt: skip


def import_csv(root: Path, csv_dir: Path, out: Path, *args: str, check: bool = True):
    return import_release(
        "m3-csv", csv_dir, "--common-voice", root, "--imagenet", root, *args, out=out, check=check
    )


def rows(path: Path, split: str, columns: list[str] | None = None) -> list[dict]:
    table = symile_bench.load(path, split=split).data.table
    return table.select(columns or HUB_FEATURES.keys()).to_pylist()


def oracle_top1(path: Path, lexicon: Path | None, out: Path, *args: str) -> dict:
    extra = ["--model-arg", f"lexicon={lexicon}"] if lexicon else []
    run_cli("evaluate", path, "--model", "m3-oracle", *extra, *args, "--out", out, "--quiet")
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hub_repo(tmp_path_factory.mktemp("hub"))


@pytest.fixture(scope="module")
def imported(hub: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("imported") / "ds"
    import_release("hf-m3", hub, out=out)
    return out


@pytest.fixture(scope="module")
def ours(hub: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Symile-M3 build of ours (4 classes from the fixture's translations.json)."""
    out = tmp_path_factory.mktemp("ours") / "ds"
    run_cli(
        "build",
        "m3",
        "--languages",
        "2",
        "--train-n",
        "40",
        "--val-n",
        "10",
        "--test-n",
        "20",
        "--images",
        "procedural",
        "--audio-pool",
        "3",
        "--image-pool",
        "2",
        "--translations",
        hub / "translations.json",
        "--out",
        out,
        "--executor",
        "serial",
        "--quiet",
    )
    return out


def test_hub_import_is_a_first_class_dataset(hub: Path, imported: Path, tmp_path: Path) -> None:
    """One config needs no --config; the manifest records the release, config and each part
    with its sha256; info/verify/load_dataset/symile_bench.load work; rows and media bytes are
    the release's; evaluate scores the release's task (chance 1/classes present) unchanged."""
    manifest = json.loads((imported / "manifest.json").read_text())
    config = manifest["config"]
    assert config["release"] == "arsaporta/symile-m3" and config["variant"] == CONFIG
    parts = sorted((hub / CONFIG).glob("*.parquet"))
    assert {f["file"]: f["sha256"] for f in config["files"]} == {
        f"{CONFIG}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in parts
    }
    card = (imported / "README.md").read_text()
    assert "license: cc-by-nc-sa-4.0" in card and config["files"][0]["sha256"] in card
    assert "1/4" in run_cli("info", imported).stdout
    assert "match the manifest" in run_cli("verify", imported).stdout

    loaded = datasets.load_dataset(str(imported))
    assert list(loaded) == list(SPLITS) and loaded["test"].features == HUB_FEATURES
    source = pq.read_table(hub / CONFIG / "test-00000-of-00001.parquet").to_pylist()
    assert rows(imported, "test") == source  # same order, same MP3/JPEG bytes

    results = oracle_top1(imported, hub / "translations.json", tmp_path / "r.json")
    assert results["dataset"]["name"] == "hf-m3" and results["dataset"]["config"] == CONFIG
    assert results["task"]["candidates"]["size"] == 10  # every test image
    assert results["task"]["chance_label"] == f"1/{N_CLASSES}"
    top1 = next(r for r in results["rows"] if r["metric"] == "top1" and r["language"] is None)
    assert top1["value"] == 1.0
    per_class = oracle_top1(
        imported, hub / "translations.json", tmp_path / "p.json", "--candidates", "per-class"
    )
    assert per_class["task"]["candidates"]["size"] == N_CLASSES


def test_leaderboard_verifies_results_on_an_imported_release(
    hub: Path, imported: Path, tmp_path: Path
) -> None:
    """Proves an imported release's test split registers as a leaderboard board named after
    the release config, and a submission of results on it is verified against its answers."""
    results = tmp_path / "r.json"
    oracle_top1(imported, hub / "translations.json", results)
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    added = run_cli("leaderboard", "add", imported, "--split", "test", "--db", db).stdout
    assert "hf-m3" in added and CONFIG in added, added
    token = run_cli("leaderboard", "token", "tester", "--db", db).stdout.strip()
    with serve(db) as url:
        done = run_cli("submit", results, "--server", url, "--token", token)
    assert "verified" in done.stdout, done.stdout


def test_hub_import_with_several_configs_needs_config(hub: Path, tmp_path: Path) -> None:
    """With two configs, leaving out --config or naming an absent one is a one-line error
    listing the configs present; naming one imports it under its own name."""
    repo = tmp_path / "repo"
    shutil.copytree(hub, repo)
    shutil.copytree(repo / CONFIG, repo / "symile-m3-5-s")
    for args in ((), ("--config", "symile-m3-10-l")):
        done = import_release("hf-m3", repo, *args, out=tmp_path / "out", check=False)
        assert done.returncode == 1 and not (tmp_path / "out").exists()
        assert "symile-m3-2-xs, symile-m3-5-s" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    import_release("hf-m3", repo, "--config", "symile-m3-5-s", out=tmp_path / "five")
    manifest = json.loads((tmp_path / "five" / "manifest.json").read_text())
    assert list(manifest["variants"]) == ["symile-m3-5-s"]
    assert manifest["tasks"][0]["references"][0]["label"] == "CLIP ceiling 1/w = 1/5"


def _drop_column(path: Path) -> None:
    pq.write_table(pq.read_table(path).drop_columns(["target_text"]), path)


def _retype_cls_id(path: Path) -> None:
    table = pq.read_table(path)
    index = table.schema.get_field_index("cls_id")
    pq.write_table(table.set_column(index, "cls_id", table["cls_id"].cast(pa.string())), path)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _corrupt_pages(path: Path) -> None:
    """Scramble the data pages, keep the footer: only decoding the pages finds it."""
    data = bytearray(path.read_bytes())
    for i in range(200, len(data) // 2):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "named", "says"),
    [
        (lambda p: p.unlink(), CONFIG, "split val is missing"),
        (_drop_column, "test-00000-of-00001.parquet", "column 'target_text' is missing"),
        (_retype_cls_id, "test-00000-of-00001.parquet", "column 'cls_id' has type string"),
        (_truncate, "test-00000-of-00001.parquet", "truncated or corrupt"),
        (_corrupt_pages, "train-00001-of-00002.parquet", "truncated or corrupt"),
    ],
    ids=["missing-split", "missing-column", "mistyped-column", "truncated", "corrupt-pages"],
)
def test_hub_import_refuses_bad_input(hub, tmp_path: Path, damage, named: str, says: str) -> None:
    """Each damage is a one-line error naming the file and the problem; --out is not
    created."""
    repo = tmp_path / "repo"
    shutil.copytree(hub, repo)
    damage(repo / CONFIG / named if named.endswith(".parquet") else repo / CONFIG / VAL_PART)
    done = import_release("hf-m3", repo, out=tmp_path / "out", check=False)
    assert done.returncode == 1, done.stderr
    assert named in done.stderr and says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_csv_import_equals_the_hub_import(imported: Path, tmp_path: Path) -> None:
    """The same release rows as CSVs + media trees import to the same rows, media bytes,
    config name and task as the Hub copy (the fixture draws both from one seed)."""
    csv_dir, cv, imagenet = write_csv_release(tmp_path)
    out = tmp_path / "ds"
    import_release(
        "m3-csv",
        csv_dir,
        "--common-voice",
        cv,
        "--imagenet",
        imagenet,
        "--translations",
        tmp_path / "translations.json",
        out=out,
    )
    for split in SPLITS:
        assert rows(out, split) == rows(imported, split)
    ours, theirs = (json.loads((d / "manifest.json").read_text()) for d in (out, imported))
    assert ours["tasks"] == theirs["tasks"] and list(ours["variants"]) == [CONFIG]
    assert "match the manifest" in run_cli("verify", out).stdout


def _escape_by_symlink(root: Path, csv_dir: Path) -> str:
    outside = root / "outside.mp3"
    outside.write_bytes(b"ID3")
    link = root / "cv-root" / "cv" / "en" / "clips" / "link.mp3"
    os.symlink(outside, link)
    return "cv/en/clips/link.mp3"


@pytest.mark.parametrize(
    ("bad_path", "says"),
    [
        (lambda root, csv_dir: "cv/en/clips/../../../../secret.mp3", "leaves"),
        (lambda root, csv_dir: "/etc/passwd", "absolute"),
        (_escape_by_symlink, "through a symlink"),
        (lambda root, csv_dir: "cv/en/clips/gone.mp3", "is not a file there"),
    ],
    ids=["dotdot", "absolute", "symlink-escape", "missing-file"],
)
def test_csv_import_refuses_paths_outside_their_root(tmp_path: Path, bad_path, says) -> None:
    """A media path that climbs out of its root (`..`, absolute, symlink) or names no file is
    a one-line error naming the CSV, the line and the path; nothing is written."""
    csv_dir, cv, imagenet = write_csv_release(tmp_path)
    path = bad_path(tmp_path, csv_dir)
    lines = (csv_dir / "val.csv").read_text(encoding="utf-8").splitlines()
    fields = lines[3].split(",")
    fields[1] = path
    lines[3] = ",".join(fields)
    (csv_dir / "val.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    done = import_release(
        "m3-csv", csv_dir, "--common-voice", cv, "--imagenet", imagenet, out=out, check=False
    )
    assert done.returncode == 1, done.stderr
    assert "val.csv, line 4" in done.stderr and path in done.stderr and says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_csv_import_refuses_a_missing_split(tmp_path: Path) -> None:
    """A missing CSV is named, with the ones present."""
    csv_dir, _, _ = write_csv_release(tmp_path)
    (csv_dir / "test.csv").unlink()
    done = import_csv(tmp_path, csv_dir, tmp_path / "out", check=False)
    assert done.returncode == 1 and "test.csv missing (has train.csv, val.csv)" in done.stderr
    assert not (tmp_path / "out").exists()


def test_csv_import_takes_a_safe_name(tmp_path: Path) -> None:
    """--name sets the config name; one that could leave the dataset directory is refused."""
    csv_dir, cv, imagenet = write_csv_release(tmp_path)
    media = ("--common-voice", cv, "--imagenet", imagenet)
    done = import_release(
        "m3-csv", csv_dir, *media, "--name", "../x", out=tmp_path / "bad", check=False
    )
    assert done.returncode == 1 and "--name" in done.stderr and not (tmp_path / "bad").exists()
    import_release("m3-csv", csv_dir, *media, "--name", "symile-m3-2-s", out=tmp_path / "ok")
    manifest = json.loads((tmp_path / "ok" / "manifest.json").read_text())
    assert list(manifest["variants"]) == ["symile-m3-2-s"]


def _same_task(a: Path, b: Path) -> None:
    """Same task definition: modalities, target, candidate rules, w (chance is the release's
    1/classes present on an import, 1/classes drawable on our build; `id_column` only tells
    the harness which rows share a medium, and the release has no media ids)."""
    tasks = [json.loads((d / "manifest.json").read_text())["tasks"][0] for d in (a, b)]
    for task in tasks:
        task.pop("chance"), task.pop("chance_label")
        for modality in task["modalities"]:
            modality.pop("meta"), modality.pop("missing_column"), modality.pop("id_column")
    assert tasks[0] == tasks[1]


@pytest.mark.parametrize("fmt", ["hf-m3", "m3-csv"])
def test_round_trip_of_our_build(ours: Path, hub: Path, tmp_path: Path, fmt: str) -> None:
    """import(export(our build)) has the same rows (release columns, media bytes), task and
    oracle answers; hf-m3 takes the release's name for w and train size and says so, and is
    loadable with load_dataset(DIR2, CONFIG) with the Hub's exact features."""
    exported, back = tmp_path / "exported", tmp_path / "back"
    done = run_cli("export", ours, "--format", fmt, "--out", exported)
    if fmt == "hf-m3":
        assert f"config name {CONFIG}" in done.stdout
        assert "40 train rows" in (exported / "README.md").read_text()
        loaded = datasets.load_dataset(str(exported), CONFIG)
        assert list(loaded) == ["train", "val", "test"]
        assert loaded["test"].features == HUB_FEATURES
        assert json.loads((exported / "translations.json").read_text())["tench"]["cls_id"] == 0
        import_release(fmt, exported, out=back)
    else:
        assert (exported / "cv").is_dir() and (exported / "ILSVRC/Data/CLS-LOC/train").is_dir()
        import_csv(exported, exported, back)
    for split in SPLITS:
        assert rows(back, split) == rows(ours, split)
    _same_task(back, ours)
    lexicon = hub / "translations.json"
    assert (
        oracle_top1(back, lexicon, tmp_path / "a.json")["rows"]
        == oracle_top1(ours, lexicon, tmp_path / "b.json")["rows"]
    )


@pytest.mark.parametrize("fmt", ["hf-m3", "m3-csv"])
def test_round_trip_of_an_imported_release(imported: Path, tmp_path: Path, fmt: str) -> None:
    """import(export(imported Hub fixture)) keeps the config name, rows, media and task."""
    exported, back = tmp_path / "exported", tmp_path / "back"
    run_cli("export", imported, "--format", fmt, "--out", exported)
    if fmt == "hf-m3":
        assert sorted(p.name for p in (exported / CONFIG).iterdir())[0].startswith("test-")
        import_release(fmt, exported, out=back)
    else:
        import_csv(exported, exported, back)
    assert list(json.loads((back / "manifest.json").read_text())["variants"]) == [CONFIG]
    for split in SPLITS:
        assert rows(back, split) == rows(imported, split)
    _same_task(back, imported)


def test_export_refuses_a_non_empty_out_and_other_datasets(imported, tmp_path: Path) -> None:
    """An existing non-empty --out is left as it was; a dataset that is not Symile-M3 is
    refused by name."""
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    done = run_cli("export", imported, "--format", "hf-m3", "--out", taken, check=False)
    assert done.returncode == 1 and "not an empty directory" in done.stderr
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    xor = tmp_path / "xor"
    sizes = ("--train-n", "4", "--val-n", "4", "--test-n", "4")
    run_cli("build", "xor", "--p", "0.5", *sizes, "--executor", "serial", "--quiet", "--out", xor)
    done = run_cli("export", xor, "--format", "m3-csv", "--out", tmp_path / "x", check=False)
    assert done.returncode == 1 and "built by xor" in done.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("w", "train", "name"),
    [
        (5, 40, "symile-m3-5-xs"),
        (2, 900_000, "symile-m3-2-s"),
        (10, 6_000_000, "symile-m3-10-m"),
        (10, 20_000_000, "symile-m3-10-l"),
    ],
)
def test_release_config_name_is_the_closest_size(w: int, train: int, name: str) -> None:
    """Our builds are named after the release size whose train rows are nearest."""
    assert release_config_name(w, train) == name
