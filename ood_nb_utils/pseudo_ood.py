"""Corrupted copies of held-out ID images: the pseudo-OOD data of hyperparameter searches (NAP App. H).

:class:`~ood_nb_utils.context.RunContext` picks the held-out images (ID images no method fits on) and
calls :func:`corrupted_copy`; each image gets a seeded random family and severity of
:mod:`ood_nb_utils.corruptions`. The copy records its recipe in ``ImageSet.transform``, so cache
keys of the corrupted images differ from the clean ones. The corrupted pixels are cached on disk (kind
``corrupted``, keyed by the clean set's identity and the recipe's seed and version), so every chapter after the
first reads them instead of corrupting the same images again.
"""

from __future__ import annotations

import numpy as np

from . import cache, corruptions
from .data import ImageSet

CORRUPTION_VERSION = 2  # bump when corruptions.py changes its pixels


def corrupted_copy(clean: ImageSet, seed: int = 0) -> tuple[ImageSet, list[tuple[str, int]]]:
    """Seeded corrupted copies of ``clean`` (their ``transform`` names the recipe), and the recipe (cached)."""
    from .features import image_identity

    spec = {"name": "corrupted", "seed": seed, "families": sorted(corruptions.CORRUPTIONS),
            "version": CORRUPTION_VERSION}
    if clean.transform is not None:
        spec["of"] = clean.transform
    families = tuple(corruptions.CORRUPTIONS)

    def compute() -> dict[str, np.ndarray]:
        images, recipe = corruptions.pseudo_ood(clean.images, seed=seed)
        return {"images": images, "family": np.array([families.index(f) for f, _ in recipe], dtype=np.int64),
                "severity": np.array([s for _, s in recipe], dtype=np.int64)}

    arrays = cache.load_or_compute("corrupted", {**image_identity(clean), "corruption": spec,
                                                 "family_order": list(families)}, compute)
    corrupted = arrays["images"]
    recipe = [(families[f], int(s)) for f, s in zip(arrays["family"].tolist(), arrays["severity"], strict=True)]
    return ImageSet(clean.key, corrupted, clean.labels, clean.path, clean.sha256, "corrupted held-out ID images",
                    clean.indices, spec), recipe


def recipe_counts(recipe: list[tuple[str, int]]) -> dict[str, int]:
    """How many images each corruption family got."""
    names, counts = np.unique([name for name, _ in recipe], return_counts=True)
    return dict(zip(names.tolist(), counts.tolist(), strict=True))
