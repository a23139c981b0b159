"""Images of a benchmark set: loading (checksum verified), test-time preprocessing, and what identifies them.

:class:`ImageSet` carries uint8 N x 32 x 32 x 3 images with their labels and provenance; :func:`load` reads a
registered set (or a seeded subset of it); :func:`image_identity` is what a cache key records of a set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..cache import array_digest
from .catalog import find_file, verified_sha256
from .splits import ID_VALIDATION_N, heldout_indices, subset_indices

# Test-time normalisation of the DICE DenseNet checkpoints (the CIFAR training statistics).
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


@dataclass
class ImageSet:
    """Images (uint8, N x 32 x 32 x 3 after :func:`to_rgb32`) with labels and provenance."""

    key: str
    images: np.ndarray
    labels: np.ndarray
    path: Path
    sha256: str
    note: str = ""
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # how the pixels were altered after loading (e.g. a corruption recipe); part of every cache key
    transform: dict | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def name(self) -> str:
        """The set's key, with the transform's name when the pixels were altered."""
        return self.key if self.transform is None else f"{self.key}+{self.transform.get('name', 'transformed')}"

    @classmethod
    def from_array(cls, images: np.ndarray, labels=None, name: str = "array") -> ImageSet:
        """Your own uint8 N x H x W x 3 images as a set (``labels`` optional; -1 where unknown); its checksum is
        the sha256 of the array, so cached results follow the pixels."""
        if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4
                and images.shape[-1] == 3):
            what = f"{getattr(images, 'dtype', type(images).__name__)} {getattr(images, 'shape', '')}"
            raise ValueError(f"images must be a uint8 N x H x W x 3 array, got {what}")
        labels = np.full(len(images), -1, np.int64) if labels is None else np.asarray(labels, np.int64).ravel()
        if len(labels) != len(images):
            raise ValueError(f"{len(labels)} labels for {len(images)} images")
        return cls(name, images, labels, None, array_digest(images), indices=np.arange(len(images)))

    def subset(self, rows: np.ndarray) -> ImageSet:
        """The images at positions ``rows`` of this set (positions, not dataset indices)."""
        rows = np.asarray(rows)
        return ImageSet(self.key, self.images[rows], self.labels[rows], self.path, self.sha256, self.note,
                        self.indices[rows], self.transform)


def to_rgb32(images: np.ndarray) -> np.ndarray:
    """Grayscale or RGB uint8 images -> N x 32 x 32 x 3 uint8.

    MNIST (28 x 28 grayscale) is replicated to 3 channels and resized to 32 x 32 with bilinear
    interpolation (antialiased, like PIL's), as OpenOOD's test pipeline does for MNIST
    (convert to RGB, ``Resize(32)``).
    """
    if images.dtype != np.uint8:
        raise TypeError(f"images must be uint8, got {images.dtype}")
    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=-1)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be N x H x W (x 3), got shape {images.shape}")
    if images.shape[1:3] == (32, 32):
        return images
    t = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    t = F.interpolate(t, size=(32, 32), mode="bilinear", align_corners=False, antialias=True)
    return t.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def normalize(images: np.ndarray | torch.Tensor, *, mean: tuple[float, ...] = CIFAR_MEAN,
              std: tuple[float, ...] = CIFAR_STD) -> torch.Tensor:
    """uint8 N x H x W x 3 -> float N x 3 x H x W, scaled to [0, 1] and normalised per channel
    (default: the CIFAR statistics of the DICE checkpoints; an adapter passes its own)."""
    t = torch.as_tensor(images)
    if t.dtype != torch.uint8:
        raise TypeError(f"normalize expects uint8 images, got {t.dtype}")
    if t.ndim != 4 or t.shape[-1] != 3:
        raise ValueError(f"normalize expects N x H x W x 3 images, got shape {tuple(t.shape)}")
    t = t.permute(0, 3, 1, 2).float().div_(255.0)
    stats = {"device": t.device, "dtype": t.dtype}
    return (t - torch.tensor(mean, **stats).view(1, 3, 1, 1)) / torch.tensor(std, **stats).view(1, 3, 1, 1)


# how a set's file becomes 32 x 32 RGB uint8 (to_rgb32); the normalisation belongs to the model
PREPROCESSING_ID = "rgb32-bilinear"


def load(key: str, n: int | None = None, seed: int = 0, indices: np.ndarray | None = None) -> ImageSet:
    """Load a set (checksum verified) as 32 x 32 RGB uint8: a seeded subset of ``n`` (all when
    None), or exactly the positions ``indices``."""
    path, candidate = find_file(key)
    with np.load(path) as archive:
        images = archive["images"]
        labels = archive["labels"].astype(np.int64)
    if indices is None:
        idx = subset_indices(labels, n, seed)
    else:
        idx = np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1 or (idx < 0).any() or (idx >= len(labels)).any():
            raise IndexError(f"indices for {key} must be a 1-D array in [0, {len(labels)})")
    sha = verified_sha256(path, candidate.sha256)
    return ImageSet(key, to_rgb32(images[idx]), labels[idx], path, sha, candidate.note, idx)


def labels_of(key: str) -> np.ndarray:
    """The labels of every image of set ``key`` (int64, -1 where a set has none)."""
    with np.load(find_file(key)[0]) as archive:
        return archive["labels"].astype(np.int64)


def load_heldout(key: str, used: np.ndarray, n: int = ID_VALIDATION_N, seed: int = 0) -> ImageSet:
    """:func:`heldout_indices` of set ``key`` loaded as images: ``n`` images that are not in ``used``
    (a fit subset of train images, or the test rows of an OOD set carved into a validation split)."""
    return load(key, indices=heldout_indices(labels_of(key), used, n, seed))


def image_identity(images: ImageSet) -> dict:
    """What identifies a registered image set in a cache key: file checksum, subset, transform."""
    identity = {"dataset": images.key, "dataset_sha256": images.sha256,
                "indices_sha256": array_digest(images.indices), "n": len(images),
                "preprocessing": PREPROCESSING_ID}
    if images.transform is not None:
        identity["transform"] = images.transform
    return identity
