"""``symile-bench evaluate``: one encoder (model or embeddings) on one task of one dataset split,
scored, bootstrapped and written as a ``Results`` object.

Steps: open the split -> resolve the task (builder's task, ``--target``, ``--candidates``) ->
plan the candidates -> encode queries, candidates (and, under the missing-modality protocol,
each query modality as missing) -> for each condition rank, summarize (percentile bootstrap
per metric, per language where the task groups; or, with ``protocol="release"``, the release's
10-sample mean ± SE, ``protocols.py``) and keep per-query predictions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness import embeddings as files
from symile_bench.harness.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES
from symile_bench.harness.candidates import CandidatePlan
from symile_bench.harness.diagnostic import subset_conditions
from symile_bench.harness.embeddings import check_dimensions, common_dtype
from symile_bench.harness.encoders import Advance, Encoder
from symile_bench.harness.metrics import DEFAULT_METRICS
from symile_bench.harness.missing import (
    PROTOCOL_VERSION,
    Condition,
    conditions,
    training_ref,
)
from symile_bench.harness.protocols import (
    RELEASE_SAMPLES,
    check_protocol,
    release_rows,
    release_samples,
)
from symile_bench.harness.ranking import DEFAULT_TOP_K, Ranking
from symile_bench.harness.results import (
    DatasetRef,
    ModelRef,
    Predictions,
    ResultRow,
    Results,
    RunSettings,
)
from symile_bench.harness.splitdata import SplitData, open_split
from symile_bench.harness.summary import predictions_block, summarize
from symile_bench.harness.tasks import ResolvedTask, resolve

Track = Callable[[str, int, str], Advance]


def no_progress(description: str, total: int, unit: str) -> Advance:
    return lambda n: None


@dataclass(frozen=True)
class EvalOptions:
    config: str | None = None
    split: str = "test"
    task: str | None = None  # a task the dataset declares (default: its first)
    target: str | None = None
    candidates: str | None = None
    resamples: int = DEFAULT_RESAMPLES
    confidence: float = DEFAULT_CONFIDENCE
    seed: int = 0
    missing_protocol: bool = False
    query_subsets: bool = False  # also score from each proper subset of the queries
    trained_on: str | None = None
    top_k: int = DEFAULT_TOP_K
    predictions: bool = True
    backend: str = "numpy"
    device: str | None = None
    metrics: tuple[str, ...] = DEFAULT_METRICS
    batch_size: int | None = None  # recorded in the results (the model path's batch size)
    protocol: str = "default"  # "release": the release's 10-sample mean ± SE (protocols.py)
    distinct: bool = True  # score each distinct candidate once (the same results; repeats.py)


@dataclass
class Encoded:
    queries: dict[str, np.ndarray]
    candidates: np.ndarray
    missing: dict[str, np.ndarray]


def evaluate(
    dataset_dir: Path,
    encoder: Encoder,
    options: EvalOptions | None = None,
    *,
    track: Track = no_progress,
    save_embeddings: Path | None = None,
) -> Results:
    """Score ``encoder`` on the task of the dataset at ``dataset_dir`` (see module docstring)."""
    opts = options or EvalOptions()
    check_protocol(opts.protocol)
    split = open_split(dataset_dir, opts.config, opts.split)
    if not len(split):
        raise HarnessInputError(f"--split {split.split!r} of {dataset_dir} has no rows to score")
    resolved = resolve(
        split.manifest,
        task=opts.task,
        target=opts.target,
        candidates=opts.candidates,
        where=str(dataset_dir),
    )
    encoder.require([*resolved.query_names, resolved.target.name])
    trained_on = None
    if opts.trained_on is not None:
        trained_on = training_ref(
            open_split(dataset_dir, opts.trained_on, "train"), resolved.task.modalities
        )
    # A blind split (`build --blind`) withholds its answers: the run ranks the candidates and
    # keeps each query's top-k ids, with no ranks and no rows; the leaderboard scores those.
    blind = bool(split.withheld)
    if blind and not opts.predictions:
        raise HarnessInputError(
            f"config '{split.config}' split '{split.split}' of {dataset_dir} is blind: its "
            "answers are withheld, so predictions are all a run can produce; drop "
            "--no-predictions"
        )
    if blind and opts.protocol != "default":
        raise HarnessInputError(
            f"--protocol {opts.protocol} needs the answers, which config '{split.config}' split "
            f"'{split.split}' of {dataset_dir} withholds (a blind split): drop --protocol"
        )
    if blind and opts.top_k < 1:
        raise HarnessInputError(
            "--top-k must be at least 1 on a blind split (predictions are all a run can produce)"
        )
    plan = resolved.rule.plan(split, resolved.target)
    query_ids = split.numpy(resolved.task.query_id)
    encoded = _encode(encoder, split, resolved, plan, query_ids, opts.missing_protocol, track)
    if save_embeddings is not None:
        _save(save_embeddings, encoder, resolved, plan, encoded, len(split))
    groups = split.numpy(resolved.task.group_by) if resolved.task.group_by else None
    conds = (
        conditions(resolved.query_names)
        if opts.missing_protocol
        else [Condition(None, resolved.query_names)]
    ) + (subset_conditions(resolved.query_names) if opts.query_subsets else [])
    rows: list[ResultRow] = []
    predictions: list[Predictions] = []
    ranking: Ranking | None = None
    for cond in conds:
        queries = (
            [encoded.queries[m] for m in cond.observed]
            if cond.dropped
            else [
                encoded.queries[m] if m in cond.observed else encoded.missing[m]
                for m in resolved.query_names
            ]
        )
        label = "score" if cond.name is None else f"score {cond.name}"
        # On a blind split the plan has no answer key: the top-k is all it ranks for.
        ranking = plan.rank(
            queries,
            encoded.candidates,
            scorer=encoder.scoring,
            top_k=opts.top_k,
            backend=opts.backend,
            device=opts.device,
            on_progress=track(label, len(split), "queries"),
            distinct=opts.distinct,
        )
        if not blind and opts.protocol == "release":
            samples = release_samples(
                plan,
                queries,
                encoded.candidates,
                encoder.scoring,
                opts.seed,
                track(label.replace("score", "release samples"), RELEASE_SAMPLES, "samples"),
            )
            rows += release_rows(
                samples,
                ranking,
                split=split.split,
                condition=cond.name,
                languages=groups,
                metrics=opts.metrics,
                confidence=opts.confidence,
                seed=opts.seed,
            )
        elif not blind:
            rows += summarize(
                ranking,
                split=split.split,
                condition=cond.name,
                languages=groups,
                metrics=opts.metrics,
                resamples=opts.resamples,
                confidence=opts.confidence,
                seed=opts.seed,
            )
        if opts.predictions:
            block = predictions_block(
                ranking,
                split=split.split,
                condition=cond.name,
                query_ids=query_ids,
                candidate_ids=plan.ids,
            )
            predictions.append(block.model_copy(update={"ranks": None}) if blind else block)
    assert ranking is not None  # conds is never empty
    return Results(
        dataset=DatasetRef(
            name=split.builder,
            fingerprint=split.manifest.fingerprint,
            config=split.config,
            builder_version=split.manifest.builder_version,
            split=split.split,
            split_fingerprint=split.fingerprint,
            blind=True if blind else None,
        ),
        model=ModelRef(
            name=encoder.name,
            scoring=encoder.scoring,
            metadata=encoder.metadata,
            trained_on=trained_on,
        ),
        task=resolved.spec(plan, PROTOCOL_VERSION if opts.missing_protocol else None),
        rows=rows,
        predictions=predictions,
        run=RunSettings(
            device=ranking.device,
            backend=ranking.backend,
            batch_size=opts.batch_size,
            tie_seed=ranking.tie_seed,
        ),
        protocol="release" if opts.protocol == "release" else "default",
    )


def _encode(
    encoder: Encoder,
    split: SplitData,
    resolved: ResolvedTask,
    plan: CandidatePlan,
    query_ids: np.ndarray,
    missing_protocol: bool,
    track: Track,
) -> Encoded:
    n = len(split)
    queries = {
        m.name: encoder.rows(
            m,
            split,
            split.row_index,
            query_ids,
            hidden=False,
            advance=track(f"encode {m.name}", n, "rows"),
        )
        for m in resolved.query
    }
    target = resolved.target
    advance = track(f"encode {target.name} (candidates)", len(plan.ids), "rows")
    if plan.values is not None:
        candidates = encoder.values(target, plan.values, plan.ids, advance=advance)
    else:
        assert plan.rows is not None  # a plan's candidates are split rows or values
        candidates = encoder.rows(
            target, split, plan.rows, query_ids[plan.rows], hidden=False, advance=advance
        )
    missing = {}
    if missing_protocol:
        missing = {
            m.name: encoder.rows(
                m,
                split,
                split.row_index,
                query_ids,
                hidden=True,
                advance=track(f"encode {m.name} (missing)", n, "rows"),
            )
            for m in resolved.query
        }
    dims = {
        **{m: q.shape[1] for m, q in queries.items()},
        target.name: candidates.shape[1],
        **{f"{m} (missing)": q.shape[1] for m, q in missing.items()},
    }
    check_dimensions(dims, encoder.scoring)
    dtype = common_dtype([*queries.values(), candidates, *missing.values()])
    return Encoded(
        queries={m: q.astype(dtype, copy=False) for m, q in queries.items()},
        candidates=candidates.astype(dtype, copy=False),
        missing={m: np.asarray(q, dtype=dtype) for m, q in missing.items()},
    )


def _save(
    directory: Path,
    encoder: Encoder,
    resolved: ResolvedTask,
    plan: CandidatePlan,
    encoded: Encoded,
    n_rows: int,
) -> None:
    """Write what was encoded in the ``--embeddings`` layout, so it can be re-scored later."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise HarnessInputError(
            f"--save-embeddings {directory} exists and is not an empty directory"
        )
    for name, q in encoded.queries.items():
        files.write_npy(directory / f"{name}.npy", q)
    target = resolved.target.name
    if plan.values is not None:
        files.write_npy(directory / f"{target}.candidates.npy", encoded.candidates)
    elif plan.rows is not None and not np.array_equal(plan.rows, np.arange(n_rows)):
        files.write_parquet(directory / f"{target}.parquet", encoded.candidates, "row", plan.rows)
    else:
        files.write_npy(directory / f"{target}.npy", encoded.candidates)
    for name, q in encoded.missing.items():
        files.write_npy(directory / f"{name}.missing.npy", q)
    info: Mapping[str, object] = {
        "name": encoder.name,
        "scoring": encoder.scoring,
        "metadata": encoder.metadata,
    }
    (directory / files.MODEL_FILE).write_text(json.dumps(info, indent=2) + "\n", "utf-8")
