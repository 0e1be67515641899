"""`symile-bench reproduce m3`: the paper's Figure 4 (Symile-M3 at w = 2, 5 and 10, and the
missing-data results at w = 2 with each modality missing with probability 0.5 and 0.65) from
the embedded offline default, with the small CPU encoders of the recipe; the report puts each
number beside the paper's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from symile_bench.baselines.reproduce import DatasetBuild, NoOptions, Plan, Request
from symile_bench.baselines.runs import Run, RunSummary

#: rows (train, validation, test) per w and training overrides, full and --quick.
#: The full run departs from the embedded default's 8K / 1K / 1K in three places:
#: - 40K train rows at w = 5: at 8K each pool image occurs about 3 times in training, too few
#:   for these small encoders (Symile 0.37 at w = 2); at 40K, 16 times.
#: - 120K train rows (2K validation) at w = 2, whose dataset also holds the missing-data config:
#:   with each modality missing with probability 0.5 only 12.5% of rows are complete, and
#:   Symile trained on missing0.5 reached 0.43 from 40K rows (5K complete) but 0.97 from 120K
#:   (15K complete, 250 complete validation rows to select on). Complete runs train on the same
#:   samples.
#: - 40K train rows at w = 10, as at w = 5 (its text has ten words, its audio ten languages).
#: - The w = 2 dataset also holds missing0.65 (4.3% complete: about 5K complete train rows,
#:   too few for validation on complete rows alone, so it selects on all of them); the paper's
#:   point is that Symile stays above CLIP (complete data) even there.
#: - 10K test rows: the candidates are all test images and the query's own image is always
#:   among them, so with 1K rows (about 4 images per class) the target class has one image
#:   more than a distractor class on average, which lifts a model that cannot tell them apart
#:   above 1/w (CLIP 0.547 [0.515, 0.577] at w = 2); with 10K rows (about 41 per class) the
#:   lift is about 0.006. docs/baselines.md has the numbers.
SIZES = {
    "full": {2: (120_000, 2_000, 10_000), 5: (40_000, 1_000, 10_000), 10: (40_000, 1_000, 10_000)},
    "quick": {2: (2_000, 500, 500), 5: (2_000, 500, 500), 10: (2_000, 500, 500)},
}
OVERRIDES: dict[str, dict[str, Any]] = {"full": {}, "quick": {"epochs": 8}}
#: each distinct clip and image stored once, the rows holding its id: the same samples and
#: media as inline storage (identical features), with a fraction of the disk (the inline
#: full run wrote 11 GB, mostly copies of 2.6K media in 120K rows) and of the build's writing
STORAGE = "pooled"
#: the missing-data probabilities of the paper's Figure 4 (w = 2): 12.5% and 4.3% complete
MISSING_PROBS = ("0.5", "0.65")
MISSING = tuple(f"missing{p}" for p in MISSING_PROBS)
LANGUAGES = {2: "en,el", 5: "en,el,hi,ja,uk", 10: "ar,el,en,hi,ja,ko,te,th,uk,zh"}
NOTE = (
    "Data: the embedded offline default (emoji images drawn from a pool of 10 per class, "
    "espeak-ng speech from a pool of 100 clips per language) instead of ImageNet + Common "
    "Voice. The full run has 40K train rows at w = 5 and 10 (5× the embedded default's 8K, "
    "which is too few for these small encoders: Symile 0.37 at w = 2; the paper trained on "
    "10M) and 120K at w = 2, whose missing0.5 config keeps only 12.5% of rows complete (from "
    "40K rows, 5K complete, Symile reached 0.43) and missing0.65 4.3% (about 5K complete "
    "rows), and 10K test rows (with 1K, a class has about 4 test "
    "images and the query's own image always counts, which lifts CLIP above 1/w). Encoders: "
    "small CPU models on fixed features (log-mel statistics → MLP; 16×16 pixels + RGB "
    "histogram → MLP; a script-gated bag of hashed word embeddings for text) instead of "
    "Whisper / CLIP / XLM-R. "
    "Same encoders, optimiser and schedule for both objectives (AdamW, O(N) negatives for "
    "Symile, best-validation-loss checkpoint with early stopping); one seed. Intervals are "
    "percentile bootstrap intervals over the test queries (the paper reports the mean of 10 "
    "bootstrap samples)."
)


class M3Reproduction:
    description = (
        "The paper's Symile-M3 results (Figure 4: w = 2, 5 and 10, and missing data at w = 2 "
        "with probability 0.5 and 0.65), from the embedded offline default with small CPU "
        "encoders, beside the paper's numbers."
    )
    Options = NoOptions
    # measured on the 2-core reference machine: 34 min 56 s for Symile and CLIP; 48 min 35 s
    # with GRAM and TRIANGLE added
    full_minutes = 35
    peer_minutes = 7

    @staticmethod
    def _mode(request: Request) -> str:
        return "quick" if request.is_quick else "full"

    def plan(self, request: Request) -> Plan:
        mode, out = self._mode(request), request.out
        sizes = SIZES[mode]

        def options(w: int) -> dict[str, Any]:
            rows = dict(zip(("train_n", "val_n", "test_n"), sizes[w], strict=True))
            extra = {"missing_prob": ",".join(MISSING_PROBS)} if w == 2 else {}
            return {"languages": LANGUAGES[w], "storage": STORAGE, **extra, **rows}

        data = {w: out / "data" / f"w{w}" for w in sizes}
        overrides = OVERRIDES[mode]
        # few complete rows: the validation loss (on its complete rows) is noisier, wait longer
        missing_overrides = overrides if request.is_quick else {**overrides, "patience": 15}

        def run(w: int, loss: str, config: str = "complete") -> Run:
            """A run on ``config``; every model is evaluated on the complete config's test split
            (the same samples in every config; one split, so results pair across configs)."""
            tag = f"w{w}-{loss}" + ("" if config == "complete" else f"-{config}")
            return Run(
                data[w],
                config,
                loss,
                out / "models" / tag,
                out / "results" / f"{tag}.json",
                seed=request.seed,
                overrides=missing_overrides if config != "complete" else overrides,
                cache_dir=out / "features" / f"w{w}",
                eval_configs=() if config == "complete" else ("complete",),
            )

        # longest first (the missing-data runs, then by train rows), so two workers finish
        # together; within a w, the objectives in the order asked for
        by_rows = sorted(sizes, key=lambda w: -sizes[w][0])
        runs = [
            *(run(2, "symile", config) for config in MISSING),
            *(run(w, loss) for w in by_rows for loss in request.objectives),
        ]
        builds = [DatasetBuild("m3", options(w), data[w]) for w in sizes]
        return Plan(builds, runs)

    def report(
        self, request: Request, summaries: Sequence[RunSummary], wall_seconds: float
    ) -> Path:
        from builders.m3.models.report import write_m3_report

        return write_m3_report(
            request.out,
            summaries,
            tuple(SIZES[self._mode(request)]),
            sizes=SIZES[self._mode(request)],
            settings_note=NOTE,
            missing=MISSING,
            wall_seconds=wall_seconds,
            quick=request.quick,
        )


REPRODUCTION = M3Reproduction()
