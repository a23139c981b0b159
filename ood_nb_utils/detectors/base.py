"""The detector interface every method of the book implements.

A detector is a small class (in the spirit of pytorch-ood's ``Detector`` and scikit-learn's estimators):

- its **hyperparameters** are constructor arguments, with the paper's defaults, stored under the same
  names (``ReAct(threshold=1.6).threshold``); :meth:`Detector.get_params` lists them, and nested
  detectors appear with a dotted prefix (``NapX(base=ReAct()).get_params()`` has ``"base.threshold"``);
- :meth:`Detector.fit` ``(train, head, heldout=None)`` learns what the method takes from ID data
  into attributes ending in ``_`` and returns ``self``; ``heldout`` (a :class:`~.heldout.HeldOut`) is needed
  only by the detectors that search a hyperparameter or calibrate on held-out ID images (``needs.heldout``);
- :meth:`Detector.score` returns a float64 numpy array, **higher = more in-distribution**;
- :attr:`Detector.needs` declares what it reads, :attr:`Detector.search_space` what
  :func:`ood_nb_utils.detectors.tuning.tune` may search.

Feature-based detectors score a :class:`~ood_nb_utils.extraction.features.Features` bundle (cached activations);
network-based ones (``needs.network``: ODIN, AdaSCALE) score images through the adapter they are given at fit
time (``fit(..., adapter=adapter)``, else the held-out images' adapter).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

if TYPE_CHECKING:
    from ..extraction.features import Features
    from ..models import Head
    from .heldout import HeldOut


@dataclass(frozen=True)
class Needs:
    """What a detector reads.

    ``arrays``: cached arrays it scores (``logits``, ``penultimate``, ``final.max``, ...);
    ``train``: it fits ID statistics on the train features; ``network``: it scores images through the
    network (gradients), not cached features; ``heldout``: it uses held-out ID images (a hyperparameter
    search on pseudo-OOD data, or an eCDF reference) when a hyperparameter is left to be found.
    """

    arrays: tuple[str, ...] = ("logits",)
    train: bool = False
    network: bool = False
    heldout: bool = False

    def describe(self) -> str:
        parts = ["images + the network" if self.network else ", ".join(self.arrays)]
        if self.train:
            parts.append("fit on ID train features")
        if self.heldout:
            parts.append("held-out ID images")
        return "; ".join(parts)


@dataclass(frozen=True)
class Grid:
    """A finite set of values to try."""

    values: tuple


@dataclass(frozen=True)
class Interval:
    """A closed interval, searched by golden section to ``tol``."""

    low: float
    high: float
    tol: float = 0.01


@dataclass
class FitInfo:
    """How big the sets a detector fitted on were (reported by ``evaluate --json``)."""

    sizes: dict[str, int] = field(default_factory=dict)


class Detector:
    """Base class: see the module docstring. Subclasses set ``name``, ``title``, ``reference``, ``needs``."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    needs: ClassVar[Needs] = Needs()
    search_space: ClassVar[dict[str, Grid | Interval]] = {}
    # hyperparameters that only change scoring, not what fit learns: tune() re-scores without refitting
    score_time_params: ClassVar[frozenset[str]] = frozenset()

    # --- hyperparameters --------------------------------------------------------------------------
    @classmethod
    def hyperparameter_names(cls) -> tuple[str, ...]:
        params = inspect.signature(cls.__init__).parameters
        return tuple(n for n, p in params.items() if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters by name; nested detectors' with a dotted prefix when ``deep``."""
        out: dict[str, Any] = {}
        for name in self.hyperparameter_names():
            value = getattr(self, name)
            out[name] = value
            if deep and isinstance(value, Detector):
                out.update({f"{name}.{k}": v for k, v in value.get_params().items()})
        return out

    def clone(self, **overrides) -> Detector:
        """A new, unfitted detector with the same hyperparameters except ``overrides`` (dotted keys reach
        nested detectors: ``clone(**{"base.threshold": 1.0})``)."""
        own = {k: v for k, v in self.get_params(deep=False).items()}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in overrides.items():
            head, _, rest = key.partition(".")
            if head not in own:
                raise KeyError(f"{self.name or type(self).__name__} has no hyperparameter {head!r}; it takes "
                               f"{sorted(self.get_params())}")
            if rest:
                if not isinstance(own[head], Detector):
                    raise KeyError(f"{head!r} of {self.name} is not a detector, so {key!r} names nothing")
                nested.setdefault(head, {})[rest] = value
            else:
                own[head] = value
        for head, sub in nested.items():
            own[head] = own[head].clone(**sub)
        own = {k: (v.clone() if isinstance(v, Detector) and k not in nested else v) for k, v in own.items()}
        return type(self)(**own)

    def with_params(self, **setting) -> Detector:
        """This detector with ``setting`` applied: a re-scored copy of a fitted detector when every key is a
        score-time hyperparameter, else an unfitted :meth:`clone`."""
        if self.is_fitted and set(setting) <= self.score_time_params:
            out = copy.copy(self)
            for k, v in setting.items():
                setattr(out, k, v)
            out._check()
            return out
        return self.clone(**setting)

    def _check(self) -> None:
        """Validate hyperparameters (subclasses raise ValueError with a message a reader can act on)."""

    # --- fitting and scoring ----------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return getattr(self, "head_", None) is not None

    def fit(self, train: Features | None, head: Head, heldout: HeldOut | None = None, *, adapter=None) -> Detector:
        """Learn what the method takes from ID data (``train``: the ID train features; ``head``: the
        classifier; ``heldout``: held-out ID images, for the detectors whose ``needs.heldout`` is true).
        ``adapter`` is read by network-based detectors only. Returns ``self``."""
        if self.needs.train and train is None:
            raise ValueError(f"{self.title} fits ID statistics: pass the ID train features")
        self.head_ = head
        self.fit_info_ = FitInfo({"train": len(train)} if (train is not None and self.needs.train) else {})
        self._fit(train, head, heldout)
        return self

    def _fit(self, train: Features | None, head: Head, heldout: HeldOut | None) -> None:
        """Subclasses learn their ID statistics here (after :meth:`fit` has stored ``head_``)."""

    def score(self, x) -> np.ndarray:
        """Scores of ``x``: float64, higher = more ID.

        ``x`` is a :class:`~ood_nb_utils.extraction.features.Features` bundle (from ``extract`` or
        ``Features.from_arrays``), images for network-based detectors, or a plain N x K logits / N x D penultimate
        array or tensor for the detectors that read only those (:meth:`as_features` says which)."""
        if not self.is_fitted:
            raise RuntimeError(f"{self.title}: call fit(train, head) before score")
        if isinstance(x, (np.ndarray, torch.Tensor)) and not self.needs.network:
            x = self.as_features(x)
        out = self._score(x)
        out = out.double().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, dtype=np.float64)
        if out.ndim != 1 or len(out) != len(x):
            raise RuntimeError(f"{self.title} returned {out.shape} scores for {len(x)} inputs")
        return out

    def _score(self, x) -> torch.Tensor | np.ndarray:
        raise NotImplementedError

    def as_features(self, array) -> Features:
        """A plain array or tensor as the bundle this fitted detector reads: N x K logits for the detectors that
        read only logits; N x D penultimate features for those that read the penultimate feature (their logits,
        where needed, come from the fitted head, ``W h + b``). Anything else needs a full bundle."""
        from ..extraction.features import Features

        arrays = set(self.needs.arrays)
        width = int(array.shape[1]) if getattr(array, "ndim", 0) == 2 else None
        k, d = self.head_.num_classes, int(self.head_.weight.shape[1])
        if arrays <= {"logits"}:
            if width != k:
                raise ValueError(f"{self.title} reads logits: pass an N x {k} array (got shape "
                                 f"{tuple(array.shape)})")
            return Features.from_arrays(logits=array)
        if arrays <= {"penultimate", "logits"}:
            if width != d:
                raise ValueError(f"{self.title} reads the penultimate feature: pass an N x {d} array (got shape "
                                 f"{tuple(array.shape)})")
            from ..scorers import linear_head

            h = torch.as_tensor(array).detach().float().cpu()
            return Features.from_arrays(penultimate=h, logits=linear_head(h, self.head_.weight, self.head_.bias))
        missing = sorted(arrays - {"logits", "penultimate"})
        raise ValueError(f"{self.title} reads {', '.join(missing)}, not only logits or the penultimate feature: "
                         "pass Features.from_arrays(..., taps={name: N x C x H x W maps}) or extract(...)")

    def classify_logits(self, features: Features) -> torch.Tensor:
        """The logits this method classifies with (the network's own unless it reshapes them)."""
        return features.logits

    def accuracy(self, features: Features) -> float:
        """Top-1 accuracy of :meth:`classify_logits` against the labels (an ID set)."""
        return float((self.classify_logits(features).argmax(1).numpy() == features.labels).mean())

    def fitted_params(self) -> dict[str, Any]:
        """Hyperparameters this detector chose while fitting (e.g. NAP's searched w); empty for most."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"


class NetworkDetector(Detector):
    """A detector that scores images through the network (``needs.network``): ODIN, AdaSCALE.

    :meth:`fit` takes the adapter from ``adapter=`` (else from ``heldout``); :meth:`score` takes an
    :class:`~ood_nb_utils.data.ImageSet` or a uint8 N x H x W x 3 array.
    """

    needs: ClassVar[Needs] = Needs(network=True)

    def fit(self, train: Features | None, head: Head, heldout: HeldOut | None = None, *, adapter=None) -> Detector:
        self.adapter_ = network_adapter(self, heldout, adapter)
        return super().fit(train, head, heldout)

    def score(self, x) -> np.ndarray:
        from ..data import ImageSet

        if isinstance(x, np.ndarray):
            x = ImageSet.from_array(x)
        if not isinstance(x, ImageSet):
            raise TypeError(f"{self.title} scores images: pass an ImageSet or a uint8 N x H x W x 3 array, "
                            f"got {type(x).__name__}")
        return super().score(x)


def network_adapter(detector: Detector, heldout: HeldOut | None, adapter):
    """The adapter a network-based detector runs: ``adapter``, else the held-out images' adapter."""
    adapter = adapter if adapter is not None else getattr(heldout, "adapter", None)
    if adapter is None:
        raise ValueError(f"{detector.title} runs the network on the images it scores: pass "
                         "fit(train, head, adapter=your_adapter)")
    return adapter
