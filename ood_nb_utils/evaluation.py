"""Run methods over an ID test set and its OOD sets: the engine behind chapter 0 and the CLI."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import cache
from .config import Profile, current_profile
from .data import DATASETS, is_available, ood_group, ood_sets, role_size
from .features import Features, extract
from .metrics import all_metrics
from .models import CHECKPOINTS, load_model
from .registry import Head, fit_method, get, score_features


@dataclass
class Evaluation:
    """Results of :func:`evaluate`: a tidy table plus the raw scores for plots."""

    model: str
    id_dataset: str
    profile: Profile
    id_accuracy: float
    table: pd.DataFrame
    scores: dict[str, dict[str, np.ndarray]]  # method -> dataset -> scores
    missing: list[str]
    timing: dict[str, Any] = field(default_factory=dict)
    states: dict[str, Any] = field(default_factory=dict)  # what each method fitted on ID data

    def to_json(self) -> dict:
        """The object printed by ``evaluate --json`` (metrics as fractions in [0, 1])."""
        cols = ["method", "ood", "group", "n_id", "n_ood", "auroc", "fpr95_id_positive", "fpr95_ood_positive",
                "aupr_in", "aupr_out"]
        return {
            "model": self.model, "profile": self.profile.name, "id_dataset": self.id_dataset,
            "id_accuracy": self.id_accuracy,
            "results": self.table[cols].to_dict(orient="records"),
            "missing_ood": self.missing, "timing": self.timing, "fitted_w": self.fitted_w(),
        }

    def fitted_w(self) -> dict[str, float]:
        """The combination weight each NAP-X method used (searched on held-out data unless given)."""
        return {m: float(s.w) for m, s in self.states.items() if hasattr(s, "w")}


class FeatureStore:
    """Per-process memo of the cached features a profile uses (one disk read per set)."""

    def __init__(self, model: str, profile: Profile, progress: bool = True) -> None:
        self.model, self.profile, self.progress = model, profile, progress
        self.id_dataset = CHECKPOINTS[model].id_dataset
        self._memo: dict[str, Features] = {}

    def get(self, dataset: str) -> Features:
        if dataset not in self._memo:
            n = role_size(self.profile, dataset, self.id_dataset)
            self._memo[dataset] = extract(self.model, dataset, n=n, seed=self.profile.seed, progress=self.progress)
        return self._memo[dataset]

    @property
    def id_test(self) -> Features:
        return self.get(self.id_dataset)

    @property
    def train(self) -> Features:
        return self.get(f"{self.id_dataset}_train")


def evaluate(model: str, methods: list[str], ood: list[str] | None = None, *, profile: Profile | None = None,
             params: dict[str, dict[str, Any]] | None = None, progress: bool = True,
             store: FeatureStore | None = None) -> Evaluation:
    """Score ``methods`` on the ID test set and every available OOD set of ``model``'s benchmark.

    ``ood`` defaults to every registered OOD set of the ID dataset; sets that are not in the
    data directory are listed in ``Evaluation.missing`` rather than silently dropped.
    Network-based methods (ODIN) use ``profile.gradient_per_set`` images of each set.
    """
    profile = profile or current_profile()
    params = params or {}
    for name in methods:
        get(name).params(params.get(name))  # fail on an unknown method or hyperparameter before any work
    store = store or FeatureStore(model, profile, progress)
    id_dataset = store.id_dataset
    requested = list(ood) if ood is not None else list(ood_sets(id_dataset))
    unknown = [d for d in requested if d not in DATASETS]
    if unknown:
        raise KeyError(f"unknown OOD set(s) {unknown}; known: {', '.join(ood_sets(id_dataset))}")
    available = [d for d in requested if is_available(d)]
    missing = [d for d in requested if d not in available]

    t0 = time.perf_counter()
    misses_before, compute_before = cache.STATS.misses, cache.STATS.compute_seconds
    id_feats = store.id_test
    sets = {d: store.get(d) for d in available}
    needs_train = any(get(m).fit is not None for m in methods)
    train = store.train if needs_train else None
    timing: dict[str, Any] = {
        "features_seconds": round(time.perf_counter() - t0, 2),
        "features_computed_seconds": round(cache.STATS.compute_seconds - compute_before, 2),
        "feature_cache_misses": cache.STATS.misses - misses_before,
        "scoring_seconds": {},
    }

    head = Head.of(load_model(model))
    rows, scores, states = [], {}, {}
    for name in methods:
        method = get(name)
        p = method.params(params.get(name))
        start = time.perf_counter()
        if method.needs_network:
            n = profile.gradient_per_set
            per_set = {d: method.network(model, d, n, profile.seed, **p) for d in [id_dataset, *available]}
        else:
            state = states[name] = fit_method(method, train, head, p)
            per_set = {id_dataset: score_features(method, id_feats, head, state, p)}
            per_set.update({d: score_features(method, sets[d], head, state, p) for d in available})
        timing["scoring_seconds"][name] = round(time.perf_counter() - start, 3)
        scores[name] = per_set
        for d in available:
            m = all_metrics(per_set[id_dataset], per_set[d])
            rows.append({"method": name, "title": method.title, "ood": d, "ood_name": DATASETS[d].display_name,
                         "group": ood_group(id_dataset, d), "n_id": len(per_set[id_dataset]),
                         "n_ood": len(per_set[d]), **m.as_dict()})
    return Evaluation(model, id_dataset, profile, id_feats.accuracy(), pd.DataFrame(rows), scores, missing, timing,
                      states)


def summary_table(table: pd.DataFrame, metric: str = "auroc", percent: bool = True) -> pd.DataFrame:
    """Methods x OOD sets for one metric, with near/far averages (substitutes averaged separately)."""
    wide = table.pivot_table(index="title", columns="ood_name", values=metric, sort=False)
    order = table.drop_duplicates("ood_name")
    for group in ("near", "far", "substitute"):
        names = order.loc[order.group == group, "ood_name"].tolist()
        if names:
            wide[f"avg {group}"] = wide[names].mean(axis=1)
    return wide * 100 if percent else wide
