"""`reproduce m3` covers the paper's whole Figure 4: its plan builds w = 2, 5 and 10 (w = 2
with the missing0.5 and missing0.65 configs) and trains every objective at each w plus Symile
on each missing-data config; its report shows those rows beside the paper's numbers. Plans
are read through the declared reproduction (nothing is built or trained)."""

from __future__ import annotations

import pytest

from builders.m3.models.report import write_m3_report
from symile_bench.baselines import reproduce
from symile_bench.baselines.runs import Run, RunSummary
from symile_bench.harness.results import save_results
from symile_bench.lexicon.languages import resolve_languages

from .test_harness_results import make_results

ALL = ("symile", "clip", "gram", "triangle")


@pytest.mark.parametrize("quick", [True, False])
def test_plan_has_w10_and_both_missing_configs(tmp_path, quick):
    """Proves the plan (--quick and full) builds the three datasets of Figure 4, the w = 10
    one in the paper's ten languages and the w = 2 one with both missing-data configs (media
    pooled: each clip and image stored once), and
    trains the 14 models: Symile on missing0.5 and missing0.65 (first, the longest runs, each
    tested on the complete config), and each objective at w = 2, 5 and 10."""
    declared = reproduce.REPRODUCTIONS.get("m3")
    request = reproduce.Request(
        out=tmp_path,
        objectives=ALL,
        quick=reproduce.quick_note(declared, ALL) if quick else None,
    )
    plan = declared.plan(request)
    builds = {b.out.name: b.options for b in plan.builds}
    assert set(builds) == {"w2", "w5", "w10"}
    assert resolve_languages(builds["w10"]["languages"]) == resolve_languages(10)
    assert builds["w2"]["missing_prob"] == "0.5,0.65" and "missing_prob" not in builds["w10"]
    assert {o["storage"] for o in builds.values()} == {"pooled"}
    trains = {b: o["train_n"] for b, o in builds.items()}
    assert trains["w10"] == trains["w5"] and (trains["w2"] > trains["w5"]) is not quick
    tags = [r.model_dir.name for r in plan.runs]
    assert tags[:2] == ["w2-symile-missing0.5", "w2-symile-missing0.65"]
    assert sorted(tags[2:]) == sorted(f"w{w}-{loss}" for w in (2, 5, 10) for loss in ALL)
    for run in plan.runs[:2]:
        assert run.config == run.model_dir.name.split("-")[-1]
        assert run.eval_configs == ("complete",) and run.dataset.name == "w2"
    assert {r.config for r in plan.runs[2:]} == {"complete"}
    assert len({r.results for r in plan.runs}) == len(plan.runs)


def test_report_shows_w10_and_missing065_beside_the_paper(tmp_path):
    """Proves the report has a w = 10 row with the paper's 0.882 / 0.094 and a missing-data
    table with a row per missing config (4.3% complete for 0.65, beside the paper's "above
    0.473") and a paired comparison with CLIP for each."""
    results = save_results(make_results(), tmp_path / "r.json")
    runs = [
        RunSummary(Run(tmp_path / f"w{w}", config, loss, tmp_path, results), 60.0, 1, (results,))
        for w, config, loss in [
            *((w, "complete", loss) for w in (2, 5, 10) for loss in ("symile", "clip")),
            (2, "missing0.5", "symile"),
            (2, "missing0.65", "symile"),
        ]
    ]
    text = write_m3_report(
        tmp_path,
        runs,
        (2, 5, 10),
        sizes={w: (10, 10, 10) for w in (2, 5, 10)},
        settings_note="note",
        missing=("missing0.5", "missing0.65"),
    ).read_text()
    w10 = next(line for line in text.splitlines() if line.startswith("| 10 |"))
    assert "| 0.882 | 0.094 |" in w10
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if "| Symile, missing" in line}
    assert set(rows) == {"| Symile, missing0.5", "| Symile, missing0.65"}
    assert (
        "| 12.5% |" in rows["| Symile, missing0.5"] and "| 0.906 |" in rows["| Symile, missing0.5"]
    )
    assert (
        "| 4.3% |" in rows["| Symile, missing0.65"]
        and "above 0.473" in rows["| Symile, missing0.65"]
    )
    assert text.count("− CLIP (complete), paired bootstrap") == 2
