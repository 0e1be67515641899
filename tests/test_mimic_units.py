"""Unit tests for the tricky parts of the Symile-MIMIC builder: the direct WFDB reader against
`wfdb.rdrecord`, window boundaries, StudyTime parsing, streamed lab selection, percentiles,
retrieval sets, splits and CXR geometry."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from builders.mimic.build import ecg as ecg_io
from builders.mimic.build.cohort import load_admissions
from builders.mimic.build.constants import ECG_LEAD_NAMES
from builders.mimic.build.cxr_selection import study_datetimes
from builders.mimic.build.fake import generate
from builders.mimic.build.lab_selection import select_labs
from builders.mimic.build.media import center_box, cxr_png, resized_size
from builders.mimic.build.report_counts import Counter
from builders.mimic.build.sources import locate
from builders.mimic.build.splits import (
    DROPPED,
    TEST,
    TRAIN,
    VALIDATION,
    draw_candidates,
    lab_percentiles,
    split_by_admissions,
    split_by_patient,
)
from builders.mimic.build.windows import AdmissionIndex, covered, first_valid, window_ranges
from symile_bench.errors import SourceError
from symile_bench.source_tables import read_table

H = 3600


def write_record(path: Path, digital: np.ndarray, specs: list[str] | None = None) -> Path:
    """A format-16 record with per-lead `gain(baseline)/mV`-style specs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    specs = specs or ["200.0(0)/mV"] * 12
    lines = [f"{path.name} 12 500 5000 10:00:00 01/01/2150"]
    for lead in range(12):
        lines.append(
            f"{path.name}.dat 16 {specs[lead]} 16 0 {digital[0, lead]} 0 0 {ECG_LEAD_NAMES[lead]}"
        )
    path.with_name(path.name + ".hea").write_text("\n".join(lines) + "\n# a comment\n")
    path.with_name(path.name + ".dat").write_bytes(digital.astype("<i2").tobytes())
    return path


def random_digital(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-2000, 2000, size=(5000, 12)).astype(np.int16)


def test_direct_reader_equals_wfdb_rdrecord(tmp_path):
    """Physical values from the direct format-16 reader equal wfdb.rdrecord's p_signal exactly,
    including NaN for -32768, per-lead gains and baselines, and a baseline taken from adc_zero."""
    wfdb = pytest.importorskip("wfdb")
    digital = random_digital(0)
    digital[100:120, 3] = -32768
    specs = [
        "200.0(0)/mV",
        "1000.0(-3)/mV",
        "200.0(7)/mV",
        "400(0)/mV",
        "200.0/mV",
        "250.5(12)/uV",
        *(["200.0(0)/mV"] * 6),
    ]
    record = write_record(tmp_path / "r1", digital, specs)
    ours = ecg_io.read_physical(record)
    theirs = wfdb.rdrecord(str(record)).p_signal
    np.testing.assert_array_equal(ours, theirs)
    assert np.isnan(ours[100:120, 3]).all()
    assert ecg_io.check(record) == ecg_io.NAN


def test_other_wfdb_formats_fall_back_to_wfdb(tmp_path):
    """A record the direct reader does not cover (format 212) is read by wfdb, identically."""
    wfdb = pytest.importorskip("wfdb")
    signal = random_digital(1).astype(np.float64) / 200
    wfdb.wrsamp(
        "r212",
        fs=500,
        units=["mV"] * 12,
        sig_name=list(ECG_LEAD_NAMES),
        p_signal=signal,
        fmt=["212"] * 12,
        adc_gain=[200.0] * 12,
        baseline=[0] * 12,
        write_dir=str(tmp_path),
    )
    record = tmp_path / "r212"
    np.testing.assert_array_equal(ecg_io.read_physical(record), wfdb.rdrecord(str(record)).p_signal)
    assert ecg_io.check(record) == ecg_io.OK


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        ("ok", ecg_io.OK),
        ("nan", ecg_io.NAN),
        ("zeros", ecg_io.ALL_ZERO),
        ("zeros_with_baseline", ecg_io.ALL_ZERO),
        ("constant", ecg_io.CONSTANT),
        ("one_flat_lead", ecg_io.OK),
        ("no_dat", ecg_io.MISSING),
        ("no_hea", ecg_io.MISSING),
        ("garbage_header", ecg_io.CORRUPT),
        ("short_header", ecg_io.CORRUPT),
        ("11_leads", ecg_io.BAD_SHAPE),
        ("truncated", ecg_io.TRUNCATED),
        ("dat_outside_its_folder", ecg_io.CORRUPT),
    ],
)
def test_check_classifies_each_kind_of_record(tmp_path, make, expected):
    """Only 'ok' records can be chosen; each defect gets its own reason code."""
    digital = random_digital(2)
    specs = None
    if make == "nan":
        digital[4999, 11] = -32768
    elif make == "zeros":
        digital[:] = 0
    elif make == "zeros_with_baseline":  # digital == baseline everywhere: physical all zero
        digital[:] = 5
        specs = ["200.0(5)/mV"] * 12
    elif make == "constant":
        digital[:] = 40
    elif make == "one_flat_lead":
        digital[:, 0] = 0
    record = write_record(tmp_path / "rec", digital, specs)
    hea, dat = record.with_suffix(".hea"), record.with_suffix(".dat")
    if make == "no_dat":
        dat.unlink()
    elif make == "no_hea":
        hea.unlink()
    elif make == "garbage_header":
        hea.write_text("not a header at all\n")
    elif make == "short_header":
        hea.write_text("\n".join(hea.read_text().splitlines()[:5]) + "\n")
    elif make == "11_leads":
        hea.write_text(hea.read_text().replace(" 12 500 5000", " 11 500 5000", 1))
    elif make == "truncated":
        dat.write_bytes(dat.read_bytes()[:70_000])
    elif make == "dat_outside_its_folder":  # never opened: it could be outside the root
        hea.write_text(hea.read_text().replace("rec.dat ", "../rec.dat "))
    assert ecg_io.check(record) == expected
    statuses = ecg_io.check_many([record, record], threads=2)
    assert statuses == [expected, expected]


def test_scaling_is_the_releases_min_max_in_float64_then_float32():
    """scale() equals torch's `2 (x - min) / (max - min) - 1` on float64, cast to float32."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).normal(size=(5000, 12))
    t = torch.from_numpy(x)
    expected = (2 * (t - t.min()) / (t.max() - t.min()) - 1).to(torch.float32).numpy()
    ours = ecg_io.scale(x)
    assert ours.dtype == np.float32 and ours.shape == (5000, 12)
    np.testing.assert_array_equal(ours, expected)
    assert ours.min() == -1 and ours.max() == 1


def _index(admit: list[int], subjects: list[int]) -> AdmissionIndex:
    n = len(admit)
    return AdmissionIndex.build(
        np.arange(1, n + 1), np.asarray(subjects), np.asarray(admit), "test"
    )


def test_an_odd_quote_count_alone_does_not_refuse_a_valid_csv(tmp_path):
    """The quote count only triggers the strict check: a literal quote inside an unquoted
    field (valid for pyarrow and Python's csv) keeps every row; a quote that never closes is
    refused naming its line."""
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,5" film\n2,"x"\n3,y\n')
    assert read_table(path, {"a": pa.int64()})["a"].to_pylist() == [1, 2, 3]
    path.write_text('a,b\n1,x\n2,"y\n3,z\n')
    with pytest.raises(SourceError, match=r"t\.csv: line 3: a quoted field"):
        read_table(path, {"a": pa.int64()})


def test_windows_are_inclusive_or_exclusive_exactly_at_the_boundaries():
    """ECG/lab window [-24 h, +24 h] includes both ends; CXR (24 h, 72 h] excludes 24 h and
    includes 72 h; events of another subject never match; the earliest valid event wins."""
    t0 = 5_000_000_000
    adm = _index([t0, t0], [7, 8])
    offsets = np.array([-24 * H - 1, -24 * H, 24 * H, 24 * H + 1, 72 * H, 72 * H + 1])
    ev_subject = np.r_[np.full(offsets.size, 7), [8]]
    ev_time = np.r_[t0 + offsets, [t0 + 30 * H]]
    keys, usable = adm.event_keys(ev_subject, ev_time)
    assert usable.all()
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    start, stop = window_ranges(keys, adm, -24 * H, 24 * H)
    assert list(ev_time[order][start[0] : stop[0]] - t0) == [-24 * H, 24 * H]
    start, stop = window_ranges(keys, adm, 24 * H, 72 * H, lo_open=True)
    assert list(ev_time[order][start[0] : stop[0]] - t0) == [24 * H + 1, 72 * H]
    assert list(ev_time[order][start[1] : stop[1]] - t0) == [30 * H]
    valid = np.ones(keys.size, dtype=bool)
    valid[start[0]] = False  # the earliest is unusable: the next one is chosen
    chosen = first_valid(start, stop, valid)
    assert ev_time[order][chosen[0]] - t0 == 72 * H
    assert list(covered(keys.size, start, stop)) == [False, False, False, True, True, False, True]


def test_study_time_parsing_drops_fractions_and_refuses_malformed_values():
    """StudyTime loses its leading zeros in the CSV ('5012.25' is 00:50:12) and its fraction
    is dropped (not rounded); blanks are null; a clock-style value is an error naming it."""
    got = study_datetimes(
        pa.array(["21500101", "21500101", "21500101", None]),
        pa.array(["5012.25", "235959.999", "0", "120000"]),
        "meta.csv.gz",
    )
    expected = np.array(
        ["2150-01-01T00:50:12", "2150-01-01T23:59:59", "2150-01-01T00:00:00"], dtype="datetime64[s]"
    )
    assert got.to_pylist()[3] is None
    assert list(got.to_numpy(zero_copy_only=False)[:3]) == list(expected)
    for date, clock, column in (
        ("21500101", "10:30:00", "StudyTime"),
        ("21500101", "246000", "StudyTime"),
        ("2150-01-01", "100000", "StudyDate"),
    ):
        with pytest.raises(SourceError, match=f"meta.csv.gz: column '{column}'"):
            study_datetimes(pa.array([date]), pa.array([clock]), "meta.csv.gz")


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("units") / "fake", 60, seed=5).root


def test_lab_selection_does_not_depend_on_how_labevents_is_chunked(small_tree):
    """Streaming labevents in 4 KB batches gives the same choices as one big batch: the
    running per-(admission, itemid) minimum is exact across batch boundaries."""
    src = locate(
        small_tree / "mimiciv/2.2",
        small_tree / "mimic-iv-ecg/1.0",
        small_tree / "mimic-cxr-jpg/2.0.0",
    )
    adm = load_admissions(src, Counter())
    big = select_labs(adm, src.labevents, block_size=64 << 20)
    small = select_labs(adm, src.labevents, block_size=4096)
    np.testing.assert_array_equal(big.value, small.value)
    np.testing.assert_array_equal(big.labevent_id, small.labevent_id)
    assert big.stats == small.stats and big.stats["rows"] > 1000


def test_percentiles_use_train_values_only():
    """Changing a validation value moves no train percentile (and no other validation one);
    changing a train value does. Values are the train ECDF, ties share the top rank, a missing
    lab gets the train mean percentile, a lab never seen in train gets 0."""
    rng = np.random.default_rng(4)
    values = np.round(rng.normal(size=(40, 3)), 1)
    values[rng.random((40, 3)) < 0.2] = np.nan
    values[:, 2] = np.nan
    values[30, 2] = 1.0  # only outside train
    is_train = np.arange(40) < 30
    base = lab_percentiles(values, is_train)
    train0 = np.sort(values[:30, 0][~np.isnan(values[:30, 0])])
    seen = ~np.isnan(values[:, 0])
    np.testing.assert_allclose(
        base.percentile[seen, 0],
        np.searchsorted(train0, values[seen, 0], "right") / train0.size,
        rtol=1e-6,
    )
    np.testing.assert_allclose(base.percentile[~seen, 0], base.train_mean[0], rtol=1e-6)
    assert base.missing[~seen, 0].all() and not base.missing[seen, 0].any()
    assert (base.percentile[:, 2] == 0).all() and np.isnan(base.train_mean[2])
    assert not base.missing[30, 2] and base.missing[31, 2]

    changed = values.copy()
    changed[35, 0] = 99.0  # a validation row
    after = lab_percentiles(changed, is_train)
    np.testing.assert_array_equal(after.percentile[:30], base.percentile[:30])
    np.testing.assert_array_equal(after.percentile[30:35], base.percentile[30:35])
    assert after.percentile[35, 0] == 1.0
    changed = values.copy()
    changed[np.flatnonzero(seen[:30])[0], 0] = -99.0  # a train row
    assert not np.array_equal(
        lab_percentiles(changed, is_train).percentile[:30], base.percentile[:30]
    )


def test_candidate_sets_are_distinct_include_the_query_and_are_uniform():
    """Each row holds the query plus 9 distinct others; the query's slot and the negatives are
    uniform; the draw is seeded; a million queries hold distinct ids (their speed:
    benchmarks/small_timings.py)."""
    rng = np.random.default_rng(0)
    sets = draw_candidates(40, 10, rng)
    assert sets.shape == (40, 10)
    for i, row in enumerate(sets):
        assert len(set(row)) == 10 and i in row and row.min() >= 0 and row.max() < 40
    again = draw_candidates(40, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(sets, again)
    from scipy.stats import chisquare

    many = draw_candidates(20, 10, np.random.default_rng(1))
    for _ in range(300):
        many = np.concatenate([many, draw_candidates(20, 10, np.random.default_rng(_ + 2))])
    query = np.tile(np.arange(20), many.shape[0] // 20)
    slot = np.argmax(many == query[:, None], axis=1)
    assert chisquare(np.bincount(slot, minlength=10)).pvalue > 1e-3
    others = (many - query[:, None]) % 20  # distance to the query, 1..19 for negatives
    assert chisquare(np.bincount(others[others > 0], minlength=20)[1:]).pvalue > 1e-3
    big = draw_candidates(1_000_000, 10, np.random.default_rng(2))
    assert (np.sort(big, axis=1)[:, 1:] != np.sort(big, axis=1)[:, :-1]).all()
    with pytest.raises(ValueError):
        draw_candidates(9, 10, rng)


def test_splits_are_patient_disjoint_and_release_sizes_are_exact():
    rng = np.random.default_rng(0)
    subject = rng.integers(0, 3000, size=1000)
    by_patient = split_by_patient(subject, 0.05, 0.07, np.random.default_rng(1)).split
    sets = {code: set(subject[by_patient == code]) for code in (TRAIN, VALIDATION, TEST)}
    assert not sets[TRAIN] & sets[VALIDATION] and not sets[TRAIN] & sets[TEST]
    assert not sets[VALIDATION] & sets[TEST]
    n_subjects = len(set(subject))
    assert len(sets[TEST]) == round(0.05 * n_subjects)
    result = split_by_admissions(subject, 600, 100, np.random.default_rng(1))
    split = result.split
    assert (split == TRAIN).sum() == 600 and (split == VALIDATION).sum() == 100
    sets = {code: set(subject[split == code]) for code in (TRAIN, VALIDATION, TEST)}
    assert not sets[TRAIN] & (sets[VALIDATION] | sets[TEST]) and not sets[VALIDATION] & sets[TEST]
    assert result.overlap_dropped == (split == DROPPED).sum() > 0


def test_cxr_geometry_follows_torchvision_resize_and_center_crop(tmp_path):
    """Resize(320): smaller edge 320, other int(320 * long / short); CenterCrop(320): offsets
    round((edge - 320) / 2) with Python's rounding; grayscale kept (RGB would repeat it)."""
    assert resized_size(2544, 3056, 320) == (320, 384)
    assert resized_size(3056, 2544, 320) == (384, 320)
    assert center_box(320, 384, 320) == (0, 32, 320, 352)
    assert center_box(321, 320, 320) == (0, 0, 320, 320)  # round(0.5) == 0
    assert center_box(323, 320, 320) == (2, 0, 322, 320)  # round(1.5) == 2
    pixels = np.random.default_rng(0).integers(0, 256, size=(500, 410), dtype=np.uint8)
    path = tmp_path / "x.jpg"
    Image.fromarray(pixels, "L").save(path, quality=95)
    val = Image.open(io.BytesIO(cxr_png(path, 320, crop=True)))
    train = Image.open(io.BytesIO(cxr_png(path, 320, crop=False)))
    assert val.size == (320, 320) and val.mode == "L"
    assert train.size == (320, int(320 * 500 / 410))
    with Image.open(path) as source:
        rgb = source.convert("RGB").resize(train.size, Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(np.asarray(rgb)[:, :, 0], np.asarray(train))
    left, top, right, bottom = center_box(*train.size, 320)
    np.testing.assert_array_equal(np.asarray(train)[top:bottom, left:right], np.asarray(val))


def test_planted_signal_shapes_each_modality():
    """--signal: higher-order (M3's structure) makes the CXR independent of the ECG alone,
    half-determined by the labs alone and determined by the two jointly; xor makes it the XOR
    of both codes (independent of each alone); pairwise shares one code; and each code leaves
    a mark: the ECG heart rate, the labs' values, the CXR's bright opacities."""
    from scipy.stats import chi2_contingency

    from builders.mimic.build import synth
    from builders.mimic.build.fake_bulk import bulk_labs

    rng = np.random.default_rng(0)
    weights = 1 << np.arange(4)

    def dependence(codes: dict, other: str) -> float:
        table = np.zeros((16, 16))
        np.add.at(table, (codes["cxr"] @ weights, codes[other] @ weights), 1)
        return chi2_contingency(table).pvalue

    codes = synth.latent_codes(4000, "higher-order", rng)
    np.testing.assert_array_equal(codes["cxr"][:, :2], (codes["ecg"] ^ codes["labs"])[:, :2])
    np.testing.assert_array_equal(codes["cxr"][:, 2:], codes["labs"][:, 2:])
    assert dependence(codes, "ecg") > 1e-3 and dependence(codes, "labs") < 1e-12
    codes = synth.latent_codes(4000, "xor", rng)
    np.testing.assert_array_equal(codes["cxr"], codes["ecg"] ^ codes["labs"])
    assert dependence(codes, "ecg") > 1e-3 and dependence(codes, "labs") > 1e-3
    shared = synth.latent_codes(100, "pairwise", rng)
    assert (shared["ecg"] == shared["cxr"]).all() and (shared["labs"] == shared["cxr"]).all()

    ecg = synth.EcgSynth(rng)
    slow = ecg.digital(np.array([0, 0, 0, 0]), rng)[:, 1].astype(float)
    fast = ecg.digital(np.array([1, 0, 0, 0]), rng)[:, 1].astype(float)

    def beats(x: np.ndarray) -> int:
        return int(((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:]) & (x[1:-1] > 0.6 * x.max())).sum())

    assert beats(fast) > beats(slow) + 3

    n = 400
    lab_code = rng.integers(0, 2, size=(n, 4)).astype(np.int8)
    chunk = next(
        bulk_labs(
            np.arange(n) + 10_000_000,
            np.arange(n) + 20_000_000,
            np.full(n, 5_000_000_000),
            np.full(n, 5 * 86400),
            lab_code,
            10,
            rng,
            first_id=1,
        )
    )
    for bit, itemid in enumerate(synth.SIGNAL_LAB_ITEMS):
        rows = (chunk["itemid"] == itemid) & ~np.isnan(chunk["valuenum"])
        owner = chunk["subject_id"][rows] - 10_000_000
        values = chunk["valuenum"][rows]
        _, sd = synth.lab_distribution(np.array([itemid]))
        gap = values[lab_code[owner, bit] == 1].mean() - values[lab_code[owner, bit] == 0].mean()
        assert 1.2 * sd[0] < gap < 1.8 * sd[0]

    cxr = synth.CxrSynth(rng)
    for bit in range(4):
        on, off = np.zeros(4, dtype=np.int8), np.zeros(4, dtype=np.int8)
        on[bit] = 1
        bright = [
            np.asarray(
                Image.open(io.BytesIO(cxr.jpeg(code, np.random.default_rng(7)))), dtype=float
            )
            for code in (on, off)
        ]
        shape = bright[0].shape
        mask = cxr.blobs[(shape[1], shape[0])][bit] > 0
        assert bright[0][mask].mean() > bright[1][mask].mean() + 40


def test_fake_tree_is_byte_reproducible_from_its_seed(tmp_path):
    """The same --seed writes the same bytes (gzip headers included); another seed does not."""
    trees = [
        generate(tmp_path / name, 30, seed=seed).root
        for name, seed in (("a", 1), ("b", 1), ("c", 2))
    ]

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "README.md"
        }

    assert files(trees[0]) == files(trees[1])
    assert files(trees[0]) != files(trees[2])
