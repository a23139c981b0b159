"""OOD detection metrics. Scores follow one rule throughout: higher = more in-distribution.

FPR@95 comes in two conventions, and the papers of this book differ, so the convention is a
required, named argument:

``"id"`` (ID-positive; DICE, ReAct, NAP, HIMPLoS)
    Accept the 95% highest-scoring ID images (TPR of ID = 95%); report the fraction of OOD
    images that are accepted too.
``"ood"`` (OOD-positive; OpenOOD, AdaSCALE, Prototype Fusion)
    Flag the 95% lowest-scoring OOD images as OOD (TPR of OOD = 95%); report the fraction of ID
    images that are flagged as OOD too.

Both use the threshold at which the positive class's recall first reaches 95% (ties are
accepted together), which is what ``sklearn.metrics.roc_curve`` followed by
``fpr[argmax(tpr >= 0.95)]`` computes (OpenOOD's code). All values are fractions in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

Convention = Literal["id", "ood"]


def _as_scores(name: str, scores) -> np.ndarray:
    a = np.asarray(scores, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains {int((~np.isfinite(a)).sum())} NaN or infinite values")
    return a


class _CountedRoc:
    """The ROC curve of scores given with per-image multiplicities, sorted once for any number of them.

    ``curve(pos_counts, neg_counts)`` with ``c_i`` copies of positive image i and ``d_j`` of negative image j
    gives, at every distinct score of the original samples (highest first), the TPR and FPR that the curve of
    the resampled arrays has: a score the resample lacks repeats the previous point, which adds no area and is
    never the first point to reach a recall, so AUROC and FPR@95 read from it are those of the resampled
    arrays. A bootstrap draw then costs two cumulative sums instead of a sort (:func:`bootstrap_interval`).
    """

    def __init__(self, pos: np.ndarray, neg: np.ndarray) -> None:
        scores = np.concatenate([pos, neg])
        self.order = np.argsort(-scores, kind="mergesort")
        self.is_pos = self.order < len(pos)
        self.last_of_tie = np.r_[np.flatnonzero(np.diff(scores[self.order])), len(scores) - 1]

    def curve(self, pos_counts: np.ndarray, neg_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """TPR and FPR at every distinct threshold, highest first, with a leading (0, 0)."""
        w = np.concatenate([pos_counts, neg_counts])[self.order]
        tp = np.cumsum(np.where(self.is_pos, w, 0))[self.last_of_tie]
        fp = np.cumsum(np.where(self.is_pos, 0, w))[self.last_of_tie]
        return np.r_[0.0, tp / pos_counts.sum()], np.r_[0.0, fp / neg_counts.sum()]


def _roc(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TPR and FPR at every distinct threshold, highest first (positives score high)."""
    return _CountedRoc(pos, neg).curve(np.ones(len(pos)), np.ones(len(neg)))


def _area(tpr: np.ndarray, fpr: np.ndarray) -> float:
    return float(np.trapezoid(tpr, fpr))


def _fpr_at_recall(tpr: np.ndarray, fpr: np.ndarray, recall: float = 0.95) -> float:
    return float(fpr[np.argmax(tpr >= recall - 1e-12)])


def auroc(id_scores, ood_scores) -> float:
    """Area under the ROC curve: P(ID score > OOD score) + 0.5 P(tie). Symmetric in convention."""
    return _area(*_roc(_as_scores("id_scores", id_scores), _as_scores("ood_scores", ood_scores)))


def fpr95_id_positive(id_scores, ood_scores) -> float:
    """:func:`fpr_at_95_tpr` with ``positive="id"``, as a two-argument metric (for paired bootstraps)."""
    return fpr_at_95_tpr(id_scores, ood_scores, positive="id")


def fpr_at_95_tpr(id_scores, ood_scores, *, positive: Convention, recall: float = 0.95) -> float:
    """False-positive rate when the positive class is recalled at ``recall`` (see module docstring).

    ``positive="id"``: fraction of OOD accepted when 95% of ID is accepted (DICE/NAP/HIMPLoS).
    ``positive="ood"``: fraction of ID rejected when 95% of OOD is rejected (OpenOOD/AdaSCALE/PF).
    """
    id_s = _as_scores("id_scores", id_scores)
    ood_s = _as_scores("ood_scores", ood_scores)
    if positive == "id":
        tpr, fpr = _roc(id_s, ood_s)
    elif positive == "ood":
        tpr, fpr = _roc(-ood_s, -id_s)
    else:
        raise ValueError(f"positive must be 'id' or 'ood' (which class the 95% recall is of), got {positive!r}")
    return _fpr_at_recall(tpr, fpr, recall)


def average_precision(pos, neg) -> float:
    """Step-wise area under the precision-recall curve with ``pos`` as the positive class."""
    pos = _as_scores("positive scores", pos)
    neg = _as_scores("negative scores", neg)
    tpr, fpr = _roc(pos, neg)
    tp, fp = tpr * len(pos), fpr * len(neg)
    precision = np.divide(tp, tp + fp, out=np.ones_like(tp), where=(tp + fp) > 0)
    return float(np.sum(np.diff(tpr) * precision[1:]))


def aupr_in(id_scores, ood_scores) -> float:
    """AUPR with ID as the positive class (average precision)."""
    return average_precision(id_scores, ood_scores)


def aupr_out(id_scores, ood_scores) -> float:
    """AUPR with OOD as the positive class, scored by the negated score (average precision)."""
    return average_precision(-np.asarray(ood_scores, dtype=np.float64), -np.asarray(id_scores, dtype=np.float64))


@dataclass(frozen=True)
class DetectionMetrics:
    auroc: float
    fpr95_id_positive: float
    fpr95_ood_positive: float
    aupr_in: float
    aupr_out: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def all_metrics(id_scores, ood_scores) -> DetectionMetrics:
    """Every metric at once, both FPR@95 conventions named."""
    return DetectionMetrics(
        auroc=auroc(id_scores, ood_scores),
        fpr95_id_positive=fpr_at_95_tpr(id_scores, ood_scores, positive="id"),
        fpr95_ood_positive=fpr_at_95_tpr(id_scores, ood_scores, positive="ood"),
        aupr_in=aupr_in(id_scores, ood_scores),
        aupr_out=aupr_out(id_scores, ood_scores),
    )


def mean_metrics(id_scores, ood_score_sets) -> DetectionMetrics:
    """Each metric of :func:`all_metrics` averaged over several OOD sets scored against the same ID
    scores: the "average" columns of the papers' tables (a mean of per-set values, not a pooled set)."""
    per_set = [all_metrics(id_scores, s) for s in ood_score_sets]
    if not per_set:
        raise ValueError("no OOD score sets to average over")
    return DetectionMetrics(**{name: float(np.mean([getattr(m, name) for m in per_set]))
                               for name in DetectionMetrics.__dataclass_fields__})


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.estimate:.4f} [{self.low:.4f}, {self.high:.4f}]"


def above_chance(iv: Interval) -> Interval:
    """An AUROC interval as its distance above chance (0.5): positive where the scores rank ID above OOD."""
    return Interval(iv.estimate - 0.5, iv.low - 0.5, iv.high - 0.5)


# Metrics read from a ROC curve of (ID, OOD) alone: bootstraps of these resample by counts (_CountedRoc).
_FROM_CURVE = {auroc: _area, fpr95_id_positive: _fpr_at_recall}


def bootstrap_interval(metric, id_scores, ood_scores, *, n_boot: int = 1000, level: float = 0.95,
                       seed: int = 0, paired_with: tuple | None = None) -> Interval:
    """Percentile bootstrap interval of ``metric(id, ood)``, resampling ID and OOD separately.

    With ``paired_with=(id_scores_b, ood_scores_b)`` the interval is of the difference
    ``metric(a) - metric(b)`` on the same resampled images (a paired comparison of two methods).
    :func:`auroc` and :func:`fpr95_id_positive` are computed from each draw's image counts without re-sorting
    (the same values as on the resampled arrays, ``tests/unit/test_metrics.py``); any other metric is called on the
    resampled arrays.
    """
    id_a, ood_a = np.asarray(id_scores, np.float64), np.asarray(ood_scores, np.float64)
    samples = [(id_a, ood_a)]
    if paired_with is not None:
        id_b, ood_b = (np.asarray(x, np.float64) for x in paired_with)
        if id_b.shape != id_a.shape or ood_b.shape != ood_a.shape:
            raise ValueError("paired_with must hold scores of the same images as id_scores/ood_scores")
        samples.append((id_b, ood_b))
    n, m = len(id_a), len(ood_a)
    read = _FROM_CURVE.get(metric)
    if read is not None:
        rocs = [_CountedRoc(i, o) for i, o in samples]

        def values(i, o):
            counts = np.bincount(i, minlength=n), np.bincount(o, minlength=m)
            return [read(*r.curve(*counts)) for r in rocs]
    else:
        def values(i, o):
            return [metric(ids[i], oods[o]) for ids, oods in samples]

    def stat(i, o):
        v = values(i, o)
        return v[0] - v[1] if paired_with is not None else v[0]

    rng = np.random.default_rng(seed)
    full = stat(np.arange(n), np.arange(m))
    draws = np.array([stat(rng.integers(0, n, n), rng.integers(0, m, m)) for _ in range(n_boot)])
    alpha = (1 - level) / 2
    return Interval(float(full), float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha)))


def bootstrap_mean_auroc(id_scores, ood_score_sets, *, n_boot: int = 1000, level: float = 0.95,
                         seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the AUROC averaged over OOD sets (a table's "average" column).

    Each draw resamples the ID images once (every set is scored against the same ID images) and each
    OOD set separately, in the order :func:`bootstrap_interval` draws them, so with one OOD set the two
    give the same interval. Fast: AUROCs come from resample counts, not from re-sorting.
    """
    id_a = _as_scores("id_scores", id_scores)
    sets = [_as_scores(f"OOD set {k}", s) for k, s in enumerate(ood_score_sets)]
    if not sets:
        raise ValueError("no OOD score sets to average over")
    rocs = [_CountedRoc(id_a, s) for s in sets]
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    for b in range(n_boot):
        id_counts = np.bincount(rng.integers(0, len(id_a), len(id_a)), minlength=len(id_a))
        draws[b] = np.mean([_area(*r.curve(id_counts, np.bincount(rng.integers(0, len(s), len(s)), minlength=len(s))))
                            for r, s in zip(rocs, sets, strict=True)])
    alpha = (1 - level) / 2
    estimate = float(np.mean([auroc(id_a, s) for s in sets]))
    return Interval(estimate, float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha)))


def mean_auroc_draws(score_sets: Mapping[str, tuple], *, n_boot: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    """Bootstrap draws of the mean AUROC of many methods (or networks) scored on the **same** images, resampled alike.

    ``score_sets[key] = (id_scores, [ood_scores per set])``. In each draw every sample size (the ID images, each OOD
    set) gets one resample of its positions, applied to every key whose arrays have that size and position in the
    list, so that two keys scored on the same images are compared on the same resample (a paired bootstrap of a
    ranking). Returns key -> ``n_boot`` mean AUROCs (each with :func:`bootstrap_mean_auroc`'s estimator)."""
    prepared = {}
    for key, (id_scores, ood_sets) in score_sets.items():
        id_a = _as_scores(f"{key}: id_scores", id_scores)
        sets = [_as_scores(f"{key}: OOD set {k}", s) for k, s in enumerate(ood_sets)]
        if not sets:
            raise ValueError(f"{key}: no OOD score sets to average over")
        prepared[key] = (len(id_a), [len(s) for s in sets], [_CountedRoc(id_a, s) for s in sets])
    rng = np.random.default_rng(seed)
    out = {key: np.empty(n_boot) for key in prepared}
    slots = sorted({("id", n) for n, _, _ in prepared.values()}
                   | {(k, m) for _, sizes, _ in prepared.values() for k, m in enumerate(sizes)}, key=str)
    for b in range(n_boot):
        counts = {slot: np.bincount(rng.integers(0, slot[1], slot[1]), minlength=slot[1]) for slot in slots}
        for key, (n, sizes, rocs) in prepared.items():
            out[key][b] = np.mean([_area(*r.curve(counts[("id", n)], counts[(k, m)]))
                                   for k, (m, r) in enumerate(zip(sizes, rocs, strict=True))])
    return out


def auroc_per_column(id_values, ood_values) -> np.ndarray:
    """AUROC of every column (e.g. every channel's statistic) separately: N x C and M x C -> C.

    Mann-Whitney U from average ranks, so ties count half, as in :func:`auroc`.
    """
    from scipy.stats import rankdata

    a = np.asarray(id_values, dtype=np.float64)
    b = np.asarray(ood_values, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need N x C and M x C arrays with the same C, got {a.shape} and {b.shape}")
    ranks = rankdata(np.concatenate([a, b]), axis=0)
    n, m = len(a), len(b)
    u = ranks[:n].sum(axis=0) - n * (n + 1) / 2
    return u / (n * m)
