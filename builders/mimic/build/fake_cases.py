"""The planted edge cases: one small group of admissions per cohort rule, each with the outcome
the release's rules give (written to `fake_cases.json`, which the tests check the build against)."""

from __future__ import annotations

import numpy as np

from builders.mimic.build.fake_rows import DAY, HOUR, Planter

__all__ = ["plant_cases"]

PLANTED_T0 = int(np.datetime64("2150-01-01T10:00:00", "s").astype(np.int64))


def plant_cases(p: Planter) -> None:
    """One group of admissions per cohort rule (names say what each proves)."""
    t = PLANTED_T0
    step = 40 * DAY

    def fresh() -> tuple[int, int, int]:
        nonlocal t
        t += step
        subject = p.subject()
        return subject, p.admission(subject, t), t

    # ECG window [-24 h, +24 h], both ends inclusive; earliest wins
    s, h, a = fresh()
    e = p.usual(s, h, a, ecg=False)
    first = p.ecg(s, a - 24 * HOUR)
    p.ecg(s, a + 24 * HOUR)
    p.case("ecg_at_minus_24h_included", h, "ecg window", True, ecg_study_id=first, **e)
    s, h, a = fresh()
    e = p.usual(s, h, a, ecg=False)
    p.case(
        "ecg_at_plus_24h_included", h, "ecg window", True, ecg_study_id=p.ecg(s, a + 24 * HOUR), **e
    )
    s, h, a = fresh()
    p.usual(s, h, a, ecg=False)
    p.ecg(s, a - 24 * HOUR - 1)
    p.ecg(s, a + 24 * HOUR + 1)
    p.case("ecg_just_outside_window_dropped", h, "ecg window", False, "no_ecg_in_window")

    # CXR window (24 h, 72 h]: +24 h excluded (also +24 h + 0.5 s: fractions are dropped)
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 24 * HOUR)
    p.cxr(s, a + 24 * HOUR + 0.5)
    p.case(
        "cxr_at_24h_excluded_at_72h_included",
        h,
        "cxr window",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 72 * HOUR)},
    )
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    chosen = p.cxr(s, a + 24 * HOUR + 1)
    p.cxr(s, a + 30 * HOUR)
    p.case(
        "cxr_one_second_after_24h_included", h, "cxr window", True, **{**e, "cxr_dicom_id": chosen}
    )
    s, h, a = fresh()
    p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 72 * HOUR + 1)
    p.cxr(s, a + 20 * HOUR)
    p.case("cxr_only_outside_window_dropped", h, "cxr window", False, "no_cxr_in_window")
    s = p.subject()
    t += step
    a = t - 9 * HOUR  # admitted 01:00 -> a CXR at 02:50:12.25 two days later (StudyTime 25012.25)
    h = p.admission(s, a)
    e = p.usual(s, h, a, cxr=False)
    p.case(
        "cxr_study_time_without_leading_zero",
        h,
        "cxr time parsing",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 49 * HOUR + 50 * 60 + 12.25)},
    )

    # earliest wins, for ECG, CXR and each lab; a lab before admission beats one after it
    s, h, a = fresh()
    p.ecg(s, a + 3 * HOUR)
    ecg = p.ecg(s, a + HOUR)
    p.cxr(s, a + 40 * HOUR)
    cxr = p.cxr(s, a + 30 * HOUR)
    p.lab(s, a + HOUR, 50971, 4.9, h)
    p.lab(s, a - 2 * HOUR, 50971, 3.1)
    p.lab(s, a + 5 * HOUR, 51265, 300.0, h)
    p.lab(s, a + 3 * HOUR, 51265, 210.0, h)
    p.case(
        "earliest_wins",
        h,
        "earliest",
        True,
        ecg_study_id=ecg,
        cxr_dicom_id=cxr,
        labs={"50971": 3.1, "51265": 210.0},
    )

    # ties: the smaller study_id / dicom_id / labevent_id (larger one listed first)
    s, h, a = fresh()
    p.ecg(s, a + 2 * HOUR, study=49500002)
    p.ecg(s, a + 2 * HOUR, study=49500001)
    p.cxr(s, a + 30 * HOUR, dicom="bbbbbbbb-00000000-00000000-00000000-00000000", study=59500001)
    p.cxr(s, a + 30 * HOUR, dicom="aaaaaaaa-00000000-00000000-00000000-00000000", study=59500001)
    p.lab(s, a + 2 * HOUR, 50983, 141.0, h, labevent_id=9002)
    p.lab(s, a + 2 * HOUR, 50983, 139.0, h, labevent_id=9001)
    p.case(
        "ties_take_smaller_ids",
        h,
        "ties",
        True,
        ecg_study_id=49500001,
        cxr_dicom_id="aaaaaaaa-00000000-00000000-00000000-00000000",
        labs={"50983": 139.0},
    )

    # CXR candidates: lateral views, missing and truncated JPGs are never chosen
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 25 * HOUR, view="LATERAL")
    p.cxr(s, a + 25 * HOUR + 1800, view="LL")
    p.cxr(s, a + 25 * HOUR + 2000, view="")
    p.case(
        "lateral_views_skipped",
        h,
        "cxr views",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 26 * HOUR, view="PA")},
    )
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 25 * HOUR, jpg="missing")
    p.case(
        "missing_jpg_skipped",
        h,
        "cxr files",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 27 * HOUR)},
    )
    s, h, a = fresh()
    e = p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 25 * HOUR, jpg="truncated")
    p.case(
        "truncated_jpg_skipped",
        h,
        "cxr files",
        True,
        **{**e, "cxr_dicom_id": p.cxr(s, a + 27 * HOUR)},
    )
    s, h, a = fresh()
    p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 25 * HOUR, jpg="missing")
    p.case("only_missing_jpg_dropped", h, "cxr files", False, "no_readable_cxr_in_window")
    s, h, a = fresh()
    p.usual(s, h, a, cxr=False)
    p.cxr(s, a + 30 * HOUR, chexpert=False)
    p.cxr(s, a + 40 * HOUR)
    p.case(
        "chosen_cxr_without_chexpert_dropped", h, "chexpert", False, "chosen_cxr_without_chexpert"
    )

    # ECG validity: NaN, all-zero and unreadable records are never chosen
    for kind, name in (
        ("nan", "nan_ecg_skipped"),
        ("zeros", "all_zero_ecg_skipped"),
        ("corrupt_header", "corrupt_header_ecg_skipped"),
        ("missing", "missing_ecg_files_skipped"),
        ("truncated", "truncated_ecg_skipped"),
    ):
        s, h, a = fresh()
        e = p.usual(s, h, a, ecg=False)
        p.ecg(s, a + HOUR, kind=kind)
        p.case(name, h, "ecg validity", True, **{**e, "ecg_study_id": p.ecg(s, a + 2 * HOUR)})
    s, h, a = fresh()
    p.usual(s, h, a, ecg=False)
    p.ecg(s, a + HOUR, kind="nan")
    p.case("only_nan_ecg_dropped", h, "ecg validity", False, "no_valid_ecg_in_window")

    # labs: window edges inclusive, outside ignored, empty valuenum ignored, hadm_id ignored
    s, h, a = fresh()
    e = p.usual(s, h, a, labs=False)
    p.lab(s, a - 24 * HOUR, 50902, 101.0)
    p.lab(s, a + 24 * HOUR, 50882, 24.0, h)
    p.lab(s, a - 24 * HOUR - 1, 50868, 13.0)
    p.lab(s, a + 24 * HOUR + 1, 50868, 14.0, h)
    p.lab(s, a + HOUR, 50931, None, h)
    p.lab(s, a + 2 * HOUR, 50931, 95.0, h)
    p.lab(s, a + 3 * HOUR, 50960, 2.0, hadm=29999999)
    p.case(
        "lab_window_edges_and_empty_values",
        h,
        "labs",
        True,
        **e,
        labs={"50902": 101.0, "50882": 24.0, "50931": 95.0, "50960": 2.0},
        labs_missing=["50868"],
    )
    s, h, a = fresh()
    p.usual(s, h, a, labs=False)
    p.lab(s, a - 30 * HOUR, 51221, 39.0)
    p.lab(s, a + HOUR, 51221, None, h)
    p.lab(s, a + HOUR, 51000, 5.0, h)  # not one of the 50 itemids
    p.case("no_lab_in_window_dropped", h, "labs", False, "no_lab_in_window")

    # missing modalities
    s, h, a = fresh()
    p.usual(s, h, a, ecg=False)
    p.case("no_ecg_dropped", h, "modalities", False, "no_ecg_in_window")
    s, h, a = fresh()
    p.usual(s, h, a, cxr=False)
    p.case("no_cxr_dropped", h, "modalities", False, "no_cxr_in_window")

    # overlapping admissions of one subject share the ECG, the CXR and the labs
    s, h1, a = fresh()
    h2 = p.admission(s, a + 12 * HOUR)
    ecg = p.ecg(s, a + 6 * HOUR)
    cxr = p.cxr(s, a + 50 * HOUR)
    p.lab(s, a + 8 * HOUR, 51222, 12.5, h1)
    for h in (h1, h2):
        p.case(
            "overlapping_admissions_share_records",
            h,
            "subject and time only",
            True,
            ecg_study_id=ecg,
            cxr_dicom_id=cxr,
            labs={"51222": 12.5},
        )
