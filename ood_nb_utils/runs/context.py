"""The run context: which network, which profile, and therefore which images everything uses.

Nothing below the command line and :func:`ood_nb_utils.lectures.chapter.start` reads the profile from the
environment: a :class:`RunContext` is built from an explicit :class:`~ood_nb_utils.config.Profile`
and handed to :func:`~ood_nb_utils.evaluation.evaluate`, which gives each detector what it takes. It knows

- the adapter (:attr:`RunContext.adapter`) and its head;
- the profile-sized features of every set (:meth:`RunContext.features`, memoised per process);
- the ID **train** features methods fit on (:attr:`RunContext.train`);
- the ID **test** images that are scored (:attr:`RunContext.id_test`): every test image except a fixed
  1,000-image **validation split** (:func:`~ood_nb_utils.data.id_validation_split`), which is never scored;
- **held-out** ID images that no method fits on (:meth:`RunContext.heldout_images`), handed to the detectors as a
  :class:`~ood_nb_utils.detectors.heldout.HeldOut` (:meth:`RunContext.held_out`) that also builds their corrupted
  copies (:meth:`RunContext.pseudo_ood`), for hyperparameter searches and eCDF references:
  by default that validation split. The DICE checkpoints trained on all 50,000 CIFAR train images, so
  train images are not unseen ID data; ``heldout_from="train"`` (train-file images outside the fit
  subset, the book's earlier choice) is kept to show how much the choice matters.

The detectors never see a context: on your own network, fit them with your features and a
:class:`~ood_nb_utils.detectors.heldout.HeldOut` of your held-out images.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..config import Profile
from ..data import (
    ID_VALIDATION_N,
    ImageSet,
    id_validation_split,
    labels_of,
    load,
    load_heldout,
    role_size,
    subset_indices,
)
from ..detectors.heldout import HELDOUT_N, HeldOut, PseudoOOD
from ..extraction.features import Features, extract
from ..models import CHECKPOINTS, Architecture, Head, ModelAdapter, load_model
from ..scorers import fit_react

HELDOUT_SOURCES = ("test", "train")


class ContextHeldOut(HeldOut):
    """The held-out ID images of a :class:`RunContext`, as the detectors take them: its ID validation split (or
    train-file images outside the fit subset, ``source="train"``), with the context's features of them."""

    def __init__(self, context: RunContext, source: str) -> None:
        # no HeldOut.__init__: the images are not held here but drawn from the context's split on demand
        self.context, self.source = context, source
        self.adapter, self.seed, self.progress = context.adapter, context.profile.seed, context.progress
        self._pseudo = {}

    def __len__(self) -> int:
        ctx = self.context
        if ctx.heldout is not None:
            return len(ctx.heldout)
        if self.source == "train":
            return len(labels_of(ctx.train.dataset)) - len(ctx.train)
        return ctx.validation_n

    def __repr__(self) -> str:
        return f"ContextHeldOut({self.adapter.name}, source={self.source!r})"

    @property
    def all_images(self) -> ImageSet:
        return self.images(None)

    def images(self, n: int | None = HELDOUT_N) -> ImageSet:
        return self.context.heldout_images(len(self) if n is None else n, source=self.source)

    def features(self, images: ImageSet) -> Features:
        return self.context._features_of(images)

    def sizes(self) -> dict[str, int]:
        return self.context.heldout_sizes()


@dataclass
class RunContext:
    """See the module docstring. Build it with :meth:`for_model` for a registered checkpoint."""

    adapter: ModelAdapter
    profile: Profile
    id_dataset: str | None = None
    progress: bool = True
    train_features: Features | None = None
    heldout: ImageSet | None = None
    validation_n: int = ID_VALIDATION_N
    heldout_from: str = "test"
    subsets_outside_split: bool = False
    _memo: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.heldout_from not in HELDOUT_SOURCES:
            raise ValueError(f"heldout_from must be one of {HELDOUT_SOURCES}, got {self.heldout_from!r}")
        if self.heldout_from == "test" and self.validation_n <= 0 and self.heldout is None:
            raise ValueError("heldout_from='test' needs an ID validation split: set validation_n > 0, or "
                             "heldout_from='train'")

    @classmethod
    def for_model(cls, model: str, profile: Profile, *, progress: bool = True, validation_n: int = ID_VALIDATION_N,
                  heldout_from: str = "test", subsets_outside_split: bool = False) -> RunContext:
        """The context of a registered checkpoint (``densenet100-cifar10``, ...) under ``profile``.

        ``validation_n`` ID test images are set aside and never scored (0: none, every test image is scored);
        ``heldout_from`` says where held-out ID images come from: ``"test"`` (that split) or ``"train"``
        (train-file images outside the fit subset, which the DICE checkpoints were trained on).
        ``subsets_outside_split`` (with ``validation_n=0``): a *subset* of the ID test set, such as the images the
        network-based methods score, is still drawn from outside the fixed :data:`ID_VALIDATION_N`-image split,
        so it is the same subset a context with that split scores (and its cached ODIN scores are shared)."""
        if model not in CHECKPOINTS:
            raise KeyError(f"unknown model {model!r}; known: {', '.join(CHECKPOINTS)}")
        return cls(load_model(model), profile, CHECKPOINTS[model].id_dataset, progress,
                   validation_n=validation_n, heldout_from=heldout_from, subsets_outside_split=subsets_outside_split)

    def with_heldout_from(self, source: str) -> RunContext:
        """The same context (same scored images, shared memo) with held-out ID images from ``source``."""
        return dataclasses.replace(self, heldout_from=source)

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

    def _split(self, dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(labels, validation positions, scored positions) when ``dataset`` is this context's ID test set and
        a validation split is set aside; None otherwise."""
        if dataset != self.id_dataset or self.validation_n <= 0:
            return None
        return self._fixed_split(dataset, self.validation_n)

    def _fixed_split(self, dataset: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = ("split", dataset, n)
        if key not in self._memo:
            labels = labels_of(dataset)
            self._memo[key] = (labels, *id_validation_split(labels, n))
        return self._memo[key]

    def _pick(self, dataset: str, n: int | None, seed: int) -> ImageSet:
        """A seeded subset of ``n`` images (all when None); of the ID test set, only from the scored rows (and
        a subset from outside the fixed split when ``subsets_outside_split``)."""
        split = self._split(dataset)
        if split is None and n is not None and self.subsets_outside_split and dataset == self.id_dataset:
            split = self._fixed_split(dataset, ID_VALIDATION_N)
        if split is None:
            return load(dataset, n=n, seed=seed)
        labels, _, scored = split
        return load(dataset, indices=scored[subset_indices(labels[scored], n, seed)])

    def images(self, dataset: str, n: int | None = None, seed: int | None = None) -> ImageSet:
        """A seeded subset of ``dataset`` (``n`` images; the profile's size when None). Of the ID test set
        it never includes the validation split."""
        return self._pick(dataset, self.size(dataset) if n is None else n,
                          self.profile.seed if seed is None else seed)

    def gradient_images(self, dataset: str) -> ImageSet:
        """The subset network-based methods score (``profile.gradient_per_set`` images)."""
        return self._pick(dataset, self.profile.gradient_per_set, self.profile.seed)

    def features(self, dataset: str) -> Features:
        """Cached features of the profile's subset of ``dataset`` (of the ID test set: the scored images)."""
        key = ("features", dataset)
        if key not in self._memo:
            split = self._split(dataset)
            if split is not None and self.size(dataset) is None:  # every scored row: rows of the whole set's cache
                whole = self.whole_features(dataset)
                rows = np.flatnonzero(np.isin(whole.arrays["indices"], split[2]))
                self._memo[key] = whole.subset(rows, name=dataset)
            else:
                self._memo[key] = extract(self.adapter, self.images(dataset), progress=self.progress)
        return self._memo[key]

    def whole_features(self, dataset: str) -> Features:
        """Features of the profile's subset of the whole file, the ID validation split included: for the
        network's accuracy and for tables a paper computes on full test sets (NAP Table 9)."""
        if self._split(dataset) is None:
            return self.features(dataset)
        key = ("whole", dataset)
        if key not in self._memo:
            images = load(dataset, n=self.size(dataset), seed=self.profile.seed)
            self._memo[key] = extract(self.adapter, images, progress=self.progress)
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
    def heldout_images(self, n: int = HELDOUT_N, seed: int | None = None, source: str | None = None) -> ImageSet:
        """``n`` stratified ID images that no method fits on and that are never scored: the ``heldout`` images
        given to this context, else the ID test set's validation split (``source="test"``, the default) or
        train-file images outside the fit subset (``source="train"``)."""
        seed = self.profile.seed if seed is None else seed
        source = self.heldout_from if source is None else source
        if self.heldout is not None:
            if n >= len(self.heldout):
                return self.heldout
            labels = self.heldout.labels
            rows = subset_indices(labels, n, seed) if labels.min() >= 0 else np.arange(n)
            return self.heldout.subset(rows)
        if source == "train":
            train = self.train
            return load_heldout(train.dataset, train.arrays["indices"], n, seed)
        if source != "test":
            raise ValueError(f"source must be one of {HELDOUT_SOURCES}, got {source!r}")
        split = self._split(self.id_dataset) if self.id_dataset is not None else None
        if split is None:
            raise ValueError("no ID validation split to hold out from: build the context with validation_n > 0, "
                             "pass heldout= images, or use source='train'")
        labels, validation, _ = split
        if n > len(validation):
            raise ValueError(f"asked for {n} held-out ID images, but the validation split has {len(validation)}: "
                             f"lower n or build the context with validation_n >= {n}")
        return load(self.id_dataset, indices=validation[subset_indices(labels[validation], n, seed)])

    def heldout_sizes(self) -> dict[str, int]:
        """What held-out images came out of, for a method's ``fit_info_.sizes``."""
        if self.heldout is not None:
            return {}
        if self.heldout_from == "train":
            return {"train (held out from)": len(self.train)}
        return {"ID test validation split (never scored)": self.validation_n}

    def held_out(self, source: str | None = None) -> HeldOut:
        """The held-out ID images as the detectors take them (``fit(train, head, heldout)``), from ``source``
        (default ``heldout_from``); one object per source, so its pseudo-OOD copies are built once."""
        source = self.heldout_from if source is None else source
        if source not in HELDOUT_SOURCES:
            raise ValueError(f"source must be one of {HELDOUT_SOURCES}, got {source!r}")
        key = ("held_out", source, self.heldout is None)
        if key not in self._memo:
            self._memo[key] = ContextHeldOut(self, source)
        return self._memo[key]

    def pseudo_ood(self, n: int = HELDOUT_N, source: str | None = None) -> PseudoOOD:
        """Held-out ID images and their seeded corrupted copies, with their features (memoised)."""
        return self.held_out(source).pseudo_ood(n)

    @property
    def paper_setting(self) -> str | None:
        """The row of a paper's per-network hyperparameter tables that this network stands for (AdaSCALE's
        Tables 12-13), from the checkpoint registry; None for a network the registry does not know."""
        checkpoint = CHECKPOINTS.get(self.model)
        return None if checkpoint is None else checkpoint.paper_setting

    @property
    def architecture(self) -> Architecture | None:
        """The registered architecture's facts (taps, channels, per-network hyperparameters); None for a network the
        registry does not know."""
        checkpoint = CHECKPOINTS.get(self.model)
        return None if checkpoint is None else checkpoint.architecture

    @property
    def clip_threshold(self) -> float:
        """The ReAct/HIMPLoS clip of this network: the architecture's stated value (DenseNet: 1.6), else ReAct's
        recipe, the 90th percentile of the ID train penultimate activations (Sun et al., NeurIPS 2021, Sec. 4)."""
        arch = self.architecture
        if arch is not None and arch.clip_threshold is not None:
            return arch.clip_threshold
        key = ("clip_threshold",)
        if key not in self._memo:
            self._memo[key] = fit_react(self.train.penultimate)
        return self._memo[key]

    def _features_of(self, images: ImageSet) -> Features:
        """Features of ``images``: when they are untransformed images of the ID test set whose whole features this
        context keeps (a validation split is set aside), the rows of those features (the same images through the
        same network; a batch of another size can round the last bit differently,
        ``tests/integration/test_real_models.py``); otherwise their own extraction."""
        if images.key == self.id_dataset and images.transform is None and self._split(images.key) is not None:
            whole = self.whole_features(images.key)
            position = {int(i): row for row, i in enumerate(whole.arrays["indices"])}
            if all(int(i) in position for i in images.indices):
                return whole.subset(np.array([position[int(i)] for i in images.indices], dtype=np.int64),
                                    name=images.name)
        return extract(self.adapter, images, progress=self.progress)
