"""CIFAR ResNet-56 (He et al., CVPR 2016, Sec. 4.2): 3 stages of 9 BasicBlocks, 16/32/64 channels, for 32x32 images.

Two released checkpoints use it, from two authors who differ in how a block changes shape (stride 2, more
channels):

- ``shortcut="A"`` (He et al.'s option A), the layout of ``akamaster/pytorch_resnet_cifar10`` (``resnet.py``):
  a parameter-free shortcut that keeps every other pixel and zero-pads the new channels; head ``linear``;
- ``shortcut="B"`` (option B), the layout of ``chenyaofo/pytorch-cifar-models`` (``resnet.py``): a 1x1 strided
  convolution and BN (``downsample``); head ``fc``.

Both are "ResNet-56", but trained by different recipes: the book says so wherever it treats them as one
architecture. Layer names match each checkpoint, and loading is strict.

``forward_taps`` returns the taps the chapters read:

==============  =================  ==============================================================
tap             shape (CIFAR)      what it is
==============  =================  ==============================================================
``conv1``       16 x 32 x 32       after the stem's conv, BN and ReLU (NAP Table 4 "c1")
``layer1``      16 x 32 x 32       output of stage 1 (NAP "t1"; Prototype Fusion)
``layer2``      32 x 16 x 16       output of stage 2 (NAP "t2"; Prototype Fusion)
``final``       64 x 8 x 8         output of stage 3, after the last block's ReLU: the map before global
                                   pooling (NAP "p"; Prototype Fusion)
``penultimate`` 64                 global average of ``final``; the classifier's input
``logits``      K                  the head's output
==============  =================  ==============================================================
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .adapter import with_pooled_head

SHORTCUTS = ("A", "B")
SPATIAL_TAPS: tuple[str, ...] = ("conv1", "layer1", "layer2", "final")
# tap -> the module whose output it is, for ModelAdapter.from_module (``final`` is ``layer3``)
HOOK_TAPS: dict[str, str] = {"conv1": "relu", "layer1": "layer1", "layer2": "layer2"}


class BasicBlock(nn.Module):
    """Conv3x3-BN-ReLU-Conv3x3-BN, plus the shortcut, then ReLU (He et al. 2016, Fig. 2)."""

    def __init__(self, in_planes: int, planes: int, stride: int, shortcut: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.reshapes = stride != 1 or in_planes != planes
        self.pad = (planes - in_planes) // 2
        self.shortcut_type = shortcut
        if self.reshapes and shortcut == "B":
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if not self.reshapes:
            return x
        if self.shortcut_type == "B":
            return self.downsample(x)
        # option A: every other pixel, new channels zero on both sides (akamaster's LambdaLayer)
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for CIFAR with ``shortcut`` "A" or "B" (see the module docstring); depth 56 by default."""

    def __init__(self, depth: int = 56, num_classes: int = 10, shortcut: str = "A") -> None:
        super().__init__()
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}")
        if (depth - 2) % 6:
            raise ValueError(f"a CIFAR ResNet has depth 6n + 2 (20, 32, 44, 56, 110), got {depth}")
        n = (depth - 2) // 6
        self.shortcut = shortcut
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()  # a module (no parameters) so that hooks can read the stem's output
        in_planes, stages = 16, []
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(n):
                blocks.append(BasicBlock(in_planes, planes, stride if i == 0 else 1, shortcut))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        head = nn.Linear(64, num_classes)
        # the two checkpoints name their head differently: "linear" (option A) and "fc" (option B)
        self.head_name = "linear" if shortcut == "A" else "fc"
        setattr(self, self.head_name, head)
        self.feature_dim = 64

    @property
    def head(self) -> nn.Linear:
        return getattr(self, self.head_name)

    def forward_taps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the network once and return every named tap (see the module docstring)."""
        taps: dict[str, torch.Tensor] = {}
        out = self.relu(self.bn1(self.conv1(x)))
        taps["conv1"] = out
        out = self.layer1(out)
        taps["layer1"] = out
        out = self.layer2(out)
        taps["layer2"] = out
        return with_pooled_head(taps, self.layer3(out), self.head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_taps(x)["logits"]
