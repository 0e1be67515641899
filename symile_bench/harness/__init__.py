"""Scoring harness: zero-shot retrieval ranks (mip / pairwise / registered scorers), metrics,
bootstrap intervals, the versioned ``results.json`` schema, tasks, the model protocol and the
two ways in (model object or precomputed embeddings), and ``evaluate``.

The names below are imported lazily from their modules, so importing one part does not
import the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Ranking": "ranking",
    "rank_candidate_sets": "ranking",
    "rank_candidates": "ranking",
    "Scorer": "scorers",
    "get_scorer": "scorers",
    "register_scorer": "scorers",
    "score_matrix": "scorers",
    "tie_keys": "ties",
    "DEFAULT_METRICS": "metrics",
    "PRIMARY_METRIC": "metrics",
    "compute_metrics": "metrics",
    "grouped_metrics": "metrics",
    "outcomes": "metrics",
    "BootstrapResult": "bootstrap",
    "PairedBootstrapResult": "bootstrap",
    "PaperStyleResult": "bootstrap",
    "bootstrap_mean": "bootstrap",
    "paired_bootstrap": "bootstrap",
    "paper_style": "bootstrap",
    "Results": "results",
    "load_results": "results",
    "save_results": "results",
    "predictions_block": "summary",
    "summarize": "summary",
    "EvalOptions": "evaluate",
    "FileEncoder": "encoders",
    "ModelEncoder": "encoders",
    "ModalityBatch": "batch",
    "RetrievalModel": "models",
    "load_model": "models",
    "ResolvedTask": "tasks",
    "resolve": "tasks",
    "CANDIDATE_RULES": "candidates",
    "SharedPool": "candidates",
    "PerQuerySets": "candidates",
    "compare_results": "compare",
    "rescore": "verify",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"symile_bench.harness.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'symile_bench.harness' has no attribute {name!r}")
