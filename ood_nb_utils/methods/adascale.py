"""AdaSCALE (chapter 2): adaptive-percentile scaling driven by activation shift (Regmi, 2025, Algorithm 1).

Fit: the perturbed activations (:func:`~ood_nb_utils.perturbation.perturbed_features`, cached) of
``n_val`` held-out ID images give the eCDF of Q' (Eq. 9). Score: each image's Q' sets its
percentile (Eq. 11); AdaSCALE-A shapes like SCALE, AdaSCALE-L like LTS. ``score`` takes images
(an :class:`~ood_nb_utils.data.ImageSet`) or their cached perturbed activations (a
:class:`~ood_nb_utils.features.Features` with a ``perturbed`` array), so searches over the
score-time hyperparameters (p_min, p_max, k1, k2, lambda) re-score cached arrays only.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from .. import scorers
from ..features import Features
from ..perturbation import cached_shift_statistics, compute_perturbed, perturbed_features
from ..registry import register
from .base import FitInfo, Grid, Needs, NetworkDetector

# Tables 12-13, DenseNet-101 rows: (p_min, p_max, k2 in % of D); lambda = 10, k1 = 1%, o = 5%, eps = 0.5
PAPER_HYPERPARAMETERS: dict[tuple[str, str], tuple[float, float, float]] = {
    ("a", "cifar10"): (65.0, 90.0, 10.0), ("a", "cifar100"): (70.0, 80.0, 100.0),
    ("l", "cifar10"): (70.0, 85.0, 10.0), ("l", "cifar100"): (65.0, 75.0, 50.0),
}
P_GRID = tuple(float(p) for p in range(50, 100, 5))


class AdaScale(NetworkDetector):
    """AdaSCALE-A or -L (``variant``). ``p_min``/``p_max``/``k2`` None: the paper's DenseNet-101 values for the
    run's ID dataset (Tables 12-13). Defaults o = 5% (``fraction``), eps = 0.5, k1 = 1%, lambda = 10 (Sec. 5)."""

    variant: ClassVar[str] = ""
    needs = Needs(network=True, heldout=True)
    search_space: ClassVar = {"p_min": Grid(P_GRID), "p_max": Grid(P_GRID), "k2": Grid((5.0, 10.0, 50.0, 100.0))}
    score_time_params = frozenset({"p_min", "p_max", "k1", "k2", "lam"})

    def __init__(self, p_min: float | None = None, p_max: float | None = None, k1: float = 1.0,
                 k2: float | None = None, lam: float = 10.0, fraction: float = 0.05, epsilon: float = 0.5,
                 n_val: int = 1000, region: str = "trivial") -> None:
        self.p_min, self.p_max, self.k1, self.k2, self.lam = p_min, p_max, k1, k2, lam
        self.fraction, self.epsilon, self.n_val, self.region = fraction, epsilon, n_val, region
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

    @property
    def perturbation(self) -> dict:
        return {"fraction": self.fraction, "epsilon": self.epsilon, "region": self.region}

    def _fit(self, train, head, context) -> None:
        if context is None:
            raise ValueError(f"{self.title} builds its eCDF from held-out ID images: pass context=RunContext(...)")
        self.id_dataset_ = context.id_dataset
        reference = context.heldout_images(self.n_val)
        self.reference_ = perturbed_features(self.adapter_, reference, progress=context.progress, **self.perturbation)
        self.fit_info_.sizes["heldout (eCDF)"] = len(reference)
        self.fit_info_.sizes.update(context.heldout_sizes())

    def fit_reference(self, reference: Features, head, *, adapter, id_dataset: str | None = None) -> AdaScale:
        """Fit on given perturbed activations of ID images (the eCDF reference, from
        :func:`~ood_nb_utils.perturbation.perturbed_features`) instead of a context's held-out images."""
        if "perturbed" not in reference.arrays:
            raise ValueError("the reference must be perturbed_features(...) output of ID images")
        self.adapter_, self.head_, self.id_dataset_, self.reference_ = adapter, head, id_dataset, reference
        self.fit_info_ = FitInfo({"heldout (eCDF)": len(reference)})
        return self

    def resolved(self) -> tuple[float, float, float]:
        """(p_min, p_max, k2): the given values, the paper's for the ID dataset where None."""
        given = (self.p_min, self.p_max, self.k2)
        if None not in given:
            return given
        paper = PAPER_HYPERPARAMETERS.get((self.variant, self.id_dataset_))
        if paper is None:
            raise ValueError(f"{self.title}: the paper gives p_min, p_max, k2 for CIFAR-10/100 DenseNet only; set them "
                             "(or tune them) for this network")
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
    reference = ("Regmi, 2025, Algorithm 1 (DenseNet-101 values of Tables 12-13 unless given; eCDF from held-out "
                 "ID images)")


@register
class AdaScaleL(AdaScale):
    name, title, variant = "adascale_l", "AdaSCALE-L", "l"
    reference = AdaScaleA.reference
