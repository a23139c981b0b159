"""NAP: the neural activation prior (max/mean ratio per channel before global pooling).

Eq. 3 of the NAP paper: for an activation map A (C x H x W, after ReLU) before global pooling,

    S_NAP(x) = (1 / C) * sum_j ( Max(A_j) / (Mean(A_j) + eps) )^2,      eps = 1.0 (Sec. 5)

and Eq. 4 combines it with another score by a weighted geometric mean,

    S_NAP-X(x) = base(x)^w * S_NAP(x)^(1 - w).

The cache stores per-channel maxima and means of every tapped map, so :func:`nap` works from
those; :func:`nap_from_maps` takes full maps. For Transformers (Sec. 4.2) the score is the
maximum of the cls token's attention, :func:`nap_transformer`.

Positive bases. Eq. 4 needs ``base > 0``; the paper is silent on bases that can be zero or
negative (negative energy; KNN's negative distance). :func:`positive_base` maps a base score to a
positive one with ``softplus(b) = log(1 + exp(b))``: it is strictly increasing (rankings are
kept), positive for every finite ``b``, and equal to ``b`` up to ``exp(-b)`` for large ``b`` (for
this DenseNet's energies, >= 5, the difference is below 0.007, so Eq. 4 is unchanged where the
paper's formula is defined). Probabilities (MSP) are already in (0, 1] and pass unchanged.
:func:`nap_combine` returns ``log S_NAP-X = w log base+ + (1 - w) log S_NAP``, a monotone function
of Eq. 4 (same AUROC and FPR) that stays finite where the product would under- or overflow.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from ._checks import check_matrix

NAP_EPS = 1.0  # NAP Sec. 5: "the value of eps in our scoring functions is consistently set to 1.0"


def nap(channel_max: torch.Tensor, channel_mean: torch.Tensor, *, eps: float = NAP_EPS,
        post_relu: bool = True) -> torch.Tensor:
    """S_NAP from per-channel spatial maxima and means (each N x C), Eq. 3.

    NAP is defined on the post-ReLU map before global pooling, so means must be >= 0. The layer
    study of Table 4 also applies the formula to maps that are not rectified (the output of the
    first convolution, transitions before pooling): pass ``post_relu=False`` there, and note that
    ``mean + eps`` can then approach zero.
    """
    channel_max = check_matrix("channel_max", channel_max)
    channel_mean = check_matrix("channel_mean", channel_mean, columns=channel_max.shape[1])
    if channel_max.shape != channel_mean.shape:
        raise ValueError(f"channel_max {tuple(channel_max.shape)} and channel_mean {tuple(channel_mean.shape)} differ")
    if eps <= 0:
        raise ValueError(f"eps must be > 0 (NAP uses 1.0), got {eps}")
    if (channel_max < channel_mean - 1e-4 * (1 + channel_mean.abs())).any():
        raise ValueError("each channel's max must be >= its mean: are max and mean swapped?")
    if post_relu and (channel_mean < 0).any():
        raise ValueError("NAP expects post-ReLU maps (means >= 0); pass post_relu=False for an unrectified map")
    return (nap_channel_ratio(channel_max, channel_mean, eps=eps) ** 2).mean(dim=1)


def nap_channel_ratio(channel_max, channel_mean, *, eps: float = NAP_EPS):
    """The per-channel signal-to-noise ratio inside Eq. 3, ``Max(A_j) / (Mean(A_j) + eps)`` (N x C).

    Works on tensors and numpy arrays alike (the chapters' per-channel figures use arrays).
    """
    if eps <= 0:
        raise ValueError(f"eps must be > 0 (NAP uses 1.0), got {eps}")
    return channel_max / (channel_mean + eps)


def nap_from_maps(maps: torch.Tensor, *, eps: float = NAP_EPS) -> torch.Tensor:
    """S_NAP from full activation maps N x C x H x W (Eq. 1-3)."""
    if maps.ndim != 4:
        raise ValueError(f"maps must be N x C x H x W, got shape {tuple(maps.shape)}")
    return nap(maps.amax(dim=(2, 3)), maps.mean(dim=(2, 3)), eps=eps)


def nap_transformer(cls_attention: torch.Tensor) -> torch.Tensor:
    """S_NAP for Transformers: the maximum of the cls token's attention over the l + 1 tokens (Sec. 4.2).

    The mean of an attention row is always 1 / (l + 1), so the max/mean ratio reduces to the max.
    """
    cls_attention = check_matrix("cls_attention", cls_attention)
    if (cls_attention < 0).any():
        raise ValueError("attention weights must be non-negative (a softmax row)")
    return cls_attention.amax(dim=1)


BaseTransform = Literal["softplus", "identity"]


def positive_base(base: torch.Tensor, *, transform: BaseTransform = "softplus") -> torch.Tensor:
    """A strictly positive, order-preserving version of a base score for Eq. 4 (see module docstring)."""
    if not isinstance(base, torch.Tensor) or base.ndim != 1:
        raise ValueError("base must be a 1-D tensor of scores")
    if not torch.isfinite(base).all():
        raise ValueError("base scores contain NaN or infinite values")
    if transform == "softplus":
        return F.softplus(base.double())
    if transform == "identity":
        if (base <= 0).any():
            raise ValueError("identity transform needs base > 0 (e.g. MSP); use transform='softplus'")
        return base.double()
    raise ValueError(f"transform must be 'softplus' or 'identity', got {transform!r}")


def nap_combine(base: torch.Tensor, nap_score: torch.Tensor, *, w: float,
                transform: BaseTransform = "softplus") -> torch.Tensor:
    """``log( base+^w * S_NAP^(1-w) )`` (Eq. 4 in log form); w = 1 gives the base, w = 0 NAP alone."""
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"w must be in [0, 1], got {w}")
    if nap_score.shape != base.shape:
        raise ValueError(f"base {tuple(base.shape)} and nap_score {tuple(nap_score.shape)} differ in shape")
    if not torch.isfinite(nap_score).all() or (nap_score < 0).any():
        raise ValueError("nap_score must be finite and >= 0")
    tiny = torch.finfo(torch.float64).tiny  # keeps the log finite for an all-zero map or a base << 0
    log_nap = torch.log(nap_score.double().clamp(min=tiny))
    log_base = torch.log(positive_base(base, transform=transform).clamp(min=tiny))
    return w * log_base + (1.0 - w) * log_nap
