"""HIMPLoS (chapter 3): head-informed feature masking, ReAct clipping and prototype logit smoothing
(Sun et al., 2024, Eq. 3-11), with the plug-in rows of Table IV and the DICE+ReAct baseline of Table I.

Defaults p = 60, lambda = 1.6 are the released values for the CIFAR DenseNet. Prototypes (Eq. 6) are the
class means of the raw penultimate ID train features.
"""

from __future__ import annotations

from typing import ClassVar

from .. import scorers
from .base import Detector, Grid, Needs
from .baselines import ODINThroughHead
from .registry import register

HIMPLOS_REFERENCE = ("Sun et al., 2024, Eqs. 3-11; p = 60, lambda = 1.6 for the CIFAR DenseNet from the run_eval.sh "
                     "its README gives")


def class_prototypes(train, head):
    """HIMPLoS' prototypes (Eq. 6): class means of the raw penultimate ID train features."""
    return scorers.class_means(train.penultimate, train.labels, num_classes=head.num_classes)


@register
class DiceReAct(Detector):
    """DICE's sparsified head on ReAct-clipped features (the mask from unclipped train means)."""

    name, title = "dice_react", "DICE+ReAct"
    reference = "Sun & Li, ECCV 2022 (p = 90, ReAct threshold 1.6; DICE's mask from unclipped train means)"
    needs = Needs(arrays=("penultimate",), train=True)

    def __init__(self, sparsity: float = 90.0, threshold: float = 1.6) -> None:
        self.sparsity, self.threshold = sparsity, threshold

    def _fit(self, train, head, heldout):
        self.masked_weight_ = scorers.fit_dice(train.penultimate, head.weight, sparsity=self.sparsity)

    def _score(self, f):
        return scorers.dice(f.penultimate.clamp(max=self.threshold), self.masked_weight_, self.head_.bias)

    def classify_logits(self, f):
        return scorers.linear_head(f.penultimate.clamp(max=self.threshold), self.masked_weight_, self.head_.bias)


class _Prototypes(Detector):
    """Fits HIMPLoS' prototypes: class means of the raw penultimate train features (Eq. 6)."""

    needs = Needs(arrays=("penultimate", "logits"), train=True)

    def _fit(self, train, head, heldout):
        self.prototypes_ = class_prototypes(train, head)


@register
class HIMPLoS(_Prototypes):
    """Energy of the HIMPLoS logits (Eq. 11); ``mask``/``clip``/``smooth`` switch Table III's components and
    ``enhance_alpha`` replaces smoothing by logit enhancing (Eq. 12, Table V)."""

    name, title, reference = "himplos", "HIMPLoS", HIMPLOS_REFERENCE
    search_space: ClassVar = {"percentile": Grid(tuple(float(p) for p in range(0, 100, 10))),
                              "threshold": Grid((0.5, 1.0, 1.6, 2.0))}
    score_time_params = frozenset({"percentile", "threshold", "mask", "clip", "smooth", "enhance_alpha"})
    output: ClassVar = staticmethod(scorers.energy)

    def __init__(self, percentile: float = scorers.HIMPLOS_PERCENTILE, threshold: float = scorers.HIMPLOS_THRESHOLD,
                 mask: bool = True, clip: bool = True, smooth: bool = True, enhance_alpha: float | None = None) -> None:
        self.percentile, self.threshold, self.mask, self.clip = percentile, threshold, mask, clip
        self.smooth, self.enhance_alpha = smooth, enhance_alpha

    def classify_logits(self, f):
        return scorers.himplos_logits(f.penultimate, self.head_.weight, self.head_.bias, self.prototypes_,
                                      **self.get_params())

    def _score(self, f):
        return type(self).output(self.classify_logits(f))


@register
class HimplosMSP(HIMPLoS):
    name, title = "himplos_msp", "MSP+HIMPLoS"
    reference = "Sun et al., 2024, Table IV (MSP of the HIMPLoS logits)"
    output = staticmethod(scorers.msp)


@register
class ReactMSP(Detector):
    """MSP of ReAct-clipped logits (Table IV)."""

    name, title = "react_msp", "MSP+ReAct"
    reference = "Sun et al., 2024, Table IV (MSP of ReAct-clipped logits)"
    needs = Needs(arrays=("penultimate",))

    def __init__(self, threshold: float = 1.6) -> None:
        self.threshold = threshold

    def classify_logits(self, f):
        return scorers.linear_head(f.penultimate.clamp(max=self.threshold), self.head_.weight, self.head_.bias)

    def _score(self, f):
        return scorers.msp(self.classify_logits(f))


class LogitSmoothing(_Prototypes):
    """HIMPLoS' logit smoothing alone on top of another method (Table IV): energy of ``s(h, v_c) * f_base``,
    with ``c`` the network's own prediction and ``f_base`` the logits ``base`` classifies with."""

    name, title, reference = "", "+ logit smoothing", "Sun et al., 2024, Table IV (LS on another method)"

    def __init__(self, base: Detector) -> None:
        self.base = base

    def _fit(self, train, head, heldout):
        super()._fit(train, head, heldout)
        self.base.fit(train, head, heldout)

    def _score(self, f):
        smoothed = scorers.smooth_logits(self.base.classify_logits(f), f.penultimate, self.prototypes_,
                                         predicted=f.logits.argmax(1))
        return scorers.energy(smoothed)


@register
class ReactODIN(ODINThroughHead):
    """ODIN through ReAct-clipped logits (Table IV)."""

    name, title = "react_odin", "ODIN+ReAct"
    reference = "Sun et al., 2024, Table IV (ODIN through ReAct-clipped logits)"
    head_kind = "react"

    def __init__(self, temperature: float = 1000.0, epsilon: float = 0.0014, threshold: float = 1.6) -> None:
        super().__init__(temperature, epsilon)
        self.threshold = threshold

    def head_logits(self, h):
        return scorers.linear_head(h.clamp(max=self.threshold), self.head_.weight, self.head_.bias)


@register
class HimplosODIN(ODINThroughHead):
    """ODIN through the HIMPLoS logits (Table IV); prototypes from the run's ID train features."""

    name, title = "himplos_odin", "ODIN+HIMPLoS"
    reference = "Sun et al., 2024, Table IV (ODIN through the HIMPLoS logits; prototypes from the train subset)"
    head_kind = "himplos"
    needs = Needs(network=True, train=True)

    def __init__(self, temperature: float = 1000.0, epsilon: float = 0.0014,
                 percentile: float = scorers.HIMPLOS_PERCENTILE, threshold: float = scorers.HIMPLOS_THRESHOLD) -> None:
        super().__init__(temperature, epsilon)
        self.percentile, self.threshold = percentile, threshold

    def _fit(self, train, head, heldout):
        self.prototypes_ = class_prototypes(train, head)

    def head_logits(self, h):
        return scorers.himplos_logits(h, self.head_.weight, self.head_.bias, self.prototypes_,
                                      percentile=self.percentile, threshold=self.threshold)

    def extra_cache_params(self):
        from ..cache import array_digest

        return {"prototypes": array_digest(self.prototypes_.numpy())}
