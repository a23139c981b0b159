"""DenseNet-BC-100 (growth 12, reduction 0.5, bottleneck) for 32x32 CIFAR images.

The layer names match the checkpoints released with DICE (Sun & Li, ECCV 2022), which
follow the DenseNet3 code of ODIN (Liang et al., 2018): ``conv1``, ``block{1,2,3}.layer.{i}``,
``trans{1,2}``, ``bn1``, ``fc``. Loading is strict, so a mismatch in any key or shape is an error.

``forward_taps`` returns every intermediate map that the four papers of this book read:

==============  =================  ==============================================================
tap             shape (CIFAR)      what it is
==============  =================  ==============================================================
``conv1``       24 x 32 x 32       after the first convolution (NAP Table 4 "c1")
``block1``      216 x 32 x 32      output of dense block 1
``trans1``      108 x 32 x 32      transition 1 after its 1x1 conv, before pooling (NAP "t1")
``block2``      300 x 16 x 16      output of dense block 2 (Prototype Fusion layer 1)
``trans2``      150 x 16 x 16      transition 2 before pooling (NAP "t2")
``block3``      342 x 8 x 8        output of dense block 3, before the final BN (Prototype Fusion)
``final``       342 x 8 x 8        ReLU(BN(block3)), the map before global pooling (NAP "p")
``penultimate`` 342                global average of ``final``; the classifier's input
``logits``      K                  ``fc(penultimate)``
==============  =================  ==============================================================

As a plain ``nn.Module`` (what :meth:`~ood_nb_utils.models.ModelAdapter.from_module` sees) the same
taps are the outputs of the modules in :data:`HOOK_TAPS`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .adapter import with_pooled_head

SPATIAL_TAPS: tuple[str, ...] = ("conv1", "block1", "trans1", "block2", "trans2", "block3", "final")
VECTOR_TAPS: tuple[str, ...] = ("penultimate", "logits")
ALL_TAPS: tuple[str, ...] = SPATIAL_TAPS + VECTOR_TAPS
# tap -> the module whose output it is, for ModelAdapter.from_module (``final`` is the ``relu`` module)
HOOK_TAPS: dict[str, str] = {"conv1": "conv1", "block1": "block1", "trans1": "trans1.conv1", "block2": "block2",
                             "trans2": "trans2.conv1", "block3": "block3"}


class BottleneckBlock(nn.Module):
    """BN-ReLU-Conv1x1(4k)-BN-ReLU-Conv3x3(k), concatenated to its input."""

    def __init__(self, in_planes: int, out_planes: int) -> None:
        super().__init__()
        inter_planes = out_planes * 4
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, inter_planes, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(inter_planes)
        self.conv2 = nn.Conv2d(inter_planes, out_planes, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([x, out], 1)


class TransitionBlock(nn.Module):
    """BN-ReLU-Conv1x1; ``forward_unpooled`` stops before the 2x2 average pooling."""

    def __init__(self, in_planes: int, out_planes: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, kernel_size=1, bias=False)

    def forward_unpooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(F.relu(self.bn1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.forward_unpooled(x), 2)


class DenseBlock(nn.Module):
    def __init__(self, n_layers: int, in_planes: int, growth_rate: int) -> None:
        super().__init__()
        self.layer = nn.Sequential(
            *[BottleneckBlock(in_planes + i * growth_rate, growth_rate) for i in range(n_layers)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class DenseNet3(nn.Module):
    """DenseNet-BC for CIFAR (Huang et al., CVPR 2017), in the layout of the DICE checkpoints."""

    def __init__(
        self,
        depth: int = 100,
        num_classes: int = 10,
        growth_rate: int = 12,
        reduction: float = 0.5,
    ) -> None:
        super().__init__()
        n = (depth - 4) // 3 // 2  # bottleneck layers per block: 16 for depth 100
        in_planes = 2 * growth_rate
        self.conv1 = nn.Conv2d(3, in_planes, kernel_size=3, padding=1, bias=False)
        self.block1 = DenseBlock(n, in_planes, growth_rate)
        in_planes += n * growth_rate
        self.trans1 = TransitionBlock(in_planes, int(math.floor(in_planes * reduction)))
        in_planes = int(math.floor(in_planes * reduction))
        self.block2 = DenseBlock(n, in_planes, growth_rate)
        in_planes += n * growth_rate
        self.trans2 = TransitionBlock(in_planes, int(math.floor(in_planes * reduction)))
        in_planes = int(math.floor(in_planes * reduction))
        self.block3 = DenseBlock(n, in_planes, growth_rate)
        in_planes += n * growth_rate
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu = nn.ReLU()  # a module (no parameters) so that hooks can read the final map
        self.fc = nn.Linear(in_planes, num_classes)
        self.feature_dim = in_planes

    @property
    def head(self) -> nn.Linear:
        """The classifier (``fc``), under the name every registered network gives it."""
        return self.fc

    def forward_taps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the network once and return every named tap (see the module docstring)."""
        taps: dict[str, torch.Tensor] = {}
        out = self.conv1(x)
        taps["conv1"] = out
        out = self.block1(out)
        taps["block1"] = out
        out = self.trans1.forward_unpooled(out)
        taps["trans1"] = out
        out = self.block2(F.avg_pool2d(out, 2))
        taps["block2"] = out
        out = self.trans2.forward_unpooled(out)
        taps["trans2"] = out
        out = self.block3(F.avg_pool2d(out, 2))
        taps["block3"] = out
        return with_pooled_head(taps, self.relu(self.bn1(out)), self.fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_taps(x)["logits"]
