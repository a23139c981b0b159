"""Score detectors over an ID test set and its OOD sets: the engine behind the chapters and the CLI.

- :func:`evaluate`: fit each method once in a :class:`~ood_nb_utils.runs.context.RunContext` and score every
  requested set into a tidy table (both FPR@95 conventions named);
- :func:`score_sets`: one fitted detector over a list of sets (cached features, or images for
  network-based detectors);
- :func:`group_metrics`: every metric averaged over the sets of each group (near, far, substitute), and
  :func:`metrics_by_group`, the same straight from a fitted detector;
- :func:`paired_gain`: the paired-bootstrap interval of a metric's difference between two methods (sets pooled), and
  :func:`paired_mean_gain`, that of the AUROC averaged over sets;
- :func:`summary_table`: methods x sets for one metric, with group averages;
- :func:`evaluate_model`: any network (a :class:`~ood_nb_utils.models.ModelAdapter`) on your own ID, train and OOD
  data (image folders, Datasets, arrays or features) in one call, returning the table.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import cache
from .config import Profile
from .data import DATASETS, ImageSet, is_available, ood_group, ood_sets
from .data.catalog import FULL_TRAIN_SIZE
from .data.folders import ImageFolderSet
from .detectors import Detector, HeldOut, create
from .extraction.features import Features, extract
from .metrics import Interval, all_metrics, auroc, bootstrap_interval, mean_auroc_draws, mean_metrics
from .models.architectures import DENSENET100
from .runs.context import RunContext


@dataclass
class Evaluation:
    """Results of :func:`evaluate`: a tidy table, the raw scores, and the fitted detectors."""

    model: str
    id_dataset: str
    profile: Profile
    id_accuracy: float
    table: pd.DataFrame
    scores: dict[str, dict[str, np.ndarray]]  # method -> dataset -> scores
    missing: list[str]
    detectors: dict[str, Detector]
    timing: dict[str, Any] = field(default_factory=dict)

    def fitted(self) -> dict[str, dict[str, Any]]:
        """The hyperparameters each method chose while fitting (NAP's searched w, AdaSCALE's resolved values)."""
        return {name: p for name, det in self.detectors.items() if (p := det.fitted_params())}

    def fit_sizes(self) -> dict[str, dict[str, int]]:
        """How many images each method fitted on (train subset, held-out images)."""
        return {name: dict(det.fit_info_.sizes) for name, det in self.detectors.items()}

    def to_json(self) -> dict:
        """The object printed by ``evaluate --json`` (metrics as fractions in [0, 1])."""
        cols = ["method", "ood", "group", "n_id", "n_ood", "auroc", "fpr95_id_positive", "fpr95_ood_positive",
                "aupr_in", "aupr_out"]
        return {
            "model": self.model, "profile": self.profile.name, "id_dataset": self.id_dataset,
            "id_accuracy": self.id_accuracy, "results": self.table[cols].to_dict(orient="records"),
            "missing_ood": self.missing, "timing": self.timing, "fitted": self.fitted(),
            "fit_sizes": self.fit_sizes(),
            "hyperparameters": {n: {k: _jsonable(v) for k, v in d.get_params().items()}
                                for n, d in self.detectors.items()},
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, Detector):
        return repr(v)
    if isinstance(v, tuple):
        return list(v)
    return v


def check_sets(id_dataset: str, ood: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(available, missing) of the requested OOD sets; an unknown name fails at once, before any work."""
    requested = list(ood) if ood is not None else list(ood_sets(id_dataset))
    known = ood_sets(id_dataset)
    unknown = [d for d in requested if d not in DATASETS or d not in known]
    if unknown:
        raise KeyError(f"unknown OOD set(s) {unknown} for ID {id_dataset}; known: {', '.join(known)}")
    return [d for d in requested if is_available(d)], [d for d in requested if not is_available(d)]


def score_sets(detector: Detector, context: RunContext, sets: Sequence[str]) -> dict[str, np.ndarray]:
    """Scores of a fitted detector on each set: its profile-sized cached features, or (network-based) its
    ``gradient_per_set`` images."""
    if detector.needs.network:
        return {d: detector.score(context.gradient_images(d)) for d in sets}
    return {d: detector.score(context.features(d)) for d in sets}


def _apply_defaults(detector: Detector, values: Mapping[str, Any], dense: Mapping[str, Any] | None = None) -> Detector:
    """Set each of ``values`` on ``detector`` (and nested detectors) where its parameter holds the unset value:
    None, or for the names in ``dense``, that DenseNet default."""
    dense = dense or {}
    for name, value in detector.get_params(deep=False).items():
        if isinstance(value, Detector):
            _apply_defaults(value, values, dense)
        elif name in values and (value is None or (name in dense and value == dense[name])):
            setattr(detector, name, values[name])
            detector._check()
    return detector


def apply_network_defaults(detector: Detector, context: RunContext) -> Detector:
    """Give ``detector`` (and nested detectors) the hyperparameters of ``context``'s network where it was left at a
    default, in place, and return it:

    - ``setting`` left None: the paper's per-network row (AdaSCALE Tables 12-13; :attr:`RunContext.paper_setting`);
    - ``bank_fraction`` left None (KNN): the share of the network's training set in the context's train subset, so
      that k scales with it as the KNN paper scales it (:func:`bank_fraction`);
    - on a registered network other than the DICE DenseNet, a ``threshold`` at the DenseNet clip of 1.6 becomes this
      network's clip (:attr:`RunContext.clip_threshold`), and Prototype Fusion's ``layers`` at the DenseNet taps
      become this network's (:attr:`~ood_nb_utils.models.Architecture.prototype_layers`).

    The detectors' own defaults are the papers' DenseNet values, so on the DenseNet nothing but ``setting`` moves; a
    value the caller chose is kept."""
    values: dict[str, Any] = {} if context.paper_setting is None else {"setting": context.paper_setting}
    if any(k.rpartition(".")[2] == "bank_fraction" for k in detector.get_params()):
        share = bank_fraction(context)
        if share is not None:
            values["bank_fraction"] = share
    arch = context.architecture
    if arch is None or arch.key == DENSENET100.key:
        return _apply_defaults(detector, values)
    values.update(threshold=context.clip_threshold, layers=arch.prototype_layers)
    return _apply_defaults(detector, values, {"threshold": DENSENET100.clip_threshold,
                                              "layers": DENSENET100.prototype_layers})


def bank_fraction(context: RunContext) -> float | None:
    """The share of the network's training set that the context's ID train subset holds (5,000 of CIFAR's 50,000:
    0.1); None for train features whose full set this package does not know."""
    full = FULL_TRAIN_SIZE.get(context.train.dataset)
    return None if full is None else len(context.train) / full


def fit_in(context: RunContext, detector: Detector, train: Features | None = None) -> Detector:
    """Fit ``detector`` as the book does in ``context``: this network's hyperparameters where it was left at a default
    (:func:`apply_network_defaults`), the context's ID train features (``train``, when given, replaces them; only for
    detectors that fit on them), its held-out ID images (:meth:`~ood_nb_utils.runs.context.RunContext.held_out`) and
    its adapter."""
    apply_network_defaults(detector, context)
    train = (context.train if train is None else train) if detector.needs.train else None
    return detector.fit(train, context.head, context.held_out(), adapter=context.adapter)


def _detectors(methods, params: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Detector]:
    params = dict(params or {})
    if isinstance(methods, Mapping):
        out = dict(methods)
    else:
        out = {}
        for m in methods:
            out[m if isinstance(m, str) else (m.name or type(m).__name__)] = m
    unused = set(params) - {k for k, v in out.items() if isinstance(v, str)}
    if unused:
        raise KeyError(f"hyperparameters given for {sorted(unused)}, which are not requested by name")
    # create (and so validate every name and hyperparameter) before any work
    return {k: (create(v, **params.get(k, {})) if isinstance(v, str) else v) for k, v in out.items()}


def evaluate(context: RunContext, methods, ood: Sequence[str] | None = None, *,
             params: Mapping[str, Mapping[str, Any]] | None = None) -> Evaluation:
    """Fit each method on ``context.train`` and score the ID test set and every requested OOD set.

    ``methods``: names (with ``params[name]`` overrides), detector instances, or a dict label -> detector.
    ``ood`` defaults to every registered OOD set of the ID dataset; sets not in the data directory are
    listed in ``Evaluation.missing``, not silently dropped. Network-based detectors score the profile's
    ``gradient_per_set`` images of each set.
    """
    detectors = _detectors(methods, params)
    id_dataset = context.id_dataset
    available, missing = check_sets(id_dataset, ood)
    if not available:
        raise FileNotFoundError(f"none of the requested OOD sets ({', '.join(missing)}) is in the data folder; "
                                "`python -m ood_nb_utils data status` says what is there and how to get the rest")
    t0 = time.perf_counter()
    misses_before, compute_before = cache.STATS.misses, cache.STATS.compute_seconds
    id_feats = context.id_test
    for d in available:
        context.features(d)
    timing: dict[str, Any] = {"features_seconds": round(time.perf_counter() - t0, 2),
                              "features_computed_seconds": round(cache.STATS.compute_seconds - compute_before, 2),
                              "feature_cache_misses": cache.STATS.misses - misses_before, "scoring_seconds": {}}
    rows, scores = [], {}
    for name, det in detectors.items():
        start = time.perf_counter()
        fit_in(context, det)
        per_set = scores[name] = score_sets(det, context, [id_dataset, *available])
        timing["scoring_seconds"][name] = round(time.perf_counter() - start, 3)
        for d in available:
            m = all_metrics(per_set[id_dataset], per_set[d])
            rows.append({"method": name, "title": det.title, "ood": d, "ood_name": DATASETS[d].display_name,
                         "group": ood_group(id_dataset, d), "n_id": len(per_set[id_dataset]), "n_ood": len(per_set[d]),
                         **m.as_dict()})
    return Evaluation(context.model, id_dataset, context.profile, id_feats.accuracy(), pd.DataFrame(rows), scores,
                      missing, detectors, timing)


def groups_of(id_dataset: str, sets: Sequence[str]) -> dict[str, list[str]]:
    """The sets by group ('near', 'far', 'substitute'), in the given order; empty groups left out."""
    out: dict[str, list[str]] = {}
    for d in sets:
        out.setdefault(ood_group(id_dataset, d), []).append(d)
    return out


def near_far(id_dataset: str, sets: Sequence[str]) -> dict[str, list[str]]:
    """The near and far sets among ``sets`` (substitutes left out); a group with no set is an empty list."""
    groups = groups_of(id_dataset, sets)
    return {g: groups.get(g, []) for g in ("near", "far")}


def real_sets(id_dataset: str, sets: Sequence[str]) -> list[str]:
    """The near and far sets among ``sets``, near first (substitutes left out): the papers' own benchmark sets."""
    groups = near_far(id_dataset, sets)
    return groups["near"] + groups["far"]


def group_metrics(scores: Mapping[str, np.ndarray], id_key: str, groups: Mapping[str, Sequence[str]],
                  percent: bool = True) -> dict[str, dict[str, float]]:
    """Per group, every metric of :func:`~ood_nb_utils.metrics.all_metrics` averaged over its sets (the papers'
    "average" columns: a mean of per-set values), in % when ``percent``."""
    scale = 100.0 if percent else 1.0
    return {g: {k: scale * v for k, v in mean_metrics(scores[id_key], [scores[d] for d in sets]).as_dict().items()}
            for g, sets in groups.items() if sets}


def metrics_by_group(detector: Detector, context: RunContext, sets: Sequence[str],
                     groups: Mapping[str, Sequence[str]] | None = None) -> dict[str, dict[str, float]]:
    """A fitted detector's metrics (in %) averaged per group of ``sets`` (default: near/far/substitute), scored
    against the context's ID test set: :func:`score_sets` then :func:`group_metrics`."""
    id_key = context.id_dataset
    groups = groups_of(id_key, sets) if groups is None else groups
    return group_metrics(score_sets(detector, context, [id_key, *sets]), id_key, groups)


def paired_gain(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], id_key: str, ood: str | Sequence[str], *,
                metric=auroc, n_boot: int = 1000, seed: int = 0) -> Interval:
    """Paired-bootstrap interval of ``metric(a) - metric(b)`` on the same resampled images (95%).

    ``a``/``b`` map set names to two methods' scores of the same images; with several OOD sets they are
    pooled into one OOD sample.
    """
    oods = [ood] if isinstance(ood, str) else list(ood)
    pooled = [np.concatenate([s[d] for d in oods]) for s in (a, b)]
    return bootstrap_interval(metric, a[id_key], pooled[0], n_boot=n_boot, seed=seed,
                              paired_with=(b[id_key], pooled[1]))


def paired_mean_gain(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], id_key: str, ood: Sequence[str], *,
                     n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """Paired-bootstrap interval of the difference in AUROC **averaged over the sets** ``ood`` (the papers' "average"
    columns, each set weighted alike) between two methods scored on the same images: every draw resamples the ID
    images and each set once, for both methods (:func:`~ood_nb_utils.metrics.mean_auroc_draws`)."""
    oods = list(ood)
    if not oods:
        raise ValueError("no OOD sets to average over")
    draws = mean_auroc_draws({"a": (a[id_key], [a[d] for d in oods]), "b": (b[id_key], [b[d] for d in oods])},
                             n_boot=n_boot, seed=seed)
    diff = draws["a"] - draws["b"]
    estimate = np.mean([auroc(a[id_key], a[d]) - auroc(b[id_key], b[d]) for d in oods])
    alpha = (1 - level) / 2
    return Interval(float(estimate), float(np.quantile(diff, alpha)), float(np.quantile(diff, 1 - alpha)))


def summary_table(table: pd.DataFrame, metric: str = "auroc", percent: bool = True) -> pd.DataFrame:
    """Methods x OOD sets for one metric, with near/far averages (substitutes averaged separately)."""
    wide = table.pivot_table(index="title", columns="ood_name", values=metric, sort=False)
    order = table.drop_duplicates("ood_name")
    for group in ("near", "far", "substitute"):
        names = order.loc[order.group == group, "ood_name"].tolist()
        if names:
            wide[f"avg {group}"] = wide[names].mean(axis=1)
    return wide * 100 if percent else wide


# --- any network, any data -------------------------------------------------------------------------------


def as_features(adapter, data, *, name: str = "", progress: bool = True) -> Features:
    """``data`` as cached features of ``adapter``: a :class:`~ood_nb_utils.extraction.features.Features` bundle as
    it is, an image folder (path or :class:`~ood_nb_utils.data.folders.ImageFolderSet`, streamed and cached under
    its checksums), or anything :func:`~ood_nb_utils.extraction.features.extract` takes."""
    if isinstance(data, Features):
        return data
    if isinstance(data, (str, Path)):
        data = ImageFolderSet(data, name=name or None)
    if isinstance(data, ImageFolderSet):
        return extract(adapter, data, key=data.key, progress=progress)
    return extract(adapter, data, progress=progress)


def _heldout_of(adapter, heldout) -> HeldOut | None:
    if heldout is None or isinstance(heldout, HeldOut):
        return heldout
    if isinstance(heldout, (str, Path)):
        heldout = ImageFolderSet(heldout)
    if isinstance(heldout, ImageFolderSet):
        return HeldOut(adapter, heldout.images(), heldout.labels)
    return HeldOut(adapter, heldout)


def evaluate_model(adapter, *, id, train, ood: Mapping[str, Any], methods, params=None, heldout=None,
                   n_boot: int = 1000, seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """Fit ``methods`` on ``train`` and score ``id`` against each OOD set of ``ood``, with ``adapter``'s network.

    ``id``, ``train`` and each value of ``ood`` (``{name: data}``): an image folder (``root/<class>/<image>``, read
    with ``Resize(256)`` + ``CenterCrop(224)``; build an :class:`~ood_nb_utils.data.folders.ImageFolderSet` for
    another size), a Dataset or DataLoader, a uint8 array, an ImageSet or a ``Features`` bundle. ``methods``:
    registered names (``params[name]`` overrides hyperparameters) or detector instances. ``heldout``: ID images
    that are neither fitted on nor scored, for the methods that search a hyperparameter on them (NAP-X with
    ``w=None``). Network-based methods (ODIN, AdaSCALE) score images, so they need ``id`` and ``ood`` as uint8
    arrays or ImageSets.

    Returns one row per method and OOD set: AUROC with its 95% bootstrap interval (``n_boot`` draws), both FPR@95
    conventions (``fpr95_id_positive``: OOD accepted at 95% ID recall, as NAP, DICE and HIMPLoS report;
    ``fpr95_ood_positive``: ID rejected at 95% OOD recall, as OpenOOD, AdaSCALE and Prototype Fusion report), and
    AUPR; metrics as fractions. ``table.attrs`` holds the ID accuracy, what each method chose while fitting, and
    ``scores`` (``{method: {"id": ..., ood name: ...}}``, for paired comparisons such as :func:`paired_gain`).
    """
    detectors = _detectors(methods, params)
    if not ood:
        raise ValueError("ood must name at least one OOD set: {name: folder, Dataset, array or Features}")
    held = _heldout_of(adapter, heldout)
    id_features = as_features(adapter, id, progress=progress)
    train_features = as_features(adapter, train, progress=progress)
    ood_features = {name: as_features(adapter, data, name=name, progress=progress) for name, data in ood.items()}
    rows, fitted, all_scores = [], {}, {}
    for label, det in detectors.items():
        det.fit(train_features if det.needs.train else None, adapter.head, held, adapter=adapter)
        if det.needs.network:
            raw = {"id": id, **ood}
            bad = [k for k, v in raw.items() if not isinstance(v, (np.ndarray, ImageSet))]
            if bad:
                raise ValueError(f"{det.title} runs the network on the images it scores: pass {bad} as uint8 "
                                 "arrays or ImageSets (or leave this method out)")
            scored = {k: det.score(v) for k, v in raw.items()}
        else:
            scored = {"id": det.score(id_features), **{k: det.score(v) for k, v in ood_features.items()}}
        all_scores[label] = scored
        if det.fitted_params():
            fitted[label] = det.fitted_params()
        for name in ood:
            m = all_metrics(scored["id"], scored[name])
            ci = bootstrap_interval(auroc, scored["id"], scored[name], n_boot=n_boot, seed=seed)
            rows.append({"method": label, "title": det.title, "ood": name, "n_id": len(scored["id"]),
                         "n_ood": len(scored[name]), **m.as_dict(), "auroc_low": ci.low, "auroc_high": ci.high})
    table = pd.DataFrame(rows)
    table.attrs.update({"model": adapter.name, "id_accuracy": id_features.accuracy(), "fitted": fitted,
                        "n_train": len(train_features), "scores": all_scores})
    return table
