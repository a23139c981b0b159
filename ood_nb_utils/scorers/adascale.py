"""AdaSCALE: adaptive-percentile scaling driven by activation shift (Regmi, 2025, Sec. 4, Algorithm 1).

1. Perturb the input (Eq. 3-4): the gradient of the predicted class's logit w.r.t. the
   normalised input ranks the C x H x W input elements; the ``fraction`` with the smallest
   |gradient| ("trivial" region) move by ``epsilon * sign(gradient)``. Table 9's other regions:
   ``significant`` (largest |gradient|), ``random`` (a seeded random subset) and ``all``.
2. Q = sum of |a_eps - a| over the top-k1 activations of the unperturbed ``a`` (Eq. 6);
   C_o = sum of ReLU(a_eps) over the top-k2 (Eq. 7); Q' = lambda Q + C_o (Eq. 8).
3. p = p_min + (1 - F(Q')) (p_max - p_min), F the eCDF of Q' on ID validation samples (Eq. 9, 11).
4. r = sum(a) / sum(a above the p-th percentile) with that per-sample p; AdaSCALE-A scores the
   energy of ``W (a * exp(r)) + b`` (SCALE's shaping), AdaSCALE-L the energy of ``logits * r^2``
   (LTS's).

Defaults (Sec. 5 and App. hyperparameters): o = 5%, eps = 0.5, k1 = 1%, k2 = 5% of D, lambda = 10.
The released code swaps k1 and k2 between fitting and testing in its latest commits; these
kernels follow the paper's equations (``k1_percent`` for Q, ``k2_percent`` for C_o everywhere).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._checks import check_matrix
from .activation_shaping import lts, scale

REGIONS = ("trivial", "significant", "random", "all")


def _check_perturbation(fraction: float, region: str) -> None:
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")


def predicted_logit_gradient(logits_of: Callable[[torch.Tensor], torch.Tensor],
                             images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradient of each image's predicted-class logit w.r.t. the normalised input (Eq. 3), and the logits.

    ``images`` are normalised, N x C x H x W; ``logits_of`` maps them to N x K logits (one forward and one
    backward pass). The gradient ranks the input elements that :func:`perturb_from_gradient` moves.
    """
    if images.ndim != 4:
        raise ValueError(f"images must be N x C x H x W (normalised), got shape {tuple(images.shape)}")
    if not torch.isfinite(images).all():
        raise ValueError("images contain NaN or infinite values")
    x = images.detach().clone().requires_grad_(True)
    logits = logits_of(x)
    picked = logits.gather(1, logits.argmax(1, keepdim=True)).sum()
    (grad,) = torch.autograd.grad(picked, x)
    return grad, logits.detach()


def perturb_from_gradient(images: torch.Tensor, grad: torch.Tensor, *, fraction: float = 0.05,
                          epsilon: float = 0.5, region: str = "trivial",
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """x_eps of Eq. 4 from the images and their :func:`predicted_logit_gradient`: ``fraction`` of the C*H*W
    elements of each image move by ``epsilon * sign(grad)``; which elements depends on ``region``
    (``random`` draws from ``generator``). No network is needed, so several perturbations share one gradient."""
    _check_perturbation(fraction, region)
    if grad.shape != images.shape:
        raise ValueError(f"grad {tuple(grad.shape)} and images {tuple(images.shape)} differ in shape")
    flat = grad.flatten(1)
    n, d = flat.shape
    k = max(1, round(fraction * d))
    if region == "all" or k >= d:
        chosen = torch.ones_like(flat, dtype=torch.bool)
    else:
        if region == "random":
            rank = torch.rand(n, d, generator=generator).to(flat.device)  # drawn on the CPU: the same on any device
        else:
            rank = flat.abs() if region == "significant" else -flat.abs()
        idx = rank.topk(k, dim=1).indices
        chosen = torch.zeros_like(flat, dtype=torch.bool).scatter_(1, idx, True)
    step = epsilon * torch.sign(flat) * chosen
    return (images.detach().flatten(1) + step).view_as(images)


def perturb_inputs(logits_of: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, *,
                   fraction: float = 0.05, epsilon: float = 0.5, region: str = "trivial",
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """The perturbed images x_eps of Eq. 4 (``images`` normalised, N x C x H x W).

    ``fraction`` of the C*H*W elements of each image are moved by ``epsilon * sign(grad)``, where
    ``grad`` is the gradient of the predicted class's logit; which elements depends on ``region``.
    :func:`predicted_logit_gradient` followed by :func:`perturb_from_gradient`.
    """
    _check_perturbation(fraction, region)  # before the network runs
    grad, _ = predicted_logit_gradient(logits_of, images)
    return perturb_from_gradient(images, grad, fraction=fraction, epsilon=epsilon, region=region,
                                 generator=generator)


def top_count(dim: int, percent: float) -> int:
    """How many of ``dim`` activations ``percent`` percent is (at least one): k1, k2 of Eq. 6-7."""
    if not 0.0 < percent <= 100.0:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    return max(1, round(dim * percent / 100.0))


def shift_statistics(activations: torch.Tensor, perturbed: torch.Tensor, *, k1_percent: float = 1.0,
                     k2_percent: float = 5.0, lam: float = 10.0) -> dict[str, torch.Tensor]:
    """Q (Eq. 6), C_o (Eq. 7) and Q' = lam * Q + C_o (Eq. 8) per sample, from ``a`` and ``a_eps`` (N x D)."""
    a = check_matrix("activations", activations)
    a_eps = check_matrix("perturbed", perturbed, columns=a.shape[1])
    if a_eps.shape != a.shape:
        raise ValueError(f"activations {tuple(a.shape)} and perturbed {tuple(a_eps.shape)} differ in shape")
    order = a.argsort(dim=1, descending=True)
    i1 = order[:, :top_count(a.shape[1], k1_percent)]
    i2 = order[:, :top_count(a.shape[1], k2_percent)]
    q = (a_eps - a).abs().gather(1, i1).sum(1)
    c_o = a_eps.clamp(min=0).gather(1, i2).sum(1)
    return {"Q": q, "C_o": c_o, "Q_prime": lam * q + c_o}


def ecdf(values: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """F(v) = fraction of ``reference`` values <= v (the eCDF of Eq. 9), for each of ``values``."""
    ref = torch.as_tensor(reference).double().flatten()
    if ref.numel() == 0 or not torch.isfinite(ref).all():
        raise ValueError("the eCDF needs at least one finite reference value")
    ref = ref.sort().values
    return torch.searchsorted(ref, torch.as_tensor(values).double(), right=True).double() / ref.numel()


def adaptive_percentile(q_prime: torch.Tensor, reference_q_prime: torch.Tensor, *, p_min: float,
                        p_max: float) -> torch.Tensor:
    """p = p_min + (1 - F(Q')) (p_max - p_min) (Eq. 11): likely-ID samples (small Q') get high p."""
    if not 0.0 <= p_min <= p_max < 100.0:
        raise ValueError(f"need 0 <= p_min <= p_max < 100, got p_min={p_min}, p_max={p_max}")
    return p_min + (1.0 - ecdf(q_prime, reference_q_prime)) * (p_max - p_min)


def adascale_a(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
               percentile: torch.Tensor) -> torch.Tensor:
    """AdaSCALE-A: energy of ``W (a * exp(r)) + b`` with a per-sample percentile (SCALE's shaping)."""
    return scale(features, weight, bias, percentile=percentile)


def adascale_l(features: torch.Tensor, logits: torch.Tensor, percentile: torch.Tensor) -> torch.Tensor:
    """AdaSCALE-L: energy of ``logits * r^2`` with a per-sample percentile (LTS's shaping)."""
    return lts(features, logits, percentile=percentile)
