"""The Symile-MIMIC release's three encoders in plain torch, and the map between the parameter
names of its checkpoint (torchvision's ResNets inside Lightning's ``SymileMIMICModel``) and ours.

The release (rajesh-lab/symile ``experiments/models/symile_mimic_model.py``) builds:

- ``ecg_encoder``: torchvision ``resnet18`` with ``conv1 = Conv2d(1, 64, 7, stride 2, padding 3,
  bias=False)`` and ``fc = Linear(512, d)``, then ``layer_norm = LayerNorm(d)``; input
  ``(n, 1, 5000, 12)``;
- ``cxr_encoder``: torchvision ``resnet50`` with ``fc = Linear(2048, d)``, then ``layer_norm``;
  input ``(n, 3, 320, 320)`` ImageNet-normalised;
- ``labs_encoder``: ``fc1`` 100 -> 256, ``fc2`` 256 -> 1024, ``fc3`` 1024 -> d with GELU between,
  then ``layer_norm``; input the 50 percentiles and the 50 missingness bits (1 = observed);
- ``logit_scale``: a scalar; the retrieval logits are ``exp(logit_scale) * MIP``.

torchvision cannot be a dependency (its wheels pin one torch build each), so the encoders are
``models/resnet.py``'s plain-torch ResNets (the same v1.5 architecture: stride on the 3x3
convolution of a bottleneck, a downsample where the width or stride changes) and the checkpoint's
names are mapped onto theirs. The map is a bijection between the two key sets, checked in the
tests against torchvision's key list written out from its architecture definition. One numeric
difference remains: torchvision pools with ``AdaptiveAvgPool2d(1)``, ours with ``mean(dim=(2,
3))``; both average the same values, and may round differently in the last bit.
"""

from __future__ import annotations

from torch import nn

from builders.mimic.models.nets import paper_ecg, paper_labs
from builders.mimic.models.resnet import resnet50

N_LAB_INPUTS = 100
RESNET18 = (2, 2, 2, 2)
RESNET50 = (3, 4, 6, 3)
ENCODERS = ("ecg", "cxr", "labs")  # our ModuleDict's keys; the modality each reads
RELEASE_ENCODER = {"ecg": "ecg_encoder", "cxr": "cxr_encoder", "labs": "labs_encoder"}
LOGIT_SCALE = "logit_scale"
# a key whose shape gives d (its rows): the last linear layer of the labs encoder
D_KEY = "labs_encoder.fc3.weight"
_LABS = {"0": "fc1", "2": "fc2", "4": "fc3", "5": "layer_norm"}  # paper_labs' Sequential


def release_encoders(d: int) -> nn.ModuleDict:
    """The three encoders at embedding size ``d`` (random weights until a checkpoint is
    loaded)."""
    return nn.ModuleDict(
        {
            "ecg": paper_ecg(d),
            "cxr": nn.Sequential(resnet50(3, d), nn.LayerNorm(d)),
            "labs": paper_labs(N_LAB_INPUTS, d),
        }
    )


def torchvision_modules(depths: tuple[int, ...], bottleneck: bool) -> dict[str, str]:
    """Module paths of ``resnet.ResNet`` -> torchvision's for the same architecture.

    Ours: ``features.0`` stem conv, ``features.1`` its BatchNorm, then one ``features.<i>`` per
    block in order (from 4: 2 and 3 are the ReLU and the max pool), each ``body.<j>`` (conv, BN,
    ReLU, conv, BN[, ReLU, conv, BN]) and ``skip.0/1``. torchvision: ``conv1``, ``bn1``,
    ``layer<s>.<k>.conv<j>/bn<j>``, ``layer<s>.<k>.downsample.0/1``, ``fc``."""
    body = ["conv1", "bn1", "", "conv2", "bn2"] + (["", "conv3", "bn3"] if bottleneck else [])
    out = {"features.0": "conv1", "features.1": "bn1", "fc": "fc"}
    index = 4
    for stage, depth in enumerate(depths, start=1):
        for k in range(depth):
            block = f"layer{stage}.{k}"
            for j, name in enumerate(body):
                if name:
                    out[f"features.{index}.body.{j}"] = f"{block}.{name}"
            out[f"features.{index}.skip.0"] = f"{block}.downsample.0"
            out[f"features.{index}.skip.1"] = f"{block}.downsample.1"
            index += 1
    return out


def release_names(encoders: nn.ModuleDict) -> dict[str, str]:
    """Every key of ``encoders.state_dict()`` -> its name in the release's checkpoint."""
    resnets = {
        "ecg": torchvision_modules(RESNET18, bottleneck=False),
        "cxr": torchvision_modules(RESNET50, bottleneck=True),
    }
    out = {}
    for key in encoders.state_dict():
        encoder, layer, rest = key.split(".", 2)
        prefix = RELEASE_ENCODER[encoder]
        if encoder == "labs":
            out[key] = f"{prefix}.{_LABS[layer]}.{rest}"
        elif layer == "1":  # the LayerNorm after the ResNet
            out[key] = f"{prefix}.layer_norm.{rest}"
        else:
            module, _, param = rest.rpartition(".")
            out[key] = f"{prefix}.resnet.{resnets[encoder][module]}.{param}"
    return out
