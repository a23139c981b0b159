"""The facts of each registered architecture that a chapter needs: which taps stand for which of a paper's layers,
how many channels the final map has, and the per-network hyperparameters the papers give.

A chapter never writes "channel 333" or "block2" itself: it reads them from :data:`ARCHITECTURES`, so that the same
chapter runs on DenseNet-BC-100 and on ResNet-56 (``chapter.begin(arch=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import densenet, resnet


@dataclass(frozen=True)
class Architecture:
    """One architecture's facts (see the module docstring)."""

    key: str  # "densenet100", "resnet56"
    title: str  # as the pages name it
    spatial_taps: tuple[str, ...]  # every tapped map, shallow to deep (the last is ``final``)
    final_channels: int  # channels of the map before global pooling (= the penultimate feature's dimension)
    final_shape: tuple[int, int, int]  # C x H x W of that map on 32x32 CIFAR images
    nap_depths: dict[str, str]  # NAP Table 4's layers (c1, t1, t2, p) -> our taps
    tap_notes: dict[str, str]  # what each spatial tap is, in a few words (figure labels)
    prototype_layers: tuple[str, ...]  # Prototype Fusion's taps
    prototype_source: str  # where those taps come from
    example_channel: int | None  # NAP Fig. 1b's channel where the paper names one for this network
    # AdaSCALE Tables 12-13: the row whose (p_min, p_max, k2) this network takes, per ID dataset
    adascale_rows: dict[str, str]
    adascale_source: str
    clip_threshold: float | None  # the absolute ReAct/HIMPLoS threshold; None: ReAct's 90th-percentile recipe
    clip_source: str
    note: str = ""  # what a reader must know when it stands beside another network

    def shape_text(self) -> str:
        """The final map's shape as the pages write it: "342 x 8 x 8"."""
        return " x ".join(str(n) for n in self.final_shape)


DENSENET100 = Architecture(
    key="densenet100", title="DenseNet-BC-100", spatial_taps=densenet.SPATIAL_TAPS, final_channels=342,
    final_shape=(342, 8, 8),
    nap_depths={"c1": "conv1", "t1": "trans1", "t2": "trans2", "p": "final"},
    tap_notes={"conv1": "after the first conv", "block1": "dense block 1", "trans1": "transition 1, before pooling",
               "block2": "dense block 2", "trans2": "transition 2, before pooling",
               "block3": "dense block 3, before the final BN", "final": "before global pooling"},
    prototype_layers=("block2", "block3", "final"),
    prototype_source=("the released code's DenseNet taps: dense block 2's output, dense block 3's output before the "
                      "final BN and the final BN+ReLU map"),
    example_channel=333,
    adascale_rows={"cifar10": "cifar10-densenet", "cifar100": "cifar100-densenet"},
    adascale_source="AdaSCALE Tables 12-13, DenseNet-101 rows (the nearest of the paper's networks)",
    clip_threshold=1.6,
    clip_source="1.6, the CIFAR DenseNet threshold of HIMPLoS' release (which also matches NAP Table 9's ReAct row)",
    note="the DICE checkpoints (Sun & Li, ECCV 2022), one network per ID dataset",
)

RESNET56 = Architecture(
    key="resnet56", title="ResNet-56", spatial_taps=resnet.SPATIAL_TAPS, final_channels=64, final_shape=(64, 8, 8),
    nap_depths={"c1": "conv1", "t1": "layer1", "t2": "layer2", "p": "final"},
    tap_notes={"conv1": "after the stem's conv, BN and ReLU", "layer1": "stage 1 output", "layer2": "stage 2 output",
               "final": "stage 3 output, before global pooling"},
    prototype_layers=("layer1", "layer2", "final"),
    prototype_source=("the outputs of ResNet-56's three stages, as the paper's ResNet-18 uses the outputs of its "
                      "convolutional blocks (Prototype Fusion Fig. 5 caption: 'the last three layers of ResNet-18')"),
    example_channel=None,
    adascale_rows={"cifar10": "cifar10-wrn", "cifar100": "cifar100-wrn"},
    adascale_source="AdaSCALE Tables 12-13, WideResNet-28-10 rows (the paper's only residual network on CIFAR)",
    clip_threshold=None,
    clip_source=("ReAct's own recipe, the 90th percentile of the ID train activations (Sun et al., NeurIPS 2021, "
                 "Sec. 4): the absolute 1.6 is a DenseNet value, and no paper gives one for a CIFAR ResNet-56"),
    note=("two checkpoints from two authors: CIFAR-10 from akamaster (option-A shortcuts), CIFAR-100 from chenyaofo "
          "(option-B shortcuts), trained by different recipes"),
)

ARCHITECTURES: dict[str, Architecture] = {a.key: a for a in (DENSENET100, RESNET56)}
DEFAULT_ARCH = DENSENET100.key


def architecture(key: str) -> Architecture:
    """The facts of architecture ``key``, with an error that lists the known ones."""
    if key not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {key!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[key]
