"""Scores that reshape the penultimate activation (or the head) before the energy score.

All act on the pooled penultimate feature ``features`` (N x D, post-ReLU, so non-negative)
and the classifier head ``weight`` (K x D), ``bias`` (K). Statistics learned from ID data are
computed by the ``fit_*`` functions, so what each method takes from ID data is explicit.

The percentile convention of ASH/SCALE/LTS: at percentile ``p`` each sample keeps its
``k = D - round(D * p / 100)`` largest activations (ASH's code), e.g. p = 90 keeps the top 10%.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ._checks import check_head, check_matrix, check_percentile
from .logits import energy, linear_head


def _energy_of_shaped(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                      shape: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Energy of the logits of a shaped feature: the common last step of every scorer here."""
    features = check_matrix("features", features)
    check_head(features, weight, bias)
    return energy(linear_head(shape(features), weight, bias))


def percentile_threshold(features: torch.Tensor, percentile: float = 90.0) -> float:
    """The ``percentile``-th percentile of all entries of ID features (ReAct's threshold c)."""
    features = check_matrix("features", features)
    return float(np.quantile(features.detach().cpu().numpy().ravel(), check_percentile(percentile) / 100.0))


def fit_react(train_features: torch.Tensor, *, percentile: float = 90.0) -> float:
    """ReAct's clipping threshold: the 90th percentile of ID activations (Sun et al., NeurIPS 2021, Sec. 3)."""
    return percentile_threshold(train_features, percentile)


def react(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
          threshold: float) -> torch.Tensor:
    """Energy of ``W min(h, c) + b`` (ReAct, Eq. 2-3). ``threshold=inf`` is plain Energy."""
    return _energy_of_shaped(features, weight, bias, lambda h: h.clamp(max=threshold))


def bfact(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
          threshold: float, order: int = 2) -> torch.Tensor:
    """Energy after a Butterworth-shaped rectifier ``h / sqrt(1 + (h / c)^(2n))`` (BFAct, Kong & Li 2022).

    The gain is the magnitude response of an order-n Butterworth low-pass filter with cut-off c:
    activations well below c pass unchanged, c itself is damped by 1/sqrt(2), and larger ones are
    damped more (for n = 1 the output saturates at c, a smooth ReAct). ``threshold`` c is fitted
    like ReAct's (:func:`fit_react`). We could not check BFAct's code here, so ``order`` n = 2 is
    our default, exposed for sweeps; ``threshold=inf`` gives plain Energy.
    """
    return _energy_of_shaped(features, weight, bias, lambda h: shape_bfact(h, threshold, order))


def fit_dice(train_features: torch.Tensor, weight: torch.Tensor, *, sparsity: float = 90.0) -> torch.Tensor:
    """DICE's sparsified head: keep the top (100 - p)% of the contributions ``W * mean(h)``.

    (Sun & Li, ECCV 2022, Sec. 3, p = 90 for CIFAR.) Returns the masked weight matrix K x D.
    """
    train_features = check_matrix("train_features", train_features)
    check_head(train_features, weight, None)
    contribution = weight * train_features.mean(dim=0, keepdim=True).to(weight.dtype)
    threshold = percentile_threshold(contribution, sparsity)
    return weight * (contribution > threshold).to(weight.dtype)


def dice(features: torch.Tensor, masked_weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Energy of the logits from DICE's sparsified head (:func:`fit_dice`)."""
    return _energy_of_shaped(features, masked_weight, bias, lambda h: h)


def kept_count(dim: int, percentile: float | torch.Tensor) -> torch.Tensor:
    """How many activations a sample keeps at a percentile: ``D - round(D * p / 100)`` (at least 1)."""
    p = torch.as_tensor(percentile, dtype=torch.float64)
    if (p < 0).any() or (p >= 100).any():
        raise ValueError(f"percentile must be in [0, 100), got {percentile}")
    return (dim - torch.round(dim * p / 100.0)).long().clamp(min=1)


def top_k_mask(features: torch.Tensor, percentile: float | torch.Tensor) -> torch.Tensor:
    """Boolean mask of each row's ``k`` largest entries; ``percentile`` scalar or one per row."""
    n, d = features.shape
    k = kept_count(d, percentile).expand(n) if torch.as_tensor(percentile).ndim == 0 else kept_count(d, percentile)
    if k.shape != (n,):
        raise ValueError(f"need one percentile per sample ({n}), got shape {tuple(k.shape)}")
    order = features.argsort(dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(d).expand(n, d))
    return ranks < k.unsqueeze(1)


def scaling_factor(features: torch.Tensor, percentile: float | torch.Tensor) -> torch.Tensor:
    """``r = sum(h) / sum(top-k of h)`` per sample (SCALE/ASH-S/LTS; AdaSCALE with per-sample p).

    r = 1 when every activation is kept (p = 0) and never decreases as p rises.
    """
    features = check_matrix("features", features)
    kept = torch.where(top_k_mask(features, percentile), features, torch.zeros_like(features)).sum(dim=1)
    total = features.sum(dim=1)
    return total / kept.clamp(min=torch.finfo(features.dtype).tiny)


def ash_p(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
          percentile: float = 90.0) -> torch.Tensor:
    """ASH-P: zero all but the top-k activations (Djurisic et al., ICLR 2023, Sec. 3), then energy."""
    return _energy_of_shaped(features, weight, bias, lambda h: shape_ash_p(h, percentile))


def ash_b(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
          percentile: float = 90.0) -> torch.Tensor:
    """ASH-B: the top-k activations are all set to ``sum(h) / k``, the rest to 0, then energy."""
    return _energy_of_shaped(features, weight, bias, lambda h: shape_ash_b(h, percentile))


def ash_s(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
          percentile: float = 90.0) -> torch.Tensor:
    """ASH-S: prune to the top-k, then scale the kept ones by ``exp(sum(h) / sum(top-k))``, then energy."""
    return _energy_of_shaped(features, weight, bias, lambda h: shape_ash_s(h, percentile))


def scale(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
          percentile: float = 85.0) -> torch.Tensor:
    """SCALE: ``h * exp(r)`` without pruning (Xu et al., ICLR 2024; p = 85 their ImageNet default)."""
    return _energy_of_shaped(features, weight, bias, lambda h: shape_scale(h, percentile))


def lts(features: torch.Tensor, logits: torch.Tensor, *, percentile: float = 85.0) -> torch.Tensor:
    """LTS: energy of ``logits * r^2`` with r from the post-ReLU feature (Djurisic et al., 2024).

    The AdaSCALE paper (Sec. 4.2) describes LTS this way; p = 85 is our default, tuned in the
    AdaSCALE chapter.
    """
    logits = check_matrix("logits", logits)
    r = scaling_factor(features, percentile)
    if r.shape[0] != logits.shape[0]:
        raise ValueError(f"features ({r.shape[0]}) and logits ({logits.shape[0]}) differ in samples")
    return energy(logits * (r**2).unsqueeze(1))


# --- the shaped features themselves (the scorers above take their energy; chapters classify with them) ---


def shape_ash_p(features: torch.Tensor, percentile: float = 90.0) -> torch.Tensor:
    """ASH-P: keep each row's top-k activations, zero the rest."""
    return features * top_k_mask(features, percentile)


def shape_ash_b(features: torch.Tensor, percentile: float = 90.0) -> torch.Tensor:
    """ASH-B: the top-k activations all become ``sum(h) / k``; the rest 0."""
    mask = top_k_mask(features, percentile)
    return mask * (features.sum(dim=1, keepdim=True) / mask.sum(dim=1, keepdim=True))


def shape_ash_s(features: torch.Tensor, percentile: float = 90.0) -> torch.Tensor:
    """ASH-S: prune to the top-k and scale the kept ones by ``exp(sum(h) / sum(top-k))``."""
    return features * top_k_mask(features, percentile) * torch.exp(scaling_factor(features, percentile)).unsqueeze(1)


def shape_scale(features: torch.Tensor, percentile: float = 85.0) -> torch.Tensor:
    """SCALE: ``h * exp(r)``, nothing pruned."""
    return features * torch.exp(scaling_factor(features, percentile)).unsqueeze(1)


def shape_bfact(features: torch.Tensor, threshold: float, order: int = 2) -> torch.Tensor:
    """BFAct's Butterworth-shaped rectifier ``h / sqrt(1 + (h / c)^(2n))``."""
    if threshold <= 0:
        raise ValueError(f"BFAct threshold must be positive, got {threshold}")
    if order < 1:
        raise ValueError(f"BFAct order must be >= 1, got {order}")
    ratio = (features / threshold).double()
    return (features.double() / torch.sqrt(1.0 + ratio ** (2 * order))).to(features.dtype)
