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


def _roc(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TPR and FPR at every distinct threshold, highest first (positives score high)."""
    scores = np.concatenate([pos, neg])
    is_pos = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    order = np.argsort(-scores, kind="mergesort")
    scores, is_pos = scores[order], is_pos[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(is_pos)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    tpr = np.r_[0.0, tp / len(pos)]
    fpr = np.r_[0.0, fp / len(neg)]
    return tpr, fpr


def auroc(id_scores, ood_scores) -> float:
    """Area under the ROC curve: P(ID score > OOD score) + 0.5 P(tie). Symmetric in convention."""
    tpr, fpr = _roc(_as_scores("id_scores", id_scores), _as_scores("ood_scores", ood_scores))
    return float(np.trapezoid(tpr, fpr))


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
    return float(fpr[np.argmax(tpr >= recall - 1e-12)])


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


def bootstrap_interval(metric, id_scores, ood_scores, *, n_boot: int = 1000, level: float = 0.95,
                       seed: int = 0, paired_with: tuple | None = None) -> Interval:
    """Percentile bootstrap interval of ``metric(id, ood)``, resampling ID and OOD separately.

    With ``paired_with=(id_scores_b, ood_scores_b)`` the interval is of the difference
    ``metric(a) - metric(b)`` on the same resampled images (a paired comparison of two methods).
    """
    id_a, ood_a = np.asarray(id_scores, np.float64), np.asarray(ood_scores, np.float64)
    if paired_with is not None:
        id_b, ood_b = (np.asarray(x, np.float64) for x in paired_with)
        if id_b.shape != id_a.shape or ood_b.shape != ood_a.shape:
            raise ValueError("paired_with must hold scores of the same images as id_scores/ood_scores")

        def stat(i, o):
            return metric(id_a[i], ood_a[o]) - metric(id_b[i], ood_b[o])
    else:
        def stat(i, o):
            return metric(id_a[i], ood_a[o])
    rng = np.random.default_rng(seed)
    full = stat(np.arange(len(id_a)), np.arange(len(ood_a)))
    draws = np.array([stat(rng.integers(0, len(id_a), len(id_a)), rng.integers(0, len(ood_a), len(ood_a)))
                      for _ in range(n_boot)])
    alpha = (1 - level) / 2
    return Interval(float(full), float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha)))


class _ResampledAuroc:
    """AUROC of a bootstrap resample given as per-image counts, in O(n + m) without re-sorting.

    With ``c_i`` copies of ID image i and ``d_j`` of OOD image j, AUROC = sum_i c_i (#{d: ood_j < id_i} +
    0.5 #{d: ood_j = id_i}) / (sum c * sum d), the same value :func:`auroc` gives on the resampled arrays.
    """

    def __init__(self, id_scores: np.ndarray, ood_scores: np.ndarray) -> None:
        self.order = np.argsort(ood_scores, kind="mergesort")
        ood_sorted = ood_scores[self.order]
        self.below = np.searchsorted(ood_sorted, id_scores, side="left")
        self.at_or_below = np.searchsorted(ood_sorted, id_scores, side="right")

    def __call__(self, id_counts: np.ndarray, ood_counts: np.ndarray) -> float:
        cum = np.r_[0.0, np.cumsum(ood_counts[self.order])]
        wins = cum[self.below] + 0.5 * (cum[self.at_or_below] - cum[self.below])
        return float((id_counts * wins).sum() / (id_counts.sum() * cum[-1]))


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
    resampled = [_ResampledAuroc(id_a, s) for s in sets]
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    for b in range(n_boot):
        id_counts = np.bincount(rng.integers(0, len(id_a), len(id_a)), minlength=len(id_a))
        draws[b] = np.mean([r(id_counts, np.bincount(rng.integers(0, len(s), len(s)), minlength=len(s)))
                            for r, s in zip(resampled, sets, strict=True)])
    alpha = (1 - level) / 2
    estimate = float(np.mean([auroc(id_a, s) for s in sets]))
    return Interval(estimate, float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha)))


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
