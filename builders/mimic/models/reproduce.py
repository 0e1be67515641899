"""`symile-bench reproduce mimic`: Symile vs CLIP on Symile-MIMIC. With your three MIMIC
downloads it builds the real cohort (the builder's default patient fractions, close to the
release's 10,000 / 750 / 464); without them it writes a SYNTHETIC tree (`fake-mimic --signal
higher-order`) and says so at the top of report.md."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from symile_bench.baselines.reproduce import DatasetBuild, Plan, Request
from symile_bench.baselines.runs import Run, RunSummary
from symile_bench.errors import ConfigError

#: without sources: a SYNTHETIC tree of this many admissions (about 57% survive the cohort
#: rules), split release-style by admission counts (train, validation; the rest is test), and
#: the training overrides. 9K train rows: with 4.5K the recipe needed all of 30 epochs to reach
#: 0.29 validation top-1 (the three-way signal emerges slowly from random encoders, racing
#: their memorisation of the training triples); 1.4K test rows give intervals of about ± 0.02.
#: Patience 0: the validation loss sat on a plateau from epoch 8 to 22 before improving again
#: (seed 0; docs/baselines.md, "MIMIC").
FAKE = {"full": (30_000, 14_000, 1_500), "quick": (20_000, 9_000, 1_000)}
OVERRIDES: dict[str, dict[str, Any]] = {
    "full": {"epochs": 60, "patience": 0},
    "quick": {"epochs": 30, "patience": 0},
}
SIGNAL = "higher-order"
SOURCES = ("mimic_iv", "mimic_iv_ecg", "mimic_cxr_jpg")


class MimicOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mimic_iv: Path | None = Field(
        None,
        description="Root of your MIMIC-IV 2.2 download (with --mimic-iv-ecg and "
        "--mimic-cxr-jpg; split by the builder's default patient fractions). Without the three, "
        "reproduce mimic writes a SYNTHETIC tree (fake-mimic --signal higher-order) to "
        "OUT/sources and says so in report.md.",
    )
    mimic_iv_ecg: Path | None = Field(None, description="Root of your MIMIC-IV-ECG 1.0 download.")
    mimic_cxr_jpg: Path | None = Field(
        None, description="Root of your MIMIC-CXR-JPG 2.0.0 download."
    )


def fake_tree(root: Path, admissions: int, seed: int) -> dict[str, Path]:
    """Write (or reuse: same admissions, seed and signal) the synthetic tree under ``root``."""
    from builders.mimic.build.fake import CXR_DIR, ECG_DIR, IV_DIR, generate

    marker = root.with_name(f"{root.name}.json")
    wanted = {"admissions": admissions, "seed": seed, "signal": SIGNAL}
    if root.exists():
        if not marker.is_file() or json.loads(marker.read_text("utf-8")) != wanted:
            raise ConfigError(
                f"{root} holds another (or an unfinished) synthetic tree; delete "
                f"it, or choose another --out, to generate {wanted}"
            )
    else:
        generate(root, admissions, seed=seed, signal=SIGNAL)
        marker.write_text(json.dumps(wanted) + "\n", "utf-8")
    return dict(zip(SOURCES, (root / IV_DIR, root / ECG_DIR, root / CXR_DIR), strict=True))


class MimicReproduction:
    description = (
        "Symile vs CLIP (and any --objectives) on Symile-MIMIC: your MIMIC downloads, or a "
        "SYNTHETIC tree without them, beside the paper's 0.435 / 0.387."
    )
    Options = MimicOptions
    # estimated on its synthetic tree (docs/baselines.md has the runs)
    full_minutes = 20
    peer_minutes = 10

    @staticmethod
    def _mode(request: Request) -> str:
        return "quick" if request.is_quick else "full"

    def plan(self, request: Request) -> Plan:
        options = request.options
        assert isinstance(options, MimicOptions)
        given = {name: getattr(options, name) for name in SOURCES if getattr(options, name)}
        out, mode = request.out, self._mode(request)
        if given:
            absent = [name for name in SOURCES if name not in given]
            if absent:
                raise ConfigError(
                    "reproduce mimic: give all three source roots (missing: "
                    f"{', '.join('--' + a.replace('_', '-') for a in absent)})"
                )
            build_options: dict[str, Any] = dict(given)
        else:
            admissions, train_n, val_n = FAKE[mode]
            build_options = {
                **fake_tree(out / "sources", admissions, request.seed),
                "train_n": train_n,
                "val_n": val_n,
            }
        data = out / "data"
        runs = [
            Run(
                data,
                None,
                loss,
                out / "models" / loss,
                out / "results" / f"{loss}.json",
                seed=request.seed,
                overrides=OVERRIDES[mode],
                cache_dir=out / "features",
            )
            for loss in request.objectives
        ]
        return Plan([DatasetBuild("mimic", build_options, data)], runs)

    def report(
        self, request: Request, summaries: Sequence[RunSummary], wall_seconds: float
    ) -> Path:
        from builders.mimic.models.report import MimicData, write_mimic_report

        options = request.options
        assert isinstance(options, MimicOptions)
        if options.mimic_iv:
            data = MimicData(synthetic=False)
        else:
            data = MimicData(
                synthetic=True,
                admissions=FAKE[self._mode(request)][0],
                signal=SIGNAL,
                seed=request.seed,
            )
        return write_mimic_report(
            request.out, summaries, data, wall_seconds=wall_seconds, quick=request.quick
        )


REPRODUCTION = MimicReproduction()
