"""`symile-bench reproduce xor|m3|mimic`: build the data through the library build API, train
both objectives (independent runs spread over processes), evaluate each with the harness
(percentile intervals, per-query predictions, split fingerprints; every results file is
re-scored against the answer key before it is written), and write ``report.md`` + plots."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from symile_bench.baselines.runs import Run, RunSummary, execute
from symile_bench.baselines.summary import Quick
from symile_bench.errors import ConfigError
from symile_bench.executors import available_cores, make_executor
from symile_bench.progress import progress_bar
from symile_bench.registry import COMMANDS

#: minutes of each full (not --quick) reproduction of Symile and CLIP on this 2-core machine,
#: which a --quick report's banner quotes: measured for xor (10 min 50 s) and m3 (34 min 56 s),
#: estimated for mimic on its synthetic tree (docs/baselines.md has the runs)
FULL_MINUTES = {"xor": 11, "m3": 35, "mimic": 20}
#: minutes each further objective (GRAM, TRIANGLE) adds: measured with both added, xor 30 min
#: 20 s and m3 48 min 35 s in all; estimated for mimic
PEER_MINUTES = {"xor": 10, "m3": 7, "mimic": 10}


#: the objectives every reproduction trains (the paper's comparison, which the reports' paper
#: columns need); `--objectives` may add the peer objectives beside them
REQUIRED_OBJECTIVES = ("symile", "clip")


def parse_objectives(text: str) -> tuple[str, ...]:
    """``--objectives symile,clip,gram,triangle`` as losses of the reference trainer, in order."""
    from symile_bench.baselines.losses import LOSSES

    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in LOSSES]
    if unknown:
        raise ConfigError(
            f"--objectives: unknown objective {unknown[0]!r}; choose from {', '.join(LOSSES)}"
        )
    absent = [n for n in REQUIRED_OBJECTIVES if n not in names]
    if absent:
        raise ConfigError(
            f"--objectives {text!r} lacks {', '.join(absent)}: every reproduction trains "
            f"{' and '.join(REQUIRED_OBJECTIVES)} (the paper's comparison); add the others "
            "beside them, e.g. --objectives symile,clip,gram,triangle"
        )
    return names


def full_minutes(benchmark: str, objectives: Sequence[str] = REQUIRED_OBJECTIVES) -> int:
    """About how long the full reproduction of ``objectives`` takes on 2 cores."""
    peers = len(set(objectives) - set(REQUIRED_OBJECTIVES))
    return FULL_MINUTES[benchmark] + peers * PEER_MINUTES[benchmark]


def quick_run(
    benchmark: str, quick: bool, objectives: Sequence[str] = REQUIRED_OBJECTIVES
) -> Quick | None:
    """What a report needs to know of ``--quick`` (None for a full run)."""
    return Quick(full_minutes(benchmark, objectives)) if quick else None


def build_dataset(
    name: str, options: dict[str, Any], out: Path, *, seed: int, workers: int | None, quiet: bool
) -> Path:
    """Build (or resume: identical shards are kept) ``name`` with ``options`` into ``out``."""
    from symile_bench.build import build, parse_config
    from symile_bench.registry import get_builder

    builder = get_builder(name)
    build(
        builder,
        parse_config(builder, options),
        out,
        seed=seed,
        executor=make_executor("processes", workers),
        quiet=quiet,
        warn=lambda m: None,
    )
    return out


def run_all(runs: Sequence[Run], *, workers: int | None, quiet: bool) -> list[RunSummary]:
    """Execute runs, ``workers`` at a time (each in its own process with 1 torch thread when
    parallel, since these models are too small to gain from intra-op threads)."""
    n = max(1, min(workers or available_cores(), len(runs)))
    done: list[RunSummary] = []
    with progress_bar(quiet) as progress:
        task = progress.add_task("train + evaluate", total=len(runs), unit="runs")
        if n == 1:
            for run in runs:
                done.append(execute(run))
                progress.advance(task)
            return done
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n, mp_context=context) as pool:
            futures = [pool.submit(execute, _one_thread(r)) for r in runs]
            for future in as_completed(futures):
                done.append(future.result())
                progress.advance(task)
    order = {r.results: i for i, r in enumerate(runs)}
    return sorted(done, key=lambda s: order[s.run.results])


def _one_thread(run: Run) -> Run:
    from dataclasses import replace

    return replace(run, threads=run.threads or 1)


def _xor(
    out: Path,
    *,
    quick: bool,
    workers: int | None,
    seed: int,
    quiet: bool,
    objectives: Sequence[str] = REQUIRED_OBJECTIVES,
) -> Path:
    from symile_bench.baselines.report_xor import write_xor_report

    grid = (0.0, 0.5, 1.0) if quick else tuple(round(0.1 * k, 1) for k in range(11))
    data = build_dataset("xor", {"p": grid}, out / "data", seed=seed, workers=workers, quiet=quiet)
    runs = [
        Run(
            data,
            f"p{p}",
            loss,
            out / "models" / f"{loss}-p{p}",
            out / "results" / f"{loss}-p{p}.json",
            seed=seed,
        )
        for p in grid
        for loss in objectives
    ]
    started = time.perf_counter()
    summaries = run_all(runs, workers=workers, quiet=quiet)
    return write_xor_report(
        out,
        summaries,
        grid,
        wall_seconds=time.perf_counter() - started,
        quick=quick_run("xor", quick, objectives),
    )


#: reproduce m3: rows (train, validation, test) per w and training overrides, full and --quick.
#: The full run departs from the embedded default's 8K / 1K / 1K in three places:
#: - 40K train rows at w = 5: at 8K each pool image occurs about 3 times in training, too few
#:   for these small encoders (Symile 0.37 at w = 2); at 40K, 16 times.
#: - 120K train rows (2K validation) at w = 2, whose dataset also holds the missing-data config:
#:   with each modality missing with probability 0.5 only 12.5% of rows are complete, and
#:   Symile trained on missing0.5 reached 0.43 from 40K rows (5K complete) but 0.97 from 120K
#:   (15K complete, 250 complete validation rows to select on). Complete runs train on the same
#:   samples.
#: - 10K test rows: the candidates are all test images and the query's own image is always
#:   among them, so with 1K rows (about 4 images per class) the target class has one image
#:   more than a distractor class on average, which lifts a model that cannot tell them apart
#:   above 1/w (CLIP 0.547 [0.515, 0.577] at w = 2); with 10K rows (about 41 per class) the
#:   lift is about 0.006. docs/baselines.md has the numbers.
M3_SIZES = {
    "full": {2: (120_000, 2_000, 10_000), 5: (40_000, 1_000, 10_000)},
    "quick": {2: (2_000, 500, 500), 5: (2_000, 500, 500)},
}
M3_OVERRIDES: dict[str, dict[str, Any]] = {"full": {}, "quick": {"epochs": 8}}
M3_MISSING = "missing0.5"
M3_NOTE = (
    "Data: the embedded offline default (emoji images drawn from a pool of 10 per class, "
    "espeak-ng speech from a pool of 100 clips per language) instead of ImageNet + Common "
    "Voice. The full run has 40K train rows at w = 5 (5× the embedded default's 8K, which is "
    "too few for these small encoders: Symile 0.37 at w = 2; the paper trained on 10M) and "
    "120K at w = 2, whose missing0.5 config keeps only 12.5% of rows complete (from 40K rows, "
    "5K complete, Symile reached 0.43), and 10K test rows (with 1K, a class has about 4 test "
    "images and the query's own image always counts, which lifts CLIP above 1/w). Encoders: "
    "small CPU models on fixed features (log-mel statistics → MLP; 16×16 pixels + RGB "
    "histogram → MLP; a script-gated bag of hashed word embeddings for text) instead of "
    "Whisper / CLIP / XLM-R. "
    "Same encoders, optimiser and schedule for both objectives (AdamW, O(N) negatives for "
    "Symile, best-validation-loss checkpoint with early stopping); one seed. Intervals are "
    "percentile bootstrap intervals over the test queries (the paper reports the mean of 10 "
    "bootstrap samples)."
)


def _m3(
    out: Path,
    *,
    quick: bool,
    workers: int | None,
    seed: int,
    quiet: bool,
    objectives: Sequence[str] = REQUIRED_OBJECTIVES,
) -> Path:
    from symile_bench.baselines.report_m3 import write_m3_report

    mode = "quick" if quick else "full"
    sizes = M3_SIZES[mode]

    def rows(w: int) -> dict[str, int]:
        return dict(zip(("train_n", "val_n", "test_n"), sizes[w], strict=True))

    w2 = build_dataset(
        "m3",
        {"languages": "en,el", "missing_prob": "0.5", **rows(2)},
        out / "data" / "w2",
        seed=seed,
        workers=workers,
        quiet=quiet,
    )
    w5 = build_dataset(
        "m3",
        {"languages": "en,el,hi,ja,uk", **rows(5)},
        out / "data" / "w5",
        seed=seed,
        workers=workers,
        quiet=quiet,
    )
    overrides = M3_OVERRIDES[mode]
    # 12.5% complete rows: the validation loss (on its complete rows) is noisier, wait longer
    missing_overrides = overrides if quick else {**overrides, "patience": 15}

    def run(w: int, data: Path, loss: str, config: str = "complete") -> Run:
        """A run on ``config``; every model is evaluated on the complete config's test split
        (the same samples in every config; one split, so results pair across configs)."""
        tag = f"w{w}-{loss}" + ("" if config == "complete" else f"-{config}")
        return Run(
            data,
            config,
            loss,
            out / "models" / tag,
            out / "results" / f"{tag}.json",
            seed=seed,
            overrides=missing_overrides if config != "complete" else overrides,
            cache_dir=out / "features" / f"w{w}",
            eval_configs=() if config == "complete" else ("complete",),
        )

    # longest first, so two workers finish together
    runs = [
        run(2, w2, "symile", M3_MISSING),
        *(run(w, data, loss) for loss in objectives for w, data in ((2, w2), (5, w5))),
    ]
    started = time.perf_counter()
    summaries = run_all(runs, workers=workers, quiet=quiet)
    return write_m3_report(
        out,
        summaries,
        (2, 5),
        sizes=sizes,
        settings_note=M3_NOTE,
        missing=M3_MISSING,
        wall_seconds=time.perf_counter() - started,
        quick=quick_run("m3", quick, objectives),
    )


#: reproduce mimic without --mimic-iv/--mimic-iv-ecg/--mimic-cxr-jpg: a SYNTHETIC tree
#: (`fake-mimic --signal higher-order`) of this many admissions (about 57% survive the cohort
#: rules), split release-style by admission counts (train, validation; the rest is test), and
#: the training overrides. 9K train rows: with 4.5K the recipe needed all of 30 epochs to reach
#: 0.29 validation top-1 (the three-way signal emerges slowly from random encoders, racing
#: their memorisation of the training triples); 1.4K test rows give intervals of about ± 0.02.
#: Patience 0: the validation loss sat on a plateau from epoch 8 to 22 before improving again
#: (seed 0; docs/baselines.md, "MIMIC").
MIMIC_FAKE = {"full": (30_000, 14_000, 1_500), "quick": (20_000, 9_000, 1_000)}
MIMIC_OVERRIDES: dict[str, dict[str, Any]] = {
    "full": {"epochs": 60, "patience": 0},
    "quick": {"epochs": 30, "patience": 0},
}
MIMIC_SIGNAL = "higher-order"
#: where fake-mimic puts each release inside its root (PhysioNet's download layout)
MIMIC_LAYOUT = {
    "mimic_iv": "mimiciv/2.2",
    "mimic_iv_ecg": "mimic-iv-ecg/1.0",
    "mimic_cxr_jpg": "mimic-cxr-jpg/2.0.0",
}
MIMIC_SOURCE_OPTIONS = tuple(MIMIC_LAYOUT)


def _fake_mimic_tree(root: Path, admissions: int, seed: int) -> dict[str, Path]:
    """Write (or reuse: same admissions, seed and signal) the synthetic tree under ``root``,
    through the mimic builder's `fake-mimic` command (found by entry point, like the CLI)."""
    marker = root.with_name(f"{root.name}.json")
    wanted = {"admissions": admissions, "seed": seed, "signal": MIMIC_SIGNAL}
    if root.exists():
        if not marker.is_file() or json.loads(marker.read_text("utf-8")) != wanted:
            raise ConfigError(
                f"{root} holds another (or an unfinished) synthetic tree; delete "
                f"it, or choose another --out, to generate {wanted}"
            )
    else:
        if "fake-mimic" not in COMMANDS:
            raise ConfigError(
                "reproduce mimic without --mimic-iv needs the fake-mimic command "
                "of the mimic builder; install symile-bench[mimic]"
            )
        COMMANDS.get("fake-mimic")(
            root, admissions=admissions, seed=seed, signal=MIMIC_SIGNAL, quiet=True
        )
        marker.write_text(json.dumps(wanted) + "\n", "utf-8")
    return {option: root / sub for option, sub in MIMIC_LAYOUT.items()}


def _mimic(
    out: Path,
    *,
    quick: bool,
    workers: int | None,
    seed: int,
    quiet: bool,
    sources: dict[str, Path] | None = None,
    objectives: Sequence[str] = REQUIRED_OBJECTIVES,
) -> Path:
    """Real sources: the builder's default patient fractions (close to the release's 10,000 /
    750 / 464 on the full cohort). No sources: a synthetic higher-order tree, split by counts."""
    from symile_bench.baselines.report_mimic import MimicData, write_mimic_report

    mode = "quick" if quick else "full"
    if sources:
        absent = [o for o in MIMIC_SOURCE_OPTIONS if o not in sources]
        if absent:
            raise ConfigError(
                f"reproduce mimic: give all three source roots (missing: "
                f"{', '.join('--' + a.replace('_', '-') for a in absent)})"
            )
        options: dict[str, Any] = dict(sources)
        data_info = MimicData(synthetic=False)
    else:
        admissions, train_n, val_n = MIMIC_FAKE[mode]
        options = {
            **_fake_mimic_tree(out / "sources", admissions, seed),
            "train_n": train_n,
            "val_n": val_n,
        }
        data_info = MimicData(synthetic=True, admissions=admissions, signal=MIMIC_SIGNAL, seed=seed)
    data = build_dataset("mimic", options, out / "data", seed=seed, workers=workers, quiet=quiet)
    runs = [
        Run(
            data,
            None,
            loss,
            out / "models" / loss,
            out / "results" / f"{loss}.json",
            seed=seed,
            overrides=MIMIC_OVERRIDES[mode],
            cache_dir=out / "features",
        )
        for loss in objectives
    ]
    started = time.perf_counter()
    summaries = run_all(runs, workers=workers, quiet=quiet)
    return write_mimic_report(
        out,
        summaries,
        data_info,
        wall_seconds=time.perf_counter() - started,
        quick=quick_run("mimic", quick, objectives),
    )


REPRODUCTIONS: dict[str, Callable[..., Path]] = {"xor": _xor, "m3": _m3, "mimic": _mimic}
#: benchmarks whose reproduction reads user-supplied sources (the --mimic-* options)
TAKES_SOURCES = frozenset({"mimic"})
