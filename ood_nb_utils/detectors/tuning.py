"""One hyperparameter search API, on validation data (never on the OOD test sets).

:func:`tune` scores a detector's candidate settings on a validation pair (ID data, pseudo-OOD or
OOD validation data) and returns the best setting with the whole trace. Settings that change only
scoring (a detector's ``score_time_params``: NAP's w, AdaSCALE's percentiles) re-score a fitted
detector; others refit it on ``train`` first. Two strategies:

- ``"grid"``: every combination of the :class:`~ood_nb_utils.detectors.base.Grid` values (optionally
  filtered by ``constraint``);
- ``"golden"``: golden-section search of one :class:`~ood_nb_utils.detectors.base.Interval`
  hyperparameter, for a unimodal objective (NAP Sec. 4.2's "binary search" for w).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics import auroc, fpr_at_95_tpr
from .base import Grid, Interval
from .heldout import HELDOUT_N, HeldOut

if TYPE_CHECKING:
    from .base import Detector

METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "auroc": auroc,
    # lower FPR is better: maximise its negative
    "neg_fpr95_id_positive": lambda i, o: -fpr_at_95_tpr(i, o, positive="id"),
    "neg_fpr95_ood_positive": lambda i, o: -fpr_at_95_tpr(i, o, positive="ood"),
}


@dataclass
class SearchResult:
    """A one-dimensional golden-section search: best x, its objective value, every (x, value) evaluated."""

    best: float
    value: float
    evaluations: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class TuneResult:
    """The best setting, its validation value, every (setting, value) tried in order, and the fitted best."""

    best: dict[str, Any]
    value: float
    trace: list[tuple[dict[str, Any], float]]
    metric: str
    detector: Detector | None = None

    def table(self):
        """The trace as a DataFrame: one row per setting, its validation value."""
        import pandas as pd

        return pd.DataFrame([{**s, self.metric: v} for s, v in self.trace])


def golden_section_max(objective: Callable[[float], float], low: float = 0.0, high: float = 1.0, *,
                       tol: float = 0.01, candidates: tuple[float, ...] = (0.0, 1.0)) -> SearchResult:
    """Maximise a (roughly unimodal) function on [low, high] by golden-section search.

    The ends of the interval (and any ``candidates``) are evaluated too, so a monotone objective
    returns its best end. Ties go to the point nearest the final bracket's centre.
    """
    if not low < high or tol <= 0:
        raise ValueError(f"need low < high and tol > 0, got [{low}, {high}], tol={tol}")
    evaluations: list[tuple[float, float]] = []
    memo: dict[float, float] = {}

    def f(x: float) -> float:
        x = round(x, 10)
        if x not in memo:
            memo[x] = float(objective(x))
            evaluations.append((x, memo[x]))
        return memo[x]

    ratio = (math.sqrt(5) - 1) / 2
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    while b - a > tol:
        if f(c) >= f(d):
            b, d = d, c
            c = b - ratio * (b - a)
        else:
            a, c = c, d
            d = a + ratio * (b - a)
    for x in (*candidates, (a + b) / 2):
        if low <= x <= high:
            f(x)
    best = max(memo, key=lambda x: (memo[x], -abs(x - (a + b) / 2)))
    return SearchResult(best, memo[best], evaluations)


def tune(detector: Detector, space: Mapping[str, Any] | None, validation: tuple, *, metric: str | Callable = "auroc",
         strategy: str = "grid", train=None, head=None, heldout: HeldOut | None = None, adapter=None,
         constraint: Callable[[dict[str, Any]], bool] | None = None) -> TuneResult:
    """Search ``space`` (default: the detector's ``search_space``) for the setting that maximises ``metric`` of
    ``detector.score(validation[0])`` (ID) vs ``detector.score(validation[1])`` (OOD / pseudo-OOD).

    ``metric``: ``"auroc"``, ``"neg_fpr95_id_positive"``, ``"neg_fpr95_ood_positive"`` or a callable
    (id_scores, ood_scores) -> value to maximise. A detector that is not fitted yet, or a setting that changes
    what fit learns, is fitted on ``train``/``head``/``heldout``/``adapter``. Returns the best setting, the trace,
    and the detector refitted (or re-scored) at the best setting.
    """
    space = dict(detector.search_space if space is None else space)
    if not space:
        raise ValueError(f"{detector.title} declares no search space; pass space={{param: Grid(...)}}")
    unknown = set(space) - set(detector.get_params())
    if unknown:
        raise KeyError(f"{detector.title} has no hyperparameter(s) {sorted(unknown)}; it takes "
                       f"{sorted(detector.get_params())}")
    score_fn = METRICS[metric] if isinstance(metric, str) else metric
    metric_name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
    trace: list[tuple[dict[str, Any], float]] = []

    def candidate(setting: dict[str, Any]) -> Detector:
        det = detector.with_params(**setting)
        if not det.is_fitted:
            if head is None:
                raise ValueError(f"setting {setting} needs a refit of {detector.title}: pass train= and head=")
            det.fit(train, head, heldout, adapter=adapter)
        return det

    def evaluate(setting: dict[str, Any]) -> float:
        det = candidate(setting)
        value = float(score_fn(det.score(validation[0]), det.score(validation[1])))
        trace.append((dict(setting), value))
        return value

    if strategy == "golden":
        if len(space) != 1 or not isinstance(next(iter(space.values())), Interval):
            raise ValueError("strategy='golden' searches exactly one Interval hyperparameter")
        (param, interval), = space.items()
        result = golden_section_max(lambda x: evaluate({param: x}), interval.low, interval.high, tol=interval.tol)
        best = {param: result.best}
    elif strategy == "grid":
        bad = [p for p, s in space.items() if not isinstance(s, Grid)]
        if bad:
            raise ValueError(f"strategy='grid' needs Grid values; {bad} are not (strategy='golden' takes an Interval)")
        names = list(space)
        settings = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(space[p].values
                                                                                          for p in names))]
        settings = [s for s in settings if constraint is None or constraint(s)]
        if not settings:
            raise ValueError("no setting of the grid satisfies the constraint")
        values = [evaluate(s) for s in settings]
        best = settings[int(np.argmax(values))]
    else:
        raise ValueError(f"strategy must be 'grid' or 'golden', got {strategy!r}")
    value = max(v for s, v in trace if s == best)
    return TuneResult(best, value, trace, metric_name, candidate(best))


def tune_on_heldout(detector: Detector, heldout: HeldOut, *, train=None, space: Mapping[str, Any] | None = None,
                    n: int | None = None, metric: str | Callable = "auroc") -> TuneResult:
    """:func:`tune` on held-out ID images vs their corrupted copies (NAP App. H's pseudo-OOD data): what
    ``evaluate --tune METHOD`` runs. ``train``: the ID train features, for detectors that fit on them. Golden
    section for one Interval, a grid otherwise (with the detector's ``constraint`` where it declares one)."""
    space = dict(detector.search_space if space is None else space)
    pseudo = heldout.pseudo_ood(HELDOUT_N if n is None else n)
    golden = len(space) == 1 and isinstance(next(iter(space.values())), Interval)
    train = train if detector.needs.train else None
    head = heldout.adapter.head
    det = detector if detector.is_fitted else detector.fit(train, head, heldout, adapter=heldout.adapter)
    return tune(det, space, pseudo.for_detector(detector), metric=metric, strategy="golden" if golden else "grid",
                train=train, head=head, heldout=heldout, adapter=heldout.adapter,
                constraint=getattr(detector, "constraint", None))
