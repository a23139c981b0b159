"""Corrupted copies of held-out ID images: the pseudo-OOD data of hyperparameter searches (NAP App. H).

:class:`~ood_nb_utils.context.RunContext` picks the held-out images (ID images no method fits on) and
calls :func:`corrupted_copy`; each image gets a seeded random family and severity of
:mod:`ood_nb_utils.corruptions`. The copy records its recipe in ``ImageSet.transform``, so cache
keys of the corrupted images differ from the clean ones.
"""

from __future__ import annotations

import numpy as np

from . import corruptions
from .data import ImageSet

CORRUPTION_VERSION = 2  # bump when corruptions.py changes its pixels


def corrupted_copy(clean: ImageSet, seed: int = 0) -> tuple[ImageSet, list[tuple[str, int]]]:
    """Seeded corrupted copies of ``clean`` (their ``transform`` names the recipe), and the recipe."""
    corrupted, recipe = corruptions.pseudo_ood(clean.images, seed=seed)
    spec = {"name": "corrupted", "seed": seed, "families": sorted(corruptions.CORRUPTIONS),
            "version": CORRUPTION_VERSION}
    if clean.transform is not None:
        spec["of"] = clean.transform
    return ImageSet(clean.key, corrupted, clean.labels, clean.path, clean.sha256, "corrupted held-out ID images",
                    clean.indices, spec), recipe


def recipe_counts(recipe: list[tuple[str, int]]) -> dict[str, int]:
    """How many images each corruption family got."""
    names, counts = np.unique([name for name, _ in recipe], return_counts=True)
    return dict(zip(names.tolist(), counts.tolist(), strict=True))
