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
from .data import ImageSet, normalize
from .features import cache_parts
from .models import load_model
from .scorers import perturb_inputs, shift_statistics

PERTURBATION_VERSION = 1
BATCH_SIZE = 32


def perturbed_pass(net: torch.nn.Module, x: torch.Tensor, *, fraction: float, epsilon: float, region: str,
                   generator: torch.Generator) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """One batch of AdaSCALE's extra work: the gradient and perturbation of Eq. 4
    (:func:`~ood_nb_utils.scorers.perturb_inputs`), then the taps of the clean and the perturbed images."""
    x_eps = perturb_inputs(net, x, fraction=fraction, epsilon=epsilon, region=region, generator=generator)
    with torch.inference_mode():
        return net.forward_taps(x), net.forward_taps(x_eps.contiguous(memory_format=torch.channels_last))


def perturbed_features(model_name: str, images: ImageSet, *, fraction: float = 0.05, epsilon: float = 0.5,
                       region: str = "trivial", seed: int = 0, progress: bool = True,
                       transform: dict | None = None) -> dict[str, np.ndarray]:
    """``penultimate``, ``perturbed`` (N x D) and ``logits`` of ``images`` under the AdaSCALE perturbation.

    Cached by (model, image subset, fraction, epsilon, region, seed, and ``transform``, which names how
    the pixels were altered, e.g. a corruption recipe). ``seconds_per_image`` holds the measured cost of
    gradient + perturbed forward pass when it was computed.
    """
    model = load_model(model_name)
    params = {"fraction": fraction, "epsilon": epsilon, "region": region, "seed": seed}
    parts = cache_parts(model, images, params=params, version=PERTURBATION_VERSION)
    if transform is not None:
        parts["transform"] = transform

    def compute() -> dict[str, np.ndarray]:
        gen = torch.Generator().manual_seed(seed)
        out: dict[str, list[torch.Tensor]] = {"penultimate": [], "perturbed": [], "logits": []}
        bar = tqdm(total=len(images), desc=f"perturb {model_name} | {images.key}", unit="img",
                   disable=not progress, mininterval=20)
        start = time.perf_counter()
        for i in range(0, len(images), BATCH_SIZE):
            x = normalize(images.images[i:i + BATCH_SIZE]).contiguous(memory_format=torch.channels_last)
            clean, pert = perturbed_pass(model.net, x, fraction=fraction, epsilon=epsilon, region=region,
                                         generator=gen)
            out["penultimate"].append(clean["penultimate"].float())
            out["logits"].append(clean["logits"].float())
            out["perturbed"].append(pert["penultimate"].float())
            bar.update(len(x))
        bar.close()
        arrays = {k: torch.cat(v).numpy() for k, v in out.items()}
        arrays["labels"], arrays["indices"] = images.labels, images.indices
        arrays["seconds_per_image"] = np.array([(time.perf_counter() - start) / max(1, len(images))])
        return arrays

    return cache.load_or_compute("perturbed", parts, compute)


# Tables 12-13, DenseNet-101 rows: (p_min, p_max, k2 in % of D); lambda = 10, k1 = 1%, o = 5%, eps = 0.5
PAPER_HYPERPARAMETERS: dict[tuple[str, str], tuple[float, float, float]] = {
    ("a", "cifar10"): (65.0, 90.0, 10.0), ("a", "cifar100"): (70.0, 80.0, 100.0),
    ("l", "cifar10"): (70.0, 85.0, 10.0), ("l", "cifar100"): (65.0, 75.0, 50.0),
}


def cached_shift_statistics(arrays: dict[str, np.ndarray], *, k1: float = 1.0, k2: float = 5.0,
                            lam: float = 10.0) -> dict[str, torch.Tensor]:
    """Q, C_o and Q' (:func:`~ood_nb_utils.scorers.shift_statistics`) of arrays from :func:`perturbed_features`."""
    return shift_statistics(torch.from_numpy(arrays["penultimate"]), torch.from_numpy(arrays["perturbed"]),
                            k1_percent=k1, k2_percent=k2, lam=lam)


def adascale_scores(test: dict[str, np.ndarray], reference: dict[str, np.ndarray], weight: torch.Tensor,
                    bias: torch.Tensor, *, variant: str, p_min: float, p_max: float, k1: float = 1.0,
                    k2: float = 5.0, lam: float = 10.0) -> np.ndarray:
    """AdaSCALE-A (``variant="a"``) or -L (``"l"``) scores of cached ``test`` arrays, with the eCDF of
    Q' built from the cached ID ``reference`` arrays (both from :func:`perturbed_features`)."""
    from .scorers import adaptive_percentile, adascale_a, adascale_l

    q_test, q_ref = (cached_shift_statistics(a, k1=k1, k2=k2, lam=lam)["Q_prime"] for a in (test, reference))
    pct = adaptive_percentile(q_test, q_ref, p_min=p_min, p_max=p_max)
    h = torch.from_numpy(test["penultimate"])
    if variant == "a":
        return adascale_a(h, weight, bias, pct).double().numpy()
    if variant == "l":
        return adascale_l(h, torch.from_numpy(test["logits"]), pct).double().numpy()
    raise ValueError(f"variant must be 'a' or 'l', got {variant!r}")
