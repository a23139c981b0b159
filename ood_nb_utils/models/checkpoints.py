"""The registered checkpoints (the DICE DenseNet-BC-100s): where their files live, their checksums, and
:func:`load_model`, which returns a :class:`~ood_nb_utils.models.adapter.ModelAdapter` of one (sha256 verified).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from ..config import weights_dir
from ..data import CIFAR_MEAN, CIFAR_STD, sha256_of
from .adapter import ModelAdapter
from .densenet import SPATIAL_TAPS, DenseNet3

_DICE = "https://github.com/deeplearning-wisc/dice/raw/8acfb8d52eee997a7bf6f9d17ff5363fd91ba47b/checkpoints"


@dataclass(frozen=True)
class Checkpoint:
    name: str
    id_dataset: str
    num_classes: int
    filename: str
    sha256: str
    url: str
    expected_accuracy: float  # on the full test set, with the CIFAR normalisation of ood_nb_utils.data
    # the row of per-network hyperparameter tables this network stands for (AdaSCALE Tables 12-13: DenseNet-101,
    # the nearest of the paper's networks to DenseNet-BC-100)
    paper_setting: str | None = None


CHECKPOINTS: dict[str, Checkpoint] = {
    "densenet100-cifar10": Checkpoint(
        "densenet100-cifar10", "cifar10", 10, "densenet100_cifar10.pth.tar",
        "deaefd082911a1c6c92aacdcfecf03c71b932acc5c08b779c85c44eccdc0c817",
        f"{_DICE}/CIFAR-10/densenet/checkpoint_100.pth.tar", 0.945, "cifar10-densenet",
    ),
    "densenet100-cifar100": Checkpoint(
        "densenet100-cifar100", "cifar100", 100, "densenet100_cifar100.pth.tar",
        "56cbe261c2612976e11aedcbd60ba00766e8c01c78f96c3f18ff561ead804d47",
        f"{_DICE}/CIFAR-100/densenet/checkpoint_100.pth.tar", 0.751, "cifar100-densenet",
    ),
}

# The checkpoint trained on each ID dataset: {"cifar10": "densenet100-cifar10", ...}
MODEL_OF: dict[str, str] = {cp.id_dataset: name for name, cp in CHECKPOINTS.items()}


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
        raise ValueError(f"{path} has sha256 {actual[:16]}..., expected {ck.sha256[:16]}...: not the DICE checkpoint")
    return path


def load_densenet(name: str) -> DenseNet3:
    """The plain ``nn.Module`` of a registered checkpoint (strict key matching, eval mode, channels_last)."""
    path = checkpoint_path(name)
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no pickled code runs
    state = state.get("state_dict", state)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = DenseNet3(depth=100, num_classes=CHECKPOINTS[name].num_classes)
    net.load_state_dict(state, strict=True)
    return net.eval().to(memory_format=torch.channels_last)


@lru_cache(maxsize=4)
def load_model(name: str) -> ModelAdapter:
    """The adapter of a registered DICE DenseNet-BC-100: its own ``forward_taps``, CIFAR normalisation."""
    net = load_densenet(name)
    adapter = ModelAdapter(net, head=net.fc, runner=net.forward_taps, spatial_taps=SPATIAL_TAPS, mean=CIFAR_MEAN,
                           std=CIFAR_STD, name=name, source={"kind": "forward_taps", "class": "DenseNet3"})
    adapter.checkpoint = CHECKPOINTS[name]
    return adapter
