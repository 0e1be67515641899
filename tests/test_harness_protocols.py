"""`evaluate --protocol release`: the release's "mean of 10 bootstrap samples ± SE", drawn as the
authors' code draws them. Each procedure is checked against a transcription of that code
(torch, as written in rajesh-lab/symile) fed the toolkit's own draws: MIMIC's
`resample_retrieval_ds` + `zeroshot_retrieval`, M3's `RandomSampler` bank and queries with
`torch.argmax`, XOR's fresh test sets. Embeddings hold small integers, so every score is exact
in float32 in both implementations and ties are frequent: the tie rules are compared exactly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from symile_bench.errors import HarnessInputError
from symile_bench.harness.candidates import PerQuerySets, SharedPool
from symile_bench.harness.protocols import RELEASE_SAMPLES, release_rows, release_samples

from .conftest import run_cli
from .evaluate_fixtures import load_json


def _ints(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-2, 3, shape).astype(np.float32)


def _mimic_plan(rng: np.random.Generator, n: int) -> PerQuerySets:
    sets = np.stack(
        [
            np.concatenate([[q], rng.choice(np.delete(np.arange(n), q), 9, replace=False)])
            for q in range(n)
        ]
    )
    order = rng.permuted(np.tile(np.arange(10), (n, 1)), axis=1)  # own candidate anywhere
    sets = np.take_along_axis(sets, order, axis=1)
    return PerQuerySets(
        ids=np.arange(n) + 1000,
        rows=np.arange(n),
        sets=sets,
        correct=np.argmax(sets == np.arange(n)[:, None], axis=1),
        correct_when="own",
        description="test",
    )


def _release_ds(plan: PerQuerySets, r_c, r_e, r_l) -> dict[str, torch.Tensor]:
    """The release's retrieval split: the queries (label 1), then each query's 9 negatives (label
    0, label_hadm_id = the query's hadm_id), rows copied from the other admissions."""
    n = len(plan.sets)
    negatives = [(q, j) for q in range(n) for j in plan.sets[q] if j != q]
    rows = np.array(list(range(n)) + [j for _, j in negatives])
    label_hadm = np.concatenate([plan.ids, plan.ids[[q for q, _ in negatives]]])
    t = torch.from_numpy
    return {
        "r_c": t(r_c[rows]),
        "r_e": t(r_e[rows]),
        "r_l": t(r_l[rows]),
        "hadm_id": t(plan.ids[rows]),
        "label_hadm_id": t(label_hadm),
        "label": t(np.array([1] * n + [0] * len(negatives))),
    }


def _resample_retrieval_ds(ds, sample_indices):
    """`SymileMIMICModel.resample_retrieval_ds` with its `torch.randint` draw passed in."""
    mask = ds["label"] == 1
    sampled = {k: v[mask][sample_indices] for k, v in ds.items()}
    negative_mask = ds["label"] == 0
    return {k: torch.cat([sampled[k], ds[k][negative_mask]]) for k in ds}


def _zeroshot_max_indices(retrieval_ds):
    """`zeroshot_retrieval`'s loop up to the random pick: per query, the maxima's indices."""
    mask = retrieval_ds["label"] == 1
    query_r_c = retrieval_ds["r_c"][mask]
    query_r_e = retrieval_ds["r_e"][mask]
    query_r_l = retrieval_ds["r_l"][mask]
    query_hadm_id = retrieval_ds["hadm_id"][mask]
    out = []
    for ix, true_hadm_id in enumerate(query_hadm_id):
        r_c, r_e, r_l = query_r_c[ix], query_r_e[ix], query_r_l[ix]
        mask = (retrieval_ds["label_hadm_id"] == true_hadm_id) & (retrieval_ds["label"] == 0)
        r_c = torch.cat([r_c.unsqueeze(0), retrieval_ds["r_c"][mask]], dim=0)
        product = torch.ones_like(r_e)
        for r in (r_e, r_l):
            product *= r
        logits = (product @ torch.t(r_c)).unsqueeze(0)
        max_value = torch.max(logits)
        out.append((logits == max_value).nonzero(as_tuple=True)[1].tolist())
    return out


def test_mimic_samples_redraw_queries_keep_their_sets_and_break_ties_at_random():
    """For every sample, every drawn query: the release's code (fed the toolkit's query draw)
    finds the maxima of its 10 logits; the toolkit's outcome is top-1 only when the true
    candidate is among them, always when it is the only one; over many seeds a query whose true
    candidate ties with k others at the top is right 1/(k+1) of the time."""
    rng = np.random.default_rng(0)
    n, d = 40, 6
    plan = _mimic_plan(rng, n)
    r_e, r_l, r_c = _ints(rng, (n, d)), _ints(rng, (n, d)), _ints(rng, (n, d))
    samples = release_samples(plan, [r_e, r_l], r_c, "mip", seed=7)
    assert samples.method == "release-queries" and len(samples.drawn) == RELEASE_SAMPLES
    ds = _release_ds(plan, r_c, r_e, r_l)
    tied_at_top = {}
    for drawn, ranks in zip(samples.drawn, samples.ranks, strict=True):
        maxima = _zeroshot_max_indices(_resample_retrieval_ds(ds, torch.from_numpy(drawn)))
        for q, top, rank in zip(drawn, maxima, ranks, strict=True):
            if 0 not in top:
                assert rank > 1
            elif len(top) == 1:
                assert rank == 1
            else:
                tied_at_top[int(q)] = len(top)
    assert tied_at_top, "the integer embeddings should tie some true candidates at the top"
    q, k = next(iter(tied_at_top.items()))
    wins = [
        float(
            np.mean(
                [
                    r == 1
                    for s in [release_samples(plan, [r_e, r_l], r_c, "mip", seed=seed)]
                    for drawn, ranks in zip(s.drawn, s.ranks, strict=True)
                    for i, r in zip(drawn, ranks, strict=True)
                    if i == q
                ]
                or [np.nan]
            )
        )
        for seed in range(300)
    ]
    assert abs(np.nanmean(wins) - 1 / k) < 0.08


def test_m3_samples_redraw_bank_and_queries_independently_with_argmax_ties():
    """Each sample: the bank is a draw with replacement of the split's images, the queries an
    independent one; a query is right when `torch.argmax` over the bank in drawn order (the
    first maximum) has its class, exactly as the release's `test.py` + `zeroshot_retrieval`
    compute it, copies and cross-class ties included."""
    rng = np.random.default_rng(1)
    n, d = 60, 5
    cls = rng.integers(0, 5, n)
    images = _ints(rng, (12, d))[rng.integers(0, 12, n)]  # rows share images (M3's pools)
    audio, text = _ints(rng, (n, d)), _ints(rng, (n, d))
    plan = SharedPool(
        ids=np.arange(n),
        rows=np.arange(n),
        values=None,
        correct_when="class",
        description="test",
        query_labels=cls,
        labels=cls,
    )
    samples = release_samples(plan, [audio, text], images, "mip", seed=3)
    assert samples.method == "release-queries-and-candidates" and samples.banks is not None
    for drawn, ranks, bank in zip(samples.drawn, samples.ranks, samples.banks, strict=True):
        assert not np.array_equal(np.sort(drawn), np.sort(bank))  # two independent draws
        r_i, r_i_cls_id = torch.from_numpy(images[bank]), torch.from_numpy(cls[bank])
        r_a, r_t = torch.from_numpy(audio[drawn]), torch.from_numpy(text[drawn])
        product = torch.ones_like(r_a)
        for r in (r_a, r_t):
            product *= r
        logits = product @ torch.t(r_i)
        pred = r_i_cls_id[torch.argmax(logits, dim=1)]
        accuracies = (torch.from_numpy(cls[drawn]) == pred).float().numpy()
        np.testing.assert_array_equal(accuracies, (ranks == 1).astype(np.float32))


def test_xor_fresh_sets_are_ten_blocks_scored_with_the_first_maximum():
    """The split is cut into 10 consecutive test sets; in each, a query is right when
    `torch.argmax` over the 2^d candidates in their enumeration order is its vector; a split
    that does not divide into 10 equal sets is one line naming the fix."""
    rng = np.random.default_rng(2)
    n, d = 50, 4
    a, c, cands = _ints(rng, (n, d)), _ints(rng, (n, d)), _ints(rng, (8, d))
    codes = rng.integers(0, 8, n)
    plan = SharedPool(
        ids=np.arange(8),
        rows=None,
        values=np.zeros((8, 3)),
        correct_when="equal",
        description="test",
        query_labels=codes,
        labels=np.arange(8),
    )
    samples = release_samples(plan, [a, c], cands, "mip", seed=0)
    assert samples.method == "release-fresh-sets"
    for b, (drawn, ranks) in enumerate(zip(samples.drawn, samples.ranks, strict=True)):
        assert drawn.tolist() == list(range(5 * b, 5 * b + 5))
        logits = torch.from_numpy(a[drawn] * c[drawn]) @ torch.t(torch.from_numpy(cands))
        preds = torch.argmax(logits, dim=1).numpy()
        np.testing.assert_array_equal(preds == codes[drawn], ranks == 1)
    short = SharedPool(**{**plan.__dict__, "query_labels": codes[: 53 - 10]})
    with pytest.raises(HarnessInputError, match="43 rows; build a test split of 10 x n rows"):
        release_samples(short, [a[:43], c[:43]], cands, "mip", seed=0)


def test_rows_are_the_mean_of_the_samples_with_the_se_of_that_mean():
    """A row's value is the mean of the 10 samples' metric, its se SD(ddof=1)/sqrt(10), its
    interval value ± z·se; language rows use each sample's queries of that language; the same
    seed gives the same rows and another seed other draws."""
    rng = np.random.default_rng(4)
    n, d = 30, 4
    plan = _mimic_plan(rng, n)
    q1, q2, c = _ints(rng, (n, d)), _ints(rng, (n, d)), _ints(rng, (n, d))
    ranking = plan.rank([q1, q2], c)
    lang = np.array(["en", "el", "hi"])[rng.integers(0, 3, n)]
    samples = release_samples(plan, [q1, q2], c, "mip", seed=5)
    rows = release_rows(
        samples,
        ranking,
        split="test",
        languages=lang,
        metrics=("top1", "mrr"),
        confidence=0.9,
        seed=5,
    )
    top1 = next(r for r in rows if r.metric == "top1" and r.language is None)
    means = np.array([(r == 1).mean() for r in samples.ranks])
    assert math.isclose(top1.value, means.mean())
    assert math.isclose(top1.se, means.std(ddof=1) / math.sqrt(10))
    assert math.isclose(top1.ci_high - top1.value, 1.6448536269514722 * top1.se)
    assert top1.bootstrap.method == "release-queries" and top1.bootstrap.resamples == 10
    el = next(r for r in rows if r.metric == "top1" and r.language == "el")
    per = [
        (r[lang[dr] == "el"] == 1).mean()
        for dr, r in zip(samples.drawn, samples.ranks, strict=True)
    ]
    assert math.isclose(el.value, float(np.mean(per))) and el.n == int((lang == "el").sum())
    again = release_samples(plan, [q1, q2], c, "mip", seed=5)
    other = release_samples(plan, [q1, q2], c, "mip", seed=6)
    assert all(np.array_equal(x, y) for x, y in zip(samples.drawn, again.drawn, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(samples.drawn, other.drawn, strict=True))


@pytest.fixture(scope="module")
def xor50(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor") / "xor"
    run_cli(
        "build",
        "xor",
        "--p",
        "1.0",
        "--train-n",
        "10",
        "--val-n",
        "10",
        "--test-n",
        "50",
        "-q",
        "--out",
        out,
    )
    return out


def test_cli_release_protocol_is_recorded_validated_and_compared(xor50, tmp_path):
    """`evaluate --protocol release` writes `protocol: release` and rows named by the procedure
    (XOR: fresh test sets); `validate --dataset` re-scores its predictions, `compare` pairs it
    with a default-protocol file (which says `protocol: default`), a file from before the field
    still validates, and an unknown protocol is one line."""
    release, default = tmp_path / "release.json", tmp_path / "default.json"
    run_cli("evaluate", xor50, "-m", "xor-oracle", "--protocol", "release", "-o", release, "-q")
    run_cli("evaluate", xor50, "-m", "constant", "-o", default, "-q", "--bootstrap", "100")
    res = load_json(release)
    assert res["protocol"] == "release" and load_json(default)["protocol"] == "default"
    top1 = next(r for r in res["rows"] if r["metric"] == "top1")
    assert top1["bootstrap"]["method"] == "release-fresh-sets" and top1["value"] == 1.0
    assert top1["se"] == 0.0 and top1["n"] == 50
    run_cli("validate", release, "--dataset", xor50)
    assert "top1" in run_cli("compare", release, default).stdout
    old = load_json(default)
    del old["protocol"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    run_cli("validate", tmp_path / "old.json")
    bad = run_cli(
        "evaluate",
        xor50,
        "-m",
        "constant",
        "--protocol",
        "paper",
        "-o",
        tmp_path / "x.json",
        check=False,
    )
    assert bad.returncode == 1 and "--protocol 'paper': use one of default, release" in bad.stderr
    assert "Traceback" not in bad.stderr
