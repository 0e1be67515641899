"""`--model symile-mimic-release`: PhysioNet Symile-MIMIC 1.0.0's `symile_mimic_model.ckpt` as a
model. The checkpoint is written here in the release's exact layout (Lightning's top-level keys,
`hyper_parameters` with `PosixPath` values, torchvision's parameter names, random weights with
moved BatchNorm statistics and LayerNorm parameters: `fixtures_release_ckpt.py`), and the
toolkit's ranks and embeddings are compared with the release's own computation transcribed
there (`zeroshot_retrieval`, and the encoders' forward in plain torch.nn.functional)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import symile_bench
from builders.mimic.build.media import release_cxr
from builders.mimic.models.release_nets import release_encoders, release_names
from symile_bench.harness.encoders import ModelEncoder
from symile_bench.harness.evaluate import evaluate
from symile_bench.harness.models import ModelError, load_model

from .conftest import run_cli
from .evaluate_fixtures import load_json
from .fixtures_mimic import build as build_mimic
from .fixtures_mimic import fake_tree
from .fixtures_release_ckpt import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    RESNET18,
    RESNET50,
    hyper_parameters,
    lightning_checkpoint,
    rank_bounds,
    reference_embeddings,
    release_shapes,
    release_zeroshot_logits,
    stub_state_dict,
    torchvision_resnet,
    write_release_checkpoint,
)
from .test_release_mimic import QUERIES, write_release

MODEL = "symile-mimic-release"
D = 32


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return write_release_checkpoint(tmp_path_factory.mktemp("ckpt") / "symile_mimic_model.ckpt", D)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return write_release(tmp_path_factory.mktemp("release") / "symile-mimic-1.0.0")


@pytest.fixture(scope="module")
def imported(release, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("imported") / "dir"
    run_cli("import", "symile-mimic", release, "--out", out, "-q", "--workers", "1")
    return out


def _stub(path: Path, shapes: dict, **hp: object) -> Path:
    """A checkpoint of ``shapes`` whose tensors take no space, with d = 16 hyper_parameters."""
    torch.save(lightning_checkpoint(stub_state_dict(shapes), {**hyper_parameters(16), **hp}), path)
    return path


def test_torchvision_names_map_one_to_one_onto_our_resnets(tmp_path):
    """The release's ResNet keys, as torchvision's architecture definition gives them (every
    conv, BatchNorm with running statistics and num_batches_tracked, downsample, fc), are exactly
    the images of our ResNets' keys, shape for shape; a state_dict with exactly that key set in
    the release's layout loads with no missing or unexpected key, d read from the weights."""
    encoders = release_encoders(8)
    ours = encoders.state_dict()
    names = release_names(encoders)
    assert len(set(names.values())) == len(names)
    for encoder, (block, layers), cin in (("ecg", RESNET18, 1), ("cxr", RESNET50, 3)):
        expected = torchvision_resnet(block, layers, cin, 8)
        prefix = f"{encoder}_encoder.resnet."
        mapped = {
            names[k].removeprefix(prefix): tuple(ours[k].shape)
            for k in ours
            if names[k].startswith(prefix)
        }
        assert mapped == expected
    assert set(names.values()) | {"logit_scale"} == set(release_shapes(8))
    model = load_model(MODEL, {"path": str(_stub(tmp_path / "stub.ckpt", release_shapes(16)))})
    assert model.metadata["d"] == 16 and model.metadata["lightning_keys_absent"] == []


def test_release_import_ranks_follow_the_authors_zeroshot_retrieval(
    release, imported, ckpt, tmp_path
):
    """`evaluate` on an import of the release: the saved ECG, labs and CXR embeddings are the
    release encoders' LayerNorm outputs on the release's own arrays (labs = percentiles ++
    missingness, 1 = observed); every query's rank is the one the release's
    `zeroshot_retrieval` logits give (within float tolerance when two candidates nearly tie);
    top-1 is the release's accuracy; the results carry the checkpoint's hyper_parameters and
    the protocol; the predictions re-score against the import."""
    out, emb = tmp_path / "r.json", tmp_path / "emb"
    run_cli(
        "evaluate", imported, "--model", MODEL, "--model-arg", f"path={ckpt}",
        "--model-arg", "batch_size=4", "--protocol", "release", "--save-embeddings", emb,
        "-o", out, "-q",
    )  # fmt: skip
    res = load_json(out)
    npy = {
        f: np.load(release / "data_npy" / "test" / f"{f}_test.npy")
        for f in (
            "cxr",
            "ecg",
            "labs_percentiles",
            "labs_missingness",
            "hadm_id",
            "label_hadm_id",
            "label",
        )
    }
    labs = torch.cat(
        [torch.from_numpy(npy["labs_percentiles"]), torch.from_numpy(npy["labs_missingness"])],
        dim=1,
    ).numpy()
    hadm = npy["hadm_id"]
    admissions, first, inverse = np.unique(hadm, return_index=True, return_inverse=True)
    for values in (npy["cxr"], npy["ecg"], labs):  # negatives are copies of query rows
        np.testing.assert_array_equal(values, values[first][inverse])
    state = torch.load(ckpt, weights_only=False)["state_dict"]
    r_c, r_e, r_l = reference_embeddings(state, npy["cxr"][first], npy["ecg"][first], labs[first])
    retrieval_ds = {
        "r_c": r_c[inverse], "r_e": r_e[inverse], "r_l": r_l[inverse],
        "hadm_id": torch.from_numpy(hadm), "label_hadm_id": torch.from_numpy(npy["label_hadm_id"]),
        "label": torch.from_numpy(npy["label"]),
    }  # fmt: skip
    logits = release_zeroshot_logits(retrieval_ds, state["logit_scale"])
    pred = res["predictions"][0]
    assert sorted(pred["query_ids"]) == sorted(logits) and len(logits) == QUERIES
    bounds = [rank_bounds(logits[q]) for q in pred["query_ids"]]
    assert all(lo <= r <= hi for (lo, hi), r in zip(bounds, pred["ranks"], strict=True))
    if all(lo == hi for lo, hi in bounds):  # no near tie: the release's argmax, exactly
        accuracy = np.mean([int(torch.argmax(logits[q])) == 0 for q in pred["query_ids"]])
        assert np.mean(np.asarray(pred["ranks"]) == 1) == accuracy
    at = {int(h): i for i, h in enumerate(admissions)}
    rows = [at[h] for h in symile_bench.load(imported, split="test")["hadm_id"]]
    for name, ref in (("ecg", r_e), ("labs", r_l), ("cxr", r_c)):
        np.testing.assert_allclose(np.load(emb / f"{name}.npy"), ref.numpy()[rows], atol=2e-5)
    model = res["model"]
    assert model["name"] == MODEL and model["scoring"] == "mip"
    meta = model["metadata"]
    assert meta["d"] == D and meta["loss"] == "symile" and meta["negative_sampling"] == "n_squared"
    assert meta["hyper_parameters"]["data_dir"] == "/gpfs/scratch/symile/data_npy"
    assert meta["logit_scale"] == pytest.approx(float(state["logit_scale"]))
    assert res["protocol"] == "release"
    assert {r["bootstrap"]["method"] for r in res["rows"]} == {"release-queries"}
    run_cli("validate", out, "--dataset", imported)


class _Counting:
    """Counts the items `encode` gets per modality; embeds them as ones."""

    scoring, modalities = "mip", ("ecg", "labs", "cxr")

    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def encode(self, modality, batch, *, missing=None):
        self.items[modality] = self.items.get(modality, 0) + len(batch)
        return np.ones((len(batch), 4), np.float32)


def test_each_admission_is_encoded_once(release, imported):
    """The release's test split holds every admission 10 times (once as a query, 9 times as a
    negative); the import stores it once, so `encode` gets each ECG, lab vector and CXR once."""
    counting = _Counting()
    evaluate(imported, ModelEncoder(counting, "counting"))
    rows = len(np.load(release / "data_npy" / "test" / "hadm_id_test.npy"))
    assert rows == 10 * QUERIES and counting.items == {
        "ecg": QUERIES,
        "labs": QUERIES,
        "cxr": QUERIES,
    }


def _get_cxr(path: Path, size: int) -> np.ndarray:
    """`process_and_save_tensors.py` `get_cxr` for val/test with cxr_scale = cxr_crop = size:
    torchvision's Resize(int) on a PIL image (smaller edge to size, the other int(size * long /
    short), PIL bilinear), CenterCrop (offsets int(round(...))), ToTensor, Normalize."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    img = img.resize((new_short, new_long) if w <= h else (new_long, new_short), Image.BILINEAR)
    w, h = img.size
    top, left = round((h - size) / 2.0), round((w - size) / 2.0)  # int(round(...)) in torchvision
    img = img.crop((left, top, left + size, top + size))
    x = torch.from_numpy(np.array(img, np.uint8, copy=True)).permute((2, 0, 1)).contiguous()
    x = x.to(dtype=torch.float32).div(255)
    mean = torch.as_tensor(IMAGENET_MEAN, dtype=torch.float32)[:, None, None]
    std = torch.as_tensor(IMAGENET_STD, dtype=torch.float32)[:, None, None]
    return x.sub_(mean).div_(std).numpy()


def test_release_cxr_is_get_cxr_bit_for_bit(tmp_path):
    """On a grayscale JPEG of odd size, `media.release_cxr` equals the release's transform bit for
    bit; and resizing in L then repeating to RGB (what a build stores) equals the release's
    RGB-then-resize, so a stored PNG needs only ToTensor and Normalize."""
    rng = np.random.default_rng(0)
    path = tmp_path / "x.jpg"
    Image.fromarray(rng.integers(0, 256, (131, 97), dtype=np.uint8), "L").save(path, quality=90)
    expected = _get_cxr(path, 64)
    with Image.open(path) as image:
        np.testing.assert_array_equal(release_cxr(image, 64), expected)
        grey = image.resize((64, int(64 * 131 / 97)), Image.BILINEAR)
        rgb = image.convert("RGB").resize((64, int(64 * 131 / 97)), Image.BILINEAR)
    np.testing.assert_array_equal(np.asarray(grey.convert("RGB")), np.asarray(rgb))


def test_our_build_is_preprocessed_as_the_release_does(ckpt, tmp_path):
    """On a `build mimic` directory (from fake-mimic, --cxr-size 64), the embeddings are the
    release encoders' outputs on the release's preprocessing of the same admissions: get_cxr on
    the source JPEG (Resize and CenterCrop to 64 here), the stored scaled ECG, and the labs with
    the release's missingness bit (1 = observed, the opposite of our labs_missing)."""
    tree = fake_tree(tmp_path / "tree", 200)
    out = tmp_path / "build"
    build_mimic(tree, out, "--cxr-size", "64")
    emb = tmp_path / "emb"
    run_cli(
        "evaluate", out, "--model", MODEL, "--model-arg", f"path={ckpt}", "--model-arg",
        "cxr_size=64", "--save-embeddings", emb, "-o", tmp_path / "r.json", "-q",
    )  # fmt: skip
    test = symile_bench.load(out, split="test").with_format("numpy")
    cols = test[:]
    root = tree / "mimic-cxr-jpg" / "2.0.0"
    cxr = np.stack([_get_cxr(root / p, 64) for p in cols["cxr_path"]])
    labs = np.concatenate([cols["labs_percentile"], ~cols["labs_missing"]], axis=1)
    state = torch.load(ckpt, weights_only=False)["state_dict"]
    r_c, r_e, r_l = reference_embeddings(
        state, cxr, cols["ecg"][:, None].astype(np.float32), labs.astype(np.float32)
    )
    for name, ref in (("ecg", r_e), ("labs", r_l), ("cxr", r_c)):
        np.testing.assert_allclose(np.load(emb / f"{name}.npy"), ref.numpy(), atol=2e-5)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


def _bad_files(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """Checkpoints that are not the release's, each with the words its one-line refusal has."""
    shapes = release_shapes(16)
    missing = {
        k: v for k, v in shapes.items() if k != "cxr_encoder.resnet.layer4.2.bn3.running_var"
    }
    grey = {**shapes, "cxr_encoder.resnet.conv1.weight": (64, 1, 7, 7)}
    labs = {**shapes, "labs_encoder.fc1.weight": (256, 101)}
    resnet34 = {k: v for k, v in shapes.items() if not k.startswith("ecg_encoder.resnet.")}
    resnet34.update(
        {
            f"ecg_encoder.resnet.{k}": s
            for k, s in torchvision_resnet("basic", (3, 4, 6, 3), 1, 16).items()
        }
    )
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    bare = tmp_path / "bare.ckpt"
    torch.save(stub_state_dict(shapes), bare)
    legacy = tmp_path / "legacy.ckpt"
    torch.save(
        lightning_checkpoint(stub_state_dict(shapes), hyper_parameters(16)),
        legacy,
        _use_new_zipfile_serialization=False,
    )
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": stub_state_dict(shapes), "hyper_parameters": {"x": _Evil()}}, evil)
    namespace = tmp_path / "namespace.ckpt"
    torch.save(
        lightning_checkpoint(stub_state_dict(shapes), hyper_parameters(16))
        | {"hyper_parameters": argparse.Namespace(**hyper_parameters(16))},
        namespace,
    )
    return {
        "missing key": (
            _stub(tmp_path / "missing.ckpt", missing),
            "lacks 1 key(s) of the release's encoders, e.g. "
            "'cxr_encoder.resnet.layer4.2.bn3.running_var'",
        ),
        "another shape": (
            _stub(tmp_path / "grey.ckpt", grey),
            "'cxr_encoder.resnet.conv1.weight' has shape (64, 1, 7, 7), the release's is "
            "(64, 3, 7, 7)",
        ),
        "labs width": (_stub(tmp_path / "labs.ckpt", labs), "'labs_encoder.fc1.weight' has shape"),
        "another architecture": (
            _stub(tmp_path / "resnet34.ckpt", resnet34),
            "key(s) the release's model does not, e.g. 'ecg_encoder.resnet.layer1.2.",
        ),
        "d disagrees": (_stub(tmp_path / "d.ckpt", shapes, d=64), "say d = 64"),
        "unknown loss": (
            _stub(tmp_path / "loss.ckpt", shapes, loss_fn="gram"),
            "loss_fn is 'gram'",
        ),
        "truncated": (truncated, "not a torch.save zip archive (truncated"),
        "legacy format": (legacy, "not a torch.save zip archive"),
        "bare state_dict": (bare, "no state_dict or hyper_parameters at the top level (a bare"),
        "forbidden global": (evil, "its pickle calls posix.system, which the release's"),
        "a namespace": (namespace, "its pickle calls argparse.Namespace"),
        "no file": (tmp_path / "absent.ckpt", "no such file"),
    }


def test_a_checkpoint_that_is_not_the_releases_is_refused_in_one_line(tmp_path, monkeypatch):
    """Missing keys, other shapes, another architecture, a d the hyper_parameters contradict, a
    truncated or legacy file, a bare state_dict, and a pickle naming any global besides
    PosixPath (its code never runs) are each refused with one line naming the file and what
    differs; through the CLI too, exit status 1 and no traceback."""
    monkeypatch.chdir(tmp_path)
    good = _stub(tmp_path / "good.ckpt", release_shapes(16))
    for case, (path, words) in _bad_files(tmp_path, good).items():
        with pytest.raises(ModelError) as caught:
            load_model(MODEL, {"path": str(path)})
        message = str(caught.value)
        assert words in message and str(path) in message and "\n" not in message, (case, message)
    assert not (tmp_path / "pwned-by-checkpoint").exists()
    bad = run_cli(
        "evaluate",
        tmp_path,
        "--model",
        MODEL,
        "--model-arg",
        f"path={tmp_path / 'grey.ckpt'}",
        check=False,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "(64, 3, 7, 7)" in bad.stderr


def test_inputs_the_release_encoders_cannot_take_are_refused(imported, tmp_path):
    """No path, no CUDA, a labs vector of another width, an ECG of another shape, CXR arrays
    of another size than the encoder reads, and a modality passed as missing (the release's
    encoders have no such input; `--missing-protocol` is one line) are refused."""
    path = str(_stub(tmp_path / "good.ckpt", release_shapes(16)))
    with pytest.raises(ModelError, match=r"needs --model-arg path=symile_mimic_model\.ckpt"):
        load_model(MODEL, {})
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA device; use device=cpu"):
            load_model(MODEL, {"path": path, "device": "cuda"})
    model = load_model(MODEL, {"path": path})
    with pytest.raises(ModelError, match=r"100 inputs\), got \(90,\)"):
        model.encode("labs", np.zeros((2, 90), np.float32))
    with pytest.raises(ModelError, match=r"reads \(5000, 12\) records"):
        model.encode("ecg", np.zeros((2, 4000, 12), np.float32))
    with pytest.raises(ModelError, match=r"arrays are \(3, 64, 64\) but .* reads \(3, 320, 320\)"):
        model.encode("cxr", np.zeros((2, 3, 64, 64), np.float32))
    done = run_cli(
        "evaluate", imported, "--model", MODEL, "--model-arg", f"path={path}", "--missing-protocol",
        "-o", tmp_path / "r.json", "-q", check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "no input for a missing modality" in done.stderr
    assert "Traceback" not in done.stderr
