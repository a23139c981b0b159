"""Across architectures (chapter 5): every paper's claims on two networks side by side, the methods' AUROCs on both,
and the papers' generality claims graded on both networks by the scorecard's interval rules.

- :func:`paired_claims`: the directional and threshold claims of each paper chapter on one architecture beside the
  same claims on another (matched by their text without parenthesised details such as a chosen baseline's name);
- :func:`verdict_counts`: verdict counts per paper and architecture, tested and untested;
- :func:`penultimate_methods`: every registered method that reads only the penultimate feature or the logits;
- :func:`auroc_grid`: AUROC with its 95% bootstrap interval per architecture, ID dataset, method and OOD set;
- :func:`generality_scorecard`: the four papers' claims of generality, each decided on every (network, ID dataset).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

from ... import data, metrics
from ...detectors import available, create
from ...evaluation import Evaluation, near_far, paired_mean_gain, real_sets
from ..scorecard import VERDICTS, Scorecard

PAPERS = {"01_nap": "NAP", "02_adascale": "AdaSCALE", "03_himplos": "HIMPLoS",
          "04_prototype_fusion": "Prototype Fusion"}
GRADED_KINDS = ("directional", "threshold")  # the kinds compared across networks; numbers tie to the paper's network


def claim_kind(claim: Mapping) -> str:
    """``directional`` (decided by an interval), ``threshold`` (a stated test that holds or not), ``numeric`` (a
    paper number within a tolerance) or ``untestable``: what a scorecard claim is, from its JSON."""
    if claim.get("interval") is not None:
        return "directional"
    if claim.get("holds") is not None:
        return "threshold"
    if claim.get("paper") is not None:
        return "numeric"
    return "untestable" if claim["verdict"] == "not testable here" else "threshold"


def claim_key(text: str) -> str:
    """A claim's text without parenthesised details (a chosen baseline, a value), to match it across networks."""
    return re.sub(r"\s+", " ", re.sub(r"\s+\([^()]*\)", "", text)).strip()


def _interval_text(claim: Mapping) -> str:
    iv = claim.get("interval")
    return "—" if iv is None else f"{claim['ours']:+.2f} [{iv[0]:+.2f}, {iv[1]:+.2f}]"


def paired_claims(cards: Mapping[str, Mapping[str, Mapping]], archs: Sequence[str]) -> pd.DataFrame:
    """One row per directional or threshold claim of a paper chapter on ``archs[0]``: its verdict and interval there
    and on ``archs[1]`` (``cards[arch][chapter]`` is a scorecard JSON). A claim the other network's card lacks is
    "missing"; ``differs`` says whether the two verdicts differ."""
    first, second = archs
    rows = []
    for chapter, paper in PAPERS.items():
        other: dict[str, list] = {}
        for claim in cards[second][chapter]["claims"]:
            other.setdefault(claim_key(claim["claim"]), []).append(claim)
        for claim in cards[first][chapter]["claims"]:
            kind = claim_kind(claim)
            if kind not in GRADED_KINDS:
                continue
            matches = other.get(claim_key(claim["claim"]), [])
            twin = matches.pop(0) if matches else None
            rows.append({"paper": paper, "claim": claim_key(claim["claim"]), "where": claim["where"], "kind": kind,
                         f"verdict {first}": claim["verdict"], f"interval {first}": _interval_text(claim),
                         f"verdict {second}": "missing" if twin is None else twin["verdict"],
                         f"interval {second}": "—" if twin is None else _interval_text(twin),
                         f"reason {second}": "" if twin is None else twin["reason"]})
    out = pd.DataFrame(rows)
    out["differs"] = out[f"verdict {first}"] != out[f"verdict {second}"]
    return out


def verdict_counts(cards: Mapping[str, Mapping[str, Mapping]], titles: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Verdict counts per paper and architecture (``cards[arch][chapter]``), with the tested/untested split."""
    rows = []
    for arch, by_chapter in cards.items():
        for chapter, card in by_chapter.items():
            counts = {v: card["counts"][v] for v in VERDICTS}  # as the chapter's scorecard counted them
            rows.append({"paper": PAPERS.get(chapter, card["paper"]), "architecture": (titles or {}).get(arch, arch),
                         **counts, "tested": len(card["claims"]) - counts["not testable here"],
                         "untested": counts["not testable here"], "total": len(card["claims"])})
    return pd.DataFrame(rows)


def penultimate_methods() -> list[str]:
    """Every registered method that scores the penultimate feature or the logits alone (no other tap, no network
    pass, no held-out search): the "penultimate-layer methods" Prototype Fusion compares with."""
    out = []
    for name in available():
        det = create(name)
        if not det.needs.network and not det.needs.heldout and set(det.needs.arrays) <= {"penultimate", "logits"}:
            out.append(name)
    return out


def auroc_grid(runs: Mapping[str, Mapping[str, Evaluation]], methods: Sequence[str], *, n_boot: int,
               seed: int) -> pd.DataFrame:
    """Per architecture (``runs[arch][ds]``), ID dataset, method and OOD set: AUROC (%) with its 95% bootstrap
    interval."""
    rows = []
    for arch, by_ds in runs.items():
        for ds, run in by_ds.items():
            for m in methods:
                sc = run.scores[m]
                for d in run.table.ood.unique():
                    iv = metrics.bootstrap_interval(metrics.auroc, sc[ds], sc[d], n_boot=n_boot, seed=seed)
                    rows.append({"architecture": arch, "ID": ds, "method": m, "title": run.detectors[m].title,
                                 "ood": d, "group": data.ood_group(ds, d), "AUROC": 100 * iv.estimate,
                                 "low": 100 * iv.low, "high": 100 * iv.high, "n per set": len(sc[d])})
    return pd.DataFrame(rows)


def best_penultimate(run: Evaluation, candidates: Sequence[str]) -> str:
    """The penultimate-layer method with the highest mean AUROC over the run's near and far sets (chosen on the test
    images themselves, which favours the baseline: a conservative comparison for the method that must beat it)."""
    t = run.table[run.table.ood.isin(real_sets(run.id_dataset, list(run.table.ood.unique())))]
    return str(t[t.method.isin(candidates)].groupby("method").auroc.mean().idxmax())


def generality_scorecard(profile: str, runs: Mapping[str, Mapping[str, Evaluation]],
                         subset_runs: Mapping[str, Mapping[str, Evaluation]], titles: Mapping[str, str], *,
                         candidates: Sequence[str], n_boot: int = 500) -> Scorecard:
    """The four papers' generality claims, each an every-case claim over (network, ID dataset, group of sets): the
    AUROC averaged over the group's sets (as the papers' tables average), paired bootstrap
    (:func:`~ood_nb_utils.evaluation.paired_mean_gain`). NAP and HIMPLoS are graded on far-OOD sets (their tables'),
    AdaSCALE and Prototype Fusion on near- and far-OOD (OpenOOD's groups). ``runs``: every image of the profile;
    ``subset_runs``: AdaSCALE-A and SCALE on the network-based subset (the same images). A claim is not reproduced if
    any case's interval lies wholly below 0 (or is a tie), inconclusive if none does but some contains 0."""
    card = Scorecard("05_architectures", "Across architectures (all four papers)", profile)

    def cases(better: str, worse: str | None = None, groups=("far",), source=runs, *, pick=None) -> dict:
        out = {}
        for arch, by_ds in source.items():
            for ds, run in by_ds.items():
                base = worse if pick is None else pick(run)
                sets = near_far(ds, list(run.table.ood.unique()))
                for g in groups:
                    out[f"{titles[arch]} {ds} {g} vs {run.detectors[base].title}"] = paired_mean_gain(
                        run.scores[better], run.scores[base], ds, sets[g], n_boot=n_boot)
        return out

    refute = "not reproduced if in any case (network, ID dataset, group) the interval lies wholly below 0"
    mean = "AUROC averaged over the group's sets (each set alike), paired bootstrap"
    card.add_every_directional(
        "NAP is plug-and-play: NAP-E beats Energy on either network", "Abstract; Sec. 5.3; App. E",
        cases("nap_e", "energy"),
        reason=f"far-OOD sets (NAP's tables); {mean}; w searched on each network's own held-out pseudo-OOD images; "
               f"{refute}")
    card.add_every_directional(
        "AdaSCALE's gain holds across architectures: AdaSCALE-A beats SCALE on either network",
        "Abstract; Tables 16-17", cases("adascale_a", "scale", ("near", "far"), subset_runs),
        reason="AdaSCALE-A at the paper's per-network setting (Tables 12-13: DenseNet-101 rows for the DenseNet, "
               "WRN-28-10 rows for ResNet-56), SCALE at its default p = 85, both on the same network-based subset; "
               f"near- and far-OOD sets; {mean}; {refute}")
    card.add_every_directional(
        "HIMPLoS is compatible with other backbones: it beats Energy and ReAct on either network",
        "Sec. V-B; Table I", cases("himplos", "energy") | cases("himplos", "react"),
        reason="lambda = the network's clip (1.6 on the DenseNet, ReAct's 90th percentile on ResNet-56), p = 60; "
               f"far-OOD sets (Table I's); {mean}; {refute}")
    card.add_every_directional(
        "Prototype Fusion is architecture-agnostic: it beats the best penultimate-layer method on either network",
        "Abstract",
        cases("prototype_fusion", groups=("near", "far"), pick=lambda run: best_penultimate(run, candidates)),
        reason=f"the best of {len(candidates)} penultimate-layer methods ({', '.join(candidates)}) by mean AUROC over "
               f"the near and far sets, chosen on the same test images; the fused taps are each network's "
               f"(models.ARCHITECTURES); near- and far-OOD sets; {mean}; {refute}")
    return card


def differing(pairs: pd.DataFrame) -> list[str]:
    """Markdown bullets: every claim whose verdict differs between the two networks."""
    cols = [c for c in pairs.columns if c.startswith("verdict ")]
    return [f"- {r.paper}: {r.claim} ({r['where']}): {r[cols[0]]} -> {r[cols[1]]}"
            for _, r in pairs[pairs.differs].iterrows()]


def agreement(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per paper: how many of its compared claims keep their verdict on the second network."""
    return pairs.groupby("paper", sort=False).agg(compared=("differs", "size"),
                                                  same=("differs", lambda d: int((~d).sum())),
                                                  differ=("differs", lambda d: int(d.sum())))

