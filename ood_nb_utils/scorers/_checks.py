"""Input validation shared by the scorer kernels: messages a reader can act on."""

from __future__ import annotations

import torch


def check_matrix(name: str, x: torch.Tensor, *, columns: int | None = None) -> torch.Tensor:
    """``x`` must be a finite floating N x D tensor (D = ``columns`` if given); returns it as float32+."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x dimensions), got shape {tuple(x.shape)}")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if columns is not None and x.shape[1] != columns:
        raise ValueError(f"{name} has {x.shape[1]} columns, expected {columns}")
    bad = ~torch.isfinite(x)
    if bad.any():
        raise ValueError(f"{name} contains {int(bad.sum())} NaN or infinite values")
    return x if x.dtype == torch.float64 else x.float()


def check_head(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Classifier head K x D (and bias K) matching features N x D."""
    check_matrix("weight", weight, columns=features.shape[1])
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise ValueError(f"bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")


def check_percentile(p: float) -> float:
    if not 0.0 <= float(p) < 100.0:
        raise ValueError(f"percentile must be in [0, 100), got {p}")
    return float(p)
