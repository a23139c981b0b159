"""Held-out ID images: the validation data of the detectors that search a hyperparameter or calibrate.

Two kinds of detector need ID images that they neither fit on nor will score:

- a **search on pseudo-OOD data**: NAP-X with ``w=None`` picks its weight w on held-out ID images against their
  corrupted copies (NAP Sec. 4.2 and App. H), and so do the cross-paper combinations;
- a **reference distribution**: AdaSCALE builds the eCDF of Q' from ID validation images (Algorithm 1, "precomputed
  empirical CDF"; Sec. 5 uses n_val of them).

:class:`HeldOut` holds those images with the adapter that runs them, hands out seeded subsets of them
(:meth:`HeldOut.images`) and builds their corrupted copies with features (:meth:`HeldOut.pseudo_ood`). Pass one to
``fit``::

    heldout = HeldOut(adapter, val_images, val_labels)       # uint8 N x H x W x 3, never scored
    NapE().fit(train, adapter.head, heldout)                 # w searched on heldout vs corrupted copies
    AdaScaleA(setting="cifar10-densenet").fit(None, adapter.head, heldout, adapter=adapter)

The held-out images must not overlap the images you score, and should not be images the network trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import ID_VALIDATION_N, ImageSet, corrupted_copy, subset_indices
from ..extraction.features import Features, extract
from ..models.adapter import ModelAdapter

# how many held-out images a detector uses unless told otherwise: the whole 1,000-image ID validation split
HELDOUT_N = ID_VALIDATION_N


@dataclass(frozen=True)
class PseudoOOD:
    """Held-out ID images, clean and corrupted (NAP App. H), with their features: a search's validation data."""

    clean_images: ImageSet
    corrupted_images: ImageSet
    clean: Features
    corrupted: Features
    recipe: list[tuple[str, int]]

    @property
    def validation(self) -> tuple[Features, Features]:
        """(ID, OOD) features for :func:`~ood_nb_utils.detectors.tuning.tune`."""
        return self.clean, self.corrupted

    def for_detector(self, detector) -> tuple:
        """What ``detector`` scores of this pair: the images for a network-based one, else the features."""
        return (self.clean_images, self.corrupted_images) if detector.needs.network else self.validation


class HeldOut:
    """Held-out ID images for the detectors that tune or calibrate on them (see the module docstring).

    ``images``: uint8 N x H x W x 3 (or an :class:`~ood_nb_utils.data.ImageSet`); ``labels`` optional (with
    labels, subsets are stratified by class). ``seed`` draws the subsets and the corruptions.
    """

    def __init__(self, adapter: ModelAdapter, images, labels=None, *, seed: int = 0, progress: bool = False) -> None:
        if not isinstance(adapter, ModelAdapter):
            raise TypeError(f"HeldOut's first argument is the ModelAdapter that runs the images, got "
                            f"{type(adapter).__name__}")
        if isinstance(images, ImageSet):
            if labels is not None:
                raise ValueError("an ImageSet carries its own labels; do not pass labels too")
            self.all_images = images
        else:
            self.all_images = ImageSet.from_array(images, labels, name="heldout")
        if len(self.all_images) == 0:
            raise ValueError("HeldOut needs at least one image")
        self.adapter, self.seed, self.progress = adapter, seed, progress
        self._pseudo: dict[int | None, PseudoOOD] = {}

    def __len__(self) -> int:
        return len(self.all_images)

    def __repr__(self) -> str:
        return f"HeldOut({self.adapter.name}, {len(self)} images)"

    def images(self, n: int | None = HELDOUT_N) -> ImageSet:
        """``n`` of the held-out images (all of them when ``n`` is None or at least their number): a seeded subset,
        stratified by class when every image has a label, else the first ``n``."""
        if n is None or n >= len(self.all_images):
            return self.all_images
        if n <= 0:
            raise ValueError(f"asked for {n} held-out images; ask for at least one")
        labels = self.all_images.labels
        rows = subset_indices(labels, n, self.seed) if labels.min() >= 0 else np.arange(n)
        return self.all_images.subset(rows)

    def features(self, images: ImageSet) -> Features:
        """Cached features of some of the held-out images (or of their corrupted copies)."""
        return extract(self.adapter, images, progress=self.progress)

    def pseudo_ood(self, n: int | None = HELDOUT_N) -> PseudoOOD:
        """:meth:`images` (``n``) and their seeded corrupted copies, with the features of both (kept per ``n``)."""
        if n not in self._pseudo:
            clean = self.images(n)
            corrupted, recipe = corrupted_copy(clean, self.seed)
            self._pseudo[n] = PseudoOOD(clean, corrupted, self.features(clean), self.features(corrupted), recipe)
        return self._pseudo[n]

    def sizes(self) -> dict[str, int]:
        """Where the held-out images came from, for a detector's ``fit_info_.sizes`` (nothing to add here)."""
        return {}


def require_heldout(detector, heldout: HeldOut | None, why: str, otherwise: str = "") -> HeldOut:
    """``heldout``, or a ValueError that says why ``detector`` needs it, how to give it, and ``otherwise``."""
    if heldout is None:
        raise ValueError(f"{detector.title} {why}: pass them as fit(train, head, HeldOut(adapter, images, labels)), "
                         f"ID images it never fits on or scores{otherwise}")
    if not isinstance(heldout, HeldOut):
        raise TypeError(f"heldout must be a HeldOut (ood_nb_utils.HeldOut(adapter, images, labels)), got "
                        f"{type(heldout).__name__}")
    return heldout
