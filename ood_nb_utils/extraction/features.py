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

import hashlib
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .. import cache as cache_module
from ..config import progress_wanted
from ..data import ImageSet, image_identity
from ..models.adapter import ModelAdapter
from .backends import backend_for, converted_graphs_not_saved, key_parts
from .stored import FEATURE_VERSION, REDUCTIONS, cache_parts

BATCH_SIZE = 32  # images per eager batch (benchmarks/throughput.py measures the choice)


@dataclass
class Features:
    """Cached activations of one model on one (subset of a) dataset."""

    model: str
    dataset: str
    arrays: dict[str, np.ndarray]
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_arrays(cls, *, logits=None, penultimate=None, taps: Mapping[str, Any] | None = None, labels=None,
                    model: str = "arrays", dataset: str = "arrays") -> Features:
        """A bundle from arrays you already have (numpy arrays or torch tensors, on any device).

        ``logits`` N x K, ``penultimate`` N x D, ``taps`` ``{name: N x C x H x W map}`` (stored as the channel
        ``<name>.mean`` and ``<name>.max`` that NAP and Prototype Fusion read; pass ``"final"`` for NAP) or
        already-reduced ``{"<name>.mean": N x C, ...}``; ``labels`` N class indices (default -1: unknown).
        Give at least one array; every array must have the same N.
        """
        arrays: dict[str, np.ndarray] = {}
        for name, value in {"logits": logits, "penultimate": penultimate}.items():
            if value is not None:
                arrays[name] = _as_float_array(name, value, ndim=2)
        for name, value in dict(taps or {}).items():
            if "." in name:
                arrays[name] = _as_float_array(name, value, ndim=2)
                continue
            fmap = _as_float_array(name, value, ndim=4)
            arrays[f"{name}.mean"], arrays[f"{name}.max"] = fmap.mean(axis=(2, 3)), fmap.max(axis=(2, 3))
        if not arrays:
            raise ValueError("Features.from_arrays needs at least one of logits, penultimate or taps")
        sizes = {k: len(v) for k, v in arrays.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"every array must have one row per image; got {sizes}")
        n = next(iter(sizes.values()))
        arrays["labels"] = _labels_of(labels, n)
        arrays["indices"] = np.arange(n)
        return cls(model, dataset, arrays)

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


def _as_float_array(name: str, value, *, ndim: int) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().float().cpu().numpy()
    out = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
    if out.ndim != ndim:
        shape = "N x C x H x W" if ndim == 4 else "N x C"
        raise ValueError(f"{name} must be {shape} ({ndim}-D), got shape {out.shape}")
    return out


# --- inputs: what extract accepts ------------------------------------------------------------------------


@dataclass
class _Inputs:
    """Images held in memory, either uint8 N x H x W x 3 (normalised by the adapter) or float N x 3 x H x W already
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


def as_inputs(images, labels=None) -> _Inputs:
    """An ImageSet or a uint8 array as :class:`_Inputs` (Datasets and DataLoaders stream instead: :class:`Stream`)."""
    if isinstance(images, ImageSet):
        if labels is not None:
            raise ValueError("an ImageSet carries its own labels; do not pass labels too")
        return _Inputs(images.images, images.labels, images.indices, image_identity(images), images.name)
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"an image array must be uint8 N x H x W x 3, got {images.dtype} {images.shape}; "
                             "for normalised float tensors pass a Dataset or DataLoader")
        digest = cache_module.array_digest(images)
        labels = _labels_of(labels, len(images))
        identity = {"array_sha256": digest, "labels_sha256": cache_module.array_digest(labels)}
        return _Inputs(images, labels, np.arange(len(images)), identity, f"array:{digest[:8]}")
    raise TypeError(f"extract takes a uint8 N x H x W x 3 array, an ImageSet, or a torch Dataset/DataLoader; "
                    f"got {type(images).__name__}")


def _collate(items: list) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A Dataset's items (``x`` or ``(x, y, ...)``; x a tensor, array or PIL image) as one batch."""
    pairs = [(it[0], it[1]) if isinstance(it, (tuple, list)) else (it, None) for it in items]
    xs = [x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x)) for x, _ in pairs]
    shapes = {tuple(x.shape) for x in xs}
    if len(shapes) > 1:
        raise ValueError(f"the Dataset yields images of different shapes {sorted(shapes)[:3]}: resize them to one "
                         "size in its transform (e.g. Resize(256) + CenterCrop(224))")
    ys = [y for _, y in pairs]
    y = None if any(v is None for v in ys) else torch.as_tensor(np.asarray(ys)).reshape(-1)
    return torch.stack(xs), y


class Stream:
    """A torch ``Dataset`` or ``DataLoader`` read batch by batch, as :func:`extract` and :func:`stream_digest` see it.

    Each batch comes as ``(x, y)``: ``x`` uint8 N x H x W x 3 (normalised by the adapter later) or float
    N x 3 x H x W already normalised by the caller's transforms, ``y`` int64 labels or None. Memory holds one
    batch at a time.
    """

    def __init__(self, images, batch_size: int = BATCH_SIZE) -> None:
        self.what = type(images).__name__
        if isinstance(images, torch.utils.data.DataLoader):
            self.loader = images
        else:
            self.loader = torch.utils.data.DataLoader(images, batch_size=batch_size, shuffle=False, num_workers=0,
                                                      collate_fn=_collate)
        try:
            self.size: int | None = len(images)
        except TypeError:
            self.size = None

    def __iter__(self) -> Iterator[tuple[torch.Tensor, np.ndarray | None]]:
        seen = 0
        for item in self.loader:
            x, y = (item[0], item[1]) if isinstance(item, (tuple, list)) else (item, None)
            x = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
            if x.ndim == 3:  # a DataLoader with batch_size=None yields single images
                x = x.unsqueeze(0)
            if x.dtype == torch.uint8:
                if x.shape[-1] != 3 and x.shape[1] == 3:  # uint8 N x 3 x H x W (PILToTensor) -> N x H x W x 3
                    x = x.permute(0, 2, 3, 1)
                if x.ndim != 4 or x.shape[-1] != 3:
                    raise TypeError(f"the {self.what} yields uint8 images of shape {tuple(x.shape[1:])}; "
                                    "they must be H x W x 3 or 3 x H x W")
            elif not torch.is_floating_point(x) or x.ndim != 4 or x.shape[1] != 3:
                raise TypeError(f"the {self.what} must yield uint8 H x W x 3 images or normalised float 3 x H x W "
                                f"tensors, got {x.dtype} with shape {tuple(x.shape[1:])} per image")
            seen += len(x)
            yield x.contiguous(), (None if y is None else torch.as_tensor(y).reshape(-1).numpy().astype(np.int64))
        if seen == 0:
            raise ValueError(f"the {self.what} yielded no images")


def _update_digest(digest, x: torch.Tensor, y: np.ndarray | None) -> None:
    a = x.detach().cpu().contiguous().numpy()
    digest.update(f"{a.dtype}{a.shape}".encode())
    digest.update(a.tobytes())
    digest.update(b"no labels" if y is None else np.ascontiguousarray(y).tobytes())


def stream_digest(images, batch_size: int = BATCH_SIZE) -> str:
    """sha256 of every batch a Dataset or DataLoader yields (pixels, dtypes, shapes and labels), read one batch at
    a time: the cache identity of a stream when no ``key=`` is given."""
    digest = hashlib.sha256()
    for x, y in Stream(images, batch_size):
        _update_digest(digest, x, y)
    return digest.hexdigest()


def batches(adapter: ModelAdapter, pixels: np.ndarray | torch.Tensor,
            batch_size: int = BATCH_SIZE) -> Iterator[torch.Tensor]:
    """Normalised channels_last batches: uint8 images through the adapter's normalisation, float tensors as given
    (on the adapter's device)."""
    for start in range(0, len(pixels), batch_size):
        yield _normalised(adapter, pixels[start:start + batch_size])


def _normalised(adapter: ModelAdapter, chunk) -> torch.Tensor:
    floating = isinstance(chunk, torch.Tensor) and torch.is_floating_point(chunk)
    x = chunk.to(adapter.device) if floating else adapter.normalize(chunk)
    return x.contiguous(memory_format=torch.channels_last)


# --- extraction ------------------------------------------------------------------------------------------


def _forward(backend, xs: Iterable[torch.Tensor], bar: tqdm) -> dict[str, np.ndarray]:
    chunks: dict[str, list[torch.Tensor]] = {}
    for x in xs:
        for name, value in backend.run(x).items():
            chunks.setdefault(name, []).append(value)
        bar.update(len(x))
    bar.close()
    return {name: torch.cat(parts).numpy() for name, parts in chunks.items()}


def _bar(total: int | None, desc: str, backend, progress: bool) -> tqdm:
    return tqdm(total=total, desc=f"{desc} [{backend.name}]", unit="img", disable=not progress_wanted(progress),
                mininterval=20)


def run_network(adapter: ModelAdapter, pixels, backend, *, desc: str = "", progress: bool = False
                ) -> dict[str, np.ndarray]:
    """Every stored array of ``pixels`` through ``backend``, in the batches extraction sends it (not cached)."""
    return _forward(backend, batches(adapter, pixels, backend.batch_size), _bar(len(pixels), desc, backend, progress))


def run_stream(adapter: ModelAdapter, stream: Stream, backend, *, labels=None, desc: str = "",
               progress: bool = False) -> tuple[dict[str, np.ndarray], str]:
    """Every stored array of a :class:`Stream` through ``backend`` while it streams, with the stream's
    :func:`stream_digest` computed on the way (not cached). ``labels`` replace the stream's own."""
    digest, found = hashlib.sha256(), []

    def normalised() -> Iterator[torch.Tensor]:
        for x, y in stream:
            _update_digest(digest, x, y)
            found.append(np.full(len(x), -1, dtype=np.int64) if y is None else y)
            yield _normalised(adapter, x)

    arrays = _forward(backend, normalised(), _bar(stream.size, desc, backend, progress))
    n = len(arrays["logits"])
    arrays["labels"] = _labels_of(np.concatenate(found) if labels is None else labels, n)
    arrays["indices"] = np.arange(n)
    return arrays, digest.hexdigest()


def _feature_parts(adapter: ModelAdapter, backend, identity: dict, **extra) -> dict:
    """The cache key of an extraction: adapter, inputs, what is stored, and the backend and device unless eager on
    the CPU (:func:`~ood_nb_utils.extraction.backends.key_parts`)."""
    return cache_parts(adapter, identity, taps=list(adapter.taps), reductions=list(REDUCTIONS),
                       version=FEATURE_VERSION, **extra, **key_parts(adapter, backend))


def extract(adapter: ModelAdapter, images, labels=None, *, key: str | None = None, cache: bool = True,
            progress: bool = True) -> Features:
    """Activations of ``adapter`` on ``images``, cached on disk.

    ``images``: a uint8 N x H x W x 3 array (``labels`` optional, one per image), an
    :class:`~ood_nb_utils.data.ImageSet` (e.g. ``data.load("textures")``), or a torch ``Dataset`` /
    ``DataLoader`` yielding ``x`` or ``(x, y)`` where ``x`` is a uint8 image (H x W x 3, 3 x H x W, or a PIL
    image) or a float 3 x H x W tensor already normalised by your own transforms (it is then not normalised
    again), at any size the network takes.

    A Dataset or DataLoader is **streamed**: the network runs batch by batch as the data arrives, so memory holds
    one batch, not the set. Its cache identity is ``key`` (a name you choose for exactly this data and transform)
    or, without one, the sha256 of everything it yields: one reading pass computes it to look the cache up, and on
    a miss the extraction pass computes it again (a set whose pixels change between passes, e.g. under random
    augmentation, is then not cached, with a warning). ``cache=False`` computes afresh and writes nothing to disk.
    """
    if not isinstance(adapter, ModelAdapter):
        raise TypeError(f"extract's first argument is a ModelAdapter (see ModelAdapter.from_module or "
                        f"models.load_model), got {type(adapter).__name__}")
    backend = backend_for(adapter)
    if isinstance(images, (torch.utils.data.Dataset, torch.utils.data.DataLoader)):
        return _extract_stream(adapter, Stream(images, backend.batch_size), backend, labels, key=key, cache=cache,
                               progress=progress)
    inputs = as_inputs(images, labels)
    identity = inputs.identity if key is None else {"user_key": key}
    name = inputs.name if key is None else key
    parts = _feature_parts(adapter, backend, identity, normalised_by_caller=inputs.normalised)

    def compute() -> dict[str, np.ndarray]:
        arrays = run_network(adapter, inputs.pixels, backend, desc=f"{adapter.name} | {name}", progress=progress)
        arrays["labels"], arrays["indices"] = inputs.labels, inputs.indices
        return arrays

    if not cache:
        with converted_graphs_not_saved():
            return Features(adapter.name, name, compute())
    return Features(adapter.name, name, cache_module.load_or_compute("features", parts, compute))


def _extract_stream(adapter: ModelAdapter, stream: Stream, backend, labels, *, key: str | None, cache: bool,
                    progress: bool) -> Features:
    """:func:`extract` of a streamed Dataset or DataLoader (see there for the cache identity)."""
    def run(name: str) -> tuple[dict[str, np.ndarray], str]:
        return run_stream(adapter, stream, backend, labels=labels, desc=f"{adapter.name} | {name}", progress=progress)

    if not cache:
        with converted_graphs_not_saved():
            arrays, digest = run(key or stream.what)
        return Features(adapter.name, key or f"{stream.what}:{digest[:8]}", arrays)
    expected = None if key is not None else stream_digest(stream.loader)
    identity = {"user_key": key} if key is not None else {"stream_sha256": expected}
    name = key or f"{stream.what}:{expected[:8]}"
    given = None if labels is None else cache_module.array_digest(np.asarray(labels))
    parts = _feature_parts(adapter, backend, identity, labels_given=given)
    found = cache_module.lookup("features", parts)
    if found is not None:
        return Features(adapter.name, name, found)
    start = time.perf_counter()
    arrays, digest = run(name)
    if expected is not None and digest != expected:
        warnings.warn(f"the {stream.what} yielded different data on its second pass (random transforms?), so "
                      "these features are not cached; pass key='...' to name a set that is fixed, or cache=False",
                      stacklevel=2)
    else:
        cache_module.store("features", parts, arrays, time.perf_counter() - start)
    return Features(adapter.name, name, arrays)


def cached_per_image(kind: str, adapter: ModelAdapter, images: ImageSet, params: dict,
                     fn: Callable[[ModelAdapter, np.ndarray], dict[str, np.ndarray]],
                     version: int = 1) -> dict[str, np.ndarray]:
    """Cache the output of ``fn(adapter, uint8 images)`` (e.g. ODIN's perturbed scores) per image set + params."""
    parts = cache_parts(adapter, image_identity(images), params=params, version=version)

    def compute() -> dict[str, np.ndarray]:
        arrays = fn(adapter, images.images)
        arrays["labels"], arrays["indices"] = images.labels, images.indices
        return arrays

    return cache_module.load_or_compute(kind, parts, compute)


def activation_maps(adapter: ModelAdapter, images: np.ndarray, tap: str = "final") -> np.ndarray:
    """Full maps (N x C x H x W) of one tap for a few uint8 images; not cached (for figures)."""
    with torch.inference_mode():
        maps = [adapter.forward_taps(b)[tap].float() for b in batches(adapter, images)]
    return torch.cat(maps).numpy()


def throughput(adapter: ModelAdapter, n_images: int = 256, batch_size: int = BATCH_SIZE) -> float:
    """Forward images/s of the tapped network on random inputs (for the benchmark script)."""
    x = torch.randn(n_images, 3, 32, 32, device=adapter.device).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        adapter.forward_taps(x[:batch_size])
        start = time.perf_counter()
        for i in range(0, n_images, batch_size):
            adapter.forward_taps(x[i:i + batch_size])
    return n_images / (time.perf_counter() - start)
