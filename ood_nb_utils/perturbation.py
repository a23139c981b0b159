"""Activations before and after AdaSCALE's input perturbation, computed once per image and cached.

:func:`perturbed_features` runs, for every image of an :class:`~ood_nb_utils.data.ImageSet`, the
gradient of the predicted class's logit, the perturbation of Eq. 4
(:func:`~ood_nb_utils.scorers.perturb_inputs`) and a second forward pass, and caches the
unperturbed and perturbed penultimate activations with the logits. Every AdaSCALE statistic and
sweep (k1, k2, lambda, p_min, p_max, n_val) then reads the cache; only the perturbation itself
(region, o, eps) needs the network again.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from tqdm import tqdm

from . import cache
from .data import ImageSet
from .features import Features, batches, cache_parts, image_identity
from .models import ModelAdapter
from .scorers import perturb_inputs, shift_statistics

PERTURBATION_VERSION = 1
BATCH_SIZE = 32


def perturbed_pass(adapter: ModelAdapter, x: torch.Tensor, *, fraction: float, epsilon: float, region: str,
                   generator: torch.Generator) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """One batch of AdaSCALE's extra work: the gradient and perturbation of Eq. 4
    (:func:`~ood_nb_utils.scorers.perturb_inputs`), then the perturbed images' taps. The clean ``penultimate``
    and ``logits`` are those of the gradient's own forward pass (the same inputs and weights), so each batch
    costs one forward, one backward and one forward of the perturbed images."""
    clean: dict[str, torch.Tensor] = {}

    def logits_keeping_taps(inputs: torch.Tensor) -> torch.Tensor:
        taps = adapter.forward_taps(inputs)
        clean.update({k: taps[k].detach() for k in ("penultimate", "logits")})
        return taps["logits"]

    with adapter.input_gradients_only():
        x_eps = perturb_inputs(logits_keeping_taps, x, fraction=fraction, epsilon=epsilon, region=region,
                               generator=generator)
    with torch.inference_mode():
        return clean, adapter.forward_taps(x_eps.contiguous(memory_format=torch.channels_last))


def compute_perturbed(adapter: ModelAdapter, pixels: np.ndarray, *, fraction: float = 0.05, epsilon: float = 0.5,
                      region: str = "trivial", seed: int = 0, progress: bool = True,
                      desc: str = "") -> dict[str, np.ndarray]:
    """``penultimate``, ``perturbed`` and ``logits`` of uint8 images, not cached (costs times this)."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, list[torch.Tensor]] = {"penultimate": [], "perturbed": [], "logits": []}
    bar = tqdm(total=len(pixels), desc=f"perturb {adapter.name} | {desc}", unit="img", disable=not progress,
               mininterval=20)
    for x in batches(adapter, pixels, BATCH_SIZE):
        clean, pert = perturbed_pass(adapter, x, fraction=fraction, epsilon=epsilon, region=region, generator=gen)
        out["penultimate"].append(clean["penultimate"].float())
        out["logits"].append(clean["logits"].float())
        out["perturbed"].append(pert["penultimate"].float())
        bar.update(len(x))
    bar.close()
    return {k: torch.cat(v).numpy() for k, v in out.items()}


def perturbed_features(adapter: ModelAdapter, images: ImageSet, *, fraction: float = 0.05, epsilon: float = 0.5,
                       region: str = "trivial", seed: int = 0, progress: bool = True) -> Features:
    """``penultimate``, ``perturbed`` (N x D) and ``logits`` of ``images`` under the AdaSCALE perturbation.

    Cached by (adapter fingerprint, image set with its transform, fraction, epsilon, region, seed).
    ``seconds_per_image`` holds the measured cost of gradient + perturbed forward pass when it was computed.
    """
    params = {"fraction": fraction, "epsilon": epsilon, "region": region, "seed": seed}
    parts = cache_parts(adapter, image_identity(images), params=params, version=PERTURBATION_VERSION)

    def compute() -> dict[str, np.ndarray]:
        start = time.perf_counter()
        arrays = compute_perturbed(adapter, images.images, progress=progress, desc=images.name, **params)
        arrays["labels"], arrays["indices"] = images.labels, images.indices
        arrays["seconds_per_image"] = np.array([(time.perf_counter() - start) / max(1, len(images))])
        return arrays

    return Features(adapter.name, images.name, cache.load_or_compute("perturbed", parts, compute))


# Tables 12-13, DenseNet-101 rows: (p_min, p_max, k2 in % of D); lambda = 10, k1 = 1%, o = 5%, eps = 0.5
PAPER_HYPERPARAMETERS: dict[tuple[str, str], tuple[float, float, float]] = {
    ("a", "cifar10"): (65.0, 90.0, 10.0), ("a", "cifar100"): (70.0, 80.0, 100.0),
    ("l", "cifar10"): (70.0, 85.0, 10.0), ("l", "cifar100"): (65.0, 75.0, 50.0),
}


def cached_shift_statistics(arrays: Features, *, k1: float = 1.0, k2: float = 5.0,
                            lam: float = 10.0) -> dict[str, torch.Tensor]:
    """Q, C_o and Q' (:func:`~ood_nb_utils.scorers.shift_statistics`) of :func:`perturbed_features` output."""
    return shift_statistics(arrays["penultimate"], arrays["perturbed"], k1_percent=k1, k2_percent=k2, lam=lam)


def by_rank(arrays: Features, what: str = "shift") -> np.ndarray:
    """Per image, ``|a_eps - a|`` (``what="shift"``) or ``a_eps`` (``"perturbed"``) ordered by the unperturbed
    activation, largest first (N x D): the curves of AdaSCALE's Figs. 3 and 5 are its column means."""
    a, a_eps = arrays.arrays["penultimate"], arrays.arrays["perturbed"]
    values = np.abs(a_eps - a) if what == "shift" else a_eps
    return np.take_along_axis(values, np.argsort(-a, axis=1), axis=1)
