"""The run context: which network, which profile, and therefore which images everything uses.

Nothing below the command line and :func:`ood_nb_utils.chapter.start` reads the profile from the
environment: a :class:`RunContext` is built from an explicit :class:`~ood_nb_utils.config.Profile`
and handed to :func:`~ood_nb_utils.evaluation.evaluate` and to every detector's ``fit``. It knows

- the adapter (:attr:`RunContext.adapter`) and its head;
- the profile-sized features of every set (:meth:`RunContext.features`, memoised per process);
- the ID **train** features methods fit on (:attr:`RunContext.train`);
- **held-out** ID images that no method fits on (:meth:`RunContext.heldout_images`) and their
  corrupted copies (:meth:`RunContext.pseudo_ood`), for hyperparameter searches and eCDF references.

For your own network, pass ``train=`` (its features) and ``heldout=`` (uint8 images it never
fitted on) instead of a registered ID dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import Profile
from .data import ImageSet, load, load_heldout, role_size, subset_indices
from .features import Features, extract
from .models import CHECKPOINTS, Head, ModelAdapter, load_model

HELDOUT_N = 1000  # held-out ID images for pseudo-OOD searches (NAP App. H) and AdaSCALE's eCDF (n_val)


@dataclass(frozen=True)
class PseudoOOD:
    """Held-out ID images, clean and corrupted (NAP App. H): the validation data of hyperparameter searches."""

    clean_images: ImageSet
    corrupted_images: ImageSet
    clean: Features
    corrupted: Features
    recipe: list[tuple[str, int]]

    @property
    def validation(self) -> tuple[Features, Features]:
        """(ID, OOD) features for :func:`~ood_nb_utils.tuning.tune`."""
        return self.clean, self.corrupted


@dataclass
class RunContext:
    """See the module docstring. Build it with :meth:`for_model` for a registered checkpoint."""

    adapter: ModelAdapter
    profile: Profile
    id_dataset: str | None = None
    progress: bool = True
    train_features: Features | None = None
    heldout: ImageSet | None = None
    _memo: dict = field(default_factory=dict, repr=False)

    @classmethod
    def for_model(cls, model: str, profile: Profile, *, progress: bool = True) -> RunContext:
        """The context of a registered checkpoint (``densenet100-cifar10``, ...) under ``profile``."""
        if model not in CHECKPOINTS:
            raise KeyError(f"unknown model {model!r}; known: {', '.join(CHECKPOINTS)}")
        return cls(load_model(model), profile, CHECKPOINTS[model].id_dataset, progress)

    @property
    def model(self) -> str:
        return self.adapter.name

    @property
    def head(self) -> Head:
        return self.adapter.head

    # --- images and features of registered sets ---------------------------------------------------
    def size(self, dataset: str) -> int | None:
        """How many images of ``dataset`` the profile uses (None = all)."""
        return role_size(self.profile, dataset, self.id_dataset)

    def images(self, dataset: str, n: int | None = None) -> ImageSet:
        """A seeded subset of ``dataset`` (``n`` images; the profile's size when None)."""
        return load(dataset, n=self.size(dataset) if n is None else n, seed=self.profile.seed)

    def gradient_images(self, dataset: str) -> ImageSet:
        """The subset network-based methods score (``profile.gradient_per_set`` images)."""
        return load(dataset, n=self.profile.gradient_per_set, seed=self.profile.seed)

    def features(self, dataset: str) -> Features:
        """Cached features of the profile's subset of ``dataset``."""
        key = ("features", dataset)
        if key not in self._memo:
            self._memo[key] = extract(self.adapter, self.images(dataset), progress=self.progress)
        return self._memo[key]

    @property
    def id_test(self) -> Features:
        if self.id_dataset is None:
            raise ValueError("this context has no registered ID dataset; score your own test features directly")
        return self.features(self.id_dataset)

    @property
    def train(self) -> Features:
        """The ID train features methods fit on (the profile's stratified subset of the train file)."""
        if self.train_features is not None:
            return self.train_features
        if self.id_dataset is None:
            raise ValueError("this context has no ID train set: pass train_features=extract(adapter, your_images)")
        return self.features(f"{self.id_dataset}_train")

    # --- held-out ID images --------------------------------------------------------------------------
    def heldout_images(self, n: int = HELDOUT_N, seed: int | None = None) -> ImageSet:
        """``n`` stratified ID images that no method fits on (train-file images outside the fit subset, or
        the ``heldout`` images given to this context)."""
        seed = self.profile.seed if seed is None else seed
        if self.heldout is not None:
            if n >= len(self.heldout):
                return self.heldout
            labels = self.heldout.labels
            rows = subset_indices(labels, n, seed) if labels.min() >= 0 else np.arange(n)
            return self.heldout.subset(rows)
        train = self.train
        return load_heldout(train.dataset, train.arrays["indices"], n, seed)

    def pseudo_ood(self, n: int = HELDOUT_N, seed: int | None = None) -> PseudoOOD:
        """Held-out ID images and their seeded corrupted copies, with their features (memoised)."""
        from .pseudo_ood import corrupted_copy

        seed = self.profile.seed if seed is None else seed
        key = ("pseudo_ood", n, seed)
        if key not in self._memo:
            clean = self.heldout_images(n, seed)
            corrupted, recipe = corrupted_copy(clean, seed)
            self._memo[key] = PseudoOOD(clean, corrupted, extract(self.adapter, clean, progress=self.progress),
                                        extract(self.adapter, corrupted, progress=self.progress), recipe)
        return self._memo[key]
