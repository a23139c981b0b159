"""What a method costs beyond the network's forward pass, measured on this machine.

Feature-based methods score cached activations, so their extra cost is the scoring itself (their
fit on ID data is a one-off, reported apart). Network-based methods need more passes through the
network per image: ODIN a backward pass and a second forward, AdaSCALE a backward pass and a
forward of the perturbed image. Those are timed on fresh images, bypassing the caches, and the
plain forward pass of the same images is subtracted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from . import scorers
from .data import normalize
from .features import Features
from .models import load_model
from .perturbation import perturbed_pass
from .registry import Head, fit_method, get, odin_head, score_features

BATCH_SIZE = 64


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` wall-clock timings of ``fn()`` (seconds): the least disturbed run."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def feature_method_cost(name: str, train: Features, test: Features, head: Head, repeats: int = 3) -> dict[str, float]:
    """Fit time (s, once) and scoring time per 1,000 images (ms) of a feature-based method on cached ``test``."""
    method = get(name)
    if method.needs_network:
        raise ValueError(f"{name} needs the network; use network_pass_seconds")
    params = method.params()
    start = time.perf_counter()
    state = fit_method(method, train, head, params)
    fit_seconds = time.perf_counter() - start
    seconds = _best_of(lambda: score_features(method, test, head, state, params), repeats)
    return {"fit (s, once)": fit_seconds, "extra ms / 1,000 images": 1000 * 1000 * seconds / len(test)}


PASSES = ("forward", "odin", "odin_react", "odin_himplos", "adascale")


def network_pass_seconds(kind: str, model_name: str, images: np.ndarray, *, prototypes: torch.Tensor | None = None,
                         batch_size: int = BATCH_SIZE) -> float:
    """Wall-clock seconds for one network-based pass over uint8 ``images`` (no cache), ``kind`` in :data:`PASSES`.

    ``odin*`` use T = 1000, eps = 0.0014 through the plain, ReAct-clipped or HIMPLoS head
    (``prototypes`` needed for the latter); ``adascale`` is gradient + perturbation + the clean and
    perturbed forward passes (o = 5%, eps = 0.5), what :func:`~ood_nb_utils.perturbation.perturbed_features`
    computes.
    """
    if kind not in PASSES:
        raise ValueError(f"kind must be one of {PASSES}, got {kind!r}")
    model = load_model(model_name)
    heads = {"odin": ("plain", {}), "odin_react": ("react", {"threshold": 1.6}),
             "odin_himplos": ("himplos", {"prototypes": prototypes})}
    if kind == "odin_himplos" and prototypes is None:
        raise ValueError("odin_himplos needs the HIMPLoS prototypes")

    def run(batch_images: np.ndarray) -> None:
        gen = torch.Generator().manual_seed(0)
        for start in range(0, len(batch_images), batch_size):
            x = normalize(batch_images[start:start + batch_size]).contiguous(memory_format=torch.channels_last)
            if kind == "forward":
                with torch.inference_mode():
                    model.net.forward_taps(x)
            elif kind == "adascale":
                perturbed_pass(model.net, x, fraction=0.05, epsilon=0.5, region="trivial", generator=gen)
            else:
                scorers.odin(odin_head(model, *heads[kind]), x, temperature=1000.0, epsilon=0.0014)

    run(images[:8])  # warm-up: first-call allocations and kernel selection are not part of the cost
    return _best_of(lambda: run(images), 1)
