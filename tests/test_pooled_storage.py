"""Pooled storage (`build m3 --storage pooled`): each distinct clip and image stored once, rows
holding ids, and every guarantee of an inline build kept: rows read the same through
`symile_bench.load`, `datasets.load_dataset` reads rows and pools, `verify` re-hashes the pools,
resume, `--shards` + `finalize`, `--blind` without answers in the ids, missing media as null
ids, and exports that put the media back inline."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch

import symile_bench
from builders.m3.build.config import M3Config
from symile_bench.leaderboard.answerkey import answer_key_from_dataset, read_answer_key_file
from symile_bench.manifest import read_manifest

from .conftest import run_cli

# small pools (6 clips a language, 2 images a class) so that rows share their media
OPTIONS = [
    "--languages", "2", "--train-n", "400", "--val-n", "100", "--test-n", "120",
    "--audio-pool", "6", "--image-pool", "2", "--image-size", "32", "--shard-rows", "100",
    "--missing-prob", "0.5",
]  # fmt: skip


def build(out: Path, storage: str, *extra: str | Path) -> Path:
    run_cli("build", "m3", *OPTIONS, "--storage", storage, "-q", *extra, "--out", out)
    return out


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pooled")
    # --audio-format auto stores a pooled build's clips as FLAC: the inline build asks for
    # FLAC too, so that the two builds hold the same media
    inline = build(tmp / "inline", "inline", "--audio-format", "flac")
    return {"pooled": build(tmp / "pooled", "pooled"), "inline": inline}


def media_equal(a: object, b: object) -> bool:
    """Decoded images compare by pixels, decoded clips by samples."""
    if a is None or b is None:
        return a is b
    if hasattr(a, "get_all_samples"):
        return np.array_equal(a.get_all_samples().data.numpy(), b.get_all_samples().data.numpy())
    return np.array_equal(np.asarray(a), np.asarray(b))


def test_pooled_rows_read_like_inline_rows_through_symile_bench_load(dirs):
    """Same config and seed: every row of every split and config reads the same from the
    pooled build as from the inline one (media decoded from the pools; a missing medium is a
    null id and reads as None), and batches (slices) join as single rows do."""
    for config in ("complete", "missing0.5"):
        for split in ("train", "validation", "test"):
            pooled = symile_bench.load(dirs["pooled"], config, split)
            inline = symile_bench.load(dirs["inline"], config, split)
            assert len(pooled) == len(inline)
            plain = [c for c in inline.column_names if c not in ("audio", "image")]
            stored = pooled.with_format("arrow")[:].select(plain)  # the stored columns
            assert stored.to_pylist() == inline.with_format("arrow")[:].select(plain).to_pylist()
            for i in range(0, len(inline), 23):
                a, b = pooled[i], inline[i]
                assert a.keys() == b.keys()
                assert media_equal(a["image"], b["image"]) and media_equal(a["audio"], b["audio"])
            batch, whole = pooled[5:9], inline[5:9]
            assert all(map(media_equal, batch["image"], whole["image"]))
    masked = symile_bench.load(dirs["pooled"], "missing0.5", "train")
    gone = [i for i, m in enumerate(masked["image_missing"]) if m]
    assert gone and masked[gone[0]]["image"] is None and masked[gone[0]]["image_id"] is None


def same(a: object, b: object) -> bool:
    """Equal values in any `datasets` format: dicts and frames column by column, media by
    pixels or samples, arrays and tensors element-wise, nulls (pandas' NaN too) alike."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        return list(a) == list(b) and all(same(list(a[c]), list(b[c])) for c in a)
    if isinstance(a, pa.Table) and isinstance(b, pa.Table):
        return a.column_names == b.column_names and a.to_pylist() == b.to_pylist()
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, (list, tuple, np.ndarray)) and isinstance(b, (list, tuple, np.ndarray)):
        if isinstance(a, np.ndarray) and a.dtype != object:
            return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
        return len(a) == len(b) and all(map(same, a, b))
    if hasattr(a, "get_all_samples") or hasattr(a, "getpixel"):
        return media_equal(a, b)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True  # pandas' null
    return bool(a == b)


def inline_order(pooled: dict, inline: dict) -> dict:
    """A pooled row's columns in the inline row's order (the join appends the media)."""
    return {k: pooled[k] for k in inline} if set(pooled) == set(inline) else pooled


def test_column_operations_join_only_the_media_whose_ids_remain(dirs):
    """`select_columns`, `remove_columns` and `rename_column` work on a pooled split (they
    raised KeyError inside the join): a medium is joined where its id column is, under its
    own name, so keeping `image_id` alone reads the id and the image and no audio; removing
    `image_id` drops the image; a media column can be selected, removed or renamed by name;
    renaming the id keeps its image. Rows equal the inline build's after the same operation
    (for `image_id` alone, the inline row plus its image)."""
    pooled = symile_bench.load(dirs["pooled"], "missing0.5", "train")
    inline = symile_bench.load(dirs["inline"], "missing0.5", "train")
    rows = [0, 7, 151, 399]
    alone = pooled.select_columns(["image_id"])
    assert alone.column_names == ["image_id"]
    for i in rows:
        assert list(alone[i]) == ["image_id", "image"]
        assert same(alone[i], inline.select_columns(["image_id", "image"])[i])
    assert same(alone[5:9]["image"], inline[5:9]["image"])
    alike = [  # the same operation on both builds
        lambda d: d.remove_columns("image"),  # a medium by name: no join, ids kept
        lambda d: d.rename_column("text", "caption"),
        lambda d: d.rename_column("image_id", "img"),  # the image stays joined
        lambda d: d.rename_column("image", "picture"),
        lambda d: d.rename_columns({"audio_id": "clip", "lang": "language"}),
    ]
    pairs = [(op, op) for op in alike] + [  # (pooled, inline): the id brings its medium
        (
            lambda d: d.select_columns(["image", "text"]),
            lambda d: d.select_columns(["image_id", "image", "text"]),
        ),
        (
            lambda d: d.remove_columns(["image_id"]),
            lambda d: d.remove_columns(["image_id", "image"]),
        ),
    ]
    for on_pooled, on_inline in pairs:
        a, b = on_pooled(pooled), on_inline(inline)
        for i in rows:
            assert same(inline_order(a[i], b[i]), b[i]), (i, list(a[i]), list(b[i]))
    with pytest.raises(ValueError, match="'image'"):
        pooled.rename_column("text", "image")


def test_every_format_keeps_the_join(dirs):
    """`with_format` ("numpy", "torch", "pandas", "arrow", back to Python), `with_transform`,
    format columns, row operations (`shuffle`, `select`, `filter`) and a DataLoader keep the
    media: each reads exactly as the inline build does in the same format (Arrow: the
    media's stored structs), for a row, a slice and a list of rows."""
    pooled = symile_bench.load(dirs["pooled"], "missing0.5", "validation")
    inline = symile_bench.load(dirs["inline"], "missing0.5", "validation")
    for fmt in ("numpy", "torch", "pandas", "arrow", None):
        a, b = pooled.with_format(fmt), inline.with_format(fmt)
        assert a.format["type"] == b.format["type"]
        for key in (3, slice(5, 9), [11, 2, 40]):
            x, y = a[key], b[key]
            if isinstance(x, dict):
                x = inline_order(x, y)
            elif isinstance(x, pa.Table):
                x = x.select(y.column_names)
            else:
                x = x[list(y)]
            assert same(x, y), (fmt, key)
    columns = ["image", "cls_id"]
    a = pooled.with_format("torch", columns=columns)[0:4]
    b = inline.with_format("torch", columns=columns)[0:4]
    assert same(a["image"], b["image"]) and same(a["cls_id"], b["cls_id"])
    sizes = pooled.with_transform(lambda batch: {"size": [im and im.size for im in batch["image"]]})
    assert sizes[0:9]["size"] == [im and im.size for im in inline[0:9]["image"]]
    order = list(range(len(inline)))[::-1][:10]
    a = pooled.shuffle(seed=3).select(order).with_format("numpy")[0:5]
    b = inline.shuffle(seed=3).select(order).with_format("numpy")[0:5]
    assert same(inline_order(a, b), b)
    kept = pooled.filter(lambda row: row["image"] is not None, keep_in_memory=True)
    assert len(kept) == len(
        inline.filter(lambda row: row["image"] is not None, keep_in_memory=True)
    )
    assert isinstance(kept.with_format("torch")[0]["image"], torch.Tensor)
    complete = symile_bench.load(dirs["pooled"], "complete", "validation").with_format("torch")
    images = complete.select_columns(["image_id"])  # each image, decoded in a worker
    batch = next(iter(torch.utils.data.DataLoader(images, batch_size=4, num_workers=1)))
    reference = symile_bench.load(dirs["inline"], "complete", "validation").with_format("torch")
    assert torch.equal(batch["image"], reference[0:4]["image"])


def test_pooled_splits_copy_and_pickle_without_their_pools(dirs, tmp_path):
    """A pooled split copies and pickles in bytes of its own, not its pools' media (a format
    change, a `datasets` fingerprint or a DataLoader worker never copies a pool), and reads
    the same after unpickling; `join=False` reads the stored rows: ids, no media;
    `save_to_disk`, which would keep the ids and lose the media, refuses naming `export`."""
    pooled = symile_bench.load(dirs["pooled"], "complete", "test")
    blob = pickle.dumps(pooled)
    pool_bytes = sum(
        f.bytes or 0 for p in read_manifest(dirs["pooled"]).pools.values() for f in p.files
    )
    assert len(blob) < pool_bytes / 20
    assert same(pickle.loads(blob)[4], pooled[4])
    stored = symile_bench.load(dirs["pooled"], "complete", "test", join=False)
    assert "image" not in stored[0] and "image_id" in stored[0]
    with pytest.raises(ValueError, match="symile-bench export"):
        pooled.save_to_disk(tmp_path / "saved")


def test_rows_hold_ids_and_each_medium_is_stored_once_with_its_fingerprint(dirs):
    """Pooled rows have no media columns; the two pools are in the manifest with their own
    fingerprints, hold each id once, and hold every id the rows use; the split fingerprints
    change with the pools (they are named in them)."""
    manifest = read_manifest(dirs["pooled"])
    features = manifest.variants["complete"].features
    assert "audio" not in features and "image" not in features
    assert set(manifest.pools) == {"audio-pool", "image-pool"}
    assert manifest.pools["audio-pool"].rows == 2 * 6
    for name, pool in manifest.pools.items():
        table = pa.concat_tables(
            [pa.ipc.open_stream(dirs["pooled"] / f.file).read_all() for f in pool.files]
        )
        keys = table.column(pool.key).to_pylist()
        assert len(set(keys)) == len(keys) == pool.rows and len(pool.fingerprint) == 64
        used = symile_bench.load(dirs["pooled"], "complete", "train")[pool.key]
        assert set(used) <= set(keys), name
    inline = read_manifest(dirs["inline"])
    assert inline.pools == {}
    assert (
        manifest.split("complete", "test").fingerprint
        != inline.split("complete", "test").fingerprint
    )


def test_load_dataset_reads_rows_and_pools_and_the_card_join_works(dirs):
    """`datasets.load_dataset(DIR)` loads the rows, and each pool as a config of its own; the
    card says the build is pooled and why, and its join code, run as printed, gives the
    image of a row."""
    out = dirs["pooled"]
    rows = datasets.load_dataset(str(out), "complete", split="test")
    assert len(rows) == 120 and "image" not in rows.column_names
    images = datasets.load_dataset(str(out), "image-pool", split="pool")
    assert isinstance(images.features["image"], datasets.Image) and len(images) == 243 * 2
    clips = datasets.load_dataset(str(out), "audio-pool", split="pool")
    assert clips[0]["audio"].metadata.codec == "flac"  # --audio-format auto, pooled
    assert clips[0]["audio"].get_all_samples().sample_rate == 22_050
    card = (out / "README.md").read_text()
    assert "**Pooled** (chosen with `--storage pooled`)" in card
    join = re.findall(r"```python\n(.*?)```", card, re.S)[-1].replace("PATH/TO/THIS/DIR", str(out))
    scope: dict[str, object] = {}
    exec(join, scope)
    expected = symile_bench.load(out, "complete", "test")[0]["image"]
    assert media_equal(scope["image"], expected)
    assert (
        "**Inline** (chosen with `--storage inline`)" in (dirs["inline"] / "README.md").read_text()
    )


def test_verify_rehashes_the_pools_and_the_build_command_repairs_them(dirs, tmp_path):
    """A damaged pool file is named by `verify`; rerunning the build rebuilds it and the
    fingerprint is the one of the undamaged build."""
    out = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(dirs["pooled"]), str(out)], check=True)
    target = out / read_manifest(out).pools["image-pool"].files[3].file
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    proc = run_cli("verify", out, check=False)
    assert proc.returncode != 0 and target.name in proc.stdout + proc.stderr
    build(out, "pooled")
    assert run_cli("verify", out).returncode == 0
    assert read_manifest(out).fingerprint == read_manifest(dirs["pooled"]).fingerprint


def test_shard_jobs_then_finalize_and_sigkills_then_rerun_give_the_same_bytes(dirs, tmp_path):
    """Two `--shards` jobs at once and `finalize`, and a build killed with SIGKILL then rerun,
    both end with the uninterrupted pooled build's fingerprint (pools included)."""
    shared = tmp_path / "shared"
    base = [sys.executable, "-m", "symile_bench", "build", "m3", *OPTIONS, "--storage", "pooled"]
    jobs = [
        subprocess.Popen([*base, "-q", "--workers", "1", "--shards", part, "--out", str(shared)])
        for part in ("0:4", "4:")
    ]
    assert [job.wait(timeout=600) for job in jobs] == [0, 0]
    run_cli("finalize", shared)
    reference = read_manifest(dirs["pooled"])
    assert read_manifest(shared).fingerprint == reference.fingerprint
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*base, "-q", "--out", str(killed)], start_new_session=True)
    time.sleep(4.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    build(killed, "pooled")
    assert read_manifest(killed).model_dump() == reference.model_dump()


def test_blind_pooled_test_ids_carry_no_class(dirs, tmp_path):
    """`--blind` on a pooled build: the test rows refer to a pool of their own whose ids are
    opaque (no synset, no class order), which holds only the id and the image bytes, without
    file names; the images are the full build's, row by row; the train split and its pool
    are unchanged; the answer key equals the full build's."""
    out = tmp_path / "blind"
    build(out, "pooled", "--blind", "--answer-key", tmp_path / "key.json")
    manifest = read_manifest(out)
    record = manifest.split("complete", "test")
    assert record.pool_overrides == {"image-pool": "image-pool-blind"}
    assert "image_id" not in record.withheld and "cls_id" in record.withheld
    blind = symile_bench.load(out, "complete", "test")
    full = symile_bench.load(dirs["pooled"], "complete", "test")
    synsets = set(full["synset_id"])
    ids = blind["image_id"]
    assert all(i.startswith("image-pool-blind-") for i in ids)
    assert not any(s in i for i in ids for s in synsets)
    assert all(media_equal(blind[i]["image"], full[i]["image"]) for i in range(0, 120, 7))
    pool = datasets.load_dataset(str(out), "image-pool-blind", split="pool")
    assert (
        pool.column_names == ["image_id", "image"]
        and list(pool["image_id"]) == sorted(ids_set := set(ids))
        and len(pool) == len(ids_set)
    )
    raw = pa.ipc.open_stream(out / manifest.pools["image-pool-blind"].files[0].file).read_all()
    assert raw.column("image").combine_chunks().field("path").null_count == raw.num_rows
    # new ids in pool order do not follow the classes (a class-by-class pool would)
    class_of = dict(zip(full["image_id"], full["cls_id"], strict=True))
    order = [
        class_of[old]
        for old, _ in sorted(zip(full["image_id"], ids, strict=True), key=lambda p: p[1])
    ]
    assert order != sorted(order)
    assert (
        symile_bench.load(out, "complete", "train")["image_id"]
        == symile_bench.load(dirs["pooled"], "complete", "train")["image_id"]
    )
    held = read_answer_key_file(tmp_path / "key.json", "complete")
    reference = answer_key_from_dataset(dirs["pooled"], "test", "complete")
    for name in ("query_ids", "query_labels", "candidate_ids", "candidate_labels"):
        assert np.array_equal(getattr(held.key, name), getattr(reference.key, name))
    assert run_cli("verify", out).returncode == 0
    # the harness scores the blind split through its own pool: a model of the content ranks
    # exactly as on the full build, and the file holds predictions only
    model = ("-m", "symile_bench.harness.examples:content_hash", "--bootstrap", "20", "-q")
    run_cli("evaluate", out, *model, "-o", tmp_path / "blind.json")
    run_cli("evaluate", dirs["pooled"], *model, "-o", tmp_path / "full.json")
    blind_run, full_run = (
        json.loads((tmp_path / f"{n}.json").read_text()) for n in ("blind", "full")
    )
    [p], [q] = blind_run["predictions"], full_run["predictions"]
    assert blind_run["rows"] == [] and p["query_ids"] and p["top_k"] == q["top_k"]


def test_exports_put_the_media_back_inline(dirs, tmp_path):
    """`export --format parquet` of a pooled build loads with `datasets` with Audio and Image
    columns equal to the inline build's; `--format hf-m3` writes the same Parquet bytes from
    the pooled build as from the inline one."""
    run_cli("export", dirs["pooled"], "--format", "parquet", "--out", tmp_path / "parquet")
    exported = datasets.load_dataset(str(tmp_path / "parquet"), "complete", split="test")
    inline = symile_bench.load(dirs["inline"], "complete", "test")
    assert isinstance(exported.features["image"], datasets.Image)
    assert all(media_equal(exported[i]["image"], inline[i]["image"]) for i in range(0, 120, 11))
    assert json.loads((tmp_path / "parquet" / "manifest.json").read_text()).get("pools") is None
    hub = {}
    for name in ("pooled", "inline"):
        run_cli("export", dirs[name], "--format", "hf-m3", "--out", tmp_path / f"hub-{name}")
        hub[name] = {
            p.relative_to(tmp_path / f"hub-{name}"): p.read_bytes()
            for p in sorted((tmp_path / f"hub-{name}").rglob("*.parquet"))
        }
    assert hub["pooled"] == hub["inline"] and hub["pooled"]


def test_storage_and_pool_sizes_follow_the_build_size():
    """auto is inline below size m and pooled from there; pool sizes grow with the rows from
    today's floor (10 images per class, 100 clips per language) to ImageNet's ~1,300 images
    per class at size l; explicit sizes win."""
    tiny, m, large = M3Config(), M3Config(size="m"), M3Config(size="l", languages="10")
    assert (tiny.pooled, m.pooled, large.pooled) == (False, True, True)
    assert (tiny.images_per_class, tiny.clips_per_language) == (10, 100)
    assert (large.images_per_class, large.clips_per_language) == (1_300, 2_000)
    mid = M3Config(train_n=200_000, val_n=1_000, test_n=1_000)
    assert 5_000 <= mid.images_per_class * 243 <= 7_000
    assert M3Config(size="l", image_pool=3, storage="inline").images_per_class == 3
    assert not M3Config(size="l", storage="inline").pooled
    # the clips: MP3 where every row carries one, FLAC (5x the bytes, 15x faster) in a pool
    assert (tiny.clip_format, m.clip_format) == ("mp3", "flac")
    assert M3Config(size="l", audio_format="mp3").clip_format == "mp3"
