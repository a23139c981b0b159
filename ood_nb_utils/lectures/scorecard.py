"""The reproduction scorecard every chapter ends with.

A claim records what the paper says (in words, where, and the number), what we measured, the
difference, a verdict and the reason. Verdicts follow fixed rules (:func:`verdict`) so that a
chapter cannot grade itself generously:

- ``not testable here``: we have no number (e.g. the OOD set is not available);
- for a numeric claim, ``reproduced`` when ``|ours - paper| <= tolerance``, ``partly`` when it is
  within ``partial_tolerance`` (default three times the tolerance), else ``not reproduced``. A numeric claim that
  carries the 95% bootstrap interval of our value (``ours_interval``) is decided by the whole interval
  (:func:`interval_verdict`): the rule's verdict at the interval's point nearest the paper's value and at its
  farthest; where the two differ, the interval crosses a tolerance edge and the claim is ``inconclusive``, so
  that resampling noise cannot decide it;
- for a directional claim ("A beats B", "X lowers Y"), decided by the 95% paired-bootstrap interval of the
  difference, oriented so that the paper's direction is positive (:func:`directional_verdict`):
  ``reproduced`` when the whole interval is on the paper's side of zero, ``not reproduced`` when it is wholly
  on the other side, and ``inconclusive`` when it contains zero, *whatever the sign of the point estimate*:
  the sign of a difference the data cannot tell from zero is float noise, and a verdict must not move with
  it. One exception: a degenerate interval [0, 0] is a tie (both methods rank every resampled image alike,
  e.g. NAP-M at w = 1 is MSP), so the paper's direction is shown not to hold: ``not reproduced``, and the
  reason says it is a tie;
- a directional claim graded on several groups of sets apart (far-OOD, substitutes; :func:`grouped_verdict`): the
  groups' common verdict, ``partly`` where they differ;
- for any other qualitative claim (``holds=True/False``), ``reproduced`` or ``not reproduced``; its reason
  must say what result would have made it fail.
A chapter may override a verdict only by giving a reason, which is shown beside it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..config import REPO_ROOT
from ..models.architectures import DEFAULT_ARCH

VERDICTS = ("reproduced", "partly", "inconclusive", "not reproduced", "not testable here")
# one colour per verdict, for every table and figure that shows them
VERDICT_COLORS = {"reproduced": "#2ca02c", "partly": "#ffbf00", "inconclusive": "#7fa7d9", "not reproduced": "#d62728",
                  "not testable here": "#9e9e9e"}
# why a paper's number is not graded on another network than the one it was measured on
OTHER_NETWORK_REASON = "the paper's number is for its own network; this run is on {arch}, so ours is shown, not graded"
TIE_REASON = "a tie: the interval is [0, 0], both methods order every resampled image alike"


def is_tie(interval: tuple[float, float]) -> bool:
    """Whether a directional claim's interval is the degenerate [0, 0] of two methods that rank alike."""
    return interval[0] == 0.0 and interval[1] == 0.0


def directional_verdict(estimate: float, interval: tuple[float, float]) -> str:
    """The verdict of a directional claim from its paired difference, oriented so that the paper's direction is
    positive: ``reproduced`` if the whole 95% interval is above 0, ``not reproduced`` if it is wholly below 0
    or is the tie [0, 0], ``inconclusive`` if it contains 0 (the estimate's sign does not enter)."""
    low, high = interval
    if any(math.isnan(x) for x in (estimate, low, high)):
        return "not testable here"
    if not low <= high:
        raise ValueError(f"interval must be (low, high) with low <= high, got {interval}")
    if low > 0:
        return "reproduced"
    if high < 0 or is_tie(interval):
        return "not reproduced"
    return "inconclusive"


def every_case_verdict(verdicts) -> str:
    """The verdict of a claim that must hold in every case: ``reproduced`` if every case is, ``not reproduced``
    if any case is, else ``inconclusive`` (some case's interval contains 0 and none refutes the claim)."""
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("no cases to decide the claim")
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    if any(v == "not reproduced" for v in verdicts):
        return "not reproduced"
    if any(v == "not testable here" for v in verdicts):
        return "not testable here"
    return "inconclusive"


def grouped_verdict(verdicts: Mapping[str, str]) -> str:
    """The verdict of a claim graded on each group of sets apart (``verdicts``: group -> its verdict): the groups'
    common verdict, ``partly`` where they differ."""
    values = set(verdicts.values())
    if not values:
        raise ValueError("no groups to decide the claim")
    return values.pop() if len(values) == 1 else "partly"


def _scaled_cases(claim: str, differences: Mapping, scale: float) -> dict[str, tuple[float, float, float]]:
    """Case label -> (estimate, low, high) of its :class:`~ood_nb_utils.metrics.Interval`, times ``scale``."""
    if not differences:
        raise ValueError(f"{claim!r}: no cases to decide it")
    return {k: tuple(scale * v for v in (d.estimate, d.low, d.high)) for k, d in differences.items()}


def _cases_verdict(cases: Mapping[str, tuple[float, float, float]]) -> str:
    return every_case_verdict(directional_verdict(est, (lo, hi)) for est, lo, hi in cases.values())


def _weakest(cases: Mapping[str, tuple[float, float, float]]) -> tuple[float, float, float]:
    """The case with the lowest lower bound."""
    return cases[min(cases, key=lambda k: cases[k][1])]


def _cases_text(cases: Mapping[str, tuple[float, float, float]]) -> str:
    return "; ".join(f"{k} {e:+.2f} [{a:+.2f}, {b:+.2f}]" + (" (a tie)" if is_tie((a, b)) else "")
                     for k, (e, a, b) in cases.items())


def verdict(paper: float | None, ours: float | None, *, tolerance: float, partial_tolerance: float | None = None,
            holds: bool | None = None) -> str:
    """The verdict rule described in the module docstring."""
    if holds is not None:
        return "reproduced" if holds else "not reproduced"
    if ours is None or paper is None or (isinstance(ours, float) and math.isnan(ours)):
        return "not testable here"
    if tolerance < 0:
        raise ValueError("tolerance must be >= 0")
    partial = 3 * tolerance if partial_tolerance is None else partial_tolerance
    diff = abs(ours - paper)
    if diff <= tolerance:
        return "reproduced"
    return "partly" if diff <= partial else "not reproduced"


def interval_verdict(paper: float, interval: tuple[float, float], *, tolerance: float,
                     partial_tolerance: float | None = None) -> str:
    """The verdict of a numeric claim from the 95% interval of our value: :func:`verdict` at the interval's point
    nearest ``paper`` and at its farthest point; the same verdict at both is the claim's, two different ones mean
    the interval crosses a tolerance edge: ``inconclusive``."""
    low, high = interval
    if not low <= high:
        raise ValueError(f"interval must be (low, high) with low <= high, got {interval}")
    nearest = min(max(paper, low), high)
    farthest = low if abs(low - paper) >= abs(high - paper) else high
    best, worst = (verdict(paper, x, tolerance=tolerance, partial_tolerance=partial_tolerance)
                   for x in (nearest, farthest))
    return best if best == worst else "inconclusive"


@dataclass
class Claim:
    claim: str
    where: str
    paper: float | None
    ours: float | None
    tolerance: float = 1.0
    partial_tolerance: float | None = None
    holds: bool | None = None
    reason: str = ""
    override: str | None = None
    unit: str = ""
    interval: tuple[float, float] | None = None  # directional claims: 95% interval of the oriented difference
    ours_interval: tuple[float, float] | None = None  # numeric claims: 95% bootstrap interval of our value
    verdict: str = field(init=False)
    difference: float | None = field(init=False)

    def __post_init__(self) -> None:
        if self.override is not None:
            if self.override not in VERDICTS:
                raise ValueError(f"override must be one of {VERDICTS}, got {self.override!r}")
            if not self.reason:
                raise ValueError(f"overriding the verdict of {self.claim!r} needs a reason")
            self.verdict = self.override
        elif self.interval is not None:
            if self.holds is not None or self.paper is not None:
                raise ValueError(f"{self.claim!r}: a directional claim is decided by its interval, not by holds/paper")
            self.interval = (float(self.interval[0]), float(self.interval[1]))
            self.verdict = directional_verdict(self.ours, self.interval)
            if is_tie(self.interval) and TIE_REASON not in self.reason:
                self.reason = f"{self.reason}; {TIE_REASON}" if self.reason else TIE_REASON
        elif self.ours_interval is not None and self.paper is not None and self.holds is None:
            self.ours_interval = (float(self.ours_interval[0]), float(self.ours_interval[1]))
            self.verdict = interval_verdict(self.paper, self.ours_interval, tolerance=self.tolerance,
                                            partial_tolerance=self.partial_tolerance)
            text = (f"95% bootstrap interval of ours [{self.ours_interval[0]:.2f}, {self.ours_interval[1]:.2f}] "
                    f"against the tolerance {self.tolerance:g}")
            if text not in self.reason:
                self.reason = f"{self.reason}; {text}" if self.reason else text
        else:
            self.verdict = verdict(self.paper, self.ours, tolerance=self.tolerance,
                                   partial_tolerance=self.partial_tolerance, holds=self.holds)
        self.difference = None if self.paper is None or self.ours is None else self.ours - self.paper


@dataclass
class Scorecard:
    chapter: str
    paper: str
    profile: str
    claims: list[Claim] = field(default_factory=list)
    arch: str = DEFAULT_ARCH  # the architecture the chapter ran on (a key of models.ARCHITECTURES)

    def add(self, *args, **kwargs) -> Claim:
        """Add a :class:`Claim`. On an architecture other than the book's DenseNet, a numeric claim (a paper number
        and a tolerance) compares our value with a number the paper measured on its own network: it is kept with our
        value, as "not testable here" (:data:`OTHER_NETWORK_REASON`); directional and qualitative claims are graded."""
        claim = Claim(*args, **kwargs)
        if (self.arch != DEFAULT_ARCH and claim.paper is not None and claim.interval is None and claim.holds is None
                and claim.override is None):
            from ..models import ARCHITECTURES

            why = OTHER_NETWORK_REASON.format(arch=ARCHITECTURES[self.arch].title)
            claim = Claim(*args, **{**kwargs, "override": "not testable here",
                                    "reason": f"{why}; {claim.reason}" if claim.reason else why})
        self.claims.append(claim)
        return claim

    def add_directional(self, claim: str, where: str, difference, *, reason: str = "", scale: float = 100.0) -> Claim:
        """A directional claim decided by :func:`directional_verdict`. ``difference`` is a
        :class:`~ood_nb_utils.metrics.Interval` of the paired difference oriented so that the paper's direction is
        positive (e.g. AUROC(A) - AUROC(B) for "A beats B", FPR(Y) - FPR(X) for "X lowers Y's FPR"); stored in
        points (``scale``). The reason gains the estimate and interval."""
        est, lo, hi = (scale * v for v in (difference.estimate, difference.low, difference.high))
        text = f"paired bootstrap of the difference (paper's direction positive): {est:+.2f} [{lo:+.2f}, {hi:+.2f}]"
        return self.add(claim, where, None, est, interval=(lo, hi), reason=f"{reason}; {text}" if reason else text)

    def add_every_directional(self, claim: str, where: str, differences, *, reason: str = "",
                              scale: float = 100.0) -> Claim:
        """A claim that A beats B in *every* case (each OOD set, each layer): ``differences`` maps a case label to
        the :class:`~ood_nb_utils.metrics.Interval` of its difference, oriented as in :meth:`add_directional`.
        Each case gets :func:`directional_verdict`, and the claim :func:`every_case_verdict`. The stored
        interval is the weakest case's (lowest lower bound); the reason lists every case, and names the ties."""
        cases = _scaled_cases(claim, differences, scale)
        est, lo, hi = _weakest(cases)
        text = "every case must hold (paper's direction positive): " + _cases_text(cases)
        return self.add(claim, where, None, est, interval=(lo, hi), override=_cases_verdict(cases),
                        reason=f"{reason}; {text}" if reason else text)

    def add_grouped_directional(self, claim: str, where: str, groups, *, reason: str = "",
                                scale: float = 100.0) -> Claim:
        """A claim graded on each group of sets apart: ``groups`` maps a group label to its cases (case label ->
        :class:`~ood_nb_utils.metrics.Interval`, oriented as in :meth:`add_directional`). Each group gets
        :func:`every_case_verdict` of its cases, the claim :func:`grouped_verdict`. The stored interval is the first
        group's weakest case; the reason lists every group and case."""
        scaled = {g: _scaled_cases(claim, cases, scale) for g, cases in groups.items()}
        verdicts = {g: _cases_verdict(cases) for g, cases in scaled.items()}
        est, lo, hi = _weakest(next(iter(scaled.values())))
        text = "each group graded apart, partly where they disagree (paper's direction positive): " + "; ".join(
            f"{g}: {verdicts[g]}, {_cases_text(cases)}" for g, cases in scaled.items())
        return self.add(claim, where, None, est, interval=(lo, hi), override=grouped_verdict(verdicts),
                        reason=f"{reason}; {text}" if reason else text)

    def add_untestable(self, items) -> None:
        """The paper's claims this book cannot test, as (claim, where, reason) triples: "not testable here"."""
        for claim, where, reason in items:
            if not reason:
                raise ValueError(f"an untestable claim needs its reason: {claim!r}")
            self.add(claim, where, None, None, reason=reason)

    def untested_markdown(self) -> str:
        """The chapter's "What this chapter could not test" list, from its "not testable here" claims."""
        rows = [c for c in self.claims if c.verdict == "not testable here"]
        if not rows:
            return "**What this chapter could not test:** nothing; every claim above has a verdict."
        return "\n".join([f"**What this chapter could not test** ({len(rows)} of {len(self.claims)} claims):", ""]
                         + [f"- {c.claim} ({c.where}): {c.reason}" for c in rows])

    def add_unavailable(self, datasets, claim: str, where: str, note: str = "") -> None:
        """A "not testable here" claim for each of ``datasets`` missing from this build; ``claim`` may use
        ``{title}`` (the set's display title), ``note`` is appended to the reason."""
        from ..data import DATASETS, is_available

        for key in datasets:
            if not is_available(key):
                title = DATASETS[key].title
                self.add(claim.format(title=title), where, None, None,
                         reason=f"{title} is not available in this build{note}")

    def publish(self, directory: Path | None = None) -> Path:
        """What a chapter ends with: write the JSON (:meth:`write`), show the table, print the counts, and list
        what the chapter could not test (:meth:`untested_markdown`)."""
        from IPython.display import Markdown, display

        path = self.write(directory)
        display(self.to_frame().style.hide(axis="index"))
        print(f"scorecard written to {path}; verdicts: {self.counts()}")
        display(Markdown(self.untested_markdown()))
        return path

    def to_frame(self) -> pd.DataFrame:
        def num(x: float | None) -> str:
            return "—" if x is None else f"{x:.2f}"

        return pd.DataFrame([{
            "claim": c.claim, "where": c.where, "paper": num(c.paper), "ours": num(c.ours),
            "difference": num(c.difference),
            "95% interval": (f"[{c.interval[0]:+.2f}, {c.interval[1]:+.2f}]" if c.interval is not None else
                             f"ours [{c.ours_interval[0]:.2f}, {c.ours_interval[1]:.2f}]"
                             if c.ours_interval is not None else "—"),
            "verdict": c.verdict, "reason": c.reason,
        } for c in self.claims])

    def counts(self) -> dict[str, int]:
        return {v: sum(c.verdict == v for c in self.claims) for v in VERDICTS}

    def to_json(self) -> dict:
        return {"chapter": self.chapter, "paper": self.paper, "profile": self.profile, "arch": self.arch,
                "claims": [asdict(c) for c in self.claims], "counts": self.counts()}

    def write(self, directory: Path | None = None) -> Path:
        """Write ``<directory>/<chapter>.json`` (default :func:`scorecard_dir`) atomically."""
        path = scorecard_path(self.chapter, directory, arch=self.arch)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1))
        os.replace(tmp, path)
        return path


def percent_interval(metric, id_scores, ood_scores, *, n_boot: int = 500) -> tuple[float, tuple[float, float]]:
    """``metric`` of (ID, OOD) scores and its 95% bootstrap interval, in %: a numeric claim's ``ours`` and
    ``ours_interval``."""
    from ..metrics import bootstrap_interval

    iv = bootstrap_interval(metric, id_scores, ood_scores, n_boot=n_boot)
    return 100 * iv.estimate, (100 * iv.low, 100 * iv.high)


def scorecard_dir() -> Path:
    """Where chapters write their scorecards: ``OOD_NB_SCORECARD_DIR``, default ``<repo>/_build/scorecards``."""
    return Path(os.environ.get("OOD_NB_SCORECARD_DIR", REPO_ROOT / "_build" / "scorecards"))


def scorecard_path(chapter: str, directory: Path | None = None, *, arch: str = DEFAULT_ARCH) -> Path:
    """The JSON file of one chapter's scorecard: ``<directory>/<chapter>.json`` for the book's DenseNet, and
    ``<directory>/<arch>/<chapter>.json`` for a chapter run on another architecture."""
    directory = directory or scorecard_dir()
    return (directory if arch == DEFAULT_ARCH else directory / arch) / f"{chapter}.json"


def read_scorecards(directory: Path | None = None, *, arch: str = DEFAULT_ARCH) -> list[dict]:
    """Every scorecard JSON of architecture ``arch`` in the directory (for the book's summary page)."""
    folder = scorecard_path("x", directory, arch=arch).parent
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
