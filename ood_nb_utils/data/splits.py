"""Seeded, stratified subsets of a set, and the fixed split of an ID test set that is never scored."""

from __future__ import annotations

import math

import numpy as np

from ..config import Profile
from .catalog import NEAR_OOD

# ID *test* images set aside as validation data and never scored; also how many held-out ID images a search or an
# eCDF reference uses unless told otherwise (detectors.heldout.HELDOUT_N)
ID_VALIDATION_N = 1000
ID_VALIDATION_SEED = 0  # fixed, not the profile's seed: every profile and run scores the same images


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


def heldout_indices(labels: np.ndarray, used: np.ndarray, n: int = ID_VALIDATION_N, seed: int = 0) -> np.ndarray:
    """A seeded, stratified subset of ``n`` positions that are *not* in ``used`` (e.g. the train
    images a method fitted on), for hyperparameter searches on held-out ID data."""
    free = np.setdiff1d(np.arange(len(labels)), used)
    if len(free) == 0:
        raise ValueError("no held-out images left: every train image is used for fitting (lower the profile's train)")
    return free[subset_indices(labels[free], min(n, len(free)), seed)]


def id_validation_split(labels: np.ndarray, n: int = ID_VALIDATION_N) -> tuple[np.ndarray, np.ndarray]:
    """(validation positions, scored positions) of an ID test set with ``labels``: a fixed, stratified,
    seeded ``n``-image split that hyperparameter searches and eCDF references use, and the rest, which is
    all that is ever scored as ID. The DICE checkpoints trained on every CIFAR *train* image, so
    unseen ID images for "validation data" can only come from the test set."""
    if not 0 < n < len(labels):
        raise ValueError(f"the ID validation split needs 0 < n < {len(labels)} images, got n={n}")
    validation = subset_indices(labels, n, ID_VALIDATION_SEED)
    return validation, np.setdiff1d(np.arange(len(labels)), validation)


def role_size(profile: Profile, key: str, id_dataset: str | None = None) -> int | None:
    """How many images of ``key`` a profile uses (None = all)."""
    if key in NEAR_OOD:  # a CIFAR test set, as ID or as the other CIFAR's near-OOD
        return profile.id_test if (id_dataset is None or key == id_dataset) else profile.near_cifar
    if key.endswith("_train"):
        return profile.train
    return profile.ood
