"""A Symile-MIMIC release checkpoint written from the release's own definitions, and the
release's computations transcribed, independently of the toolkit's code (nothing here imports
``builders``), so the tests compare the toolkit against them.

- ``torchvision_resnet``: every state_dict key of torchvision's ``resnet18`` / ``resnet50`` with
  its shape, written out from torchvision's architecture definition (``ResNet._make_layer``:
  ``conv1``, ``bn1``, ``layer<s>.<k>.conv<j>/bn<j>``, ``downsample.0/1`` where the stride or the
  width changes, ``fc``; every BatchNorm with ``running_mean``, ``running_var`` and
  ``num_batches_tracked``);
- ``write_release_checkpoint``: a Lightning checkpoint in the release's layout (Lightning 2.4's
  top-level keys in its order, ``hyper_parameters`` = the training argparse namespace with
  ``PosixPath`` values, a ModelCheckpoint callback state, an AdamW ``optimizer_states``) holding
  ``SymileMIMICModel``'s state_dict: random weights, BatchNorm running statistics and LayerNorm
  affine parameters moved away from their defaults;
- ``reference_embeddings``: the release's encoders' forward in plain ``torch.nn.functional``
  (torchvision's ``forward``: ``AdaptiveAvgPool2d``, ``flatten``, ``fc``), on that state_dict;
- ``release_zeroshot_logits``: ``SymileMIMICModel.zeroshot_retrieval`` (and
  ``losses.zeroshot_retrieval_logits``) line by line, returning each query's logits instead of
  its argmax.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path, PosixPath
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

Shapes = dict[str, tuple[int, ...]]
RESNET18 = ("basic", (2, 2, 2, 2))
RESNET50 = ("bottleneck", (3, 4, 6, 3))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _bn(prefix: str, c: int) -> Shapes:
    return {
        f"{prefix}.weight": (c,),
        f"{prefix}.bias": (c,),
        f"{prefix}.running_mean": (c,),
        f"{prefix}.running_var": (c,),
        f"{prefix}.num_batches_tracked": (),
    }


def torchvision_resnet(block: str, layers: tuple[int, ...], in_channels: int, out: int) -> Shapes:
    """torchvision ``ResNet(block, layers)`` with ``conv1`` taking ``in_channels`` and ``fc`` giving
    ``out``: key -> shape, in state_dict order."""
    expansion = 1 if block == "basic" else 4
    shapes: Shapes = {"conv1.weight": (64, in_channels, 7, 7), **_bn("bn1", 64)}
    inplanes = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers, strict=True), 1):
        stride = 1 if stage == 1 else 2
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            if block == "basic":
                shapes[f"{p}.conv1.weight"] = (planes, inplanes, 3, 3)
                shapes.update(_bn(f"{p}.bn1", planes))
                shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                shapes.update(_bn(f"{p}.bn2", planes))
            else:
                shapes[f"{p}.conv1.weight"] = (planes, inplanes, 1, 1)
                shapes.update(_bn(f"{p}.bn1", planes))
                shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                shapes.update(_bn(f"{p}.bn2", planes))
                shapes[f"{p}.conv3.weight"] = (planes * 4, planes, 1, 1)
                shapes.update(_bn(f"{p}.bn3", planes * 4))
            if b == 0 and (stride != 1 or inplanes != planes * expansion):
                shapes[f"{p}.downsample.0.weight"] = (planes * expansion, inplanes, 1, 1)
                shapes.update(_bn(f"{p}.downsample.1", planes * expansion))
            inplanes = planes * expansion
    shapes["fc.weight"] = (out, inplanes)
    shapes["fc.bias"] = (out,)
    return shapes


def release_shapes(d: int) -> Shapes:
    """``SymileMIMICModel.state_dict()`` key -> shape: its own parameter ``logit_scale`` first,
    then the encoders in the order ``__init__`` assigns them."""
    shapes: Shapes = {"logit_scale": ()}
    for name, (block, layers), cin in (
        ("ecg_encoder", RESNET18, 1),
        ("cxr_encoder", RESNET50, 3),
    ):
        for k, s in torchvision_resnet(block, layers, cin, d).items():
            shapes[f"{name}.resnet.{k}"] = s
        shapes[f"{name}.layer_norm.weight"] = (d,)
        shapes[f"{name}.layer_norm.bias"] = (d,)
    for k, (o, i) in {"fc1": (256, 100), "fc2": (1024, 256), "fc3": (d, 1024)}.items():
        shapes[f"labs_encoder.{k}.weight"] = (o, i)
        shapes[f"labs_encoder.{k}.bias"] = (o,)
    shapes["labs_encoder.layer_norm.weight"] = (d,)
    shapes["labs_encoder.layer_norm.bias"] = (d,)
    return shapes


def random_state_dict(d: int, seed: int = 0, shapes: Shapes | None = None) -> OrderedDict:
    """Random weights for ``shapes`` (default: the release's at ``d``): conv and linear weights
    at He scale, BatchNorm and LayerNorm affine parameters and running statistics perturbed."""
    g = torch.Generator().manual_seed(seed)
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, shape in (shapes or release_shapes(d)).items():
        leaf = key.rsplit(".", 1)[-1]
        if key == "logit_scale":
            out[key] = torch.tensor(math.log(1 / 0.07) + 0.3)
        elif leaf == "num_batches_tracked":
            out[key] = torch.tensor(12345, dtype=torch.int64)
        elif leaf == "running_var":
            out[key] = 0.5 + 1.5 * torch.rand(shape, generator=g)
        elif leaf == "running_mean":
            out[key] = 0.1 * torch.randn(shape, generator=g)
        elif len(shape) == 1 and leaf == "weight":  # BatchNorm / LayerNorm scale
            out[key] = 0.5 + torch.rand(shape, generator=g)
        elif leaf == "bias":
            out[key] = 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = int(np.prod(shape[1:]))
            out[key] = torch.randn(shape, generator=g) * math.sqrt(1.0 / fan_in)
    return out


def hyper_parameters(d: int, loss_fn: str = "symile") -> dict[str, Any]:
    """The training namespace (``args.parse_args_main`` for symile_mimic) as Lightning saves it:
    ``Path`` arguments as ``PosixPath`` (values plausible, not the release's)."""
    root = PosixPath("/gpfs/scratch/symile")
    return {
        "batch_sz_train": 280,
        "batch_sz_val": 280,
        "batch_sz_test": 280,
        "check_val_every_n_epoch": 1,
        "ckpt_save_dir": root / "ckpts",
        "d": d,
        "data_dir": root / "data_npy",
        "drop_last": False,
        "negative_sampling": "n_squared",
        "epochs": 100,
        "freeze_logit_scale": False,
        "ckpt_path": None,
        "logit_scale_init": -0.3,
        "loss_fn": loss_fn,
        "lr": 1e-4,
        "weight_decay": 0.01,
        "seed": 0,
        "use_seed": True,
        "wandb": False,
        "wandb_run_id": None,
        "limit_train_batches": 1.0,
        "limit_val_batches": 1.0,
        "pretrained": True,
        "experiment": "symile_mimic",
        "save_dir": root / "ckpts" / "20240101_000000_0042",
    }


def _progress(n: int) -> dict[str, Any]:
    counts = {"ready": n, "started": n, "processed": n, "completed": n}
    return {"total": dict(counts), "current": dict(counts), "is_last_batch": True}


def lightning_checkpoint(
    state_dict: dict[str, torch.Tensor], hparams: dict[str, Any], full_optimizer: bool = False
) -> dict[str, Any]:
    """Lightning 2.4's ``dump_checkpoint`` layout, top-level keys in its order. The AdamW state
    covers every parameter with ``full_optimizer`` (the real file's size), else only
    ``logit_scale`` (same structure, small file)."""
    params = [k for k in state_dict if not k.rsplit(".", 1)[-1].startswith(("running", "num_"))]
    covered = params if full_optimizer else params[:1]
    state = {
        i: {
            "step": torch.tensor(7000.0),
            "exp_avg": torch.zeros_like(state_dict[k]),
            "exp_avg_sq": torch.zeros_like(state_dict[k]),
        }
        for i, k in enumerate(covered)
    }
    group = {
        "lr": hparams["lr"],
        "betas": (0.9, 0.999),
        "eps": 1e-08,
        "weight_decay": hparams["weight_decay"],
        "amsgrad": False,
        "foreach": None,
        "maximize": False,
        "capturable": False,
        "differentiable": False,
        "fused": None,
        "params": list(range(len(params))),
    }
    ckpt_dir = str(hparams["save_dir"])
    callback = (
        "ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0, "
        "'every_n_epochs': 1, 'train_time_interval': None}"
    )
    best = f"{ckpt_dir}/epoch=41-val_loss=2.3456.ckpt"
    return {
        "epoch": 41,
        "global_step": 7000,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": state_dict,
        "loops": {
            "fit_loop": {
                "state_dict": {},
                "epoch_loop.state_dict": {"_batches_that_stepped": 7000},
                "epoch_loop.batch_progress": _progress(36),
                "epoch_progress": _progress(42),
            },
            "validate_loop": {"state_dict": {}, "batch_progress": _progress(0)},
            "test_loop": {"state_dict": {}, "batch_progress": _progress(0)},
            "predict_loop": {"state_dict": {}, "batch_progress": _progress(0)},
        },
        "callbacks": {
            callback: {
                "monitor": "val_loss",
                "best_model_score": torch.tensor(2.3456),
                "best_model_path": best,
                "current_score": torch.tensor(2.3456),
                "dirpath": ckpt_dir,
                "best_k_models": {best: torch.tensor(2.3456)},
                "kth_best_model_path": best,
                "kth_value": torch.tensor(2.3456),
                "last_model_path": "",
            }
        },
        "optimizer_states": [{"state": state, "param_groups": [group]}],
        "lr_schedulers": [],
        "hparams_name": "kwargs",
        "hyper_parameters": hparams,
    }


def write_release_checkpoint(
    path: Path, d: int = 32, seed: int = 0, loss_fn: str = "symile", full_optimizer: bool = False
) -> Path:
    sd = random_state_dict(d, seed)
    torch.save(lightning_checkpoint(sd, hyper_parameters(d, loss_fn), full_optimizer), path)
    return path


def stub_state_dict(shapes: Shapes) -> OrderedDict:
    """Tensors of the right shapes that take no space (one stored zero, stride 0): for files
    that the loader must refuse before any forward pass."""
    zero = torch.zeros(1)
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(0, dtype=torch.int64)
        else:
            out[key] = zero.reshape((1,) * len(shape)).expand(shape) if shape else zero[0]
    return out


# -- the release's forward, functional --------------------------------------------------------


def _batch_norm(x: torch.Tensor, sd: dict[str, torch.Tensor], p: str) -> torch.Tensor:
    return F.batch_norm(
        x,
        sd[f"{p}.running_mean"],
        sd[f"{p}.running_var"],
        sd[f"{p}.weight"],
        sd[f"{p}.bias"],
        training=False,
        eps=1e-5,
    )


def _resnet(sd: dict[str, torch.Tensor], p: str, x: torch.Tensor, arch: tuple) -> torch.Tensor:
    """torchvision ``ResNet.forward`` (``_forward_impl``)."""
    block, layers = arch
    x = F.relu(
        _batch_norm(F.conv2d(x, sd[f"{p}.conv1.weight"], stride=2, padding=3), sd, f"{p}.bn1")
    )
    x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
    for stage, blocks in enumerate(layers, 1):
        for b in range(blocks):
            q = f"{p}.layer{stage}.{b}"
            stride = 2 if stage > 1 and b == 0 else 1
            if block == "basic":
                out = F.conv2d(x, sd[f"{q}.conv1.weight"], stride=stride, padding=1)
                out = F.relu(_batch_norm(out, sd, f"{q}.bn1"))
                out = _batch_norm(F.conv2d(out, sd[f"{q}.conv2.weight"], padding=1), sd, f"{q}.bn2")
            else:
                out = F.relu(_batch_norm(F.conv2d(x, sd[f"{q}.conv1.weight"]), sd, f"{q}.bn1"))
                out = F.conv2d(out, sd[f"{q}.conv2.weight"], stride=stride, padding=1)
                out = F.relu(_batch_norm(out, sd, f"{q}.bn2"))
                out = _batch_norm(F.conv2d(out, sd[f"{q}.conv3.weight"]), sd, f"{q}.bn3")
            identity = x
            if f"{q}.downsample.0.weight" in sd:
                identity = F.conv2d(x, sd[f"{q}.downsample.0.weight"], stride=stride)
                identity = _batch_norm(identity, sd, f"{q}.downsample.1")
            x = F.relu(out + identity)
    x = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
    return F.linear(x, sd[f"{p}.fc.weight"], sd[f"{p}.fc.bias"])


def _layer_norm(x: torch.Tensor, sd: dict[str, torch.Tensor], p: str) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], sd[f"{p}.weight"], sd[f"{p}.bias"], eps=1e-5)


@torch.inference_mode()
def reference_embeddings(
    sd: dict[str, torch.Tensor], cxr: np.ndarray, ecg: np.ndarray, labs: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``SymileMIMICModel.forward`` without the logit scale: (r_c, r_e, r_l) for the release's
    tensors ``cxr (n, 3, H, W)``, ``ecg (n, 1, 5000, 12)``, ``labs (n, 100)``."""
    r_c = _layer_norm(
        _resnet(sd, "cxr_encoder.resnet", torch.from_numpy(cxr), RESNET50),
        sd,
        "cxr_encoder.layer_norm",
    )
    r_e = _layer_norm(
        _resnet(sd, "ecg_encoder.resnet", torch.from_numpy(ecg), RESNET18),
        sd,
        "ecg_encoder.layer_norm",
    )
    h = F.gelu(
        F.linear(torch.from_numpy(labs), sd["labs_encoder.fc1.weight"], sd["labs_encoder.fc1.bias"])
    )
    h = F.gelu(F.linear(h, sd["labs_encoder.fc2.weight"], sd["labs_encoder.fc2.bias"]))
    h = F.linear(h, sd["labs_encoder.fc3.weight"], sd["labs_encoder.fc3.bias"])
    return r_c, r_e, _layer_norm(h, sd, "labs_encoder.layer_norm")


# -- SymileMIMICModel.zeroshot_retrieval, transcribed -------------------------------------------


def zeroshot_retrieval_logits(r_x, rep_list, logit_scale_exp, loss_fn):
    """``losses.zeroshot_retrieval_logits`` (the symile branch)."""
    assert loss_fn == "symile"
    product = torch.ones_like(rep_list[0])
    for r in rep_list:
        product *= r
    logits = product @ torch.t(r_x)
    if logits.dim() == 1:
        logits = logits.unsqueeze(0)
    assert logits.dim() == 2, "Logits must be a 2D tensor."
    return logit_scale_exp * logits


def release_zeroshot_logits(retrieval_ds: dict[str, torch.Tensor], logit_scale: torch.Tensor):
    """``zeroshot_retrieval`` without bootstrap up to the argmax: for each query hadm_id its
    candidates' logits, the true candidate at index 0 (``candidate_label[0] = 1``)."""
    mask = retrieval_ds["label"] == 1
    query_r_e = retrieval_ds["r_e"][mask]
    query_r_l = retrieval_ds["r_l"][mask]
    query_r_c = retrieval_ds["r_c"][mask]
    query_hadm_id = retrieval_ds["hadm_id"][mask]
    out = {}
    for ix, true_hadm_id in enumerate(query_hadm_id):
        r_c = query_r_c[ix]  # (d,)
        r_e = query_r_e[ix]  # (d,)
        r_l = query_r_l[ix]  # (d,)
        mask = (retrieval_ds["label_hadm_id"] == true_hadm_id) & (retrieval_ds["label"] == 0)
        neg_r_c = retrieval_ds["r_c"][mask]  # (candidate_n - 1, d)
        r_c = torch.cat([r_c.unsqueeze(0), neg_r_c], dim=0)  # (candidate_n, d)
        candidate_label = torch.zeros(len(r_c), dtype=torch.long)
        candidate_label[0] = 1
        logits = zeroshot_retrieval_logits(r_c, [r_e, r_l], logit_scale.exp(), "symile").cpu()
        out[int(true_hadm_id)] = logits[0]
    return out


def rank_bounds(logits: torch.Tensor, rel: float = 1e-4) -> tuple[int, int]:
    """The ranks the true candidate (index 0) can take when scores within ``rel`` of its own
    (relative to the largest magnitude) count as ties: [1 + clearly above, 1 + above or tied]."""
    tol = rel * float(logits.abs().max())
    own, others = float(logits[0]), logits[1:]
    return 1 + int((others > own + tol).sum()), 1 + int((others >= own - tol).sum())
