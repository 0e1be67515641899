"""results.json: round trip, versioning and validation errors, atomic save, rows from ranks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from symile_bench.errors import ResultsFileError
from symile_bench.harness.ranking import rank_candidates
from symile_bench.harness.results import (
    SCHEMA_VERSION,
    CandidateSet,
    DatasetRef,
    ModelRef,
    Results,
    RunSettings,
    TaskSpec,
    load_results,
    save_results,
)
from symile_bench.harness.summary import predictions_block, summarize


def make_results() -> Results:
    rng = np.random.default_rng(0)
    n, m = 300, 40
    q = [rng.standard_normal((n, 8)) for _ in range(2)]
    c = rng.standard_normal((m, 8))
    target = rng.integers(0, m, n)
    ranking = rank_candidates(q, c, query_labels=target)
    langs = rng.choice(["en", "el"], n)
    rows = summarize(ranking, split="test", languages=langs, resamples=200, seed=3)
    rows += summarize(
        ranking, split="test", condition="missing-0.5", metrics=["top1"], resamples=200
    )
    return Results(
        dataset=DatasetRef(name="m3", fingerprint="sha256:abc", config="w2"),
        model=ModelRef(name="toy", scoring="mip", metadata={"d": 8}),
        task=TaskSpec(
            name="m3",
            query_modalities=["audio", "text"],
            target_modality="image",
            candidates=CandidateSet(
                kind="shared", size=m, correct_when="image class == query class"
            ),
        ),
        rows=rows,
        predictions=[
            predictions_block(ranking, split="test", query_ids=[f"q{i}" for i in range(n)])
        ],
        run=RunSettings(device="cpu", backend="numpy", batch_size=256, memory_budget=1 << 28),
    )


def test_round_trip(tmp_path: Path):
    """Save then load gives an equal object; rows are keyed by separate fields."""
    res = make_results()
    path = save_results(res, tmp_path / "results.json")
    back = load_results(path)
    assert back == res
    assert back.schema_version == SCHEMA_VERSION == 1
    row = back.row("top1", split="test", language="en")
    assert (row.split, row.condition, row.language, row.metric) == ("test", None, "en", "top1")
    assert row.ci_low <= row.value <= row.ci_high and row.n > 0
    assert row.bootstrap.method == "percentile" and row.bootstrap.resamples == 200
    assert row.paper_style is not None and row.paper_style.samples == 10
    assert back.row("top1", condition="missing-0.5").language is None
    raw = json.loads(path.read_text())
    assert all("/" not in r["metric"] and ":" not in r["metric"] for r in raw["rows"])
    assert raw["predictions"][0]["query_ids"][:2] == ["q0", "q1"]
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp file left


def test_unknown_schema_version_names_file_found_and_supported(tmp_path: Path):
    raw = json.loads(make_results().model_dump_json())
    raw["schema_version"] = 7
    path = tmp_path / "results.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ResultsFileError) as err:
        load_results(path)
    msg = str(err.value)
    assert str(path) in msg and "schema_version 7" in msg and "reads schema_version 1" in msg
    assert "upgrade" in msg


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda r: r["rows"][2].__setitem__("ci_low", "low"), r"rows\[2\]\.ci_low"),
        (lambda r: r["dataset"].pop("fingerprint"), r"dataset\.fingerprint"),
        (lambda r: r["rows"].append(dict(r["rows"][0])), "repeats"),
        (lambda r: r["rows"][0].__setitem__("metric_value", 1.0), r"rows\[0\]\.metric_value"),
        (lambda r: r["predictions"][0]["ranks"].pop(), "equal lengths"),
        (lambda r: r.pop("schema_version"), "no schema_version"),
    ],
)
def test_invalid_content_names_the_field(tmp_path: Path, edit, match):
    raw = json.loads(make_results().model_dump_json())
    edit(raw)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ResultsFileError, match=match) as err:
        load_results(path)
    assert str(path) in str(err.value)


def test_unreadable_files(tmp_path: Path):
    with pytest.raises(ResultsFileError, match="no such results file"):
        load_results(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ResultsFileError, match="not valid JSON"):
        load_results(tmp_path / "x.json")
