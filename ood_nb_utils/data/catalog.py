"""The registry of benchmark sets: what each set is, where its file lives, its checksum, and availability.

Every set is stored as a ``numpy.savez_compressed`` archive with ``images`` (uint8, N x H x W x 3,
or N x 28 x 28 for MNIST) and ``labels`` (int64, -1 where there is none) in the data directory
(:func:`ood_nb_utils.config.data_dir`). A set may have several candidate files (e.g. the full
DTD written by ``prepare`` and the 10-class subset shipped in ``shared/``); the first present
one is used and its sha256 is checked against the registry or against the ``.sha256`` file
that ``prepare`` writes beside it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import data_dir

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

# how many images the networks' training sets hold (the train files here are subsets of them): a KNN bank's share
FULL_TRAIN_SIZE = {"cifar10_train": 50_000, "cifar100_train": 50_000}

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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return sha256_of(path)  # cached per (path, mtime, size): a set is hashed once per process


def verified_sha256(path: Path, expected: str | None) -> str:
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
        verified_sha256(path, candidate.sha256)
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
