"""Prototype Fusion (chapter 4): class prototypes at several layers, cosine similarity (Gul et al., 2026, Fig. 1).

Per layer: global-average-pooled, L2-normalised train features averaged per class and re-normalised;
a test image's ID affinity is the (weighted) mean over layers of its largest cosine to any prototype.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

from .. import scorers
from ..models import SPATIAL_TAPS
from ..registry import register
from .base import Detector, Grid, Needs

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

    def _fit(self, train, head, context):
        self.prototypes_ = scorers.fit_prototypes(train.layers(self.layers), train.labels, num_classes=head.num_classes)

    def layer_maxima(self, f):
        """N x L: per layer, each image's largest cosine to a class prototype."""
        return scorers.layer_maxima(f.layers(self.layers), self.prototypes_)

    def _score(self, f):
        return scorers.prototype_fusion(f.layers(self.layers), self.prototypes_, weights=self.weights)
