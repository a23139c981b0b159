"""Scorer kernels: pure functions on tensors, higher score = more in-distribution."""

from .activation_shaping import (
    ash_b,
    ash_p,
    ash_s,
    bfact,
    dice,
    fit_dice,
    fit_react,
    kept_count,
    lts,
    percentile_threshold,
    react,
    scale,
    scaling_factor,
    shape_ash_b,
    shape_ash_p,
    shape_ash_s,
    shape_bfact,
    shape_scale,
    top_k_mask,
)
from .distance import MahalanobisFit, fit_knn, fit_mahalanobis, knn, mahalanobis
from .logits import energy, linear_head, max_logit, msp
from .nap import NAP_EPS, nap, nap_combine, nap_from_maps, nap_transformer, positive_base
from .odin import odin

__all__ = [
    "ash_b", "ash_p", "ash_s", "bfact", "dice", "energy", "fit_dice", "fit_knn", "fit_mahalanobis", "fit_react",
    "kept_count", "knn", "linear_head", "lts", "mahalanobis", "MahalanobisFit", "max_logit", "msp", "NAP_EPS",
    "nap", "nap_combine", "nap_from_maps", "nap_transformer", "odin", "positive_base", "percentile_threshold",
    "react", "scale", "scaling_factor", "shape_ash_b", "shape_ash_p", "shape_ash_s", "shape_bfact", "shape_scale",
    "top_k_mask",
]
