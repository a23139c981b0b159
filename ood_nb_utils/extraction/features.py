"""Feature extraction through a :class:`~ood_nb_utils.models.ModelAdapter`, run once per input set and cached.

:func:`extract` returns a :class:`Features` bundle with, for every image,

- ``logits`` (K) and ``penultimate`` (D, the global average of the final map),
- for every spatial tap of the adapter the per-channel spatial ``<tap>.mean`` and ``<tap>.max``
  (C each): enough for NAP at any layer, for Prototype Fusion (global-average-pooled taps) and
  for the mean-vs-max figures,
- ``labels`` and ``indices`` (positions in the dataset file, or in the array you passed).

The cache key is the adapter's :attr:`~ood_nb_utils.models.ModelAdapter.fingerprint` (its state
dict and how taps are read) plus what identifies the inputs: a registered set's checksum, subset
and pixel transform, or the sha256 of an array you pass. Full activation maps are not cached;
:func:`activation_maps` recomputes them for the handful of images a figure shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .. import cache
from ..data import ImageSet, image_identity
from ..models.adapter import ModelAdapter
from .backends import backend_for, key_parts
from .stored import FEATURE_VERSION, REDUCTIONS, cache_parts

BATCH_SIZE = 32  # images per eager batch (benchmarks/throughput.py measures the choice)


@dataclass
class Features:
    """Cached activations of one model on one (subset of a) dataset."""

    model: str
    dataset: str
    arrays: dict[str, np.ndarray]
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def derived(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per bundle and ``key``: a statistic of these (read-only) arrays that a search asks
        for at every setting, e.g. AdaSCALE's Q' for each (k1, k2, lambda)."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

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
        n = len(self)
        arrays = {k: (v[rows] if len(v) == n else v) for k, v in self.arrays.items()}
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


# --- inputs: what extract accepts ------------------------------------------------------------------------


@dataclass
class _Inputs:
    """Images to run, either uint8 N x H x W x 3 (normalised by the adapter) or float N x 3 x H x W already
    normalised by the caller's own transforms, with labels, indices, a cache identity and a display name."""

    pixels: np.ndarray | torch.Tensor
    labels: np.ndarray
    indices: np.ndarray
    identity: dict
    name: str

    @property
    def normalised(self) -> bool:
        return isinstance(self.pixels, torch.Tensor) and torch.is_floating_point(self.pixels)


def _labels_of(labels, n: int) -> np.ndarray:
    if labels is None:
        return np.full(n, -1, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64).ravel()
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} images")
    return labels


def _collect(batches: Iterable, what: str) -> tuple[np.ndarray | torch.Tensor, np.ndarray | None]:
    """Materialise a Dataset or DataLoader: items are ``x`` or ``(x, y, ...)`` with x an image or a batch."""
    xs, ys = [], []
    for item in batches:
        x, y = (item[0], item[1]) if isinstance(item, (tuple, list)) else (item, None)
        x = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
        xs.append(x)
        if y is not None:
            ys.append(torch.as_tensor(y).reshape(-1))
    if not xs:
        raise ValueError(f"the {what} yielded no images")
    batched = xs[0].ndim == 4
    x = torch.cat(xs) if batched else torch.stack(xs)
    y = torch.cat(ys).numpy() if ys else None
    if x.dtype == torch.uint8:
        if x.shape[-1] != 3 and x.shape[1] == 3:  # uint8 N x 3 x H x W -> N x H x W x 3
            x = x.permute(0, 2, 3, 1)
        return x.contiguous().numpy(), y
    if not torch.is_floating_point(x) or x.ndim != 4 or x.shape[1] != 3:
        raise TypeError(f"the {what} must yield uint8 H x W x 3 images or normalised float 3 x H x W tensors, got "
                        f"{x.dtype} with shape {tuple(x.shape[1:])} per image")
    return x.float().contiguous(), y


def as_inputs(images, labels=None) -> _Inputs:
    """Normalise what :func:`extract` accepts into :class:`_Inputs` (see :func:`extract`)."""
    if isinstance(images, ImageSet):
        if labels is not None:
            raise ValueError("an ImageSet carries its own labels; do not pass labels too")
        return _Inputs(images.images, images.labels, images.indices, image_identity(images), images.name)
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"an image array must be uint8 N x H x W x 3, got {images.dtype} {images.shape}; "
                             "for normalised float tensors pass a Dataset or DataLoader")
        digest = cache.array_digest(images)
        labels = _labels_of(labels, len(images))
        return _Inputs(images, labels, np.arange(len(images)),
                       {"array_sha256": digest, "labels_sha256": cache.array_digest(labels)}, f"array:{digest[:8]}")
    if isinstance(images, (torch.utils.data.Dataset, torch.utils.data.DataLoader)):
        what = type(images).__name__
        pixels, found = _collect(images, what)
        labels = _labels_of(found if labels is None else labels, len(pixels))
        digest = cache.array_digest(pixels.numpy() if isinstance(pixels, torch.Tensor) else pixels)
        return _Inputs(pixels, labels, np.arange(len(pixels)),
                       {"tensor_sha256": digest, "labels_sha256": cache.array_digest(labels)}, f"{what}:{digest[:8]}")
    raise TypeError(f"extract takes a uint8 N x H x W x 3 array, an ImageSet, or a torch Dataset/DataLoader; "
                    f"got {type(images).__name__}")


def batches(adapter: ModelAdapter, pixels: np.ndarray | torch.Tensor,
            batch_size: int = BATCH_SIZE) -> Iterator[torch.Tensor]:
    """Normalised channels_last batches: uint8 images through the adapter's normalisation, float tensors as given."""
    for start in range(0, len(pixels), batch_size):
        chunk = pixels[start:start + batch_size]
        x = chunk if isinstance(chunk, torch.Tensor) and torch.is_floating_point(chunk) else adapter.normalize(chunk)
        yield x.contiguous(memory_format=torch.channels_last)


# --- extraction ------------------------------------------------------------------------------------------


def run_network(adapter: ModelAdapter, pixels, backend, *, desc: str = "", progress: bool = False
                ) -> dict[str, np.ndarray]:
    """Every stored array of ``pixels`` through ``backend``, in the batches extraction sends it (not cached)."""
    chunks: dict[str, list[torch.Tensor]] = {}
    bar = tqdm(total=len(pixels), desc=f"{desc} [{backend.name}]", unit="img", disable=not progress, mininterval=20)
    for batch in batches(adapter, pixels, backend.batch_size):
        for name, value in backend.run(batch).items():
            chunks.setdefault(name, []).append(value)
        bar.update(len(batch))
    bar.close()
    return {name: torch.cat(parts).numpy() for name, parts in chunks.items()}


def extract(adapter: ModelAdapter, images, labels=None, *, progress: bool = True) -> Features:
    """Activations of ``adapter`` on ``images``, cached on disk.

    ``images``: a uint8 N x H x W x 3 array (``labels`` optional, one per image), an
    :class:`~ood_nb_utils.data.ImageSet` (e.g. ``data.load("textures")``), or a torch ``Dataset`` /
    ``DataLoader`` yielding ``x`` or ``(x, y)`` where ``x`` is a uint8 image or a float 3 x H x W
    tensor already normalised by your own transforms (it is then not normalised again). Datasets are
    read once into memory to compute their cache key.
    """
    if not isinstance(adapter, ModelAdapter):
        raise TypeError(f"extract's first argument is a ModelAdapter (see ModelAdapter.from_module or "
                        f"models.load_model), got {type(adapter).__name__}")
    inputs = as_inputs(images, labels)
    backend = backend_for(adapter)
    # the backend enters the key unless it is eager (backends.key_parts)
    parts = cache_parts(adapter, inputs.identity, taps=list(adapter.taps), reductions=list(REDUCTIONS),
                        normalised_by_caller=inputs.normalised, version=FEATURE_VERSION, **key_parts(backend))

    def compute() -> dict[str, np.ndarray]:
        arrays = run_network(adapter, inputs.pixels, backend, desc=f"{adapter.name} | {inputs.name}",
                             progress=progress)
        arrays["labels"], arrays["indices"] = inputs.labels, inputs.indices
        return arrays

    return Features(adapter.name, inputs.name, cache.load_or_compute("features", parts, compute))


def cached_per_image(kind: str, adapter: ModelAdapter, images: ImageSet, params: dict,
                     fn: Callable[[ModelAdapter, np.ndarray], dict[str, np.ndarray]],
                     version: int = 1) -> dict[str, np.ndarray]:
    """Cache the output of ``fn(adapter, uint8 images)`` (e.g. ODIN's perturbed scores) per image set + params."""
    parts = cache_parts(adapter, image_identity(images), params=params, version=version)

    def compute() -> dict[str, np.ndarray]:
        arrays = fn(adapter, images.images)
        arrays["labels"], arrays["indices"] = images.labels, images.indices
        return arrays

    return cache.load_or_compute(kind, parts, compute)


def activation_maps(adapter: ModelAdapter, images: np.ndarray, tap: str = "final") -> np.ndarray:
    """Full maps (N x C x H x W) of one tap for a few uint8 images; not cached (for figures)."""
    with torch.inference_mode():
        maps = [adapter.forward_taps(b)[tap].float() for b in batches(adapter, images)]
    return torch.cat(maps).numpy()


def throughput(adapter: ModelAdapter, n_images: int = 256, batch_size: int = BATCH_SIZE) -> float:
    """Forward images/s of the tapped network on random inputs (for the benchmark script)."""
    x = torch.randn(n_images, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        adapter.forward_taps(x[:batch_size])
        start = time.perf_counter()
        for i in range(0, n_images, batch_size):
            adapter.forward_taps(x[i:i + batch_size])
    return n_images / (time.perf_counter() - start)
