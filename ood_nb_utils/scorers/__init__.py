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
                                 top_k_mask,
)
from .distance import MahalanobisFit, fit_knn, fit_mahalanobis, knn, mahalanobis
from .logits import energy, linear_head, max_logit, msp
from .odin import odin

__all__ = [
    "ash_b", "ash_p", "ash_s", "bfact", "dice", "energy", "fit_dice", "fit_knn", "fit_mahalanobis",
    "fit_react", "kept_count", "knn", "linear_head", "lts", "mahalanobis", "MahalanobisFit", "max_logit",
    "msp", "odin", "percentile_threshold", "react", "scale", "scaling_factor", "top_k_mask",
]
