"""Symile-MIMIC end to end through the CLI: `fake-mimic` writes a synthetic tree with planted
edge cases, `build mimic` turns it into shards; the cohort, splits, labs, media, retrieval sets,
build report, determinism and bad-input handling are checked against what the rules say."""

from __future__ import annotations

import gzip
from pathlib import Path

import datasets
import numpy as np
import pytest

from builders.mimic.build.constants import LAB_ITEMIDS
from builders.mimic.build.reference import reference_cohort
from builders.mimic.build.sources import locate
from symile_bench.manifest import read_manifest

from .conftest import run_cli
from .fixtures_mimic import (
    CXR,
    ECG,
    IV,
    build,
    cases,
    cohort,
    copy_tree,
    fake_tree,
    report,
    rewrite_gz,
    source_args,
)

PLANTED = [
    "ecg_at_minus_24h_included",
    "ecg_at_plus_24h_included",
    "ecg_just_outside_window_dropped",
    "cxr_at_24h_excluded_at_72h_included",
    "cxr_one_second_after_24h_included",
    "cxr_only_outside_window_dropped",
    "cxr_study_time_without_leading_zero",
    "earliest_wins",
    "ties_take_smaller_ids",
    "lateral_views_skipped",
    "missing_jpg_skipped",
    "truncated_jpg_skipped",
    "only_missing_jpg_dropped",
    "chosen_cxr_without_chexpert_dropped",
    "nan_ecg_skipped",
    "all_zero_ecg_skipped",
    "corrupt_header_ecg_skipped",
    "missing_ecg_files_skipped",
    "truncated_ecg_skipped",
    "only_nan_ecg_dropped",
    "lab_window_edges_and_empty_values",
    "no_lab_in_window_dropped",
    "no_ecg_dropped",
    "no_cxr_dropped",
    "overlapping_admissions_share_records",
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return fake_tree(tmp_path_factory.mktemp("mimic") / "fake", 200, 0, "--signal", "higher-order")


@pytest.fixture(scope="module")
def built(tree, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mimic") / "out"
    build(tree, out, "--workers", "2")
    return out


@pytest.fixture(scope="module")
def rows(built) -> dict[int, dict]:
    return {r["hadm_id"]: r for r in cohort(built).to_pylist()}


def test_fake_tree_has_the_real_layout_and_says_it_is_synthetic(tree):
    """Real file names, columns, compression and record layout; README flags it synthetic."""
    assert "SYNTHETIC" in (tree / "README.md").read_text()
    for name in ("admissions", "labevents", "patients"):
        with gzip.open(tree / IV / "hosp" / f"{name}.csv.gz", "rt") as f:
            assert f.readline().startswith(
                "subject_id,"
                if name != "labevents"
                else "labevent_id,subject_id,hadm_id,specimen_id,itemid"
            )
    first = (tree / ECG / "record_list.csv").read_text().splitlines()[1].split(",")
    assert first[-1].strip('"').startswith("files/p1900/p19000001/s")
    record = tree / ECG / first[-1].strip('"')
    assert record.with_suffix(".hea").read_text().split()[1:4] == ["12", "500", "5000"]
    assert record.with_suffix(".dat").stat().st_size == 5000 * 12 * 2
    assert any((tree / CXR / "files" / "p19").rglob("*.jpg"))


@pytest.mark.parametrize("name", PLANTED)
def test_planted_edge_case(tree, rows, name):
    """Each boundary of the rules (window ends, earliest, ties, views, missing files, invalid
    ECGs, lab window and empty values, CheXpert, overlapping admissions) gives the expected
    ECG, CXR, labs, or drop reason."""
    for case in cases(tree)[name]:
        row = rows[case["hadm_id"]]
        if not case["kept"]:
            assert row["status"] == case["drop_reason"]
            assert row["split"] is None
            continue
        assert row["status"] == "kept" and row["split"] is not None
        if "ecg_study_id" in case:
            assert row["ecg_study_id"] == case["ecg_study_id"]
        if "cxr_dicom_id" in case:
            assert row["cxr_dicom_id"] == case["cxr_dicom_id"]
        for itemid, value in case.get("labs", {}).items():
            assert row["labs_value"][LAB_ITEMIDS.index(int(itemid))] == value, itemid
        for itemid in case.get("labs_missing", []):
            position = LAB_ITEMIDS.index(int(itemid))
            assert row["labs_value"][position] is None
            assert row["labs_missing"][position]


def test_vectorised_cohort_equals_slow_reference_on_every_admission(tree, rows):
    """On all 200 admissions (planted + random), the vectorised selection equals a per-admission
    loop over the rules that reads every ECG with wfdb.rdrecord: status, ECG, CXR, every lab."""
    sources = locate(tree / IV, tree / ECG, tree / CXR)
    expected = reference_cohort(sources)
    assert set(expected) == set(rows)
    for hadm, ref in expected.items():
        row = rows[hadm]
        status = row["status"] if row["status"] != "split_subject_overlap" else "kept"
        assert status == ref["status"], hadm
        if ref["status"] != "kept":
            continue
        assert row["ecg_study_id"] == ref["ecg_study_id"], hadm
        assert row["cxr_dicom_id"] == ref["cxr_dicom_id"], hadm
        ours = {i: v for i, v in zip(LAB_ITEMIDS, row["labs_value"], strict=True) if v is not None}
        assert ours == ref["labs"], hadm


def test_build_report_counts_each_rule_and_error(tree, built, rows):
    """build_report.json: the funnel adds up, drop counts match the cohort, and every kind of
    unusable record planted in the tree is counted with an example path."""
    rep = report(built)
    adm = rep["admissions"]
    assert adm["total"] == 200 == adm["kept"] + adm["dropped"]
    assert rep["funnel"][-1]["remaining"] == adm["kept"]
    statuses = [r["status"] for r in rows.values()]
    for rule, dropped in rep["dropped_by_rule"].items():
        assert statuses.count(rule) == dropped, rule
    errors = rep["record_errors"]
    for kind in (
        "ecg_nan",
        "ecg_all_zero",
        "ecg_corrupt_header",
        "ecg_missing_file",
        "ecg_truncated",
        "cxr_jpg_missing",
        "cxr_jpg_unreadable",
    ):
        assert errors[kind]["count"] >= 1 and errors[kind]["examples"], kind
    for kind in ("ecg_corrupt_header", "ecg_truncated", "cxr_jpg_unreadable"):
        assert all(
            (tree / (CXR if kind.startswith("cxr") else ECG) / e).parent.is_dir()
            for e in errors[kind]["examples"]
        )  # examples are real relative paths
    assert sum(rep["splits"][s]["admissions"] for s in rep["splits"]) == adm["kept"]
    card = (built / "README.md").read_text()
    assert "PhysioNet Credentialed Health Data License" in card
    assert "license: other" in card and "no_valid_ecg_in_window" in card


def test_test_split_loads_offline_with_media_and_candidate_sets(built, monkeypatch):
    """load_dataset(OUT, split=...): ECG (5000, 12) float32 spanning [-1, 1]; val/test CXR
    320 x 320; train CXR smaller edge 320, uncropped; 10 distinct candidates per query, drawn
    from its own split and including itself; splits share no subject_id."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    loaded = datasets.load_dataset(str(built))
    assert set(loaded) == {"train", "validation", "test"}
    subjects = {s: set(loaded[s]["subject_id"]) for s in loaded}
    assert not subjects["train"] & subjects["validation"]
    assert not subjects["train"] & subjects["test"]
    assert not subjects["validation"] & subjects["test"]
    test = loaded["test"]
    ecg = test.with_format("numpy")[:]["ecg"]
    assert ecg.shape == (test.num_rows, 5000, 12) and ecg.dtype == np.float32
    assert (ecg.min(axis=(1, 2)) == -1).all() and (ecg.max(axis=(1, 2)) == 1).all()
    for split in ("validation", "test"):
        data = loaded[split]
        ids = set(data["hadm_id"])
        for row in data.select_columns(["hadm_id", "candidates"]):
            assert len(set(row["candidates"])) == 10 and row["hadm_id"] in row["candidates"]
            assert set(row["candidates"]) <= ids
        assert {img.size for img in data["cxr"]} == {(320, 320)}
    train = loaded["train"]
    sizes = [img.size for img in train["cxr"]]
    assert all(min(s) == 320 for s in sizes) and any(max(s) > 320 for s in sizes)
    assert all(c is None for c in train["candidates"])


def test_lab_percentiles_are_the_train_ecdf_and_fill_missing_with_train_mean(built):
    """Each stored percentile is #{train values <= v} / #{train values} of that lab; a missing
    lab holds the mean train percentile and has its missing bit set."""
    loaded = {s: datasets.load_dataset(str(built), split=s) for s in ("train", "test")}
    values = {
        s: np.array([[np.nan if v is None else v for v in r] for r in d["labs_value"]])
        for s, d in loaded.items()
    }
    pct = {s: np.array(d["labs_percentile"], dtype=np.float32) for s, d in loaded.items()}
    miss = {s: np.array(d["labs_missing"]) for s, d in loaded.items()}
    for j in range(len(LAB_ITEMIDS)):
        train = np.sort(values["train"][:, j][~np.isnan(values["train"][:, j])])
        if train.size == 0:
            continue
        mean = (np.searchsorted(train, train, "right") / train.size).mean()
        for s in ("train", "test"):
            col = values[s][:, j]
            seen = ~np.isnan(col)
            assert (miss[s][:, j] == ~seen).all()
            expected = np.searchsorted(train, col[seen], "right") / train.size
            np.testing.assert_allclose(pct[s][seen, j], expected, rtol=1e-6)
            np.testing.assert_allclose(pct[s][~seen, j], mean, rtol=1e-6)


def test_same_seed_is_byte_identical_for_any_worker_count(tree, built, tmp_path):
    """--workers 1 reproduces the --workers 2 build byte for byte; rerunning the command on a
    complete build keeps every file (the cohort is not recomputed)."""
    serial = tmp_path / "serial"
    build(tree, serial, "--workers", "1")
    shards = {p.relative_to(built): p.read_bytes() for p in sorted(built.rglob("*.arrow"))}
    assert len(shards) >= 4
    assert {
        p.relative_to(serial): p.read_bytes() for p in sorted(serial.rglob("*.arrow"))
    } == shards
    assert read_manifest(serial).fingerprint == read_manifest(built).fingerprint
    assert run_cli("verify", built).returncode == 0
    rerun = run_cli(
        "build",
        "mimic",
        *source_args(tree),
        "--out",
        serial,
        "--test-frac",
        "0.2",
        "--val-frac",
        "0.2",
        "--workers",
        "1",
    )  # resumes: cohort and shards kept
    assert "(0 files written" in rerun.stdout


def test_release_style_split_sizes_and_cohort_only(tree, tmp_path):
    """--train-n/--val-n give exactly that many train and validation admissions, drop the
    val/test admissions of train patients (counted); --cohort-only writes the cohort and the
    report but no shards; a different --seed draws a different split."""
    out = tmp_path / "release"
    run_cli(
        "build",
        "mimic",
        *source_args(tree),
        "--out",
        out,
        "--train-n",
        "80",
        "--val-n",
        "20",
        "--cohort-only",
        "--seed",
        "3",
        "-q",
    )
    assert (out / "cohort.parquet").is_file() and not (out / "data").exists()
    rep = report(out)
    assert rep["splits"]["train"]["admissions"] == 80
    assert rep["splits"]["validation"]["admissions"] == 20
    kept = rep["admissions"]["kept"]
    assert kept == 100 + rep["splits"]["test"]["admissions"]
    assert rep["dropped_by_rule"]["split_subject_overlap"] == rep["split_subject_overlap_dropped"]
    table = cohort(out).to_pylist()
    by_split: dict[str, set] = {}
    for r in table:
        if r["split"]:
            by_split.setdefault(r["split"], set()).add(r["subject_id"])
    assert not by_split["train"] & (by_split["validation"] | by_split["test"])
    assert not by_split["validation"] & by_split["test"]
    again = tmp_path / "seed4"
    run_cli(
        "build",
        "mimic",
        *source_args(tree),
        "--out",
        again,
        "--train-n",
        "80",
        "--val-n",
        "20",
        "--cohort-only",
        "--seed",
        "4",
        "-q",
    )
    assert [r["split"] for r in cohort(again).to_pylist()] != [r["split"] for r in table]
    assert "only the cohort" in (out / "README.md").read_text()


@pytest.mark.parametrize(
    ("breakage", "needles"),
    [
        ("missing_file", ["hosp/labevents.csv.gz", "not found", "--mimic-iv"]),
        ("missing_column", ["record_list.csv", "'ecg_time'"]),
        (
            "date_format",
            ["admissions.csv.gz", "'admittime'", "07/23/2180 08:44", "YYYY-MM-DD HH:MM:SS"],
        ),
        ("study_time_format", ["metadata.csv.gz", "'StudyTime'", "10:30:00"]),
        ("missing_root", ["--mimic-cxr-jpg"]),
    ],
)
def test_bad_source_stops_with_one_line_naming_file_and_column(tree, tmp_path, breakage, needles):
    """A missing release file or column, or an unexpected date format, stops the build before
    anything looks complete: one error line naming the file (and column, value), no manifest."""
    broken = copy_tree(tree, tmp_path / "broken")
    hosp = broken / IV / "hosp"
    if breakage == "missing_file":
        (hosp / "labevents.csv.gz").unlink()
    elif breakage == "missing_column":
        path = broken / ECG / "record_list.csv"
        lines = path.read_text().splitlines()
        path.write_text("\n".join([lines[0].replace("ecg_time", "ecg_datetime"), *lines[1:]]))
    elif breakage == "date_format":
        rewrite_gz(
            hosp / "admissions.csv.gz",
            lambda ls: [ls[0], ls[1].replace(ls[1].split(",")[2], "07/23/2180 08:44"), *ls[2:]],
        )
    elif breakage == "study_time_format":

        def edit(ls: list[str]) -> list[str]:
            fields = ls[1].split(",")
            fields[8] = "10:30:00"
            return [ls[0], ",".join(fields), *ls[2:]]

        rewrite_gz(broken / CXR / "mimic-cxr-2.0.0-metadata.csv.gz", edit)
    args = source_args(broken)
    if breakage == "missing_root":
        args = args[:4]
    out = tmp_path / "out"
    proc = run_cli("build", "mimic", *args, "--out", out, "-q", check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not (out / "manifest.json").exists()


def test_jpg_corrupted_after_the_cohort_check_stops_without_a_manifest(tree, built, tmp_path):
    """A chosen JPG that passes the cohort's cheap check (complete, its header parses) but
    cannot be decoded (a bogus Huffman table) stops the shard step with an error naming the
    file; the directory never gets a manifest or card."""
    broken = copy_tree(tree, tmp_path / "broken", copy_cxr=True)
    rel = next(r["cxr_path"] for r in cohort(built).to_pylist() if r["split"] == "test")
    victim = broken / CXR / rel
    data = bytearray(victim.read_bytes())
    table = data.index(b"\xff\xc4")  # DHT: marker, length (2), class/id, 16 code counts
    data[table + 5 : table + 21] = b"\xff" * 16
    victim.write_bytes(bytes(data))
    out = tmp_path / "out"
    proc = build(broken, out, check=False)
    assert proc.returncode != 0
    assert rel.split("/")[-1] in proc.stderr and "Traceback" not in proc.stderr
    assert not (out / "manifest.json").exists() and not (out / "README.md").exists()
