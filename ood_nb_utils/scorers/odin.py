"""ODIN: temperature scaling plus a small input perturbation (Liang et al., ICLR 2018)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def odin(net: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, *, std: tuple[float, float, float],
         temperature: float = 1000.0, epsilon: float = 0.0014,
         scoring_net: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Max softmax at temperature T of the input moved by ``epsilon`` against the loss gradient.

    ``images`` are normalised (N x 3 x H x W). The step is ``epsilon`` in [0, 1] pixel units, so
    it is divided by ``std``, the per-channel std of the network's input normalisation (the adapter's
    ``std``), to step in normalised space (as in ODIN's code). ``net`` maps
    images to logits: the network, or the network followed by a logit modification (e.g.
    ReAct or HIMPLoS on its penultimate feature, Table IV of HIMPLoS). Defaults
    T = 1000, epsilon = 0.0014: ODIN's values for DenseNet on CIFAR-10 (Sec. 4). ``scoring_net`` computes the
    same function as ``net`` for the perturbed images without a gradient (e.g. a faster backend; default ``net``).
    """
    if len(std) != 3 or any(v <= 0 for v in std):
        raise ValueError(f"std must be the 3 positive per-channel stds of the input normalisation, got {std}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be N x 3 x H x W (normalised), got shape {tuple(images.shape)}")
    if not torch.isfinite(images).all():
        raise ValueError("images contain NaN or infinite values")
    x = images.detach().clone().requires_grad_(True)
    logits = net(x)
    loss = F.cross_entropy(logits / temperature, logits.argmax(1), reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    step = torch.where(grad >= 0, 1.0, -1.0) / torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    with torch.no_grad():
        perturbed = (net if scoring_net is None else scoring_net)(
            (x - epsilon * step).contiguous(memory_format=torch.channels_last))
        return torch.softmax(perturbed / temperature, dim=1).amax(dim=1)
