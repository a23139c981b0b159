"""Benchmark sets: the registry and its checksums (:mod:`.catalog`), images and their preprocessing
(:mod:`.images`), seeded subsets and the ID validation split (:mod:`.splits`), and the corruptions of pseudo-OOD
data (:mod:`.corruptions`). Everything a chapter or a user needs is importable from here."""

from . import corruptions
from .catalog import (
    DATASETS,
    FAR_OOD,
    NEAR_OOD,
    ROLES,
    SUBSTITUTES,
    DataFile,
    DatasetCorruptError,
    DatasetSpec,
    DatasetUnavailableError,
    availability,
    find_file,
    is_available,
    ood_group,
    ood_sets,
    sha256_of,
)
from .corruptions import corrupted_copy, recipe_counts
from .folders import ImageFolderSet
from .images import (
    CIFAR_MEAN,
    CIFAR_STD,
    PREPROCESSING_ID,
    ImageSet,
    image_identity,
    labels_of,
    load,
    load_heldout,
    normalize,
    to_rgb32,
)
from .splits import (
    ID_VALIDATION_N,
    ID_VALIDATION_SEED,
    heldout_indices,
    id_validation_split,
    per_class_fraction,
    role_size,
    subset_indices,
)

__all__ = ["ImageFolderSet",
    "CIFAR_MEAN", "CIFAR_STD", "DATASETS", "FAR_OOD", "ID_VALIDATION_N", "ID_VALIDATION_SEED", "NEAR_OOD",
    "PREPROCESSING_ID", "ROLES", "SUBSTITUTES", "DataFile", "DatasetCorruptError", "DatasetSpec",
    "DatasetUnavailableError", "ImageSet", "availability", "corrupted_copy", "corruptions", "find_file",
    "heldout_indices", "id_validation_split", "image_identity", "is_available", "labels_of", "load", "load_heldout",
    "normalize", "ood_group", "ood_sets", "per_class_fraction", "recipe_counts", "role_size", "sha256_of",
    "subset_indices", "to_rgb32",
]
