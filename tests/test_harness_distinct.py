"""The harness encodes each distinct medium once (#17 point 4): on a small Symile-M3 built both
pooled and inline, with a model that hashes the decoded pixels, samples and text, and with a
trained baseline checkpoint, encoding once per audio_id/image_id gives the same embeddings,
bit for bit, and the same results as encoding every row, on every storage; the model sees each
distinct clip and image once; rows whose medium is missing keep their mask; embeddings files
keyed by the media ids score a pooled split."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import symile_bench
from symile_bench.harness import embeddings as files
from symile_bench.harness.encoders import FileEncoder, ModelEncoder
from symile_bench.harness.evaluate import EvalOptions, evaluate
from symile_bench.harness.examples import Constant, ContentHash
from symile_bench.harness.results import Results
from symile_bench.manifest import read_manifest

from .conftest import run_cli
from .evaluate_fixtures import load_json

STORAGES = ("pooled", "inline")
# Two missingness variants of the validation split: audio missing (queries), image missing
# (a query modality when the target is audio). Images are never missing in the first, so
# every query's class has candidates.
AUDIO_MISSING = "audio:0.5/image:0/text:0.5"
IMAGE_MISSING = "audio:0/image:0.5/text:0.5"
# (config by position, split, target): the complete test split, and each missingness
# variant's validation split under the missing-modality protocol
CASES = ((0, "test", None), (1, "validation", None), (2, "validation", "audio"))
CASE_IDS = ("complete-test", "audio-missing-validation", "image-missing-validation")
BATCH = 64


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    """The same small M3, once per storage. Small pools (4 clips a language, one image a
    class) so rows share media: 400 test rows show 8 clips and about 200 images. FLAC clips
    in both (--audio-format auto would give the inline build MP3): the same media."""
    root = tmp_path_factory.mktemp("distinct")
    out = {}
    for storage in STORAGES:
        out[storage] = root / storage
        run_cli(
            "build", "m3", "--languages", "2", "--train-n", "50", "--val-n", "100",
            "--test-n", "400", "--audio-pool", "4", "--image-pool", "1", "--image-size", "32",
            "--missing-prob", f"{AUDIO_MISSING},{IMAGE_MISSING}", "--storage", storage,
            "--audio-format", "flac", "--out", out[storage], "-q",
        )  # fmt: skip
    return out


def config_name(path: Path, index: int) -> str:
    """The build's configs: complete, then one per --missing-prob setting, in order."""
    return list(read_manifest(path).variants)[index]


def run(
    path: Path,
    case: tuple[int, str, str | None],
    model: object,
    *,
    distinct: bool = True,
    save: Path | None = None,
    batch: int = BATCH,
    score_distinct: bool = True,
) -> tuple[Results, dict[str, int]]:
    """Evaluate ``model`` through the harness's Python API; also what each progress bar
    counted, against its total."""
    config, split, target = case
    counted: dict[str, list[int]] = {}

    def track(description: str, total: int, unit: str):
        counted[description] = [0, total]
        return lambda n: counted[description].__setitem__(0, counted[description][0] + n)

    options = EvalOptions(
        config=config_name(path, config),
        split=split,
        target=target,
        missing_protocol=split == "validation",
        resamples=50,
        batch_size=batch,
        distinct=score_distinct,
    )
    encoder = ModelEncoder(model, "test-model", batch, distinct=distinct)
    res = evaluate(path, encoder, options, track=track, save_embeddings=save)
    return res, {d: done - total for d, (done, total) in counted.items()}


def saved(directory: Path) -> dict[str, np.ndarray]:
    return {p.name: np.load(p) for p in sorted(directory.glob("*.npy"))}


def same_embeddings(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys() and a
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        assert np.array_equal(a[name], b[name]), f"{name}: not bit-identical"


def split_rows(path: Path, case: tuple[int, str, str | None]) -> pa.Table:
    """The split's rows (a pooled build's without media: ids and masks are what we need)."""
    config, split, _ = case
    return symile_bench.load(path, config=config_name(path, config), split=split).with_format(
        "arrow"
    )[:]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_once_per_medium_is_bit_identical_to_every_row_on_both_storages(builds, case, tmp_path):
    """Pooled and inline, each medium once and every row: the four runs save bit-identical
    embeddings (queries, candidates, and the missing-protocol's) and identical results rows
    and predictions; every progress bar counts exactly its rows."""
    runs = {}
    for storage in STORAGES:
        for distinct in (True, False):
            key = f"{storage}-{'distinct' if distinct else 'every-row'}"
            res, progress = run(
                builds[storage], case, ContentHash(), distinct=distinct, save=tmp_path / key
            )
            assert progress and all(v == 0 for v in progress.values()), progress
            runs[key] = (res, saved(tmp_path / key))
    reference, ref_embeddings = runs.pop("inline-every-row")
    assert reference.rows
    for key, (res, embeddings) in runs.items():
        same_embeddings(ref_embeddings, embeddings)
        assert res.rows == reference.rows, key
        assert res.predictions == reference.predictions, key


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_each_distinct_candidate_scored_once_gives_the_same_results(
    builds, storage, case, monkeypatch
):
    """Scoring each distinct candidate once (#25 point 5) writes the results rows and
    predictions of scoring every candidate row, on both storages, for a model that reads the
    media (repeats only where rows show the same image or clip) and for the constant model
    (every score ties: ranks and top-k come from the tie rule alone). On the test split the
    grouped path ran, with fewer groups than candidates."""
    from symile_bench.harness import repeats

    seen: list[tuple[int, int]] = []
    group_candidates = repeats.group_candidates

    def spy(candidates, labels):
        groups = group_candidates(candidates, labels)
        seen.append((len(candidates), 0 if groups is None else len(groups)))
        return groups

    monkeypatch.setattr(repeats, "group_candidates", spy)
    for model in (ContentHash(), Constant()):
        seen.clear()
        on, _ = run(builds[storage], case, model)
        off, _ = run(builds[storage], case, model, score_distinct=False)
        assert on.rows and on.rows == off.rows
        assert on.predictions == off.predictions
        if case[1] == "test":  # 400 rows; the validation splits' 100 rows repeat too little
            assert seen and all(0 < groups < m for m, groups in seen), seen


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_model_sees_each_distinct_clip_and_image_once(builds, storage, case):
    """`encode` gets each distinct audio_id / image_id once (among rows where the medium is
    present), plus each row whose medium is missing, with its mask; text has no id, so every
    row. Encoding every row instead gives the model one item per row."""
    table = split_rows(builds[storage], case)
    n = table.num_rows
    once, every = ContentHash(), ContentHash()
    run(builds[storage], case, once)
    run(builds[storage], case, every, distinct=False)
    for modality in ("audio", "image"):
        ids = table[f"{modality}_id"]
        missing = int(np.asarray(table[f"{modality}_missing"]).sum())
        assert ids.null_count == missing  # a missing medium is a null id
        distinct = len(ids.drop_null().unique())
        hidden = n if (case[1] == "validation" and modality != (case[2] or "image")) else 0
        assert once.items[modality] == distinct + missing + hidden, modality
        assert once.calls[modality] == sum(
            math.ceil(k / BATCH) for k in (distinct, missing, hidden)
        )
        assert every.items[modality] == n + hidden, modality
        assert distinct < n - missing  # the build shares media, so encoding once saved work
    hidden_text = n if case[1] == "validation" else 0
    assert once.items["text"] == every.items["text"] == n + hidden_text


def test_embeddings_keyed_by_media_ids_score_a_pooled_split(builds, tmp_path):
    """A directory of one embedding per distinct audio_id and image_id (parquet keyed by the
    id column) scores a pooled split exactly as the model did: the ids are row columns."""
    case = CASES[0]
    res, _ = run(builds["pooled"], case, ContentHash(), save=tmp_path / "saved")
    table = split_rows(builds["pooled"], case)
    emb = tmp_path / "keyed"
    emb.mkdir()
    for modality in ("audio", "image"):
        ids = np.asarray(table[f"{modality}_id"].to_pylist(), dtype=object)
        _, first = np.unique(ids, return_index=True)
        values = np.load(tmp_path / "saved" / f"{modality}.npy")[first]
        files.write_parquet(emb / f"{modality}.parquet", values, f"{modality}_id", ids[first])
    files.write_npy(emb / "text.npy", np.load(tmp_path / "saved" / "text.npy"))
    options = EvalOptions(config=config_name(builds["pooled"], 0), split="test", resamples=50)
    keyed = evaluate(builds["pooled"], FileEncoder(emb, scoring="mip"), options)
    assert keyed.rows == res.rows
    assert keyed.predictions == res.predictions


def test_trained_baseline_is_bit_identical_once_per_medium(builds, tmp_path):
    """The repo's M3 baseline (trained here for two epochs on the inline build) embeds the
    pooled split once per medium exactly as it embeds the inline split row by row, given
    batches that hold every item. Its torch Linear layers are not batch-invariant: a batch of
    1-3, 5-7 or 9-11 rows takes another kernel with other low bits, so at --batch-size 64
    (the last of the 199 distinct images' batches holds 7) three images differ by 2e-7 from
    encoding every row (docs/evaluation.md, "Each medium once")."""
    from symile_bench.baselines.model import TrainedModel

    ckpt = tmp_path / "ckpt"
    run_cli("train", builds["inline"], "--out", ckpt, "--epochs", "2", "--dim", "16", "-q")
    model = TrainedModel(ckpt)
    case, batch = CASES[0], 512  # > 400 rows: one batch per call on either path
    once, _ = run(builds["pooled"], case, model, save=tmp_path / "once", batch=batch)
    every, _ = run(
        builds["inline"], case, model, distinct=False, save=tmp_path / "every", batch=batch
    )
    same_embeddings(saved(tmp_path / "every"), saved(tmp_path / "once"))
    assert once.rows == every.rows and once.predictions == every.predictions


def test_cli_no_distinct_and_pooled_agree(builds, tmp_path):
    """Through `symile-bench evaluate`: the pooled build with the default (each medium once)
    and the inline build with --no-distinct write the same results."""
    model = "symile_bench.harness.examples:content_hash"
    common = ("--bootstrap", "50", "-q", "--batch-size", str(BATCH))
    run_cli("evaluate", builds["pooled"], "-m", model, "-o", tmp_path / "p.json", *common)
    run_cli(
        "evaluate", builds["inline"], "-m", model, "--no-distinct", "-o", tmp_path / "i.json",
        *common,
    )  # fmt: skip
    pooled, inline = load_json(tmp_path / "p.json"), load_json(tmp_path / "i.json")
    assert pooled["rows"] and pooled["rows"] == inline["rows"]
    assert pooled["predictions"] == inline["predictions"]
    assert pooled["dataset"]["split_fingerprint"] != inline["dataset"]["split_fingerprint"]


def test_training_on_a_pooled_build_equals_training_on_the_inline_one(builds, tmp_path):
    """`symile-bench train` reads a pooled build's media through its pools: the checkpoint it
    trains embeds the test split exactly as the one trained on the inline build does."""
    from symile_bench.baselines.model import TrainedModel

    for storage in STORAGES:
        run_cli(
            "train", builds[storage], "--out", tmp_path / f"ckpt-{storage}", "--epochs", "1",
            "--dim", "16", "-q",
        )  # fmt: skip
        model = TrainedModel(tmp_path / f"ckpt-{storage}")
        run(builds["inline"], CASES[0], model, save=tmp_path / f"emb-{storage}", batch=512)
    same_embeddings(saved(tmp_path / "emb-inline"), saved(tmp_path / "emb-pooled"))
