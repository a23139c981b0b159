"""Scores computed from the logits alone: MSP, MaxLogit, Energy."""

from __future__ import annotations

import torch

from ._checks import check_matrix


def msp(logits: torch.Tensor, *, temperature: float = 1.0) -> torch.Tensor:
    """Maximum softmax probability (Hendrycks & Gimpel, ICLR 2017); T = 1 by default."""
    logits = check_matrix("logits", logits)
    return torch.softmax(logits / temperature, dim=1).amax(dim=1)


def max_logit(logits: torch.Tensor) -> torch.Tensor:
    """Maximum logit, MLS (Hendrycks et al., ICML 2022)."""
    return check_matrix("logits", logits).amax(dim=1)


def energy(logits: torch.Tensor, *, temperature: float = 1.0) -> torch.Tensor:
    """Negative free energy ``T * logsumexp(f / T)`` (Liu et al., NeurIPS 2020, Eq. 5; T = 1)."""
    logits = check_matrix("logits", logits)
    return temperature * torch.logsumexp(logits / temperature, dim=1)


def linear_head(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Logits of a (possibly modified) penultimate feature through the classifier head."""
    out = features @ weight.T.to(features.dtype)
    return out if bias is None else out + bias.to(features.dtype)
