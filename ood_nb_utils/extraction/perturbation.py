"""Activations before and after AdaSCALE's input perturbation, computed once per image and cached.

Two cached steps per :class:`~ood_nb_utils.data.ImageSet`:

1. :func:`gradient_features`: one forward and one backward pass (eager PyTorch) give the gradient of the
   predicted class's logit w.r.t. the input (:func:`~ood_nb_utils.scorers.predicted_logit_gradient`) and,
   from the same forward, the clean penultimate activations and logits.
2. :func:`perturbed_features`: the perturbation of Eq. 4 (:func:`~ood_nb_utils.scorers.perturb_from_gradient`)
   and a forward pass of the perturbed images through the extraction backend
   (:func:`~ood_nb_utils.extraction.backends.backend_for`; OpenVINO by default, within 1e-4 of eager).

Every perturbation of the same images (Tables 9-10: region, o, eps) reuses step 1, so each costs one forward
pass. Every AdaSCALE statistic and sweep (k1, k2, lambda, p_min, p_max, n_val) then reads the cache.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import torch
from tqdm import tqdm

from .. import cache
from ..config import progress_wanted
from ..data import ImageSet, image_identity
from ..models import ModelAdapter
from ..scorers import perturb_from_gradient, predicted_logit_gradient, shift_statistics
from .backends import Backend, backend_for, key_parts
from .features import Features, batches
from .stored import cache_parts

PERTURBATION_VERSION = 1
GRADIENT_VERSION = 1
BATCH_SIZE = 32


def gradient_pass(adapter: ModelAdapter, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """One batch's ``gradient`` of the predicted logit w.r.t. the normalised input ``x``, with the clean
    ``penultimate`` and ``logits`` of that same forward pass (one forward, one backward; weights frozen)."""
    clean: dict[str, torch.Tensor] = {}

    def logits_keeping_taps(inputs: torch.Tensor) -> torch.Tensor:
        taps = adapter.forward_taps(inputs)
        clean["penultimate"] = taps["penultimate"].detach()
        return taps["logits"]

    with adapter.input_gradients_only():
        grad, clean["logits"] = predicted_logit_gradient(logits_keeping_taps, x)
    return {"gradient": grad, **clean}


def perturbed_penultimate(adapter: ModelAdapter, x: torch.Tensor, grad: torch.Tensor, *, fraction: float,
                          epsilon: float, region: str, generator: torch.Generator,
                          backend: Backend | None = None) -> torch.Tensor:
    """Penultimate activations of the images ``x`` perturbed along ``grad`` (Eq. 4), through ``backend``
    (default the adapter's extraction backend)."""
    x_eps = perturb_from_gradient(x, grad, fraction=fraction, epsilon=epsilon, region=region, generator=generator)
    backend = backend_for(adapter) if backend is None else backend
    return backend.run(x_eps.contiguous(memory_format=torch.channels_last))["penultimate"]


def compute_gradients(adapter: ModelAdapter, pixels: np.ndarray, *, progress: bool = True,
                      desc: str = "") -> dict[str, np.ndarray]:
    """``gradient`` (N x C x H x W), clean ``penultimate`` and ``logits`` of uint8 images, not cached."""
    out: dict[str, list[torch.Tensor]] = {"gradient": [], "penultimate": [], "logits": []}
    bar = tqdm(total=len(pixels), desc=f"input gradient {adapter.name} | {desc}", unit="img",
               disable=not progress_wanted(progress), mininterval=20)
    for x in batches(adapter, pixels, BATCH_SIZE):
        for k, v in gradient_pass(adapter, x).items():
            out[k].append(v.float().cpu().contiguous())
        bar.update(len(x))
    bar.close()
    return {k: torch.cat(v).numpy() for k, v in out.items()}


def gradient_features(adapter: ModelAdapter, images: ImageSet, *, progress: bool = True) -> Features:
    """Cached :func:`compute_gradients` of ``images``, keyed by (adapter fingerprint, image set with its
    transform); ``seconds_per_image`` holds the measured cost of the forward and backward pass."""
    parts = cache_parts(adapter, image_identity(images), version=GRADIENT_VERSION, **adapter.cache_key_parts)

    def compute() -> dict[str, np.ndarray]:
        start = time.perf_counter()
        arrays = compute_gradients(adapter, images.images, progress=progress, desc=images.name)
        arrays["labels"], arrays["indices"] = images.labels, images.indices
        arrays["seconds_per_image"] = np.array([(time.perf_counter() - start) / max(1, len(images))])
        return arrays

    return Features(adapter.name, images.name, cache.load_or_compute("gradient", parts, compute))


def perturb_cached(adapter: ModelAdapter, pixels: np.ndarray, gradients: Mapping[str, np.ndarray], *,
                   fraction: float = 0.05,
                   epsilon: float = 0.5, region: str = "trivial", seed: int = 0, progress: bool = True,
                   desc: str = "") -> dict[str, np.ndarray]:
    """``penultimate``, ``perturbed`` and ``logits`` of uint8 images whose :func:`compute_gradients` arrays are
    ``gradients``: one forward pass of the perturbed images per batch (``random`` draws from a generator seeded
    with ``seed``, batch after batch)."""
    gen, backend = torch.Generator().manual_seed(seed), backend_for(adapter)
    grads, perturbed = torch.from_numpy(gradients["gradient"]), []
    bar = tqdm(total=len(pixels), desc=f"perturb {adapter.name} | {desc} [{backend.name}]", unit="img",
               disable=not progress_wanted(progress), mininterval=20)
    for start, x in zip(range(0, len(pixels), BATCH_SIZE), batches(adapter, pixels, BATCH_SIZE), strict=True):
        grad = grads[start:start + len(x)].to(x.device).contiguous(memory_format=torch.channels_last)
        perturbed.append(perturbed_penultimate(adapter, x, grad, fraction=fraction, epsilon=epsilon,
                                               region=region, generator=gen, backend=backend).float())
        bar.update(len(x))
    bar.close()
    return {"penultimate": gradients["penultimate"], "perturbed": torch.cat(perturbed).numpy(),
            "logits": gradients["logits"]}


def compute_perturbed(adapter: ModelAdapter, pixels: np.ndarray, *, fraction: float = 0.05, epsilon: float = 0.5,
                      region: str = "trivial", seed: int = 0, progress: bool = True,
                      desc: str = "") -> dict[str, np.ndarray]:
    """``penultimate``, ``perturbed`` and ``logits`` of uint8 images, not cached (costs times this)."""
    gradients = compute_gradients(adapter, pixels, progress=progress, desc=desc)
    return perturb_cached(adapter, pixels, gradients, fraction=fraction, epsilon=epsilon, region=region,
                          seed=seed, progress=progress, desc=desc)


def perturbed_features(adapter: ModelAdapter, images: ImageSet, *, fraction: float = 0.05, epsilon: float = 0.5,
                       region: str = "trivial", seed: int = 0, progress: bool = True) -> Features:
    """``penultimate``, ``perturbed`` (N x D) and ``logits`` of ``images`` under the AdaSCALE perturbation.

    Cached by (adapter fingerprint, image set with its transform, fraction, epsilon, region, seed, and the
    backend unless eager: :func:`~ood_nb_utils.extraction.backends.key_parts`); the gradient comes from
    :func:`gradient_features`, cached once for every perturbation of the same images.
    ``seconds_per_image`` holds the measured cost of gradient + perturbed forward pass.
    """
    params = {"fraction": fraction, "epsilon": epsilon, "region": region, "seed": seed}
    parts = cache_parts(adapter, image_identity(images), params=params, version=PERTURBATION_VERSION,
                        **key_parts(adapter, backend_for(adapter)))

    def compute() -> dict[str, np.ndarray]:
        gradients = gradient_features(adapter, images, progress=progress)
        start = time.perf_counter()
        arrays = perturb_cached(adapter, images.images, gradients.arrays, progress=progress, desc=images.name,
                                **params)
        arrays["labels"], arrays["indices"] = images.labels, images.indices
        forward = (time.perf_counter() - start) / max(1, len(images))
        arrays["seconds_per_image"] = gradients.arrays["seconds_per_image"] + forward
        return arrays

    return Features(adapter.name, images.name, cache.load_or_compute("perturbed", parts, compute))


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
