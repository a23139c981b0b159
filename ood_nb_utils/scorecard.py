"""The reproduction scorecard every chapter ends with.

A claim records what the paper says (in words, where, and the number), what we measured, the
difference, a verdict and the reason. Verdicts follow fixed rules (:func:`verdict`) so that a
chapter cannot grade itself generously:

- ``not testable here``: we have no number (e.g. the OOD set is not available);
- for a numeric claim, ``reproduced`` when ``|ours - paper| <= tolerance``, ``partly`` when it is
  within ``partial_tolerance`` (default 3x tolerance), else ``not reproduced``;
- for a qualitative claim (``holds=True/False``: e.g. "NAP-E beats Energy"), ``reproduced`` or
  ``not reproduced``.
A chapter may override a verdict only by giving a reason, which is shown beside it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from .config import REPO_ROOT

VERDICTS = ("reproduced", "partly", "not reproduced", "not testable here")


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
    verdict: str = field(init=False)
    difference: float | None = field(init=False)

    def __post_init__(self) -> None:
        if self.override is not None:
            if self.override not in VERDICTS:
                raise ValueError(f"override must be one of {VERDICTS}, got {self.override!r}")
            if not self.reason:
                raise ValueError(f"overriding the verdict of {self.claim!r} needs a reason")
            self.verdict = self.override
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

    def add(self, *args, **kwargs) -> Claim:
        claim = Claim(*args, **kwargs)
        self.claims.append(claim)
        return claim

    def add_unavailable(self, datasets, claim: str, where: str, note: str = "") -> None:
        """A "not testable here" claim for each of ``datasets`` missing from this build; ``claim`` may use
        ``{title}`` (the set's display title), ``note`` is appended to the reason."""
        from .data import DATASETS, is_available

        for key in datasets:
            if not is_available(key):
                title = DATASETS[key].title
                self.add(claim.format(title=title), where, None, None,
                         reason=f"{title} is not available in this build{note}")

    def publish(self, directory: Path | None = None) -> Path:
        """What a chapter ends with: write the JSON (:meth:`write`), show the table, print the counts."""
        from IPython.display import display

        path = self.write(directory)
        display(self.to_frame().style.hide(axis="index"))
        print(f"scorecard written to {path}; verdicts: {self.counts()}")
        return path

    def to_frame(self) -> pd.DataFrame:
        def num(x: float | None) -> str:
            return "—" if x is None else f"{x:.2f}"

        return pd.DataFrame([{
            "claim": c.claim, "where": c.where, "paper": num(c.paper), "ours": num(c.ours),
            "difference": num(c.difference), "verdict": c.verdict, "reason": c.reason,
        } for c in self.claims])

    def counts(self) -> dict[str, int]:
        return {v: sum(c.verdict == v for c in self.claims) for v in VERDICTS}

    def to_json(self) -> dict:
        return {"chapter": self.chapter, "paper": self.paper, "profile": self.profile,
                "claims": [asdict(c) for c in self.claims], "counts": self.counts()}

    def write(self, directory: Path | None = None) -> Path:
        """Write ``<directory>/<chapter>.json`` (default :func:`scorecard_dir`) atomically."""
        path = scorecard_path(self.chapter, directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1))
        os.replace(tmp, path)
        return path


def scorecard_dir() -> Path:
    """Where chapters write their scorecards: ``OOD_NB_SCORECARD_DIR``, default ``<repo>/_build/scorecards``."""
    return Path(os.environ.get("OOD_NB_SCORECARD_DIR", REPO_ROOT / "_build" / "scorecards"))


def scorecard_path(chapter: str, directory: Path | None = None) -> Path:
    """The JSON file of one chapter's scorecard."""
    return (directory or scorecard_dir()) / f"{chapter}.json"


def read_scorecards(directory: Path | None = None) -> list[dict]:
    """Every scorecard JSON in the directory (for the book's summary page)."""
    directory = directory or scorecard_dir()
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]
