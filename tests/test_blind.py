"""Blind releases through their public interfaces (CLI subprocesses, `load_dataset`, HTTP):
`build --blind --answer-key FILE` publishes a test split whose answer columns are null and
writes the answers to FILE; `evaluate` on it writes top-k ids only; `leaderboard add
--answer-key FILE` registers it and the server verifies a submission from those ids."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import httpx
import numpy as np
import pytest

import symile_bench
from symile_bench.errors import ResultsFileError
from symile_bench.harness.results import load_results
from symile_bench.leaderboard.answerkey import answer_key_from_dataset, read_answer_key_file
from symile_bench.manifest import read_manifest

from .conftest import run_cli
from .test_leaderboard_support import serve

N = 120
XOR = [
    "build",
    "xor",
    "--p",
    "1.0,0.5",
    "--train-n",
    "30",
    "--val-n",
    "10",
    "--test-n",
    str(N),
    "--executor",
    "serial",
    "-q",
]
M3 = [
    "build",
    "m3",
    "--languages",
    "2",
    "--train-n",
    "20",
    "--val-n",
    "10",
    "--test-n",
    "40",
    "--audio-pool",
    "2",
    "--image-pool",
    "1",
    "--image-size",
    "32",
    "--shard-rows",
    "25",
    "--missing-prob",
    "0.5",
    "--executor",
    "serial",
    "-q",
]


@pytest.fixture(scope="module")
def xor(tmp_path_factory) -> Path:
    """root/full: an ordinary build; root/blind: the same command with --blind, whose answer
    key is root/keys/xor.json."""
    root = tmp_path_factory.mktemp("blind")
    run_cli(*XOR, "--out", root / "full")
    run_cli(*XOR, "--blind", "--answer-key", root / "keys" / "xor.json", "--out", root / "blind")
    return root


def tree_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def one_line_error(*args) -> str:
    proc = run_cli(*args, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr


def test_blind_test_split_has_no_answers_and_the_rest_is_unchanged(xor, monkeypatch):
    """load_dataset reads the blind directory offline with the same features; its test split
    has b and i null in every row and a, c as in the full build; train and validation shards
    are byte-identical; the manifest marks the withheld columns and names a new test
    fingerprint; the card says so; `verify` passes."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    full, blind = xor / "full", xor / "blind"
    for config in ("p1.0", "p0.5"):
        loaded = datasets.load_dataset(str(blind), config)
        reference = datasets.load_dataset(str(full), config)
        assert loaded["test"].features == reference["test"].features
        test = loaded["test"].to_dict()
        assert set(test["b"]) == {None} and set(test["i"]) == {None} and len(test["b"]) == N
        assert test["a"] == reference["test"]["a"] and test["c"] == reference["test"]["c"]
        for split in ("train", "validation"):
            assert loaded[split].to_dict() == reference[split].to_dict()
    m_full, m_blind = read_manifest(full), read_manifest(blind)
    for config, record in m_blind.variants.items():
        assert record.splits["test"].withheld == ["b", "i"]
        assert (
            record.splits["test"].fingerprint != m_full.variants[config].splits["test"].fingerprint
        )
        for split in ("train", "validation"):
            assert record.splits[split] == m_full.variants[config].splits[split]
            assert record.splits[split].withheld is None
    assert '"withheld"' not in (full / "manifest.json").read_text()  # ordinary: unchanged
    assert "## Withheld test answers" in (blind / "README.md").read_text()
    assert "Withheld" not in (full / "README.md").read_text()
    assert run_cli("verify", blind).returncode == 0


def test_answer_key_file_is_outside_out_deterministic_and_matches_the_full_split(xor, tmp_path):
    """The key file holds, per config, the key the leaderboard computes from the full build
    (same ids and labels) under the blind split's fingerprint; no file under --out holds it;
    the same command elsewhere, and a rerun in place, give the same bytes everywhere; a key
    path inside --out is refused before any work."""
    full, blind, key_file = xor / "full", xor / "blind", xor / "keys" / "xor.json"
    m_blind = read_manifest(blind)
    for config in ("p1.0", "p0.5"):
        held = read_answer_key_file(key_file, config)
        reference = answer_key_from_dataset(full, "test", config)
        assert held.fingerprint == m_blind.variants[config].splits["test"].fingerprint
        assert held.dataset_fingerprint == m_blind.fingerprint
        for name in ("query_ids", "query_labels", "candidate_ids", "candidate_labels"):
            assert np.array_equal(getattr(held.key, name), getattr(reference.key, name))
    key_text = key_file.read_bytes()
    packed = json.loads(key_text)["keys"][0]["query_labels"].encode()
    assert all(packed not in data for data in tree_bytes(blind).values())

    again = tmp_path / "again"
    run_cli(*XOR, "--blind", "--answer-key", tmp_path / "again.json", "--out", again)
    assert tree_bytes(again) == tree_bytes(blind)
    assert (tmp_path / "again.json").read_bytes() == key_text
    run_cli(*XOR, "--blind", "--answer-key", tmp_path / "again.json", "--out", again)  # resume
    assert tree_bytes(again) == tree_bytes(blind)
    assert (tmp_path / "again.json").read_bytes() == key_text

    inside = one_line_error(
        *XOR, "--blind", "--answer-key", tmp_path / "new" / "key.json", "--out", tmp_path / "new"
    )
    assert "inside --out" in inside and not (tmp_path / "new").exists()
    assert "--answer-key" in one_line_error(*XOR, "--blind", "--out", tmp_path / "x")


def test_shard_jobs_then_finalize_blind_equal_a_one_shot_blind_build(tmp_path):
    """`--blind` is refused on a `--shards` job (one line); `finalize --blind` after the jobs
    gives the same directory and key file, byte for byte, as one `build --blind`."""
    args = [*XOR, "--shard-rows", "50"]
    run_cli(*args, "--blind", "--answer-key", tmp_path / "one.json", "--out", tmp_path / "one")
    assert "finalize" in one_line_error(
        *args,
        "--shards",
        "0:2",
        "--blind",
        "--answer-key",
        tmp_path / "two.json",
        "--out",
        tmp_path / "two",
    )
    run_cli(*args, "--shards", "0:4", "--out", tmp_path / "two")
    run_cli(*args, "--shards", "4:", "--out", tmp_path / "two")
    run_cli("finalize", tmp_path / "two", "--blind", "--answer-key", tmp_path / "two.json", "-q")
    assert tree_bytes(tmp_path / "two") == tree_bytes(tmp_path / "one")
    assert (tmp_path / "two.json").read_bytes() == (tmp_path / "one.json").read_bytes()


def test_evaluate_on_a_blind_split_writes_predictions_only(xor, tmp_path):
    """On the blind split the results mark `dataset.blind`, hold no rows and predictions
    without ranks, whose top-k ids equal those of the same model on the full split; `validate`
    accepts the file, `compare` refuses it; the schema refuses rows on a blind file and missing
    ranks on an ordinary one; options that need the answers are one-line errors."""
    run_cli(
        "evaluate",
        xor / "blind",
        "--model",
        "xor-oracle",
        "--config",
        "p0.5",
        "--out",
        tmp_path / "blind.json",
        "-q",
    )
    run_cli(
        "evaluate",
        xor / "full",
        "--model",
        "xor-oracle",
        "--config",
        "p0.5",
        "--out",
        tmp_path / "full.json",
        "--bootstrap",
        "100",
        "-q",
    )
    res, ref = (json.loads((tmp_path / f).read_text()) for f in ("blind.json", "full.json"))
    assert res["dataset"]["blind"] is True and "blind" not in ref["dataset"]
    assert res["rows"] == [] and res["task"] == ref["task"]
    [p], [q] = res["predictions"], ref["predictions"]
    assert "ranks" not in p and "ranks" in q
    assert (p["query_ids"], p["top_k"], p["k"]) == (q["query_ids"], q["top_k"], q["k"])
    assert run_cli("validate", tmp_path / "blind.json", "-q").returncode == 0
    for bad, message in (
        ({**res, "rows": ref["rows"]}, "cannot hold rows"),
        ({**ref, "predictions": [p]}, "has no ranks"),
    ):
        (tmp_path / "bad.json").write_text(json.dumps(bad))
        with pytest.raises(ResultsFileError, match=message):
            load_results(tmp_path / "bad.json")
    assert "blind split" in one_line_error(
        "compare", tmp_path / "blind.json", tmp_path / "full.json"
    )
    assert "withheld" in one_line_error(
        "evaluate",
        xor / "blind",
        "--model",
        "xor-oracle",
        "--target",
        "a",
        "--out",
        tmp_path / "a.json",
        "-q",
    )
    assert "blind" in one_line_error(
        "evaluate",
        xor / "blind",
        "--model",
        "xor-oracle",
        "--no-predictions",
        "--out",
        tmp_path / "n.json",
        "-q",
    )


def test_leaderboard_registers_from_the_answer_key_and_verifies_a_blind_submission(xor, tmp_path):
    """`leaderboard add --answer-key` registers the blind split (the dataset directory itself
    is refused: it has no answers); the oracle's blind results, submitted to the running
    server, are verified from their ids alone at top-1 1.0 over every test query; the board
    shows the chance level the key file carries and the card given with --card."""
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    refused = one_line_error("leaderboard", "add", xor / "blind", "--config", "p1.0", "--db", db)
    assert "--answer-key" in refused
    run_cli(
        "leaderboard",
        "add",
        "--answer-key",
        xor / "keys" / "xor.json",
        "--config",
        "p1.0",
        "--card",
        xor / "blind" / "README.md",
        "--db",
        db,
    )
    token = run_cli("leaderboard", "token", "alice", "--db", db).stdout.strip()
    results = tmp_path / "oracle.json"
    run_cli(
        "evaluate",
        xor / "blind",
        "--model",
        "xor-oracle",
        "--config",
        "p1.0",
        "--out",
        results,
        "-q",
    )
    with serve(db) as url:
        done = run_cli("submit", results, "--server", url, "--token", token)
        board = httpx.get(url + "/api/v1/leaderboard/xor-p1.0-test").json()
        card = httpx.get(url + "/b/xor-p1.0-test/card").text
    assert "verified" in done.stdout
    # the key file carries the build's description; --card the blind build's card
    assert [x["label"] for x in board["benchmark"]["levels"]] == ["chance 1/32"]
    assert card == (xor / "blind" / "README.md").read_text("utf-8")
    [entry] = board["verified"]
    assert (entry["model"], entry["top1"], entry["ci_low"], entry["n"]) == (
        "xor-oracle",
        1.0,
        1.0,
        N,
    )


def test_blind_m3_withholds_classes_image_names_and_pools(tmp_path):
    """M3 built blind: in every config's test split the class columns are null and the images
    keep their bytes but lose their file names (which start with the synset id); the pools
    (every image with its class) are gone; the key of each config matches the full build's."""
    run_cli(*M3, "--out", tmp_path / "full")
    run_cli(*M3, "--blind", "--answer-key", tmp_path / "m3-key.json", "--out", tmp_path / "blind")
    blind = tmp_path / "blind"
    manifest = read_manifest(blind)
    assert not (blind / "pools").exists() and manifest.resources == []
    hidden = ["cls", "cls_id", "target_text", "synset_id", "image_id"]
    for config in ("complete", "missing0.5"):
        assert manifest.variants[config].splits["test"].withheld == hidden
        table = symile_bench.load(blind, config, "test").with_format("arrow")[:]
        full = symile_bench.load(tmp_path / "full", config, "test").with_format("arrow")[:]
        for name in hidden:
            assert table[name].null_count == table.num_rows == 40
        images = table["image"].combine_chunks()
        assert images.field("path").null_count == 40
        assert images.field("bytes") == full["image"].combine_chunks().field("bytes")
        for name in ("lang", "text", "audio"):
            assert table[name] == full[name]
        held = read_answer_key_file(tmp_path / "m3-key.json", config)
        reference = answer_key_from_dataset(tmp_path / "full", "test", config)
        assert (held.target, held.rule) == ("image", "all")
        for name in ("query_ids", "query_labels", "candidate_ids", "candidate_labels"):
            assert np.array_equal(getattr(held.key, name), getattr(reference.key, name))


def test_blind_mimic_is_refused_with_one_line(tmp_path):
    """MIMIC's query ids appear in its candidate sets, so --blind is refused before any work."""
    line = one_line_error(
        "build",
        "mimic",
        "--blind",
        "--answer-key",
        tmp_path / "k.json",
        "--out",
        tmp_path / "mimic",
    )
    assert "not supported for mimic" in line and not (tmp_path / "mimic").exists()
