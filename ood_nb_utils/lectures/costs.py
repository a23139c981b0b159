"""What a method costs beyond the network's forward pass, measured on this machine.

Feature-based detectors score cached activations, so their extra cost is the scoring itself (their
fit on ID data is a one-off, reported apart). Network-based detectors need more passes per image:
ODIN a backward pass and a second forward, AdaSCALE a backward pass and a forward of the perturbed
image. Those are timed on fresh images with their uncached ``compute``, and the plain forward pass
of the same images is subtracted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..detectors import Detector, HeldOut
from ..extraction.features import Features, batches
from ..models import Head, ModelAdapter

BATCH_SIZE = 64


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` wall-clock timings of ``fn()`` (seconds): the least disturbed run."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def feature_method_cost(detector: Detector, train: Features, test: Features, head: Head,
                        heldout: HeldOut | None = None, *, repeats: int = 3) -> dict[str, float]:
    """Fit time (s, once) and scoring time per 1,000 images (ms) of a feature-based detector on cached ``test``."""
    if detector.needs.network:
        raise ValueError(f"{detector.title} needs the network; use network_seconds")
    start = time.perf_counter()
    detector.fit(train if detector.needs.train else None, head, heldout)
    fit_seconds = time.perf_counter() - start
    seconds = best_of(lambda: detector.score(test), repeats)
    return {"fit (s, once)": fit_seconds, "extra ms / 1,000 images": 1000 * 1000 * seconds / len(test)}


def forward_seconds(adapter: ModelAdapter, images: np.ndarray, batch_size: int = BATCH_SIZE) -> float:
    """Wall-clock seconds of the plain tapped forward pass over uint8 ``images`` (after a warm-up)."""

    def run(pixels: np.ndarray) -> None:
        with torch.inference_mode():
            for x in batches(adapter, pixels, batch_size):
                adapter.forward_taps(x)

    run(images[:8])
    return best_of(lambda: run(images), 1)


def network_seconds(detector: Detector, images: np.ndarray) -> float:
    """Wall-clock seconds of a fitted network-based detector's uncached pass over uint8 ``images``."""
    if not hasattr(detector, "compute"):
        raise ValueError(f"{detector.title} has no uncached compute pass to time")
    detector.compute(images[:8], progress=False)  # warm-up: first-call allocations and kernel selection
    return best_of(lambda: detector.compute(images, progress=False), 1)
