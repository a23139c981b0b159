"""NAP (chapter 1): the neural activation prior (Eq. 3) and its combination with another score (Eq. 4).

- :class:`NAP`: S_NAP of the map before global pooling (or the product over several taps, Table 4);
- :class:`NapX`: ``log(base+^w * S_NAP^(1-w))`` with any detector as the base *instance*
  (``NapX(base=ReAct(threshold=1.0))``); ``w=None`` searches w by golden section on held-out ID
  images vs their corrupted copies (App. H) with :func:`~ood_nb_utils.detectors.tuning.tune`;
- NAP-E, -M, -R, -A, -D, -K: :class:`NapX` with the paper's six bases, registered by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch

from .. import scorers
from ..extraction.features import extract
from .base import Detector, Grid, Interval, Needs, network_adapter
from .baselines import DICE, KNN, MSP, AshS, Energy, ReAct
from .heldout import HELDOUT_N, HeldOut, require_heldout
from .registry import register
from .tuning import tune

NAP_REFERENCE = "NAP Eq. 4 with {}; w searched on corrupted held-out ID images (App. H) unless given"


def nap_score(features, *, eps: float = scorers.NAP_EPS, layer: str | Sequence[str] = "final") -> torch.Tensor:
    """S_NAP of a cached tap (default: the map before global pooling, the only rectified tap); for several
    taps the product of their scores (NAP(x, y) of Table 4), in float64."""
    layers = (layer,) if isinstance(layer, str) else tuple(layer)
    if not layers:
        raise ValueError("name at least one layer")
    scores = [scorers.nap(features[f"{t}.max"], features[f"{t}.mean"], eps=eps, post_relu=t == "final")
              for t in layers]
    return scores[0] if len(scores) == 1 else torch.stack([s.double() for s in scores]).prod(dim=0)


@register
class NAP(Detector):
    """S_NAP (Eq. 3): mean over channels of (max / (mean + eps))^2."""

    name, title, reference = "nap", "NAP", "NAP Eq. 3 (eps = 1.0; the map before global pooling)"
    needs = Needs(arrays=("final.max", "final.mean"))
    search_space: ClassVar = {"eps": Grid((0.01, 0.1, 1.0, 10.0))}
    score_time_params = frozenset({"eps", "layer"})

    def __init__(self, eps: float = scorers.NAP_EPS, layer: str | tuple[str, ...] = "final") -> None:
        self.eps, self.layer = eps, layer  # NAP Sec. 5: eps = 1.0

    def _score(self, f):
        return nap_score(f, eps=self.eps, layer=self.layer)


class NapX(Detector):
    """NAP Eq. 4 with ``base`` (a detector instance). ``w`` in [0, 1] weights the base (1: the base alone,
    0: NAP alone); ``None`` searches it on ``n_heldout`` held-out ID images and their corrupted copies."""

    name, title, reference = "", "NAP-X", NAP_REFERENCE.format("any base")
    search_space: ClassVar = {"w": Interval(0.0, 1.0, tol=0.01)}
    score_time_params = frozenset({"w", "eps"})
    default_base: ClassVar[type[Detector] | None] = None

    def __init__(self, base: Detector | None = None, w: float | None = None, eps: float = scorers.NAP_EPS,
                 n_heldout: int = HELDOUT_N) -> None:
        if base is None:
            if self.default_base is None:
                raise ValueError("NapX needs a base detector, e.g. NapX(base=ReAct(threshold=1.0))")
            base = self.default_base()
        if not isinstance(base, Detector):
            raise TypeError(f"base must be a detector instance (e.g. ReAct()), got {type(base).__name__}")
        self.base, self.w, self.eps, self.n_heldout = base, w, eps, n_heldout
        self._check()

    def _check(self) -> None:
        if self.w is not None and not 0.0 <= self.w <= 1.0:
            raise ValueError(f"w must be in [0, 1] (or None to search it), got {self.w}")

    @property
    def needs(self) -> Needs:  # what the base needs, plus the final map's statistics
        b = self.base.needs
        return Needs(arrays=tuple(dict.fromkeys((*b.arrays, "final.max", "final.mean"))), train=b.train,
                     network=b.network, heldout=b.heldout or self.w is None)

    @property
    def transform(self) -> str:
        """MSP is a probability and enters Eq. 4 as is; every other base through softplus."""
        return "identity" if isinstance(self.base, MSP) else "softplus"

    @property
    def current_w(self) -> float:
        return self.w if self.w is not None else self.w_

    def fit(self, train, head, heldout: HeldOut | None = None, *, adapter=None) -> NapX:
        if self.base.needs.network:
            self.adapter_ = network_adapter(self, heldout, adapter)
        return super().fit(train, head, heldout, adapter=adapter)

    def _fit(self, train, head, heldout) -> None:
        self.base.fit(train, head, heldout, adapter=getattr(self, "adapter_", None))
        self.fit_info_.sizes.update(self.base.fit_info_.sizes)
        self.w_, self.search_ = self.w, None
        if self.w is None:
            heldout = require_heldout(self, heldout, "with w=None searches w on held-out ID images and their "
                                      "corrupted copies (NAP App. H)", "; or give w")
            pseudo = heldout.pseudo_ood(self.n_heldout)
            # the search's copies of this detector (copy.copy) share this memo, so each point of the golden
            # section combines the base and NAP scores of the two sets computed once (neither depends on w)
            self._search_memo = {}
            try:
                self.search_ = tune(self, self.search_space, pseudo.for_detector(self.base), metric="auroc",
                                    strategy="golden")
            finally:
                self._search_memo.clear()
                self._search_memo = None
            self.w_ = round(self.search_.best["w"], 3)
            self.fit_info_.sizes["heldout (w search)"] = len(pseudo.clean)
            self.fit_info_.sizes.update(heldout.sizes())

    def components(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """The base's scores and S_NAP of ``x``: what Eq. 4 combines (memoised while w is searched)."""
        memo = getattr(self, "_search_memo", None)
        hit = memo.get((id(x), self.eps)) if memo is not None else None
        if hit is not None and hit[0] is x:
            return hit[1]
        if self.base.needs.network:
            features = extract(self.adapter_, x, progress=False)
        else:
            features = x
        parts = torch.from_numpy(self.base.score(x)), nap_score(features, eps=self.eps)
        if memo is not None:
            memo[(id(x), self.eps)] = (x, parts)
        return parts

    def _score(self, x):
        base, nap = self.components(x)
        return scorers.nap_combine(base, nap, w=self.current_w, transform=self.transform)

    def classify_logits(self, f):
        return self.base.classify_logits(f)  # NAP leaves the classifier alone

    def fitted_params(self):
        return {"w": float(self.w_)} if self.w is None else {}


@register
class NapE(NapX):
    name, title, default_base, reference = "nap_e", "NAP-E", Energy, NAP_REFERENCE.format("Energy")


@register
class NapM(NapX):
    name, title, default_base, reference = "nap_m", "NAP-M", MSP, NAP_REFERENCE.format("MSP")


@register
class NapR(NapX):
    name, title, default_base, reference = "nap_r", "NAP-R", ReAct, NAP_REFERENCE.format("ReAct")


@register
class NapA(NapX):
    name, title, default_base, reference = "nap_a", "NAP-A", AshS, NAP_REFERENCE.format("ASH-S")


@register
class NapD(NapX):
    name, title, default_base, reference = "nap_d", "NAP-D", DICE, NAP_REFERENCE.format("DICE")


@register
class NapK(NapX):
    name, title, default_base, reference = "nap_k", "NAP-K", KNN, NAP_REFERENCE.format("KNN")


def same_mean_pair(id_mean, id_max, ood_mean, ood_max, *, eps: float = scorers.NAP_EPS, tolerance: float = 0.03,
                   candidates: int = 300) -> tuple[int, int, float]:
    """Fig. 1a's pair for one channel: an ID image with a high max/(mean + eps) ratio and the OOD image whose
    channel mean is closest to it (what global pooling keeps), preferring pairs whose means agree within
    ``tolerance`` (relative) and differ most in ratio. Returns (ID row, OOD row, relative mean gap); when no pair
    is within the tolerance, the closest pair of the candidates, so the figure can say how close it is."""
    import numpy as np

    ratio_id = np.asarray(scorers.nap_channel_ratio(id_max, id_mean, eps=eps))
    ratio_ood = np.asarray(scorers.nap_channel_ratio(ood_max, ood_mean, eps=eps))
    best, closest = None, None
    for i in np.argsort(-ratio_id)[:candidates]:
        k = int(np.argmin(np.abs(ood_mean - id_mean[i])))
        gap = abs(ood_mean[k] - id_mean[i]) / max(abs(id_mean[i]), 1e-12)
        if closest is None or gap < closest[2]:
            closest = (int(i), k, float(gap))
        if gap <= tolerance and (best is None or ratio_id[i] - ratio_ood[k] > best[3]):
            best = (int(i), k, float(gap), ratio_id[i] - ratio_ood[k])
    return best[:3] if best is not None else closest
