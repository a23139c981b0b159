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
from .adascale import (
    REGIONS,
    adaptive_percentile,
    adascale_a,
    adascale_l,
    ecdf,
    perturb_from_gradient,
    perturb_inputs,
    predicted_logit_gradient,
    shift_statistics,
    top_count,
)
from .distance import MahalanobisFit, fit_knn, fit_mahalanobis, knn, mahalanobis
from .himplos import (
    HIMPLOS_PERCENTILE,
    HIMPLOS_THRESHOLD,
    class_masks,
    himplos,
    himplos_logits,
    prototype_cosine,
    smooth_logits,
)
from .logits import energy, linear_head, max_logit, msp
from .nap import NAP_EPS, nap, nap_channel_ratio, nap_combine, nap_from_maps, nap_transformer, positive_base
from .odin import odin
from .prototypes import (
    class_means,
    cosine_matrix,
    fit_prototypes,
    fuse_layer_maxima,
    fuse_maxima,
    layer_maxima,
    layer_similarities,
    prototype_fusion,
)

__all__ = [
    "adaptive_percentile", "adascale_a", "adascale_l", "ecdf", "perturb_from_gradient", "perturb_inputs",
    "predicted_logit_gradient", "REGIONS", "shift_statistics",
    "top_count",
    "ash_b", "ash_p", "ash_s", "bfact", "class_masks", "class_means", "cosine_matrix", "dice", "energy", "fit_dice",
    "fit_knn", "fit_mahalanobis", "fit_prototypes", "fit_react", "fuse_layer_maxima", "fuse_maxima", "himplos",
    "himplos_logits",
    "HIMPLOS_PERCENTILE", "HIMPLOS_THRESHOLD", "kept_count", "knn", "layer_maxima", "layer_similarities",
    "linear_head", "lts", "mahalanobis", "MahalanobisFit", "max_logit", "msp", "nap", "nap_combine", "NAP_EPS",
    "nap_channel_ratio", "nap_from_maps", "nap_transformer", "odin", "percentile_threshold", "positive_base",
    "prototype_cosine",
    "prototype_fusion", "react", "scale", "scaling_factor", "shape_ash_b", "shape_ash_p", "shape_ash_s",
    "shape_bfact", "shape_scale", "smooth_logits", "top_k_mask",
]
