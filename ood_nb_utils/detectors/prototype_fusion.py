"""Prototype Fusion (chapter 4): class prototypes at several layers, cosine similarity (Gul et al., 2026, Fig. 1).

Per layer: global-average-pooled, L2-normalised train features averaged per class and re-normalised;
a test image's ID affinity is the (weighted) mean over layers of its largest cosine to any prototype.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import torch

from .. import scorers
from ..cache import array_digest
from ..models import SPATIAL_TAPS
from .base import Detector, Grid, Needs
from .registry import register

# Taps of the released code for DenseNet-BC-100: dense block 2's output (300-d), dense block 3's output before
# the final BN (342-d) and the final BN+ReLU map (342-d), each global-average-pooled.
PROTOTYPE_LAYERS: tuple[str, ...] = ("block2", "block3", "final")


def layer_subsets(taps: tuple[str, ...] = SPATIAL_TAPS) -> tuple[tuple[str, ...], ...]:
    """Every non-empty subset of ``taps``, in tap order (the layer sweep's grid)."""
    return tuple(c for r in range(1, len(taps) + 1) for c in itertools.combinations(taps, r))


@register
class PrototypeFusion(Detector):
    """Mean over ``layers`` of the maximum cosine similarity to a class prototype (uniform ``weights`` unless
    given, normalised to sum 1); the paper's OOD score is 1 - this affinity."""

    name, title = "prototype_fusion", "Prototype Fusion"
    reference = "Gul et al., 2026 (block2, block3, final; uniform weights; calibration = the ID train subset)"
    needs = Needs(arrays=tuple(f"{t}.mean" for t in PROTOTYPE_LAYERS), train=True)
    search_space: ClassVar = {"layers": Grid(layer_subsets())}

    def __init__(self, layers: tuple[str, ...] = PROTOTYPE_LAYERS, weights=None) -> None:
        self.layers, self.weights = tuple(layers), weights

    def _fit(self, train, head, heldout):
        # a tap's prototypes do not depend on the other taps: each is computed once per train bundle (a layer
        # search fits 127 subsets of seven taps on the same train features)
        k = head.num_classes
        self.prototypes_ = {t: train.derived(("fusion_prototypes", t, k), lambda t=t: scorers.fit_prototypes(
            {t: train.layer(t)}, train.labels, num_classes=k)[t]) for t in self.layers}

    def layer_maxima(self, f):
        """N x L: per layer, each image's largest cosine to a class prototype (once per bundle, tap and
        prototypes: the same column :func:`~ood_nb_utils.scorers.layer_maxima` computes with every tap at once)."""
        return torch.stack([f.derived(("fusion_max_cosine", t, array_digest(self.prototypes_[t].numpy())),
                                      lambda t=t: scorers.layer_maxima({t: f.layer(t)}, {t: self.prototypes_[t]})[:, 0])
                            for t in self.layers], dim=1)

    def _score(self, f):
        return scorers.fuse_layer_maxima(self.layer_maxima(f), self.layers, self.weights)
