"""One-dimensional hyperparameter searches on held-out data (never on the OOD test sets)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SearchResult:
    best: float
    value: float
    evaluations: list[tuple[float, float]] = field(default_factory=list)  # (x, objective), in call order


def golden_section_max(objective: Callable[[float], float], low: float = 0.0, high: float = 1.0, *,
                       tol: float = 0.01, candidates: tuple[float, ...] = (0.0, 1.0)) -> SearchResult:
    """Maximise a (roughly unimodal) function on [low, high] by golden-section search.

    NAP (Sec. 4.2) finds its weight w "by a binary search"; golden-section search is the
    bracketing search for the maximum of a unimodal function. The ends of the interval (and any
    ``candidates``) are evaluated too, so a monotone objective returns its best end.
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
