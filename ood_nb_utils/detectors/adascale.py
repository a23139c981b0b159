"""AdaSCALE (chapter 2): adaptive-percentile scaling driven by activation shift (Regmi, 2025, Algorithm 1).

Fit: the perturbed activations (:func:`~ood_nb_utils.extraction.perturbation.perturbed_features`, cached) of
``n_val`` held-out ID images give the eCDF of Q' (Eq. 9). Score: each image's Q' sets its
percentile (Eq. 11); AdaSCALE-A shapes like SCALE, AdaSCALE-L like LTS. ``score`` takes images
(an :class:`~ood_nb_utils.data.ImageSet`) or their cached perturbed activations (a
:class:`~ood_nb_utils.extraction.features.Features` with a ``perturbed`` array), so searches over the
score-time hyperparameters (p_min, p_max, k1, k2, lambda) re-score cached arrays only.

The paper tunes p_min, p_max and k2 per ID dataset and network (Tables 12-13; App. C: lambda = 10, k1 = 1%,
o = 5%, eps = 0.5 are near-optimal everywhere). Leave them None and name the paper's ``setting`` (a row of those
tables, :data:`PAPER_SETTINGS`) to use its values, or give them (or tune them) for another network. The detector
never guesses the setting: the same dataset gets different values on different networks.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from .. import scorers
from ..extraction.features import Features
from ..extraction.perturbation import cached_shift_statistics, compute_perturbed, perturbed_features
from .base import FitInfo, Grid, Needs, NetworkDetector
from .heldout import HELDOUT_N, HeldOut, require_heldout
from .registry import register

# Tables 12 (AdaSCALE-A) and 13 (AdaSCALE-L): (p_min, p_max, k2 in % of D) of the rows this package names;
# lambda = 10, k1 = 1%, o = 5%, eps = 0.5 in every row
PAPER_SETTINGS: dict[str, dict[str, tuple[float, float, float]]] = {
    "cifar10-densenet": {"a": (65.0, 90.0, 10.0), "l": (70.0, 85.0, 10.0)},  # DenseNet-101
    "cifar100-densenet": {"a": (70.0, 80.0, 100.0), "l": (65.0, 75.0, 50.0)},
    "cifar10-wrn": {"a": (60.0, 95.0, 80.0), "l": (60.0, 85.0, 80.0)},  # WideResNet-28-10
    "cifar100-wrn": {"a": (60.0, 85.0, 80.0), "l": (60.0, 80.0, 80.0)},
    "imagenet-resnet50": {"a": (80.0, 85.0, 5.0), "l": (80.0, 85.0, 5.0)},
}
P_GRID = tuple(float(p) for p in range(50, 100, 5))


class AdaScale(NetworkDetector):
    """AdaSCALE-A or -L (``variant``). ``p_min``/``p_max``/``k2`` None: the values of the paper's ``setting``
    (:data:`PAPER_SETTINGS`, Tables 12-13). Defaults o = 5% (``fraction``), eps = 0.5, k1 = 1%, lambda = 10
    (App. C); the eCDF is built from ``n_val`` held-out ID images."""

    variant: ClassVar[str] = ""
    needs = Needs(network=True, heldout=True)
    search_space: ClassVar = {"p_min": Grid(P_GRID), "p_max": Grid(P_GRID), "k2": Grid((5.0, 10.0, 50.0, 100.0))}
    score_time_params = frozenset({"p_min", "p_max", "k1", "k2", "lam"})

    def __init__(self, p_min: float | None = None, p_max: float | None = None, k1: float = 1.0,
                 k2: float | None = None, lam: float = 10.0, fraction: float = 0.05, epsilon: float = 0.5,
                 n_val: int = HELDOUT_N, region: str = "trivial", setting: str | None = None) -> None:
        self.p_min, self.p_max, self.k1, self.k2, self.lam = p_min, p_max, k1, k2, lam
        self.fraction, self.epsilon, self.n_val, self.region = fraction, epsilon, n_val, region
        self.setting = setting
        self._check()

    @staticmethod
    def constraint(setting: dict) -> bool:
        """Grid settings that make sense: p_min <= p_max (Eq. 11)."""
        return setting.get("p_min", 0) <= setting.get("p_max", 99)

    def _check(self) -> None:
        if None not in (self.p_min, self.p_max) and not 0 <= self.p_min <= self.p_max < 100:
            raise ValueError(f"need 0 <= p_min <= p_max < 100, got p_min={self.p_min}, p_max={self.p_max}")
        if self.region not in scorers.REGIONS:
            raise ValueError(f"region must be one of {scorers.REGIONS}, got {self.region!r}")
        if self.setting is not None and self.setting not in PAPER_SETTINGS:
            raise ValueError(f"setting must be one of {sorted(PAPER_SETTINGS)} (rows of the paper's Tables 12-13), "
                             f"got {self.setting!r}")

    @property
    def perturbation(self) -> dict:
        return {"fraction": self.fraction, "epsilon": self.epsilon, "region": self.region}

    def _fit(self, train, head, heldout: HeldOut | None) -> None:
        self.resolved()  # fail before the gradient passes when no value is given
        heldout = require_heldout(self, heldout, "builds the eCDF of Q' from held-out ID images (Algorithm 1)",
                                  "; or call fit_reference with their perturbed activations")
        reference = heldout.images(self.n_val)
        self.reference_ = perturbed_features(self.adapter_, reference, progress=heldout.progress, **self.perturbation)
        self.fit_info_.sizes["heldout (eCDF)"] = len(reference)
        self.fit_info_.sizes.update(heldout.sizes())

    def fit_reference(self, reference: Features, head, *, adapter) -> AdaScale:
        """Fit on given perturbed activations of ID images (the eCDF reference, from
        :func:`~ood_nb_utils.extraction.perturbation.perturbed_features`) instead of held-out images."""
        if "perturbed" not in reference.arrays:
            raise ValueError("the reference must be perturbed_features(...) output of ID images")
        self.resolved()
        self.adapter_, self.head_, self.reference_ = adapter, head, reference
        self.fit_info_ = FitInfo({"heldout (eCDF)": len(reference)})
        return self

    def resolved(self) -> tuple[float, float, float]:
        """(p_min, p_max, k2): the given values, the ``setting``'s (Tables 12-13) where None."""
        given = (self.p_min, self.p_max, self.k2)
        if None not in given:
            return given
        if self.setting is None:
            missing = [n for n, v in zip(("p_min", "p_max", "k2"), given, strict=True) if v is None]
            raise ValueError(f"{self.title}: give {', '.join(missing)} (or tune them on held-out data), or name the "
                             f"paper's setting for your network, one of {sorted(PAPER_SETTINGS)} (Tables 12-13)")
        paper = PAPER_SETTINGS[self.setting][self.variant]
        return tuple(p if v is None else v for p, v in zip(paper, given, strict=True))

    def fitted_params(self):
        return dict(zip(("p_min", "p_max", "k2"), self.resolved(), strict=True))

    def percentiles(self, arrays: Features) -> torch.Tensor:
        """Eq. 11's per-sample percentile of cached perturbed arrays."""
        p_min, p_max, k2 = self.resolved()
        q, ref = (a.derived(("Q_prime", self.k1, k2, self.lam),  # once per bundle: a search varies p_min, p_max
                            lambda a=a: cached_shift_statistics(a, k1=self.k1, k2=k2, lam=self.lam)["Q_prime"])
                  for a in (arrays, self.reference_))
        return scorers.adaptive_percentile(q, ref, p_min=p_min, p_max=p_max)

    def scores_of(self, arrays: Features) -> torch.Tensor:
        pct = self.percentiles(arrays)
        if self.variant == "a":
            return scorers.adascale_a(arrays["penultimate"], self.head_.weight, self.head_.bias, pct)
        return scorers.adascale_l(arrays["penultimate"], arrays["logits"], pct)

    def arrays_of(self, x) -> Features:
        """Cached perturbed activations of an ImageSet (or ``x`` itself when it already is one)."""
        if isinstance(x, Features):
            if "perturbed" not in x.arrays:
                raise ValueError(f"{self.title} scores images or perturbed_features(...) output, not plain features")
            return x
        return perturbed_features(self.adapter_, x, progress=False, **self.perturbation)

    def score(self, x) -> np.ndarray:
        if isinstance(x, Features):
            return super(NetworkDetector, self).score(x)
        return super().score(x)

    def _score(self, x):
        return self.scores_of(self.arrays_of(x))

    def compute(self, images: np.ndarray, progress: bool = False) -> np.ndarray:
        """Scores of uint8 images without the cache (costs times this)."""
        arrays = compute_perturbed(self.adapter_, images, progress=progress, **self.perturbation)
        arrays["labels"] = np.full(len(images), -1)
        return self.scores_of(Features(self.adapter_.name, "uncached", arrays)).double().numpy()


@register
class AdaScaleA(AdaScale):
    name, title, variant = "adascale_a", "AdaSCALE-A", "a"
    reference = ("Regmi, 2025, Algorithm 1 (p_min, p_max, k2 of the named Tables 12-13 row unless given; eCDF from "
                 "held-out ID images)")


@register
class AdaScaleL(AdaScale):
    name, title, variant = "adascale_l", "AdaSCALE-L", "l"
    reference = AdaScaleA.reference
