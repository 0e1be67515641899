"""The synthetic tree's rows before they are written: every table's columns, planted rows first
(one helper call per row, :class:`Planter`) then bulk arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from builders.mimic.build import synth

__all__ = ["DAY", "HOUR", "Planter", "Rows"]

HOUR, DAY = 3600, 86400


@dataclass
class Rows:
    """Every row of every table, planted first, then bulk (as numpy arrays)."""

    adm: dict[str, list[Any]] = field(
        default_factory=lambda: {"subject_id": [], "hadm_id": [], "admittime": [], "stay": []}
    )
    ecg: dict[str, list[Any]] = field(
        default_factory=lambda: {
            "subject_id": [],
            "study_id": [],
            "time": [],
            "kind": [],
            "code": [],
        }
    )
    cxr: dict[str, list[Any]] = field(
        default_factory=lambda: {
            "subject_id": [],
            "study_id": [],
            "dicom_id": [],
            "time": [],
            "view": [],
            "jpg": [],
            "code": [],
        }
    )
    no_chexpert: set[int] = field(default_factory=set)
    labs: dict[str, list[Any]] = field(
        default_factory=lambda: {
            "labevent_id": [],
            "subject_id": [],
            "hadm_id": [],
            "itemid": [],
            "time": [],
            "valuenum": [],
        }
    )

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        """One array per column: planted scalars (as objects) then bulk arrays."""
        out = {}
        for key, parts in getattr(self, name).items():
            if key == "code":
                out[key] = (
                    np.concatenate(
                        [np.asarray(p, dtype=np.int8).reshape(-1, synth.BITS) for p in parts]
                    )
                    if parts
                    else np.zeros((0, synth.BITS), dtype=np.int8)
                )
                continue
            pieces = [
                p if isinstance(p, np.ndarray) else np.array([p], dtype=object) for p in parts
            ]
            out[key] = np.concatenate(pieces) if pieces else np.zeros(0, dtype=object)
        return out


class Planter:
    """Adds the planted edge cases, one helper call per row, and records their expectations."""

    def __init__(self, rows: Rows, rng: np.random.Generator) -> None:
        self.rows, self.rng = rows, rng
        self.cases: list[dict[str, Any]] = []
        self._subject, self._hadm, self._ecg, self._study, self._lab = (
            19000000,
            29000000,
            49000000,
            59000000,
            0,
        )
        self._dicom = 0

    def subject(self) -> int:
        self._subject += 1
        return self._subject

    def admission(self, subject: int, at: int) -> int:
        self._hadm += 1
        for key, value in (
            ("subject_id", subject),
            ("hadm_id", self._hadm),
            ("admittime", at),
            ("stay", 5 * DAY),
        ):
            self.rows.adm[key].append(value)
        return self._hadm

    def _code(self) -> np.ndarray:
        return self.rng.integers(0, 2, size=(1, synth.BITS), dtype=np.int8)

    def ecg(self, subject: int, at: int, kind: str = "ok", study: int | None = None) -> int:
        if study is None:
            self._ecg += 1
            study = self._ecg
        for key, value in (
            ("subject_id", subject),
            ("study_id", study),
            ("time", at),
            ("kind", kind),
            ("code", self._code()),
        ):
            self.rows.ecg[key].append(value)
        return study

    def cxr(
        self,
        subject: int,
        at: float,
        view: str = "AP",
        jpg: str = "ok",
        chexpert: bool = True,
        dicom: str | None = None,
        study: int | None = None,
    ) -> str:
        if study is None:
            self._study += 1
            study = self._study
        if dicom is None:
            self._dicom += 1
            dicom = f"{self._dicom:08x}-" + "-".join(
                f"{(self._dicom * k * 2654435761) % (1 << 32):08x}" for k in (3, 5, 7, 11)
            )
        if not chexpert:
            self.rows.no_chexpert.add(study)
        for key, value in (
            ("subject_id", subject),
            ("study_id", study),
            ("dicom_id", dicom),
            ("time", at),
            ("view", view),
            ("jpg", jpg),
            ("code", self._code()),
        ):
            self.rows.cxr[key].append(value)
        return dicom

    def lab(
        self,
        subject: int,
        at: int,
        itemid: int,
        value: float | None,
        hadm: int | None = None,
        labevent_id: int | None = None,
    ) -> int:
        if labevent_id is None:
            self._lab += 1
            labevent_id = self._lab
        for key, v in (
            ("labevent_id", labevent_id),
            ("subject_id", subject),
            ("hadm_id", hadm),
            ("itemid", itemid),
            ("time", at),
            ("valuenum", value),
        ):
            self.rows.labs[key].append(v)
        return labevent_id

    def usual(
        self,
        subject: int,
        hadm: int,
        at: int,
        *,
        ecg: bool = True,
        cxr: bool = True,
        labs: bool = True,
    ) -> dict[str, Any]:
        """A valid ECG (+1 h), AP CXR (+36 h) and two labs (+2 h), unless switched off."""
        expect: dict[str, Any] = {}
        if ecg:
            expect["ecg_study_id"] = self.ecg(subject, at + HOUR)
        if cxr:
            expect["cxr_dicom_id"] = self.cxr(subject, at + 36 * HOUR)
        if labs:
            self.lab(subject, at + 2 * HOUR, 51221, 40.5, hadm)
            self.lab(subject, at + 2 * HOUR, 50912, 1.1, hadm)
            expect["labs"] = {"51221": 40.5, "50912": 1.1}
        return expect

    def case(
        self, name: str, hadm: int, rule: str, kept: bool, reason: str | None = None, **expect: Any
    ) -> None:
        self.cases.append(
            {
                "case": name,
                "rule": rule,
                "hadm_id": hadm,
                "kept": kept,
                "drop_reason": reason,
                **expect,
            }
        )
