"""The registered checkpoints: where their files live, their checksums, their architecture and input normalisation,
and :func:`load_model`, which returns a :class:`~ood_nb_utils.models.adapter.ModelAdapter` of one (sha256 verified,
strict key matching, ``torch.load(..., weights_only=True)`` so that no pickled code runs).

- ``densenet100-cifar{10,100}``: DenseNet-BC-100, the DICE checkpoints (Sun & Li, ECCV 2022);
- ``resnet56-cifar10``: CIFAR ResNet-56 with option-A shortcuts (akamaster/pytorch_resnet_cifar10);
- ``resnet56-cifar100``: CIFAR ResNet-56 with option-B shortcuts (chenyaofo/pytorch-cifar-models).

The two ResNet-56s come from two authors, with different shortcuts and training recipes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from ..config import weights_dir
from ..data import CIFAR_MEAN, CIFAR_STD, sha256_of
from .adapter import ModelAdapter
from .architectures import ARCHITECTURES, DEFAULT_ARCH, Architecture
from .densenet import DenseNet3
from .resnet import CifarResNet

_DICE = "https://github.com/deeplearning-wisc/dice/raw/8acfb8d52eee997a7bf6f9d17ff5363fd91ba47b/checkpoints"
_AKAMASTER = ("https://github.com/akamaster/pytorch_resnet_cifar10/raw/d5489e8995e81e91ce6b1d69dcc98ad579b0b153/"
              "pretrained_models")
_CHENYAOFO = "https://github.com/chenyaofo/pytorch-cifar-models/releases/download/resnet"
# the normalisations each checkpoint was trained with (SOURCES.md): akamaster's trainer.py uses ImageNet's statistics
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CIFAR100_MEAN, CIFAR100_STD = (0.5070, 0.4865, 0.4409), (0.2673, 0.2564, 0.2761)


@dataclass(frozen=True)
class Checkpoint:
    name: str
    id_dataset: str
    num_classes: int
    filename: str
    sha256: str
    url: str
    expected_accuracy: float  # on the full test set, as its source states it
    accuracy_source: str  # where that figure is stated
    arch: str = DEFAULT_ARCH  # a key of ARCHITECTURES
    mean: tuple[float, float, float] = CIFAR_MEAN  # the input normalisation it was trained with
    std: tuple[float, float, float] = CIFAR_STD
    shortcut: str | None = None  # ResNet-56: "A" or "B" (see models.resnet)
    origin: str = ""  # who released it, in a few words

    @property
    def architecture(self) -> Architecture:
        return ARCHITECTURES[self.arch]

    @property
    def paper_setting(self) -> str | None:
        """The row of per-network hyperparameter tables this network stands for (AdaSCALE Tables 12-13)."""
        return self.architecture.adascale_rows.get(self.id_dataset)


CHECKPOINTS: dict[str, Checkpoint] = {
    "densenet100-cifar10": Checkpoint(
        "densenet100-cifar10", "cifar10", 10, "densenet100_cifar10.pth.tar",
        "deaefd082911a1c6c92aacdcfecf03c71b932acc5c08b779c85c44eccdc0c817",
        f"{_DICE}/CIFAR-10/densenet/checkpoint_100.pth.tar", 0.945, "DICE's DenseNet-BC-100 (as the book measured it)",
        origin="DICE (Sun & Li, ECCV 2022)",
    ),
    "densenet100-cifar100": Checkpoint(
        "densenet100-cifar100", "cifar100", 100, "densenet100_cifar100.pth.tar",
        "56cbe261c2612976e11aedcbd60ba00766e8c01c78f96c3f18ff561ead804d47",
        f"{_DICE}/CIFAR-100/densenet/checkpoint_100.pth.tar", 0.751, "DICE's DenseNet-BC-100 (as the book measured it)",
        origin="DICE (Sun & Li, ECCV 2022)",
    ),
    "resnet56-cifar10": Checkpoint(
        "resnet56-cifar10", "cifar10", 10, "resnet56-4bfd9763.th",
        "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367", f"{_AKAMASTER}/resnet56-4bfd9763.th",
        0.9339, "akamaster/pytorch_resnet_cifar10 README: 6.61% test error (the file's best_prec1 says 93.62)",
        arch="resnet56", mean=IMAGENET_MEAN, std=IMAGENET_STD, shortcut="A",
        origin="akamaster/pytorch_resnet_cifar10 (option-A shortcuts)",
    ),
    "resnet56-cifar100": Checkpoint(
        "resnet56-cifar100", "cifar100", 100, "cifar100_resnet56-f2eff4c8.pt",
        "f2eff4c8461ca1e0d39af83a65f7243bf7d29ec421efee3064bcee93a3caaa73",
        f"{_CHENYAOFO}/cifar100_resnet56-f2eff4c8.pt",
        0.7263, "chenyaofo/pytorch-cifar-models README: 72.63% top-1", arch="resnet56", mean=CIFAR100_MEAN,
        std=CIFAR100_STD, shortcut="B", origin="chenyaofo/pytorch-cifar-models (option-B shortcuts)",
    ),
}



def models_of(arch: str = DEFAULT_ARCH) -> dict[str, str]:
    """The checkpoint of architecture ``arch`` per ID dataset: ``{"cifar10": "densenet100-cifar10", ...}``."""
    if arch not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    return {cp.id_dataset: name for name, cp in CHECKPOINTS.items() if cp.arch == arch}


# The book's default network per ID dataset (DenseNet-BC-100)
MODEL_OF: dict[str, str] = models_of()


def checkpoint_path(name: str) -> Path:
    """Path of a checkpoint in the weights folder, sha256 verified; clear error if missing."""
    if name not in CHECKPOINTS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(CHECKPOINTS)}")
    ck = CHECKPOINTS[name]
    path = weights_dir() / ck.filename
    if not path.exists():
        raise FileNotFoundError(
            f"checkpoint for {name} not found at {path} (set OOD_NB_WEIGHTS_DIR to change the folder). "
            f"To get it: run `python -m ood_nb_utils data prepare --only weights` on a machine with internet, "
            f"or download {ck.url} to that path."
        )
    actual = sha256_of(path)
    if actual != ck.sha256:
        raise ValueError(f"{path} has sha256 {actual[:16]}..., expected {ck.sha256[:16]}...: not the {name} checkpoint "
                         f"({ck.origin}); delete it and download {ck.url}")
    return path


def load_network(name: str) -> nn.Module:
    """The plain ``nn.Module`` of a registered checkpoint (strict key matching, eval mode, channels_last)."""
    path = checkpoint_path(name)
    ck = CHECKPOINTS[name]
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no pickled code runs
    state = state.get("state_dict", state)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    if ck.arch == "densenet100":
        net = DenseNet3(depth=100, num_classes=ck.num_classes)
    else:
        net = CifarResNet(depth=56, num_classes=ck.num_classes, shortcut=ck.shortcut)
    net.load_state_dict(state, strict=True)
    return net.eval().to(memory_format=torch.channels_last)


def load_densenet(name: str) -> DenseNet3:
    """The plain ``nn.Module`` of a registered DenseNet checkpoint (see :func:`load_network`)."""
    if CHECKPOINTS.get(name) is not None and CHECKPOINTS[name].arch != "densenet100":
        raise ValueError(f"{name} is a {CHECKPOINTS[name].architecture.title}, not a DenseNet: use load_network")
    return load_network(name)


@lru_cache(maxsize=4)
def load_model(name: str) -> ModelAdapter:
    """The adapter of a registered checkpoint: the network's own ``forward_taps`` and its own normalisation."""
    net = load_network(name)
    ck = CHECKPOINTS[name]
    adapter = ModelAdapter(net, head=net.head, runner=net.forward_taps, spatial_taps=ck.architecture.spatial_taps,
                           mean=ck.mean, std=ck.std, name=name, source={"kind": "forward_taps",
                                                                         "class": type(net).__name__})
    adapter.checkpoint = ck
    return adapter
