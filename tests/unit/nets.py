"""A tiny convolutional network behind a ModelAdapter, for the unit tests that need a network to run."""

from __future__ import annotations

import torch
from torch import nn

from ood_nb_utils.data import CIFAR_MEAN, CIFAR_STD
from ood_nb_utils.models import ModelAdapter


def tiny_net(channels: int = 8, classes: int = 5, seed: int = 0) -> nn.Sequential:
    """conv 3x3 -> ReLU (the map before pooling) -> global average -> linear head ``fc``."""
    torch.manual_seed(seed)
    net = nn.Sequential()
    net.add_module("conv", nn.Conv2d(3, channels, 3, padding=1))
    net.add_module("relu", nn.ReLU())
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flat", nn.Flatten())
    net.add_module("fc", nn.Linear(channels, classes))
    return net.eval()


def tiny_adapter(net: nn.Module, name: str = "tiny") -> ModelAdapter:
    """``net`` (from :func:`tiny_net`) with the CIFAR normalisation, ``relu`` as the final map, ``fc`` as the head."""
    return ModelAdapter.from_module(net, final="relu", head="fc", mean=CIFAR_MEAN, std=CIFAR_STD, name=name)
