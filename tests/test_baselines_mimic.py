"""The MIMIC baseline recipe and `reproduce mimic`: featurisation shapes and cache keys, the
small and the paper (torchvision-free ResNet) encoders on tiny inputs, augmentation only in
training, and the whole reproduction (synthetic tree -> build -> train both -> evaluate ->
report) on a tiny tree, with results that validate and that the leaderboard verifies."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from builders.mimic.models.features import ECG_STEP, cxr_features, ecg_features
from symile_bench.baselines.recipes import recipe_for
from symile_bench.errors import ConfigError

from .conftest import run_cli
from .test_leaderboard_support import serve

RECIPE = recipe_for("mimic")
OBJECTIVES = ("symile", "clip", "gram", "triangle")
SMALL = RECIPE.defaults.with_overrides(dim=8, hidden=16)
PAPER = SMALL.with_overrides(arch="paper")


def _png(width: int, height: int) -> dict:
    """A stored CXR item: grey ramp left to right, as the builder stores it (PNG bytes)."""
    ramp = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
    buffer = io.BytesIO()
    Image.fromarray(ramp, "L").save(buffer, format="PNG")
    return {"bytes": buffer.getvalue(), "path": None}


def test_features_have_the_encoders_shapes_and_keys_follow_the_arch():
    """Proves the ECG is block-averaged to [12, 500] (small) or kept whole as a one-channel
    5000x12 image (paper); a portrait train CXR and a square test CXR are both centre-cropped to
    the same square; and the cache key changes with the arch exactly where features change."""
    ecg = np.random.default_rng(0).uniform(-1, 1, (2, 5000, 12)).astype(np.float32)
    small = ecg_features(ecg, "small")
    assert small.shape == (2, 12, 5000 // ECG_STEP)
    np.testing.assert_allclose(small[1, 3, 7], ecg[1, 70:80, 3].mean(), rtol=1e-5)
    assert ecg_features(ecg, "paper").shape == (2, 1, 5000, 12)
    cxr = cxr_features([_png(320, 390), _png(320, 320), None], "small")
    assert cxr.shape == (3, 1, 64, 64) and (cxr[2] == 0).all()
    np.testing.assert_allclose(cxr[0], cxr[1], atol=0.02)  # same crop of the same ramp
    assert cxr_features([_png(390, 320)], "paper").shape == (1, 1, 320, 320)
    keys = {
        m: (RECIPE.feature_key(m, SMALL), RECIPE.feature_key(m, PAPER))
        for m in ("ecg", "labs", "cxr")
    }
    assert keys["ecg"][0] != keys["ecg"][1] and keys["cxr"][0] != keys["cxr"][1]
    assert keys["labs"][0] == keys["labs"][1]
    with pytest.raises(ConfigError, match="--arch"):
        RECIPE.feature_key("ecg", SMALL.with_overrides(arch="resnet"))


@pytest.mark.parametrize("settings", [SMALL, PAPER], ids=["small", "paper"])
def test_encoders_map_each_modality_to_dim(settings):
    """Proves both families build without torchvision or downloads and map the featurised
    inputs to [n, dim] in training and in eval mode (paper: ResNet-18 over the 5000x12 ECG,
    ResNet-50 over the 320x320 CXR, the 100 -> 256 -> 1024 -> d labs MLP)."""
    shapes = {
        "ecg": (12, 500) if settings.arch == "small" else (1, 5000, 12),
        "labs": (100,),
        "cxr": (1, 64, 64) if settings.arch == "small" else (1, 320, 320),
    }
    torch.manual_seed(0)
    for modality, shape in shapes.items():
        encoder = RECIPE.encoder(modality, shape, settings)
        x = torch.rand(2, *shape)
        for training in (True, False):
            encoder.train(training)
            with torch.no_grad():
                assert encoder(x).shape == (2, settings.dim), (modality, training)


def test_paper_resnets_match_torchvision_sizes():
    """Proves the hand-written ResNets are the standard ones: torchvision's parameter counts
    for ResNet-18 (11,689,512) and ResNet-50 (25,557,032) with 3 inputs and 1,000 outputs."""
    from builders.mimic.models.resnet import resnet18, resnet50

    def count(m: torch.nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    assert count(resnet18(3, 1000)) == 11_689_512
    assert count(resnet50(3, 1000)) == 25_557_032


def test_augmentation_only_in_training_and_seeded():
    """Proves the small encoders perturb their inputs only in training mode (evaluation is
    deterministic) and that two encoders built under the same torch seed draw the same
    perturbations (training stays reproducible for a seed)."""
    from builders.mimic.models.nets import Augment

    x = {"ecg": torch.rand(4, 12, 50), "cxr": torch.rand(4, 1, 64, 64), "labs": torch.rand(4, 100)}
    for kind, value in x.items():
        torch.manual_seed(1)
        a = Augment(kind)
        torch.manual_seed(1)
        b = Augment(kind)
        assert torch.equal(a(value), b(value)) and not torch.equal(a(value), value)
        a.eval()
        assert torch.equal(a(value), value)


def _reproduce_mimic(out: Path, seed: int, options=None) -> Path:
    """`reproduce mimic --quick` through the library, as the CLI calls it."""
    from symile_bench.baselines import reproduce

    declared = reproduce.REPRODUCTIONS.get("mimic")
    request = reproduce.Request(
        out=out,
        seed=seed,
        workers=1,
        quiet=True,
        objectives=OBJECTIVES,
        options=options or declared.Options(),
        quick=reproduce.quick_note(declared, OBJECTIVES),
    )
    return reproduce.reproduce(declared, request)


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory) -> Path:
    """`reproduce mimic --quick --objectives symile,clip,gram,triangle` through its
    synthetic-tree path, shrunk to 1,000 admissions (about 570 kept) and 3 epochs so it runs
    in seconds; the code path is the real one."""
    from builders.mimic.models import reproduce as mimic

    out = tmp_path_factory.mktemp("repro-mimic")
    patch = pytest.MonkeyPatch()
    patch.setitem(mimic.FAKE, "quick", (1_000, 400, 60))
    patch.setitem(mimic.OVERRIDES, "quick", {"epochs": 3, "patience": 0, "batch_size": 64})
    try:
        _reproduce_mimic(out, seed=0)
    finally:
        patch.undo()
    return out


def test_reproduce_mimic_end_to_end(reproduced, tmp_path):
    """Proves reproduce mimic writes a synthetic tree (and says so), builds it, trains both
    objectives, and writes results that validate against the dataset and that `symile-bench
    submit` gets verified by a leaderboard serving that test split, plus a report with the
    paper's numbers and the paired comparison."""
    out = reproduced
    assert "SYNTHETIC" in (out / "sources" / "README.md").read_text()
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    run_cli("leaderboard", "add", out / "data", "--split", "test", "--db", db)
    token = run_cli("leaderboard", "token", "baselines", "--db", db).stdout.strip()
    with serve(db) as url:
        for loss in ("symile", "clip"):
            results = out / "results" / f"{loss}.json"
            run_cli("validate", results, "--dataset", out / "data", "-q")
            done = run_cli("submit", results, "--server", url, "--token", token)
            assert "verified" in done.stdout, done.stdout
        # registered on a board, the synthetic build says so on the pages and in the JSON
        board = httpx.get(f"{url}/api/v1/benchmarks").json()[0]["name"]
        assert "SYNTHETIC DATA:" in httpx.get(f"{url}/b/{board}").text
        assert "SYNTHETIC" in httpx.get(url + "/").text
        assert httpx.get(f"{url}/api/v1/leaderboard/{board}").json()["benchmark"]["synthetic"]
    report = (out / "report.md").read_text()
    assert "Synthetic data" in report and "fake-mimic --signal higher-order" in report
    assert "0.435 ± 0.007" in report and "0.387 ± 0.003" in report
    assert "paired bootstrap over the same test queries" in report
    assert "a pairwise objective can learn the shared half" in report
    assert "quick smoke test" in report  # --quick: a banner, and no verdicts
    assert "Symile ahead beyond the paired interval: not judged" in report


def test_reproduce_report_sets_all_objectives_side_by_side(reproduced):
    """Proves a four-objective reproduction trains and scores every objective on the same test
    split and reports each with its scoring, its paired difference against Symile with a
    p-value, chance, one plot, and the query-subset diagnostic with what each score detects."""
    from symile_bench.harness.results import load_results

    out = reproduced
    report = (out / "report.md").read_text()
    assert "# Symile-MIMIC: Symile vs pairwise CLIP (and GRAM, TRIANGLE)" in report
    section = report.split("## Objectives side by side")[1].split("## ")[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("| test |")]
    assert [r.split(" | ")[1] for r in rows] == [
        "Symile (mip)",
        "CLIP (pairwise)",
        "GRAM (gram)",
        "TRIANGLE (triangle)",
    ]
    fingerprints = set()
    for loss, row in zip(OBJECTIVES, rows, strict=True):
        results = load_results(out / "results" / f"{loss}.json")
        fingerprints.add(results.dataset.split_fingerprint)
        cells = row.split(" | ")
        assert results.row("top1").ci_low == pytest.approx(
            float(cells[2].split("[")[1][:5]), abs=1e-3
        )
        if loss != "symile":  # a paired difference and its p-value
            assert cells[3].startswith(("+", "-")) and cells[4] not in ("", "—"), row
        assert {p.condition for p in results.predictions} == {None, "queries=ecg", "queries=labs"}
    assert len(fingerprints) == 1
    assert (out / "objectives.png").is_file() and "![objectives](objectives.png)" in report
    diagnostic = report.split("## Where the accuracy comes from")[1]
    assert "from ecg only" in diagnostic and "from labs only" in diagnostic
    assert (
        "**GRAM** (`gram`, 3 modalities): a function of the pairwise inner products only"
        in diagnostic
    )
    assert (
        "**Symile** (`mip`, 3 modalities): not a function of the pairwise inner products"
        in diagnostic
    )


def test_objectives_option_refuses_bad_lists(tmp_path):
    """Proves --objectives names unknown objectives and insists on the paper's two."""
    unknown = run_cli(
        "reproduce", "xor", "--out", tmp_path, "--objectives", "symile,clip,infonce", check=False
    )
    assert unknown.returncode != 0 and "unknown objective 'infonce'" in unknown.stderr
    lacking = run_cli("reproduce", "xor", "--out", tmp_path, "--objectives", "gram", check=False)
    assert lacking.returncode != 0 and "lacks symile, clip" in lacking.stderr
    assert not any(tmp_path.iterdir())


def test_reproduce_mimic_refuses_bad_sources(reproduced, tmp_path):
    """Proves the source options fail with one-line errors: only some of the three roots, a
    source option for another benchmark, and an OUT whose synthetic tree was made differently."""
    from builders.mimic.models.reproduce import MimicOptions

    with pytest.raises(ConfigError, match="--mimic-iv-ecg, --mimic-cxr-jpg"):
        _reproduce_mimic(tmp_path, seed=0, options=MimicOptions(mimic_iv=tmp_path))
    bad = run_cli("reproduce", "xor", "--out", tmp_path / "x", "--mimic-iv", tmp_path, check=False)
    assert bad.returncode != 0 and "No such option: --mimic-iv" in bad.stderr
    with pytest.raises(ConfigError, match="another"):
        _reproduce_mimic(reproduced, seed=1)
