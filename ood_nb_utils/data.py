"""Benchmark sets: registry, checksummed loading, test-time preprocessing, availability.

Every set is stored as a ``numpy.savez_compressed`` archive with ``images`` (uint8, N x H x W x 3,
or N x 28 x 28 for MNIST) and ``labels`` (int64, -1 where there is none) in the data directory
(:func:`ood_nb_utils.config.data_dir`). A set may have several candidate files (e.g. the full
DTD written by ``prepare`` and the 10-class subset shipped in ``shared/``); the first present
one is used and its sha256 is checked against the registry or against the ``.sha256`` file
that ``prepare`` writes beside it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .config import Profile, data_dir

# Test-time normalisation of the DICE DenseNet checkpoints (the CIFAR training statistics).
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)

ROLES = ("id", "near", "far", "substitute")


@dataclass(frozen=True)
class DataFile:
    """One candidate file for a set: ``sha256`` of the shipped file; a ``<file>.sha256`` sidecar overrides it."""

    filename: str
    sha256: str | None = None
    note: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A benchmark set and its role in the OOD benchmarks."""

    key: str
    title: str
    role: str  # "id" (a train/test set of an ID dataset), "near", "far" or "substitute"
    files: tuple[DataFile, ...]
    how_to_get: str
    stands_in_for: str | None = None
    citation: str = ""
    num_classes: int | None = None

    @property
    def is_substitute(self) -> bool:
        return self.role == "substitute"

    @property
    def display_name(self) -> str:
        """Name for tables and legends; substitutes always say so."""
        if self.is_substitute:
            return f"{self.title} (substitute for {self.stands_in_for})"
        return self.title


_PREPARE = "run `python -m ood_nb_utils data prepare --only {key}` on a machine with internet"

DATASETS: dict[str, DatasetSpec] = {
    spec.key: spec
    for spec in [
        DatasetSpec(
            "cifar10", "CIFAR-10 test", "id",
            (DataFile("cifar10_test.npz", "f0af87a8a9f49a2afa5273786cb6887e59c1d2469a75111296c8135b01d9b8ed"),),
            _PREPARE.format(key="cifar10"), citation="krizhevsky2009learning", num_classes=10,
        ),
        DatasetSpec(
            "cifar10_train", "CIFAR-10 train subset", "id",
            (DataFile("cifar10_train_subset.npz", "64b9eeb416219f5b3c54f1ee5252b667b769a5c212a03eabb8bf00d38fc4a0bc",
                      "stratified 10,000 of 50,000"),),
            _PREPARE.format(key="cifar10_train"), citation="krizhevsky2009learning", num_classes=10,
        ),
        DatasetSpec(
            "cifar100", "CIFAR-100 test", "id",
            (DataFile("cifar100_test.npz", "77e2efb0cccc32c97ab756d35e9709ee94fc6363e690a153a79c94bbe21ccd01"),),
            _PREPARE.format(key="cifar100"), citation="krizhevsky2009learning", num_classes=100,
        ),
        DatasetSpec(
            "cifar100_train", "CIFAR-100 train subset", "id",
            (DataFile("cifar100_train_subset.npz", "9acbe35c5b59c4e5159a47739ddd6a46e696c2b5ada13a949a1bbfc3931662d7",
                      "stratified 10,000 of 50,000"),),
            _PREPARE.format(key="cifar100_train"), citation="krizhevsky2009learning", num_classes=100,
        ),
        DatasetSpec(
            "tin", "TinyImageNet", "near",
            (DataFile("tin_test.npz", None, "the 10,000 test images, written by prepare"),
             DataFile("tin.npz", "cab6853a28533c76dd437ae7e4fd48f0dd54d4066316e874a95134fd36e694c6",
                      "partial: 2,742 of the 10,000 test images; not OpenOOD's curated list")),
            _PREPARE.format(key="tin"), citation="le2015tiny",
        ),
        DatasetSpec(
            "mnist", "MNIST", "far",
            (DataFile("mnist_test.npz", "478996f26cd967d82c3502feadb3074d5860cf0ab406d2a08041b5344aa8b894"),),
            _PREPARE.format(key="mnist"), citation="lecun1998gradient",
        ),
        DatasetSpec(
            "svhn", "SVHN", "far", (DataFile("svhn_test.npz"),),
            _PREPARE.format(key="svhn"), citation="netzer2011reading",
        ),
        DatasetSpec(
            "textures", "Textures (DTD)", "far",
            (DataFile("textures.npz", None, "all 47 classes, written by prepare"),
             DataFile("textures_subset10.npz", "186324df67fe86e75867c859ccb2140299453f36cb2af8b6c47f401e3d3a6686",
                      "partial: 10 of the 47 DTD classes (1,200 of 5,640 images)")),
            _PREPARE.format(key="textures"), citation="cimpoi2014describing",
        ),
        DatasetSpec(
            "places365", "Places365", "far", (DataFile("places365.npz"),),
            _PREPARE.format(key="places365"), citation="zhou2017places",
        ),
        DatasetSpec(
            "lsun_crop", "LSUN-Crop", "far", (DataFile("lsun_crop.npz"),),
            _PREPARE.format(key="lsun_crop"), citation="yu2015lsun",
        ),
        DatasetSpec(
            "lsun_resize", "LSUN-Resize", "far", (DataFile("lsun_resize.npz"),),
            _PREPARE.format(key="lsun_resize"), citation="yu2015lsun",
        ),
        DatasetSpec(
            "isun", "iSUN", "far", (DataFile("isun.npz"),),
            _PREPARE.format(key="isun"), citation="xu2015turkergaze",
        ),
        DatasetSpec(
            "gtsrb", "GTSRB", "substitute",
            (DataFile("gtsrb_substitute.npz", "225d811eac25c713b21b90d42e5da82b7220df17a08add20c357d34f1dd2542a"),),
            "shipped in shared/data only (see SOURCES.md); there is no official download of this subset",
            stands_in_for="SVHN", citation="stallkamp2012man",
        ),
        DatasetSpec(
            "intel_scenes", "Intel scenes", "substitute",
            (DataFile("intel_scenes_substitute.npz",
                      "8dacaffbfddfdfe86e33084865f7bd1e6a2fd58d54a938582e8aec0327469be4"),),
            "shipped in shared/data only (see SOURCES.md)", stands_in_for="Places365 / LSUN",
        ),
        DatasetSpec(
            "scene15", "Scene-15 (grayscale)", "substitute",
            (DataFile("scene15_substitute.npz", "27f25b2ae0da3be0ea91b0236d176ea04b6be83a8ed158ec3ef042b11593a002"),),
            "shipped in shared/data only (see SOURCES.md)", stands_in_for="LSUN / iSUN",
            citation="lazebnik2006beyond",
        ),
    ]
}

# OOD sets of each ID dataset, in the order the tables show them.
NEAR_OOD = {"cifar10": ("cifar100", "tin"), "cifar100": ("cifar10", "tin")}
FAR_OOD = ("mnist", "svhn", "textures", "places365", "lsun_crop", "lsun_resize", "isun")
SUBSTITUTES = ("gtsrb", "intel_scenes", "scene15")


def ood_sets(id_dataset: str) -> tuple[str, ...]:
    """Every OOD set of the benchmark for ``id_dataset``: near, far, then substitutes."""
    if id_dataset not in NEAR_OOD:
        raise KeyError(f"unknown ID dataset {id_dataset!r}; expected one of {sorted(NEAR_OOD)}")
    return NEAR_OOD[id_dataset] + FAR_OOD + SUBSTITUTES


def ood_group(id_dataset: str, ood: str) -> str:
    """'near', 'far' or 'substitute' for an OOD set of ``id_dataset``."""
    if ood in NEAR_OOD[id_dataset]:
        return "near"
    return "substitute" if DATASETS[ood].is_substitute else "far"


class DatasetUnavailableError(FileNotFoundError):
    """A benchmark set is missing or its checksum does not match."""


class DatasetCorruptError(DatasetUnavailableError):
    """A benchmark file exists but its checksum does not match (or it has none)."""


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
        from .cache import array_digest

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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return sha256_of(path)  # cached per (path, mtime, size): hashing 28 MB takes ~0.1 s


def _verified_sha(path: Path, expected: str | None) -> str:
    """sha256 of ``path``, checked against its ``.sha256`` sidecar (written by ``prepare``) when
    there is one, else against the registry's checksum of the shipped file."""
    stat = path.stat()
    actual = _digest(path, stat.st_mtime_ns, stat.st_size)
    side = path.with_name(path.name + ".sha256")
    if side.exists():
        expected = side.read_text().split()[0]
    if expected is None:
        raise DatasetCorruptError(
            f"{path} has no known checksum: the registry gives none and there is no {side.name} beside it; "
            "files written by `python -m ood_nb_utils data prepare` come with one"
        )
    if actual != expected:
        raise DatasetCorruptError(
            f"{path} is corrupt or a different file: sha256 {actual[:16]}..., expected {expected[:16]}...; "
            "delete it and fetch it again"
        )
    return actual


def find_file(key: str, directory: Path | None = None) -> tuple[Path, DataFile]:
    """The first candidate file of ``key`` present in the data directory, checksum verified."""
    spec = _spec(key)
    directory = data_dir() if directory is None else directory
    for candidate in spec.files:
        path = directory / candidate.filename
        if not path.exists():
            continue
        _verified_sha(path, candidate.sha256)
        return path, candidate
    names = ", ".join(sorted({f.filename for f in spec.files}))
    raise DatasetUnavailableError(
        f"dataset '{key}' ({spec.display_name}) not found: looked for {names} in {directory} "
        f"(set OOD_NB_DATA_DIR to change the folder). To get it: {spec.how_to_get}."
    )


def _spec(key: str) -> DatasetSpec:
    if key not in DATASETS:
        raise KeyError(f"unknown dataset {key!r}; known sets: {', '.join(DATASETS)}")
    return DATASETS[key]


def is_available(key: str) -> bool:
    try:
        find_file(key)
    except DatasetUnavailableError:
        return False
    return True


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
    return (t - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


# how a set's file becomes 32 x 32 RGB uint8 (to_rgb32); the normalisation belongs to the model
PREPROCESSING_ID = "rgb32-bilinear"


def subset_indices(labels: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subset of size ``n`` (all when ``n`` is None or >= N).

    Stratified by label when every label is >= 0: each class keeps ``n // C`` images, and the
    remainder goes to a seeded choice among the rest, so class balance is kept.
    """
    total = len(labels)
    if n is None or n >= total:
        return np.arange(total)
    rng = np.random.default_rng(seed)
    if labels.min() < 0:
        return np.sort(rng.choice(total, n, replace=False))
    classes = np.unique(labels)
    per_class = n // len(classes)
    chosen = [rng.choice(np.flatnonzero(labels == c), min(per_class, int((labels == c).sum())), replace=False)
              for c in classes]
    picked = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    rest = np.setdiff1d(np.arange(total), picked)
    extra = rng.choice(rest, n - len(picked), replace=False) if n > len(picked) else np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate([picked, extra]).astype(np.int64))


def per_class_fraction(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted positions of a seeded subset keeping ``ceil(fraction * n_c)`` images of every class c."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    labels = np.asarray(labels)
    if labels.min() < 0:
        raise ValueError("per-class subsets need class labels >= 0")
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        picked.append(rng.choice(members, max(1, math.ceil(fraction * len(members) - 1e-9)), replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64)


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
    sha = _verified_sha(path, candidate.sha256)
    return ImageSet(key, to_rgb32(images[idx]), labels[idx], path, sha, candidate.note, idx)


def heldout_indices(labels: np.ndarray, used: np.ndarray, n: int = 1000, seed: int = 0) -> np.ndarray:
    """A seeded, stratified subset of ``n`` positions that are *not* in ``used`` (e.g. the train
    images a method fitted on), for hyperparameter searches on held-out ID data."""
    free = np.setdiff1d(np.arange(len(labels)), used)
    if len(free) == 0:
        raise ValueError("no held-out images left: every train image is used for fitting (lower the profile's train)")
    return free[subset_indices(labels[free], min(n, len(free)), seed)]


def labels_of(key: str) -> np.ndarray:
    """The labels of every image of set ``key`` (int64, -1 where a set has none)."""
    with np.load(find_file(key)[0]) as archive:
        return archive["labels"].astype(np.int64)


ID_VALIDATION_N = 1000  # ID *test* images set aside as validation data and never scored (issue 13)
ID_VALIDATION_SEED = 0  # fixed, not the profile's seed: every profile and run scores the same images


def id_validation_split(labels: np.ndarray, n: int = ID_VALIDATION_N) -> tuple[np.ndarray, np.ndarray]:
    """(validation positions, scored positions) of an ID test set with ``labels``: a fixed, stratified,
    seeded ``n``-image split that hyperparameter searches and eCDF references use, and the rest, which is
    all that is ever scored as ID. The DICE checkpoints trained on every CIFAR *train* image, so
    unseen ID images for "validation data" can only come from the test set."""
    if not 0 < n < len(labels):
        raise ValueError(f"the ID validation split needs 0 < n < {len(labels)} images, got n={n}")
    validation = subset_indices(labels, n, ID_VALIDATION_SEED)
    return validation, np.setdiff1d(np.arange(len(labels)), validation)


def load_heldout(key: str, used: np.ndarray, n: int = 1000, seed: int = 0) -> ImageSet:
    """:func:`heldout_indices` of set ``key`` loaded as images: ``n`` images that are not in ``used``
    (a fit subset of train images, or the test rows of an OOD set carved into a validation split)."""
    return load(key, indices=heldout_indices(labels_of(key), used, n, seed))


def role_size(profile: Profile, key: str, id_dataset: str | None = None) -> int | None:
    """How many images of ``key`` a profile uses (None = all)."""
    if key in NEAR_OOD:  # a CIFAR test set, as ID or as the other CIFAR's near-OOD
        return profile.id_test if (id_dataset is None or key == id_dataset) else profile.near_cifar
    if key.endswith("_train"):
        return profile.train
    return profile.ood


def availability() -> list[dict]:
    """One row per registered set: status ("ok", "missing" or "corrupt": present but failing its checksum),
    N, real or substitute, file, note."""
    rows = []
    for spec in DATASETS.values():
        row = {"key": spec.key, "dataset": spec.display_name, "role": spec.role,
               "kind": "SUBSTITUTE" if spec.is_substitute else "real"}
        try:
            path, candidate = find_file(spec.key)
            with np.load(path) as archive:
                n = len(archive["labels"])
            row.update(status="ok", available=True, n=n, file=path.name, note=candidate.note)
        except DatasetCorruptError as err:
            row.update(status="corrupt", available=False, n=0, file="", note=str(err))
        except DatasetUnavailableError:
            row.update(status="missing", available=False, n=0, file="", note=f"missing: {spec.how_to_get}")
        rows.append(row)
    return rows
