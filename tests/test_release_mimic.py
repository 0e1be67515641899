"""`symile-bench import symile-mimic` and `export --format symile-mimic`: the PhysioNet
Symile-MIMIC 1.0.0 release in, a first-class dataset directory out (scored with the release's
task), and back. The fixture is written here in the release's exact layout (real per-row shapes,
the release's row order: queries first, then 9 negatives per query copied from other queries),
independently of the toolkit's own writer."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import datasets
import mlcroissant as mlc
import numpy as np
import pytest

import symile_bench
from builders.mimic.build.release.layout import retrieval_groups
from symile_bench.errors import SourceError

from .conftest import run_cli
from .evaluate_fixtures import load_json, use_test_models
from .fixtures_mimic import build as build_mimic
from .fixtures_mimic import fake_tree

QUERIES, TRAIN = 10, 3
SPLITS = ("train", "val_retrieval", "val", "test")  # val copies val_retrieval's queries
HEADER = ["subject_id", "hadm_id", "ecg_path", "cxr_path", "50802", "50802_percentile"]


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_release(root: Path, seed: int = 0) -> Path:
    """A Symile-MIMIC 1.0.0 tree: `TRAIN` train rows, `QUERIES` val/test queries with 10
    candidates each. Each admission's query position is planted in ecg[0, 0, 0], cxr[0, 0, 0]
    and labs_percentiles[0], so a model reading values can find its own CXR."""
    rng = np.random.default_rng(seed)
    first = {
        "train": 20_000_000,
        "val": 25_000_000,
        "val_retrieval": 25_000_000,
        "test": 29_000_000,
    }
    for split in SPLITS:
        n = TRAIN if split == "train" else QUERIES
        hadm = first[split] + np.arange(n)
        cxr = rng.standard_normal((n, 3, 320, 320), dtype=np.float32)
        ecg = rng.uniform(-1, 1, (n, 1, 5000, 12)).astype(np.float32)
        pcts = rng.random((n, 50)).astype(np.float32)
        observed = (rng.random((n, 50)) < 0.7).astype(np.int64)
        if split == "val":  # the release's val is val_retrieval's queries
            cxr, ecg, pcts, observed = (
                np.load(root / f"data_npy/val_retrieval/{f}_val_retrieval.npy")[:n]
                for f in ("cxr", "ecg", "labs_percentiles", "labs_missingness")
            )
        code = np.arange(n, dtype=np.float32)
        cxr[:, 0, 0, 0], ecg[:, 0, 0, 0], pcts[:, 0] = code, code, code
        rows = [
            [str(10_000 + h % 1000), str(h), f"e/{h}", f"c/{h}.jpg", "1.5", "0.25"] for h in hadm
        ]
        header = HEADER
        arrays = {"cxr": cxr, "ecg": ecg, "labs_percentiles": pcts, "labs_missingness": observed}
        arrays["hadm_id"] = hadm.astype(np.int64)
        if split in ("val", "val_retrieval", "test"):
            header = [*HEADER, "label_hadm_id", "label"]
            rows = [[*r, r[1], "1"] for r in rows]
        if split in ("val_retrieval", "test"):
            negatives = [
                (q, j)
                for q in range(n)
                for j in rng.choice(np.delete(np.arange(n), q), 9, replace=False)
            ]
            take = np.array([q for q in range(n)] + [j for _, j in negatives])
            arrays = {k: v[take] for k, v in arrays.items()}
            arrays["label_hadm_id"] = hadm[np.array(list(range(n)) + [q for q, _ in negatives])]
            arrays["label"] = np.array([1] * n + [0] * len(negatives), dtype=np.int64)
            rows = rows + [[*rows[j][:-2], str(hadm[q]), "0"] for q, j in negatives]
        folder = root / "data_npy" / split
        folder.mkdir(parents=True)
        for field, values in arrays.items():
            np.save(folder / f"{field}_{split}.npy", np.ascontiguousarray(values))
        _csv(root / f"{split}.csv", header, rows)
    _csv(root / "symile_mimic_data.csv", ["subject_id", "hadm_id"], [["1", "2"]])
    means = {f"{50_800 + i}_percentile": 0.5 for i in range(50)}
    (root / "labs_means.json").write_text(json.dumps(means, indent=4))
    sums = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}"
        for p in sorted(root.rglob("*"))
        if p.is_file()
    ]
    (root / "SHA256SUMS.txt").write_text("\n".join(sums) + "\n")
    return root


class CodeModel:
    """Reads values only: ECG and CXR embed to the one-hot of the code planted in their first
    value, labs to ones, so the multilinear product is largest for the query's own CXR."""

    scoring = "mip"
    name = "code-model"

    def encode(self, modality, batch, *, missing=None):
        values = np.asarray(batch.numpy(), dtype=np.float64)
        if modality == "labs":
            return np.ones((len(batch), 32), dtype=np.float32)
        code = values.reshape(len(batch), -1)[:, 0].round().astype(int)
        return np.eye(32, dtype=np.float32)[code]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return write_release(tmp_path_factory.mktemp("release") / "symile-mimic-1.0.0")


@pytest.fixture(scope="module")
def imported(release, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("imported") / "dir"
    run_cli("import", "symile-mimic", release, "--out", out, "-q", "--workers", "2")
    return out


@pytest.fixture(autouse=True)
def _test_models(monkeypatch):
    use_test_models(monkeypatch)


def _npy(release: Path, split: str, field: str) -> np.ndarray:
    return np.load(release / "data_npy" / split / f"{field}_{split}.npy")


def test_import_holds_the_release_arrays_and_its_retrieval_sets(release, imported):
    """Every split loads with `datasets.load_dataset` and `symile_bench.load`; the test rows are
    the release's queries, in order, with their arrays unchanged (float32 CXRs, ECGs without the
    size-1 axis, labs_missing = missingness 0) and their candidates = the hadm_ids of the 10
    rows sharing their label_hadm_id, own first."""
    loaded = datasets.load_dataset(str(imported))
    assert {s: loaded[s].num_rows for s in loaded} == {
        "train": TRAIN,
        "validation": QUERIES,
        "test": QUERIES,
    }
    assert loaded["test"].features["cxr"] == datasets.Array3D((3, 320, 320), "float32")
    test = symile_bench.load(imported, split="test").with_format("numpy")[:]
    hadm, label_hadm = _npy(release, "test", "hadm_id"), _npy(release, "test", "label_hadm_id")
    label = _npy(release, "test", "label")
    queries = np.flatnonzero(label == 1)
    assert test["hadm_id"].tolist() == hadm[queries].tolist()
    np.testing.assert_array_equal(test["cxr"], _npy(release, "test", "cxr")[queries])
    np.testing.assert_array_equal(test["ecg"], _npy(release, "test", "ecg")[queries, 0])
    np.testing.assert_array_equal(
        test["labs_missing"], _npy(release, "test", "labs_missingness")[queries] == 0
    )
    for own, cands in zip(test["hadm_id"], test["candidates"], strict=True):
        group = np.flatnonzero(label_hadm == own)
        assert cands[0] == own and sorted(cands) == sorted(hadm[group])
    train = symile_bench.load(imported, split="train")[:]
    assert train["candidates"] == [None] * TRAIN
    assert json.loads(train["csv"][0])["hadm_id"] == "20000000"


def test_evaluate_scores_the_release_task_with_a_value_model(imported, tmp_path):
    """`evaluate` with no harness change: (ecg, labs) -> cxr among 10 stored candidates, chance
    1/10; a model that reads the arrays finds every own CXR; results name the release and
    `validate`, `compare` and `report` work on them."""
    out = tmp_path / "r.json"
    run_cli("evaluate", imported, "-m", "tests.test_release_mimic:CodeModel", "-o", out, "-q")
    res = load_json(out)
    manifest = load_json(imported / "manifest.json")
    assert res["dataset"]["name"] == "symile-mimic"
    assert res["dataset"]["fingerprint"] == manifest["fingerprint"]
    assert res["task"]["query_modalities"] == ["ecg", "labs"]
    assert res["task"]["target_modality"] == "cxr"
    assert res["task"]["candidates"]["size"] == 10
    assert res["task"]["chance_label"] == "1/10"
    top1 = next(r for r in res["rows"] if r["metric"] == "top1" and r["condition"] is None)
    assert top1["value"] == 1.0 and top1["n"] == QUERIES
    run_cli("validate", out, "--dataset", imported)
    chance = tmp_path / "constant.json"
    run_cli("evaluate", imported, "-m", "constant", "-o", chance, "-q")
    compared = run_cli("compare", out, chance).stdout
    assert "< 0.001" in compared  # the paired test tells the model from chance on 10 queries
    assert "code-model" in run_cli("report", out, chance).stdout


def test_provenance_info_verify_and_card(release, imported):
    """The manifest's config names the release, version, licence and each file read with its
    sha256 (checked against SHA256SUMS.txt); `info` and `verify` work; the card says it, and
    the directory's croissant.json is valid Croissant with the MIMIC fields."""
    config = load_json(imported / "manifest.json")["config"]
    assert config["release_name"] == "symile-mimic" and config["release_version"] == "1.0.0"
    assert config["license_name"] == "PhysioNet Credentialed Health Data License 1.5.0"
    assert config["sha256sums_checked"] is True
    cxr = "data_npy/test/cxr_test.npy"
    assert config["files"][cxr] == hashlib.sha256((release / cxr).read_bytes()).hexdigest()
    assert len(config["files"]) == 2 + 4 + 4 * 5 + 2 * 2
    info = run_cli("info", imported).stdout
    assert "symile-mimic" in info and "test" in info
    run_cli("verify", imported)
    card = (imported / "README.md").read_text()
    assert "PhysioNet Credentialed Health Data License 1.5.0" in card
    assert config["files"][cxr] in card
    croissant = mlc.Dataset(jsonld=imported / "croissant.json").metadata
    fields = {
        f.name: f for rs in croissant.record_sets if rs.name == "default/test" for f in rs.fields
    }
    assert fields["cxr"].repeated and fields["hadm_id"].data_types


def test_import_is_build_with_source_and_documented(release, imported, tmp_path):
    """`import NAME --help` documents SOURCE and the builder's options; `build symile-mimic
    --release DIR` is the same build (same fingerprint) as `import symile-mimic DIR`."""
    helps = run_cli("import", "--help").stdout + run_cli("import", "symile-mimic", "--help").stdout
    for text in ("symile-mimic", "SOURCE", "--shard-rows", "--out", "--workers"):
        assert text in helps
    out = tmp_path / "built"
    run_cli("build", "symile-mimic", "--release", release, "--out", out, "-q", "--workers", "1")
    built = load_json(out / "manifest.json")
    assert built["fingerprint"] == load_json(imported / "manifest.json")["fingerprint"]
    again = run_cli("import", "symile-mimic", release, "--out", out, "--workers", "1").stdout
    assert "0 files written, 3 kept" in again  # a rerun resumes: nothing is rewritten


def test_retrieval_groups_in_any_row_order():
    """The grouping follows label_hadm_id and label, not row positions: with the release's rows
    shuffled, each query still gets its own row first and its negatives in row order; a group
    with two positives names the group."""
    rng = np.random.default_rng(1)
    hadm = np.array([10, 11, 12, 11, 12, 10, 12, 10, 11])  # 3 queries, 3 candidates each
    label_hadm = np.array([10, 11, 12, 10, 10, 11, 11, 12, 12])
    label = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0])
    perm = rng.permutation(len(hadm))
    groups = retrieval_groups(hadm[perm], label_hadm[perm], label[perm], "test")
    rows = perm[groups.members]  # back to the unshuffled row numbers
    assert hadm[rows[:, 0]].tolist() == hadm[perm][groups.queries].tolist()
    for q, members in zip(hadm[perm][groups.queries], rows, strict=True):
        assert (label_hadm[members] == q).all() and label[members[0]] == 1
        assert sorted(members[1:], key=lambda r: np.flatnonzero(perm == r)[0]) == list(members[1:])
    label[3] = 1
    with pytest.raises(SourceError, match="label_hadm_id 10 has 2 rows with label 1"):
        retrieval_groups(hadm, label_hadm, label, "test")


def test_export_of_an_import_is_the_release_again(release, imported, tmp_path):
    """`export --format symile-mimic` writes the release's files, shapes, dtypes, row order and
    grouping: every array equals the original, every CSV has its values; importing it again
    gives the same rows, answers and task."""
    dest = tmp_path / "exported"
    run_cli("export", imported, "--format", "symile-mimic", "--out", dest)
    for path in sorted(release.rglob("*.npy")):
        rel = path.relative_to(release)
        again = np.load(dest / rel)
        original = np.load(path)
        assert again.dtype == original.dtype and again.shape == original.shape, rel
        np.testing.assert_array_equal(again, original, err_msg=str(rel))
    for name in ("train.csv", "val.csv", "val_retrieval.csv", "test.csv", "labs_means.json"):
        assert list(csv.reader((dest / name).open())) == list(csv.reader((release / name).open()))
    again = tmp_path / "again"
    run_cli("import", "symile-mimic", dest, "--out", again, "-q")
    for split in ("train", "validation", "test"):
        a = symile_bench.load(imported, split=split).with_format("arrow")[:]
        b = symile_bench.load(again, split=split).with_format("arrow")[:]
        assert a.equals(b), split
    assert (
        load_json(again / "manifest.json")["tasks"]
        == load_json(imported / "manifest.json")["tasks"]
    )


def test_export_of_a_fake_mimic_build_round_trips_answers_and_task(tmp_path):
    """A build of our `mimic` builder (from `fake-mimic`) exports in the release layout
    (resized, normalised float32 CXRs at (3, 320, 320), ECGs (1, 5000, 12), labs missingness 1 =
    observed, 10 rows per query) and imports back with the same queries, candidate sets
    (answers) and task."""
    built = tmp_path / "built"
    build_mimic(fake_tree(tmp_path / "fake", 120), built)
    dest = tmp_path / "exported"
    run_cli("export", built, "--format", "symile-mimic", "--out", dest)
    test = symile_bench.load(built, split="test").with_format("numpy")[:]
    n = len(test["hadm_id"])
    assert np.load(dest / "data_npy/test/cxr_test.npy", mmap_mode="r").shape == (
        10 * n,
        3,
        320,
        320,
    )
    assert np.load(dest / "data_npy/test/ecg_test.npy", mmap_mode="r").shape == (
        10 * n,
        1,
        5000,
        12,
    )
    assert np.load(dest / "data_npy/train/labs_missingness_train.npy").dtype == np.int64
    assert (np.load(dest / "data_npy/test/label_test.npy") == 1).sum() == n
    again = tmp_path / "again"
    run_cli("import", "symile-mimic", dest, "--out", again, "-q")
    back = symile_bench.load(again, split="test").with_format("numpy")[:]
    np.testing.assert_array_equal(back["hadm_id"], test["hadm_id"])
    for a, b in zip(test["candidates"], back["candidates"], strict=True):
        assert sorted(a) == sorted(b)
    np.testing.assert_array_equal(back["ecg"], test["ecg"])
    np.testing.assert_array_equal(back["labs_missing"], test["labs_missing"])
    assert (
        load_json(again / "manifest.json")["tasks"] == load_json(built / "manifest.json")["tasks"]
    )


def _linked_copy(release: Path, dest: Path) -> Path:
    """A copy of the release whose files are symlinks (cheap), to break one file at a time."""
    for path in release.rglob("*"):
        if path.is_file():
            target = dest / path.relative_to(release)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return dest


def _replace(root: Path, rel: str, write) -> None:
    (root / rel).unlink()
    write(root / rel)


def _missing_file(root: Path) -> None:
    (root / "val_retrieval.csv").unlink()


def _missing_split(root: Path) -> None:
    shutil.rmtree(root / "data_npy/test")


def _truncated(root: Path) -> None:
    data = (root / "data_npy/test/ecg_test.npy").read_bytes()
    _replace(root, "data_npy/test/ecg_test.npy", lambda p: p.write_bytes(data[: len(data) // 2]))


def _longer(root: Path) -> None:
    pcts = np.load(root / "data_npy/train/labs_percentiles_train.npy")
    _replace(root, "data_npy/train/labs_percentiles_train.npy", lambda p: np.save(p, pcts[:-1]))


def _two_positives(root: Path) -> None:
    label = np.load(root / "data_npy/test/label_test.npy")
    label[QUERIES] = 1  # the first negative of query 0's group
    _replace(root, "data_npy/test/label_test.npy", lambda p: np.save(p, label))


def _checksum(root: Path) -> None:
    text = (root / "SHA256SUMS.txt").read_text()
    line = next(ln for ln in text.splitlines() if ln.endswith("  train.csv"))
    bad = text.replace(line, "0" * 64 + "  train.csv")
    _replace(root, "SHA256SUMS.txt", lambda p: p.write_text(bad))


@pytest.mark.parametrize(
    ("breaks", "named", "says"),
    [
        (_missing_file, "val_retrieval.csv", "missing"),
        (_missing_split, "data_npy/test", "missing"),
        (_truncated, "ecg_test.npy", "not a complete .npy"),
        (_longer, "labs_percentiles_train.npy", "rows, but"),
        (_two_positives, "data_npy/test", "exactly one positive"),
        (_checksum, "train.csv", "does not match"),
    ],
)
def test_bad_release_is_one_line_error_and_nothing_written(release, tmp_path, breaks, named, says):
    """Each broken release is refused before anything is written: exit 1, one line naming the
    file and what is wrong, and no --out directory."""
    root = _linked_copy(release, tmp_path / "release")
    breaks(root)
    out = tmp_path / "out"
    proc = run_cli("import", "symile-mimic", root, "--out", out, "-q", check=False)
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert named in lines[0] and says in lines[0], lines[0]
    assert not out.exists()
