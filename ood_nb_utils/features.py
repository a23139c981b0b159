"""Feature extraction, run once per (model, dataset, subset, preprocessing, taps) and cached.

:func:`extract` returns a :class:`Features` bundle with, for every image,

- ``logits`` (K) and ``penultimate`` (342, the global average of the final map),
- for every spatial tap of :mod:`ood_nb_utils.models.densenet` the per-channel spatial
  ``<tap>.mean`` and ``<tap>.max`` (C each): enough for NAP at any layer, for Prototype
  Fusion (global-average-pooled blocks) and for the mean-vs-max figures,
- ``labels`` and ``indices`` (positions in the dataset file).

Full activation maps are not cached (342 x 8 x 8 floats per image would not fit a laptop for
every set); :func:`activation_maps` recomputes them for the handful of images a figure shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from . import cache
from .data import PREPROCESSING_ID, ImageSet, load, normalize
from .models import SPATIAL_TAPS, LoadedModel, load_model

FEATURE_VERSION = 1  # bump when the extraction code changes what it stores
BATCH_SIZE = 32  # fastest on 2 CPU cores with channels_last (benchmarks/throughput.py)


@dataclass
class Features:
    """Cached activations of one model on one (subset of a) dataset."""

    model: str
    dataset: str
    arrays: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self.arrays:
            raise KeyError(f"no array {name!r} in features of {self.dataset}; have {sorted(self.arrays)}")
        return torch.from_numpy(self.arrays[name])

    def __len__(self) -> int:
        return len(self.arrays["labels"])

    @property
    def logits(self) -> torch.Tensor:
        return self["logits"]

    @property
    def penultimate(self) -> torch.Tensor:
        return self["penultimate"]

    @property
    def labels(self) -> np.ndarray:
        return self.arrays["labels"]

    def subset(self, rows: np.ndarray, name: str | None = None) -> Features:
        """The same features restricted to ``rows`` (positions in this bundle, not dataset indices)."""
        rows = np.asarray(rows)
        arrays = {k: v[rows] for k, v in self.arrays.items()}
        return Features(self.model, name or f"{self.dataset}[{len(rows)}]", arrays)

    def layer(self, name: str) -> torch.Tensor:
        """The global-average-pooled feature of a tap (``penultimate`` is the pooled final map)."""
        return self.penultimate if name == "penultimate" else self[f"{name}.mean"]

    def layers(self, names) -> dict[str, torch.Tensor]:
        """:meth:`layer` of each name, in order: the input of the multi-layer prototype kernels."""
        return {name: self.layer(name) for name in names}

    def accuracy(self) -> float:
        """Top-1 accuracy of the logits against the labels (meaningful for an ID set)."""
        return float((self.arrays["logits"].argmax(1) == self.labels).mean())


def iter_batches(images: np.ndarray, batch_size: int = BATCH_SIZE) -> Iterator[torch.Tensor]:
    """Normalised channels_last batches of a uint8 N x 32 x 32 x 3 array."""
    for start in range(0, len(images), batch_size):
        yield normalize(images[start:start + batch_size]).contiguous(memory_format=torch.channels_last)


def _reduce_taps(taps: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {"logits": taps["logits"], "penultimate": taps["penultimate"]}
    for name in SPATIAL_TAPS:
        fmap = taps[name]
        out[f"{name}.mean"] = fmap.mean(dim=(2, 3))
        out[f"{name}.max"] = fmap.amax(dim=(2, 3))
    return out


def _run_network(model: LoadedModel, images: np.ndarray, desc: str, progress: bool) -> dict[str, np.ndarray]:
    chunks: dict[str, list[torch.Tensor]] = {}
    bar = tqdm(total=len(images), desc=desc, unit="img", disable=not progress, mininterval=20)
    with torch.inference_mode():
        for batch in iter_batches(images):
            for name, value in _reduce_taps(model.net.forward_taps(batch)).items():
                chunks.setdefault(name, []).append(value.float())
            bar.update(len(batch))
    bar.close()
    return {name: torch.cat(parts).numpy() for name, parts in chunks.items()}


def cache_parts(model: LoadedModel, images: ImageSet, **extra) -> dict:
    """What determines a cached computation on (model, image subset)."""
    return {
        "model": model.name,
        "weights_sha256": model.checkpoint.sha256,
        "dataset": images.key,
        "dataset_sha256": images.sha256,
        "indices_sha256": cache.array_digest(images.indices),
        "n": len(images),
        "preprocessing": PREPROCESSING_ID,
        **extra,
    }


def extract(model_name: str, dataset: str, n: int | None = None, seed: int = 0,
            progress: bool = True) -> Features:
    """Activations of ``model_name`` on ``dataset`` (a seeded subset of ``n``; all when None), cached."""
    return extract_images(model_name, load(dataset, n=n, seed=seed), progress=progress)


def extract_images(model_name: str, images: ImageSet, *, transform: dict | None = None,
                   progress: bool = True) -> Features:
    """Activations of an :class:`ImageSet` (any index subset; ``transform`` describes how its pixels
    were altered, e.g. a corruption recipe, and becomes part of the cache key)."""
    model = load_model(model_name)
    parts = cache_parts(model, images, taps=list(SPATIAL_TAPS) + ["penultimate", "logits"],
                        reductions=["mean", "max"], version=FEATURE_VERSION)
    if transform is not None:
        parts["transform"] = transform

    def compute() -> dict[str, np.ndarray]:
        arrays = _run_network(model, images.images, f"{model_name} | {images.key}", progress)
        arrays["labels"] = images.labels
        arrays["indices"] = images.indices
        return arrays

    name = images.key if transform is None else f"{images.key}+{transform.get('name', 'transformed')}"
    return Features(model_name, name, cache.load_or_compute("features", parts, compute))


def cached_per_image(kind: str, model_name: str, dataset: str, n: int | None, seed: int,
                     params: dict, fn: Callable[[LoadedModel, np.ndarray], dict[str, np.ndarray]],
                     version: int = 1) -> dict[str, np.ndarray]:
    """Cache the output of ``fn(model, uint8 images)`` (e.g. ODIN's perturbed scores) per subset + params."""
    model = load_model(model_name)
    images = load(dataset, n=n, seed=seed)
    parts = cache_parts(model, images, params=params, version=version)

    def compute() -> dict[str, np.ndarray]:
        arrays = fn(model, images.images)
        arrays["labels"] = images.labels
        arrays["indices"] = images.indices
        return arrays

    return cache.load_or_compute(kind, parts, compute)


def activation_maps(model_name: str, images: np.ndarray, tap: str = "final") -> np.ndarray:
    """Full maps (N x C x H x W) of one tap for a few uint8 images; not cached (for figures)."""
    model = load_model(model_name)
    with torch.inference_mode():
        maps = [model.net.forward_taps(b)[tap].float() for b in iter_batches(images)]
    return torch.cat(maps).numpy()


def throughput(model_name: str, n_images: int = 256, batch_size: int = BATCH_SIZE) -> float:
    """Forward images/s of the tapped network on random inputs (for the benchmark script)."""
    model = load_model(model_name)
    x = torch.randn(n_images, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        model.net.forward_taps(x[:batch_size])
        start = time.perf_counter()
        for i in range(0, n_images, batch_size):
            model.net.forward_taps(x[i:i + batch_size])
    return n_images / (time.perf_counter() - start)
