"""Held-out ID images and their corrupted copies: the pseudo-OOD data of hyperparameter searches.

The held-out images come from the ID train file but are never among the images a method fits on
(``train.arrays["indices"]``), and never from any test set. Their corrupted copies
(:mod:`ood_nb_utils.corruptions`, a seeded random family and severity per image) stand in for
OOD data, as in NAP's Appendix H.
"""

from __future__ import annotations

import numpy as np

from . import corruptions
from .cache import array_digest
from .data import ImageSet, load_heldout
from .features import Features, extract_images

HELDOUT_N = 1000
CORRUPTION_VERSION = 2  # bump when corruptions.py changes its pixels


_MEMO: dict[tuple, tuple[Features, Features, list[tuple[str, int]]]] = {}


def heldout_images(train: Features, n: int = HELDOUT_N, seed: int = 0) -> ImageSet:
    """``n`` stratified train-file images that ``train`` (the fit subset) does not contain."""
    return load_heldout(train.dataset, train.arrays["indices"], n, seed)


def heldout_features(train: Features, n: int = HELDOUT_N, seed: int = 0,
                     progress: bool = True) -> tuple[Features, Features, list[tuple[str, int]]]:
    """Features of the held-out images, clean and corrupted, plus the corruption recipe.

    Memoised per process: every NAP-X method of a model searches its w on the same images.
    """
    key = (train.model, train.dataset, array_digest(train.arrays["indices"]), n, seed)
    if key not in _MEMO:
        _MEMO[key] = _heldout_features(train, n, seed, progress)
    return _MEMO[key]


def corrupted_copy(clean: ImageSet, seed: int = 0) -> tuple[ImageSet, dict, list[tuple[str, int]]]:
    """Seeded corrupted copies of ``clean``, the cache-key ``transform`` that names them, and the recipe."""
    corrupted, recipe = corruptions.pseudo_ood(clean.images, seed=seed)
    corrupted_set = ImageSet(clean.key, corrupted, clean.labels, clean.path, clean.sha256,
                             "corrupted held-out ID images", clean.indices)
    spec = {"name": "corrupted", "seed": seed, "families": sorted(corruptions.CORRUPTIONS),
            "version": CORRUPTION_VERSION}
    return corrupted_set, spec, recipe


def _heldout_features(train: Features, n: int, seed: int,
                      progress: bool) -> tuple[Features, Features, list[tuple[str, int]]]:
    clean = heldout_images(train, n, seed)
    corrupted_set, spec, recipe = corrupted_copy(clean, seed)
    return (extract_images(train.model, clean, progress=progress),
            extract_images(train.model, corrupted_set, transform=spec, progress=progress), recipe)


def recipe_counts(recipe: list[tuple[str, int]]) -> dict[str, int]:
    names, counts = np.unique([name for name, _ in recipe], return_counts=True)
    return dict(zip(names.tolist(), counts.tolist(), strict=True))
