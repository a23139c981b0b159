"""Method name -> how it fits on ID data and how it scores, with documented defaults.

The command line (``python -m ood_nb_utils evaluate --methods ...``) and the chapters look
methods up here. A method is either *feature-based* (it scores cached activations: every
baseline but ODIN) or *network-based* (it needs gradients through the network: ODIN; its
scores are cached per image subset and hyperparameters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from . import scorers
from .data import normalize
from .features import Features, cached_per_image
from .models import LoadedModel


@dataclass(frozen=True)
class Head:
    """The classifier head ``logits = weight @ h + bias``."""

    weight: torch.Tensor
    bias: torch.Tensor

    @classmethod
    def of(cls, model: LoadedModel) -> Head:
        return cls(model.weight, model.bias)


@dataclass(frozen=True)
class Method:
    """A registered OOD scorer. ``defaults`` are the paper values (see ``reference``)."""

    name: str
    title: str
    reference: str
    score: Callable[..., torch.Tensor] | None = None  # score(features, head, state, **params)
    fit: Callable[..., Any] | None = None  # fit(train_features, head, **params) -> state
    network: Callable[..., np.ndarray] | None = None  # network(model_name, dataset, n, seed, **params)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_network(self) -> bool:
        return self.network is not None

    def params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        unknown = set(overrides or {}) - set(self.defaults)
        if unknown:
            raise KeyError(f"{self.name} has no hyperparameter(s) {sorted(unknown)}; it takes {sorted(self.defaults)}")
        return {**self.defaults, **(overrides or {})}


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method (chapters' packages call this at import); names are unique and lower-case."""
    if method.name != method.name.lower():
        raise ValueError(f"method names are lower-case: {method.name!r}")
    if method.name in METHODS:
        raise ValueError(f"method {method.name!r} is registered twice")
    if (method.score is None) == (method.network is None):
        raise ValueError(f"method {method.name!r} needs exactly one of score= or network=")
    METHODS[method.name] = method
    return method


def get(name: str) -> Method:
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; available: {', '.join(METHODS)}")
    return METHODS[name]


def _odin_network(model_name: str, dataset: str, n: int | None, seed: int, *, temperature: float,
                  epsilon: float, batch_size: int = 64) -> np.ndarray:
    def compute(model: LoadedModel, images: np.ndarray) -> dict[str, np.ndarray]:
        from tqdm import tqdm

        out = []
        for start in tqdm(range(0, len(images), batch_size), desc=f"ODIN | {dataset}", mininterval=20):
            batch = normalize(images[start:start + batch_size])
            out.append(scorers.odin(model.net, batch, temperature=temperature, epsilon=epsilon))
        return {"scores": torch.cat(out).numpy()}

    params = {"temperature": temperature, "epsilon": epsilon}
    return cached_per_image("odin", model_name, dataset, n, seed, params, compute)["scores"]


def _react_threshold(train: Features, head: Head, threshold: float, percentile: float | None) -> float:
    """ReAct's clipping threshold: the absolute ``threshold``, or the ``percentile`` of ID train activations."""
    return threshold if percentile is None else scorers.fit_react(train.penultimate, percentile=percentile)


def _builtin() -> None:
    register(Method("msp", "MSP", "Hendrycks & Gimpel, ICLR 2017",
                    score=lambda f, head, state: scorers.msp(f.logits)))
    register(Method("mls", "MaxLogit", "Hendrycks et al., ICML 2022",
                    score=lambda f, head, state: scorers.max_logit(f.logits)))
    register(Method("energy", "Energy", "Liu et al., NeurIPS 2020",
                    score=lambda f, head, state, temperature: scorers.energy(f.logits, temperature=temperature),
                    defaults={"temperature": 1.0}))
    register(Method("odin", "ODIN", "Liang et al., ICLR 2018 (T = 1000, eps = 0.0014 for DenseNet)",
                    network=_odin_network, defaults={"temperature": 1000.0, "epsilon": 0.0014}))
    register(Method("mahalanobis", "Mahalanobis", "Lee et al., NeurIPS 2018 (penultimate layer, no perturbation)",
                    fit=lambda train, head: scorers.fit_mahalanobis(train.penultimate, train.labels),
                    score=lambda f, head, state: scorers.mahalanobis(f.penultimate, state)))
    register(Method("knn", "KNN", "Sun et al., ICML 2022 (k = 50 for CIFAR)",
                    fit=lambda train, head, k: scorers.fit_knn(train.penultimate),
                    score=lambda f, head, bank, k: scorers.knn(f.penultimate, bank, k=k),
                    defaults={"k": 50}))
    # ReAct's recipe is the 90th percentile of ID activations (Sun et al. 2021), tuned on ImageNet
    # ResNet-50. This DenseNet's pooled features are sparse (mean 0.14), so that percentile is 0.41
    # and clips most of the signal away; the CIFAR DenseNet code bases use an absolute threshold
    # instead (1.6 in HIMPLoS' release, which also matches NAP Table 9's ReAct row). Passing
    # ``percentile`` restores the percentile recipe; chapter 0 shows both.
    register(Method("react", "ReAct", "Sun et al., NeurIPS 2021 (threshold 1.6 for CIFAR DenseNet)",
                    fit=_react_threshold,
                    score=lambda f, head, c, threshold, percentile: scorers.react(f.penultimate, head.weight,
                                                                                  head.bias, threshold=c),
                    defaults={"threshold": 1.6, "percentile": None}))
    register(Method("bfact", "BFAct", "Kong & Li, ICCSIP 2022 (cut-off as ReAct's, order 2)",
                    fit=lambda train, head, threshold, percentile, order: _react_threshold(train, head, threshold,
                                                                                           percentile),
                    score=lambda f, head, c, threshold, percentile, order: scorers.bfact(
                        f.penultimate, head.weight, head.bias, threshold=c, order=order),
                    defaults={"threshold": 1.6, "percentile": None, "order": 2}))
    register(Method("dice", "DICE", "Sun & Li, ECCV 2022 (p = 90)",
                    fit=lambda train, head, sparsity: scorers.fit_dice(train.penultimate, head.weight,
                                                                       sparsity=sparsity),
                    score=lambda f, head, w, sparsity: scorers.dice(f.penultimate, w, head.bias),
                    defaults={"sparsity": 90.0}))
    for name, fn, title in [("ash_p", scorers.ash_p, "ASH-P"), ("ash_b", scorers.ash_b, "ASH-B"),
                            ("ash_s", scorers.ash_s, "ASH-S")]:
        register(Method(name, title, "Djurisic et al., ICLR 2023 (p = 90)",
                        score=lambda f, head, state, percentile, fn=fn: fn(f.penultimate, head.weight, head.bias,
                                                                           percentile=percentile),
                        defaults={"percentile": 90.0}))
    register(Method("scale", "SCALE", "Xu et al., ICLR 2024 (p = 85)",
                    score=lambda f, head, state, percentile: scorers.scale(f.penultimate, head.weight, head.bias,
                                                                           percentile=percentile),
                    defaults={"percentile": 85.0}))
    register(Method("lts", "LTS", "Djurisic et al., 2024 (logits * r^2; p = 85)",
                    score=lambda f, head, state, percentile: scorers.lts(f.penultimate, f.logits,
                                                                         percentile=percentile),
                    defaults={"percentile": 85.0}))


BASELINES: tuple[str, ...] = ("msp", "mls", "energy", "odin", "mahalanobis", "knn", "react", "bfact", "dice",
                              "ash_p", "ash_b", "ash_s", "scale", "lts")

_builtin()


def fit_method(method: Method, train: Features, head: Head, params: dict[str, Any]) -> Any:
    """Fit a method's ID statistics (None for methods that learn nothing from ID data)."""
    return None if method.fit is None else method.fit(train, head, **params)


def score_features(method: Method, feats: Features, head: Head, state: Any, params: dict[str, Any]) -> np.ndarray:
    """Scores of a feature-based method as a float64 numpy array."""
    if method.score is None:
        raise ValueError(f"{method.name} needs the network; call its network scorer instead")
    return method.score(feats, head, state, **params).double().numpy()
