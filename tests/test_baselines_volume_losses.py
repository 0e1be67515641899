"""The GRAM and TRIANGLE losses (symile_bench.baselines.losses) against a direct, slow
computation from the vectors (a determinant per Gram matrix, an area per triangle, a simplex's
content for other numbers of modalities, explicit loops over the batch), TRIANGLE's loss and
scorer agreeing for any number of modalities, and `symile-bench train --loss gram|triangle`
end to end."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from symile_bench.baselines.losses import (
    contrastive_loss,
    gram_loss,
    gram_score,
    gram_volume,
    simplex_content,
    triangle_loss,
    triangle_score,
    tuple_grams,
)
from symile_bench.cli import app
from symile_bench.harness.scorers import score_matrix

runner = CliRunner()


def _reps(m: int, n: int = 7, d: int = 5, seed: int = 0, normalize: bool = True):
    g = torch.Generator().manual_seed(seed)
    reps = [torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(m)]
    return [F.normalize(r, dim=1) for r in reps] if normalize else reps


def _slow_volume(vectors: list[torch.Tensor]) -> float:
    stacked = torch.stack(vectors)
    return math.sqrt(max(float(torch.det(stacked @ stacked.T)), 0.0))


def _slow_area(vectors: list[torch.Tensor]) -> float:
    a, b, c = vectors
    u, v = b - a, c - a
    return 0.5 * math.sqrt(max(float(u @ u * (v @ v) - (u @ v) ** 2), 0.0))


def _slow_simplex(vectors: list[torch.Tensor]) -> float:
    """Content of the simplex with these vertices: sqrt(det(E Eᵀ)) / (k − 1)!, E the edges
    from the first vertex."""
    edges = torch.stack([v - vectors[0] for v in vectors[1:]])
    det = float(torch.det(edges @ edges.T))
    return math.sqrt(max(det, 0.0)) / math.factorial(len(vectors) - 1)


def _slow_loss(score, reps: list[torch.Tensor], scale: float) -> float:
    """Every anchor, every (i, j): score of (anchor row i, other modalities' row j); the
    cross-entropy of row i over j and of column j over i, averaged as the papers do."""
    n, total = reps[0].shape[0], 0.0
    for a, anchor in enumerate(reps):
        others = [r for b, r in enumerate(reps) if b != a]
        logits = torch.tensor(
            [
                [-scale * score([anchor[i]] + [o[j] for o in others]) for j in range(n)]
                for i in range(n)
            ],
            dtype=torch.float64,
        )
        rows = -sum(float(torch.log_softmax(logits[i], 0)[i]) for i in range(n)) / n
        cols = -sum(float(torch.log_softmax(logits[:, j], 0)[j]) for j in range(n)) / n
        total += (rows + cols) / 2
    return total / len(reps)


@pytest.mark.parametrize(
    ("m", "normalize", "seed"),
    [(2, True, 0), (3, True, 1), (4, True, 2), (3, False, 3), (5, True, 4), (4, False, 5)],
)
def test_gram_loss_equals_slow_determinants(m, normalize, seed):
    """Proves gram_loss (Leibniz over inner-product matrices) equals the cross-entropy of
    −scale · sqrt(det(V Vᵀ)) computed one tuple at a time, for 2–4 modalities, on unit and on
    unnormalised vectors (from four modalities on computed by projection)."""
    reps, scale = _reps(m, seed=seed, normalize=normalize), 3.7
    ours = float(gram_loss(reps, torch.tensor(scale, dtype=torch.float64)))
    assert ours == pytest.approx(_slow_loss(_slow_volume, reps, scale), rel=1e-6)


@pytest.mark.parametrize(("normalize", "seed"), [(True, 0), (False, 1)])
def test_triangle_loss_equals_slow_areas(normalize, seed):
    """Proves triangle_loss equals the cross-entropy of −scale · area of the triangle with the
    three vectors as vertices, computed one triangle at a time."""
    reps, scale = _reps(3, seed=seed, normalize=normalize), 2.3
    ours = float(triangle_loss(reps, torch.tensor(scale, dtype=torch.float64)))
    assert ours == pytest.approx(_slow_loss(_slow_area, reps, scale), rel=1e-6)


@pytest.mark.parametrize(("m", "seed"), [(2, 0), (4, 1), (5, 2)])
def test_triangle_loss_for_other_numbers_of_modalities_equals_slow_simplices(m, seed):
    """Proves triangle_loss for 2, 4 and 5 modalities equals the cross-entropy of −scale ·
    the content of the (M−1)-simplex the M vectors span (a distance, a tetrahedron's volume,
    a 4-simplex's content), computed one simplex at a time; for three, the slow simplex is the
    slow area."""
    reps, scale = _reps(m, seed=seed), 1.9
    ours = float(triangle_loss(reps, torch.tensor(scale, dtype=torch.float64)))
    assert ours == pytest.approx(_slow_loss(_slow_simplex, reps, scale), rel=1e-6)
    three = [r[0] for r in _reps(3, seed=seed)]
    assert _slow_simplex(three) == pytest.approx(_slow_area(three))


@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_triangle_loss_and_scorer_measure_the_same_thing(m):
    """Proves the TRIANGLE loss trains on exactly what the harness's `triangle` scorer ranks by,
    for 2 to 5 modalities: the loss's measure of (anchor row i, the other modalities' row j)
    equals minus the scorer's score of query tuple j (the other modalities) against candidate
    i (the anchor)."""
    reps = _reps(m, n=6, d=7, seed=m)
    measure = simplex_content(tuple_grams(reps[0], reps[1:])).expand(6, 6)
    scores = score_matrix([r.numpy() for r in reps[1:]], reps[0].numpy(), "triangle")
    np.testing.assert_allclose(-scores.T, measure.numpy(), atol=1e-12)


def test_three_unit_vectors_closed_forms():
    """Proves the formulas the docs quote for unit vectors: det G = 1 + 2·ab·bc·ca − ab² − bc²
    − ca², and the area is a function of the same three inner products."""
    a, b, c = (r[0] for r in _reps(3, seed=5))
    ab, bc, ca = float(a @ b), float(b @ c), float(c @ a)
    det = 1 + 2 * ab * bc * ca - ab**2 - bc**2 - ca**2
    assert _slow_volume([a, b, c]) == pytest.approx(math.sqrt(det))
    area_sq = ((2 - 2 * ab) * (2 - 2 * ca) - (1 - ab - ca + bc) ** 2) / 4
    assert _slow_area([a, b, c]) == pytest.approx(math.sqrt(area_sq))


@pytest.mark.parametrize(("m", "normalize"), [(4, True), (5, True), (6, False)])
def test_projection_equals_the_gram_entries_form(m, normalize):
    """Proves the projection form used from four modalities on (projection.py) computes the
    same volume and simplex content as the bordered determinants of the Gram entries
    (gram_volume, simplex_content), for every (anchor row, other rows) pair."""
    reps = _reps(m, n=9, d=8, seed=m, normalize=normalize)
    anchor, others = reps[0], reps[1:]
    entries = tuple_grams(anchor, others)
    torch.testing.assert_close(gram_score(anchor, others), gram_volume(entries))
    torch.testing.assert_close(triangle_score(anchor, others), simplex_content(entries))


@pytest.mark.parametrize(
    ("kind", "m"), [("gram", 3), ("triangle", 3), ("gram", 4), ("triangle", 5)]
)
def test_gradients_are_finite_even_for_degenerate_tuples(kind, m):
    """Proves the loss is differentiable in every modality and the temperature, with finite
    gradients also when positive tuples are perfectly aligned (volume and area 0, where the
    square root's derivative is infinite; from four modalities also a base of collinear
    vectors, whose orthonormal basis is floored), and through the trainer's dispatch."""
    base = _reps(m, seed=7)
    for reps_in in (base, [base[0]] * m):
        reps = [r.clone().float().requires_grad_() for r in reps_in]
        log_t = torch.tensor(0.5, requires_grad=True)
        contrastive_loss(kind, reps, log_t.exp()).backward()
        grads = [r.grad for r in reps] + [log_t.grad]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert log_t.grad is not None and log_t.grad != 0


def test_aligned_positives_win_and_bad_input_is_refused():
    """Proves the sign (smaller volume / area = larger logit): GRAM on two identical modalities
    and TRIANGLE on (x, 2x, 3x) (three distinct points on a line through 0, no negative on a
    line) have every positive at 0 and every negative above, so the loss is near 0 at a large
    scale. With (x, x, x) every negative is degenerate too (two of its vectors coincide) and
    the loss is log N: the papers' negatives keep the other modalities' rows together, so
    collapsing all modalities onto one vector does not minimise these losses. One modality is
    refused."""
    x = _reps(1, n=8, d=16, seed=9)[0]
    scale = torch.tensor(100.0, dtype=torch.float64)
    assert float(gram_loss([x, x], scale)) < 1e-3
    assert float(triangle_loss([x, 2 * x, 3 * x], scale)) < 1e-3
    for loss in (gram_loss, triangle_loss):
        assert float(loss([x, x, x], scale)) == pytest.approx(math.log(8))
    with pytest.raises(ValueError, match="at least two"):
        triangle_loss(_reps(1), torch.tensor(1.0))
    with pytest.raises(ValueError, match="loss must be"):
        contrastive_loss("volume", _reps(3), torch.tensor(1.0))


@pytest.fixture(scope="module")
def xor_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor")
    args = [
        "build",
        "xor",
        "--p",
        "1.0",
        "--train-n",
        400,
        "--val-n",
        100,
        "--test-n",
        100,
        "--out",
        out,
        "--workers",
        1,
        "-q",
    ]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("loss", ["gram", "triangle"])
def test_train_cli_writes_checkpoint_declaring_its_scoring(xor_dir, tmp_path, loss):
    """Proves `symile-bench train --loss gram|triangle` trains through the CLI (finite losses),
    and the checkpoint loads as a harness model whose scoring is `gram` / `triangle`."""
    from symile_bench.baselines import load

    out = tmp_path / loss
    args = [
        "train",
        xor_dir,
        "--loss",
        loss,
        "--out",
        out,
        "--epochs",
        3,
        "--batch-size",
        200,
        "-q",
    ]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "model.json").read_text())
    assert (info["loss"], info["scoring"], info["name"]) == (loss, loss, loss)
    assert all(
        math.isfinite(h["train_loss"]) and math.isfinite(h["val_loss"]) for h in info["history"]
    )
    model = load(out)
    assert model.scoring == loss and model.metadata["negatives"] is None
    # the checkpoint is scored by the harness's registered scorer of the same name
    results = tmp_path / f"{loss}.json"
    args = ["evaluate", xor_dir, "--model", "symile_bench.baselines:load"]
    args += ["--model-arg", f"path={out}", "--out", results, "--bootstrap", 100, "-q"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    scored = json.loads(results.read_text())
    assert scored["model"]["scoring"] == loss
    top1 = [r for r in scored["rows"] if r["metric"] == "top1" and r["condition"] is None]
    assert top1 and all(0.0 <= r["value"] <= 1.0 for r in top1)


def test_train_refuses_unknown_loss(xor_dir, tmp_path):
    """Proves an unknown --loss is a one-line user error naming the choices."""
    result = runner.invoke(
        app, ["train", str(xor_dir), "--loss", "volume", "--out", str(tmp_path / "x"), "-q"]
    )
    assert result.exit_code != 0 and "gram" in str(result.exception)


def test_slow_reference_is_itself_sane():
    """Proves the slow references: a right-angle corner of unit axes has volume 1 and area
    sqrt(3)/2 (an equilateral triangle of side sqrt(2)); collinear vectors have volume 0."""
    e = torch.eye(3, dtype=torch.float64)
    assert _slow_volume(list(e)) == pytest.approx(1.0)
    assert _slow_area(list(e)) == pytest.approx(math.sqrt(3) / 2)
    assert _slow_volume([e[0], e[0], e[1]]) == pytest.approx(0.0)


def test_triangle_trains_and_scores_on_four_modalities(tmp_path):
    """Proves `train --loss triangle` accepts a four-modality dataset (the loss and the scorer
    both use the 3-simplex's volume) and its checkpoint is scored by `evaluate`, where it used
    to be refused while the scorer accepted four modalities."""
    data = tmp_path / "xor4"
    build = ["build", "xor", "--modalities", 4, "--p", "1.0", "--train-n", 300, "--val-n", 100]
    build += ["--test-n", 100, "--out", data, "--workers", 1, "-q"]
    result = runner.invoke(app, [str(a) for a in build])
    assert result.exit_code == 0, result.output
    out = tmp_path / "triangle"
    train = ["train", data, "--loss", "triangle", "--out", out, "--epochs", 2, "-q"]
    result = runner.invoke(app, [str(a) for a in train])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "model.json").read_text())["feature_shapes"].keys() == set("abcd")
    results = tmp_path / "r.json"
    args = ["evaluate", data, "--model", "symile_bench.baselines:load", "--model-arg"]
    args += [f"path={out}", "--out", results, "--bootstrap", 100, "-q"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert json.loads(results.read_text())["model"]["scoring"] == "triangle"
