"""Broken and hostile Symile-MIMIC sources through `symile-bench build mimic`: a problem with a
whole table is one error line naming the file and the fix, with nothing left in --out; one bad
record is skipped and counted in build_report.json while the build completes. And a build from
`fake-mimic`'s tree says it is synthetic wherever a reader looks (card, manifest, `info`)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from builders.mimic.build.constants import SYNTHETIC_MARKER

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
)

LAB_LINE = 11  # labevents line broken below (line 1 is the header)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return fake_tree(tmp_path_factory.mktemp("sources") / "fake")


def refused(broken: Path, out: Path) -> str:
    """Build `broken`; return its one error line after checking that --out was left as it was
    (absent: not even the lock, the spec or a pool file)."""
    proc = build(broken, out, check=False)
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not out.exists(), sorted(out.rglob("*"))
    return lines[0]


def test_admissions_with_a_header_and_no_rows_is_one_line(tree, tmp_path):
    """admissions.csv.gz with only its header (a cut-short download) is an error naming the
    file and the fix, not an IndexError."""
    broken = copy_tree(tree, tmp_path / "broken")
    rewrite_gz(broken / IV / "hosp" / "admissions.csv.gz", lambda lines: lines[:1])
    line = refused(broken, tmp_path / "out")
    for needle in ("hosp/admissions.csv.gz", "a header and no rows", "re-download"):
        assert needle in line, line


def _unclose_comment(lines: list[str]) -> list[str]:
    """The file written without quoting (no field needs it), then a comment that opens a quote:
    pyarrow used to fold every later row into that comment, silently."""
    lines = [line.replace('"', "") for line in lines]
    assert lines[LAB_LINE - 1].endswith(","), lines[LAB_LINE - 1]  # its comment is empty
    lines[LAB_LINE - 1] += '"never closed'
    return lines


def _unclose_value(lines: list[str]) -> list[str]:
    """A quoted value that loses its closing quote (a cryptic parse error without a line)."""
    quoted = lines[LAB_LINE - 1].split(",")[8]  # value, e.g. "40.5"
    assert quoted.startswith('"') and quoted.endswith('"'), quoted
    lines[LAB_LINE - 1] = lines[LAB_LINE - 1].replace(quoted, quoted[:-1], 1)
    return lines


@pytest.mark.parametrize("edit", [_unclose_comment, _unclose_value], ids=["comments", "value"])
def test_unterminated_quote_in_labevents_names_its_line(tree, tmp_path, edit):
    """A quote that never closes in labevents stops the build naming the file and the line,
    instead of losing every row after it."""
    broken = copy_tree(tree, tmp_path / "broken")

    rewrite_gz(broken / IV / "hosp" / "labevents.csv.gz", edit)
    line = refused(broken, tmp_path / "out")
    for needle in ("hosp/labevents.csv.gz", f"line {LAB_LINE}:", "quoted field", "re-download"):
        assert needle in line, line


def _first_row_path(broken: Path, value: str) -> None:
    """The first ECG of record_list.csv (in a planted admission's window) gets `value`."""
    path = broken / ECG / "record_list.csv"
    lines = path.read_text().splitlines()
    fields = lines[1].split(",")
    fields[-1] = f'"{value}"'
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")


def _first_dicom_id(broken: Path, value: str) -> None:
    """The first image of the CXR metadata (in a planted admission's window) gets `value`."""

    def edit(lines: list[str]) -> list[str]:
        fields = lines[1].split(",")
        fields[0] = f'"{value}"'
        lines[1] = ",".join(fields)
        return lines

    rewrite_gz(broken / CXR / "mimic-cxr-2.0.0-metadata.csv.gz", edit)


@pytest.mark.parametrize(
    ("plant", "value", "needles"),
    [
        (_first_row_path, "/etc/passwd", ["record_list.csv", "'path'", "'/etc/passwd'"]),
        (_first_row_path, "files/../../../../../etc/passwd", ["record_list.csv", "'path'"]),
        (_first_dicom_id, "../../../../../../etc/passwd", ["metadata.csv.gz", "'dicom_id'"]),
    ],
    ids=["record_list-absolute", "record_list-dotdot", "cxr-dotdot"],
)
def test_path_outside_the_source_root_is_refused(tree, tmp_path, plant, value, needles):
    """A record path that is absolute or climbs out of its root with `..` is refused (one
    line naming the table, the column and the path) instead of being opened."""
    broken = copy_tree(tree, tmp_path / "broken")
    plant(broken, value)
    line = refused(broken, tmp_path / "out")
    for needle in [*needles, "absolute or leaves", "restore the file"]:
        assert needle in line, line


# -- one bad record: skipped, counted, the build completes --------------------------------


def _bomb(jpg: Path) -> None:
    """Keep the JPEG whole but declare 65535 x 65535 pixels in its frame header: Pillow's
    decompression-bomb guard refuses to open it."""
    data = bytearray(jpg.read_bytes())
    frame = min(i for i in (data.find(b"\xff\xc0"), data.find(b"\xff\xc2")) if i >= 0)
    data[frame + 5 : frame + 9] = b"\xff\xff\xff\xff"  # height, width
    jpg.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> dict:
    """A fake-mimic tree where the chosen ECG of three planted admissions has a .hea that is
    a directory, a .dat that is a directory, and a study folder that is a symlink loop, and
    the chosen CXR of a fourth is a decompression bomb; built in full."""
    root = fake_tree(tmp_path_factory.mktemp("damaged") / "fake")
    kept = [c for group in cases(root).values() for c in group if c["kept"]]
    paths = {}
    for line in (root / ECG / "record_list.csv").read_text().splitlines()[1:]:
        fields = line.split(",")
        paths[int(fields[1])] = fields[-1].strip('"')
    hea_dir, dat_dir, loop = [c for c in kept if "ecg_study_id" in c][:3]
    record = {c["hadm_id"]: paths[c["ecg_study_id"]] for c in (hea_dir, dat_dir, loop)}
    for case, suffix in ((hea_dir, ".hea"), (dat_dir, ".dat")):
        target = root / ECG / (record[case["hadm_id"]] + suffix)
        target.unlink()
        target.mkdir()
    folder = (root / ECG / record[loop["hadm_id"]]).parent
    shutil.rmtree(folder)
    os.symlink(folder.name, folder)  # the study folder points at itself
    bomb = next(c for c in kept if "cxr_dicom_id" in c and c not in (hea_dir, dat_dir, loop))
    jpg = next((root / CXR / "files").rglob(f"{bomb['cxr_dicom_id']}.jpg"))
    _bomb(jpg)
    out = tmp_path_factory.mktemp("damaged") / "out"
    build(root, out, "--workers", "1")
    return {
        "root": root,
        "out": out,
        "ecg": {
            c["hadm_id"]: (c["ecg_study_id"], record[c["hadm_id"]])
            for c in (hea_dir, dat_dir, loop)
        },
        "cxr": (bomb["hadm_id"], bomb["cxr_dicom_id"], str(jpg.relative_to(root / CXR))),
    }


def test_wfdb_file_that_is_a_directory_or_a_symlink_loop_is_a_counted_skip(damaged):
    """A .hea or .dat that is a directory, or a record folder that is a symlink loop, is one
    unusable record: counted as ecg_unreadable_file with its path, never chosen; the build
    completes."""
    out = damaged["out"]
    assert (out / "manifest.json").is_file()
    unreadable = report(out)["record_errors"]["ecg_unreadable_file"]
    assert unreadable["count"] == 3
    assert sorted(unreadable["examples"]) == sorted(p for _, p in damaged["ecg"].values())
    rows = {r["hadm_id"]: r for r in cohort(out).to_pylist()}
    for hadm, (study, _) in damaged["ecg"].items():
        assert rows[hadm]["ecg_study_id"] != study


def test_decompression_bomb_jpg_is_a_counted_skip(damaged):
    """A CXR whose header declares more pixels than Pillow's bomb guard allows is never
    decoded: counted as cxr_jpg_too_large with its path, the admission takes its next CXR or
    is dropped, and the shards are written (no DecompressionBombError)."""
    out = damaged["out"]
    hadm, dicom, rel = damaged["cxr"]
    too_large = report(out)["record_errors"]["cxr_jpg_too_large"]
    assert too_large == {"count": 1, "examples": [rel]}
    row = next(r for r in cohort(out).to_pylist() if r["hadm_id"] == hadm)
    assert row["cxr_dicom_id"] != dicom
    assert (out / "manifest.json").is_file() and any((out / "data").rglob("*.arrow"))


# -- synthetic sources -----------------------------------------------------------------------


def test_build_from_fake_mimic_is_marked_synthetic_everywhere(damaged):
    """fake-mimic leaves SYNTHETIC.json in its tree and each release root; the build finds it
    and says so in the card's title and first line, the manifest (config.synthetic) and
    `symile-bench info`; the card claims no PhysioNet licence."""
    root, out = damaged["root"], damaged["out"]
    for folder in (root, root / IV, root / ECG, root / CXR):
        assert json.loads((folder / SYNTHETIC_MARKER).read_text())["synthetic"] is True
    card = (out / "README.md").read_text().split("---\n", 2)[2].strip().splitlines()
    assert card[0].startswith("# SYNTHETIC Symile-MIMIC")
    assert card[2].startswith("**SYNTHETIC DATA: this is not Symile-MIMIC.**")
    assert "inherits the PhysioNet" not in "\n".join(card)
    assert json.loads((out / "manifest.json").read_text())["config"]["synthetic"] is True
    info = run_cli("info", out).stdout.splitlines()
    assert info[0].startswith("SYNTHETIC Symile-MIMIC"), info
    assert "synthetic=True" in info[-1]


def test_sources_without_the_marker_get_the_real_card(tree, tmp_path):
    """The same tables and media without fake-mimic's marker build as real Symile-MIMIC:
    real title, PhysioNet licence, config.synthetic false (so the marker is what decides);
    `synthetic` is recorded, never a `build mimic` option."""
    real = copy_tree(tree, tmp_path / "real")
    for root in (ECG, CXR):  # copy_tree copies the release roots' files, the marker with them
        (real / root / SYNTHETIC_MARKER).unlink()
    out = tmp_path / "out"
    build(real, out, "--cohort-only")
    card = (out / "README.md").read_text()
    assert "\n# Symile-MIMIC\n" in card and "SYNTHETIC" not in card
    assert "inherits the PhysioNet" in card
    assert json.loads((out / "manifest.json").read_text())["config"]["synthetic"] is False
    assert run_cli("info", out).stdout.startswith("Symile-MIMIC")
    assert "--synthetic" not in run_cli("build", "mimic", "--help").stdout
