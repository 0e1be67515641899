"""`train --arch paper` on Symile-M3: the release's SymileM3Model (heads over `embed`'s frozen
vectors, XLM-R's embeddings and first layer fine-tuned, mean over all token positions), its
missing-data handling and recipe, trained through the CLI on a small build and on an imported
Hub release. The encoders are tiny random-weight models of the release's classes
(tests/paper_models.py); nothing is downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from .conftest import run_cli
from .fixtures_release_m3 import write_hub_repo
from .paper_models import make_clip, make_whisper, make_xlmr, transformers

torch = pytest.importorskip("torch")

#: six classes, English and Greek (release translations.json format): chance 1/6 at w = 2
LEXICON = {
    "tench": {"synset_id": "n01440764", "cls_id": 0, "en": "tench", "el": "γλήνι"},
    "goldfish": {"synset_id": "n01443537", "cls_id": 1, "en": "goldfish", "el": "χρυσόψαρο"},
    "strawberry": {"synset_id": "n07745940", "cls_id": 949, "en": "strawberry", "el": "φράουλα"},
    "orange": {"synset_id": "n07747607", "cls_id": 950, "en": "orange", "el": "πορτοκάλι"},
    "lemon": {"synset_id": "n07749582", "cls_id": 951, "en": "lemon", "el": "λεμόνι"},
    "banana": {"synset_id": "n07753592", "cls_id": 954, "en": "banana", "el": "μπανάνα"},
}
#: small enough for a CPU test; the paper's are d 8192, batch 256, lr 1e-4, log-temp -6, 24 ep
SMALL = ("--dim", "32", "--batch-size", "50", "--lr", "1e-2", "--log-temperature", "0")


def all_texts(dataset: Path) -> list[str]:
    import symile_bench

    texts = []
    for config in ("complete", "missing0.5"):
        for split in ("train", "validation", "test"):
            texts += [t for t in symile_bench.load(dataset, config, split)["text"] if t]
    return texts


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> dict[str, Path]:
    """A six-class M3 (w = 2; complete and missing0.5 configs), its frozen vectors from tiny
    Whisper and CLIP, and a tiny XLM-R whose tokenizer covers its words."""
    root = tmp_path_factory.mktemp("paper")
    lexicon = root / "translations.json"
    lexicon.write_text(json.dumps(LEXICON, ensure_ascii=False), "utf-8")
    data, feats = root / "m3", root / "feats"
    run_cli(
        *("build", "m3", "--translations", lexicon, "--languages", "2", "--train-n", "600"),
        *("--val-n", "100", "--test-n", "100", "--audio-pool", "4", "--image-pool", "2"),
        *("--image-size", "32", "--images", "procedural", "--missing-prob", "0.5"),
        *("--executor", "serial", "-q", "--out", data),
    )
    whisper, clip = make_whisper(root / "whisper"), make_clip(root / "clip")
    run_cli("embed", data, "--modality", "audio", "--encoder", whisper, "--out", feats, "-q")
    run_cli("embed", data, "--modality", "image", "--encoder", clip, "--out", feats, "-q")
    xlmr = make_xlmr(root / "xlmr", all_texts(data))
    return {"data": data, "feats": feats, "xlmr": xlmr, "root": root}


def top1(results: Path) -> dict:
    rows = json.loads(results.read_text())["rows"]
    return next(r for r in rows if r["metric"] == "top1" and r.get("language") is None)


def test_train_arch_paper_beats_chance_with_the_release_model(paper, tmp_path):
    """Proves `train --arch paper` builds the release's model (audio/image: Linear →
    LayerNorm over the frozen vectors, no missing indicator on complete data; text: XLM-R's
    embeddings and layer 0 only, then Linear and LayerNorm; no L2 normalisation), records it
    in the checkpoint, and on the small build scores top-1 above chance beyond the interval
    when evaluated through `--model symile_bench.baselines:load`."""
    model, results = tmp_path / "model", tmp_path / "r.json"
    run_cli(
        "train", paper["data"], "--arch", "paper", "--features", paper["feats"],
        "--recipe-arg", f"text_encoder={paper['xlmr']}", *SMALL, "--epochs", "20",
        "--out", model, "-q",
    )  # fmt: skip
    info = json.loads((model / "model.json").read_text())
    assert info["settings"]["arch"] == "paper" and info["settings"]["dim"] == 32
    assert info["settings"]["patience"] == 0 and info["device"] == "cpu"
    assert info["settings"]["extra"]["missingness"] is False
    state = torch.load(model / "model.pt", weights_only=True)
    assert state["encoders.audio.fc.weight"].shape == (32, 24)  # Whisper's d_model, no indicator
    assert state["encoders.image.fc.weight"].shape == (32, 20)  # CLIP vision hidden size
    assert "encoders.audio.layer_norm.weight" in state
    assert "encoders.audio.missingness_embed.weight" not in state
    text = {k.split(".")[2] for k in state if k.startswith("encoders.text.")}
    assert text == {"embeddings", "encoder_layer", "fc", "layer_norm", "missing_ids"}
    run_cli(
        "evaluate", paper["data"], "--model", "symile_bench.baselines:load",
        "--model-arg", f"path={model}", "--out", results, "-q",
    )  # fmt: skip
    row = top1(results)
    assert row["ci_low"] > row["chance"], row


def test_missing_data_follows_the_release(paper, tmp_path):
    """Proves that on a config with missing modalities the heads take the release's
    observed/missing embedding concatenated to the vector (Linear input 2 x hidden), that a
    missing row gets the observed training rows' mean vector, and that the text vocabulary
    holds [MISSING]."""
    model = tmp_path / "model"
    run_cli(
        "train", paper["data"], "--config", "missing0.5", "--arch", "paper",
        "--features", paper["feats"], "--recipe-arg", f"text_encoder={paper['xlmr']}", *SMALL,
        "--epochs", "1", "--out", model, "-q",
    )  # fmt: skip
    info = json.loads((model / "model.json").read_text())
    assert info["settings"]["extra"]["missingness"] is True
    state = torch.load(model / "model.pt", weights_only=True)
    assert state["encoders.audio.missingness_embed.weight"].shape == (2, 24)
    assert state["encoders.audio.fc.weight"].shape == (32, 48)
    special = info["settings"]["extra"]["special_tokens"]
    assert state["encoders.text.embeddings.word_embeddings.weight"].shape[0] == special["vocab"]

    from builders.m3.models.paper import FrozenFeatureHead

    head = FrozenFeatureHead(3, 4, missingness=True)
    observed = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]], np.float32)
    head.fit(observed)
    assert torch.equal(head.train_mean, torch.tensor([2.0, 3.0, 4.0]))
    x = torch.tensor([[9.0, 9.0, 9.0], [7.0, 7.0, 7.0]])
    out = head(x, torch.tensor([True, False]))
    with torch.no_grad():
        missing_row = torch.cat([head.train_mean, head.missingness_embed.weight[1]])
        expected = head.layer_norm(head.fc(missing_row[None]))[0]
    torch.testing.assert_close(out[0], expected)


def test_text_encoder_is_xlmr_first_layer_averaged_over_all_positions(paper):
    """Proves the text path against transformers itself: the encoder's token states are
    XLMRobertaModel's hidden state after layer 0 (run by transformers with the attention
    mask), the Linear is applied per token and averaged over every position, padding
    included (padding further changes the vector), then LayerNorm."""
    from builders.m3.models.paper import xlmr_first_layer
    from builders.m3.models.paper_features import tokenizer_for

    spec = str(paper["xlmr"])
    tokenizer = tokenizer_for(spec)
    special = {"vocab": len(tokenizer), "pad": tokenizer.pad_token_id, "missing_ids": [0, 5, 2]}
    torch.manual_seed(0)
    encoder = xlmr_first_layer(paper["xlmr"], 8, special).eval()
    texts = ["tench_μπανάνα", "lemon_χρυσόψαρο_orange"]
    longest = max(len(ids) for ids in tokenizer(texts)["input_ids"])
    batch = tokenizer(texts, padding="max_length", max_length=longest, return_tensors="pt")
    full = transformers.XLMRobertaModel.from_pretrained(paper["xlmr"]).eval()
    full.resize_token_embeddings(len(tokenizer))
    full.embeddings.load_state_dict(encoder.embeddings.state_dict())
    with torch.no_grad():
        out = full(**batch, output_hidden_states=True)
        tokens = out.hidden_states[1]  # after encoder layer 0
        expected = encoder.layer_norm(encoder.fc(tokens).mean(dim=1))
        got = encoder(batch["input_ids"].float())
        longer = tokenizer(texts, padding="max_length", max_length=longest + 3, return_tensors="pt")
        padded_more = encoder(longer["input_ids"].float())
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(got, padded_more, atol=1e-4)


def test_text_features_pad_to_the_longest_text_of_each_split(paper):
    """Proves the text features are the release's: token ids padded to the longest text of
    the row's own split (train and validation differ when their longest texts do), and a
    missing text is `<s> [MISSING] </s>` then padding."""
    from builders.m3.models.paper_features import text_features, tokenizer_for
    from symile_bench.baselines.recipes import Settings
    from symile_bench.harness.batch import ModalityBatch
    from symile_bench.harness.splitdata import open_split

    spec = str(paper["xlmr"])
    tokenizer = tokenizer_for(spec)
    settings = Settings(arch="paper", extra={"text_encoder": spec})
    for config, split_name in (("complete", "train"), ("missing0.5", "validation")):
        split = open_split(paper["data"], config, split_name)
        texts = [t for t in split.column("text").to_pylist() if t]
        longest = max(len(ids) for ids in tokenizer(texts)["input_ids"])
        rows = np.arange(8)
        batch = ModalityBatch.from_rows(
            "text", split.take(["text"], rows), split.features, ("text",), (), rows, split
        )
        ids = text_features(batch, settings)
        assert ids.shape == (8, longest)
        for i, text in enumerate(batch.raw()):
            want = tokenizer(text or "[MISSING]", padding="max_length", max_length=longest)
            assert ids[i].tolist() == want["input_ids"]
    missing = tokenizer("[MISSING]")["input_ids"]
    assert len(missing) == 3 and missing[1] == tokenizer.convert_tokens_to_ids("[MISSING]")


def test_paper_defaults_are_the_release_recipe():
    """Proves `--arch paper` switches to the paper's recipe (d 8192, batch 256, AdamW with
    one point of the release's lr/weight-decay grid, log-temperature −6, 24 epochs, best
    validation loss without early stopping) and leaves the small arch's defaults alone."""
    from builders.m3.models.recipe import RECIPE
    from symile_bench.baselines.recipes import settings_for

    paper = settings_for(RECIPE, {"arch": "paper"})
    assert (paper.dim, paper.batch_size, paper.epochs, paper.patience) == (8192, 256, 24, 0)
    assert paper.log_temperature == -6.0
    assert paper.lr in (1e-5, 5e-5, 1e-4) and paper.weight_decay in (0.0, 1e-4, 1e-3)
    assert settings_for(RECIPE, {}).dim == RECIPE.defaults.dim == 256


def test_paper_arch_trains_on_an_imported_hub_release(paper, tmp_path):
    """Proves the path a GPU user follows on the paper's data: `import hf-m3` (rows without
    ids), `embed` keys each clip and image by its sha256, `train --arch paper` (the m3 recipe
    declared for hf-m3 too) trains, and the checkpoint is scored on the import."""
    hub = write_hub_repo(tmp_path / "hub")
    data, feats = tmp_path / "release", tmp_path / "feats"
    run_cli("import", "hf-m3", hub, "--out", data, "-q")
    for modality, model in (("audio", "whisper"), ("image", "clip")):
        run_cli(
            "embed", data, "--modality", modality, "--encoder", paper["root"] / model,
            "--out", feats, "-q",
        )  # fmt: skip
    info = json.loads((feats / "audio.json").read_text())
    assert info["key"] == "sha256" and info["count"] == 6
    import symile_bench

    texts = [
        t for s in ("train", "validation", "test") for t in symile_bench.load(data, split=s)["text"]
    ]
    xlmr = make_xlmr(tmp_path / "xlmr", texts)
    model = tmp_path / "model"
    run_cli(
        "train", data, "--arch", "paper", "--features", feats, "--recipe-arg",
        f"text_encoder={xlmr}", "--dim", "16", "--batch-size", "6", "--epochs", "2",
        "--out", model, "-q",
    )  # fmt: skip
    results = tmp_path / "r.json"
    run_cli(
        "evaluate", data, "--model", "symile_bench.baselines:load",
        "--model-arg", f"path={model}", "--out", results, "-q",
    )  # fmt: skip
    assert top1(results)["n"] == 10


def test_paper_arch_errors_are_one_line(paper, tmp_path):
    """Proves what a user gets wrong is one line: `--arch paper` without `--features` (how
    to write them), `--device cuda` where torch sees no GPU, an unknown --arch."""
    cases = [
        ((), "pass --features FEATS"),
        (("--features", paper["feats"], "--device", "cuda"), "no CUDA device is available"),
    ]
    if torch.cuda.is_available():
        cases.pop()
    for extra, says in cases:
        proc = run_cli(
            "train", paper["data"], "--arch", "paper", *extra, "--out", tmp_path / "m", "-q",
            check=False,
        )  # fmt: skip
        assert proc.returncode != 0 and says in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = run_cli("train", paper["data"], "--arch", "huge", "--out", tmp_path / "m", check=False)
    assert "--arch for m3 must be one of small, paper" in proc.stderr


def test_paper_model_trains_under_mixed_precision(paper):
    """Proves the `--device cuda` code path's arithmetic on the CPU: the paper model's
    encoders under bfloat16 autocast (with a missing text and a missing image in the batch)
    and the float32 Symile loss give a finite loss and finite gradients in every trained
    part, and the trainer's checkpoint copy is on the CPU whatever the device."""
    from builders.m3.models import paper_recipe
    from builders.m3.models.paper_features import special_tokens, tokenizer_for
    from symile_bench.baselines.device import autocast, mixed_precision
    from symile_bench.baselines.losses import contrastive_loss
    from symile_bench.baselines.recipes import Settings
    from symile_bench.baselines.train import _cpu_state

    assert mixed_precision(torch.device("cpu")) is None
    settings = Settings(arch="paper", dim=16, extra={"text_encoder": str(paper["xlmr"])})
    extra = {**settings.extra, "missingness": True, "special_tokens": special_tokens(settings)}
    settings = settings.with_overrides(extra=extra)
    torch.manual_seed(0)
    model = paper_recipe.model({"audio": (24,), "image": (20,), "text": (24,)}, settings)
    tokenizer = tokenizer_for(str(paper["xlmr"]))
    texts = ["tench_μπανάνα", "lemon_orange", "goldfish_λεμόνι", "[MISSING]"]
    ids = tokenizer(texts, padding="max_length", max_length=24, return_tensors="pt")["input_ids"]
    missing = {
        "audio": torch.tensor([False, False, False, False]),
        "image": torch.tensor([False, True, False, False]),
        "text": torch.tensor([False, False, False, True]),
    }
    inputs = {"audio": torch.randn(4, 24), "image": torch.randn(4, 20), "text": ids.float()}
    with autocast(torch.device("cpu"), torch.bfloat16):
        reps = [model.embed(m, inputs[m], missing[m]) for m in ("audio", "image", "text")]
    loss = contrastive_loss("symile", [r.float() for r in reps], model.logit_scale)
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert model.encoders["text"].embeddings.word_embeddings.weight.grad is not None
    assert all(t.device.type == "cpu" for t in _cpu_state(model).values())
