"""Chapter 5's analyses: every registered method on one benchmark, with its uncertainty, its ranking under each
metric, and what it costs.

- :func:`catalogue`: what each method reads and where it comes from;
- :func:`board`: per ID dataset and method, the mean AUROC of each group of OOD sets with its bootstrap interval
  and the mean FPR@95 under both conventions;
- :func:`kendall_taus`: how far the rankings by AUROC and by each FPR@95 convention agree;
- :func:`rank_agreement`: how far the rankings on two architectures agree (Kendall's tau with a bootstrap interval);
- :func:`cost_table`: the extra time per 1,000 images each method costs beyond the forward pass;
- :func:`findings`: "what we saw", computed from those tables (the best method per benchmark and how many others
  it cannot be told from, what the cross-paper combinations add, what the most expensive method costs).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from ... import metrics
from ...detectors import FAMILIES, available, create
from ...evaluation import Evaluation
from ...runs.context import RunContext
from .. import costs

GROUPS = ("near", "far")  # the groups of evaluation.near_far; substitutes stay off the board
# the cross-paper combinations and the chapter method each puts NAP's Eq. 4 on
COMBINATIONS = (("nap_himplos", "himplos"), ("nap_pf", "prototype_fusion"), ("nap_adascale_a", "adascale_a"))
# the uncached pass each network-based method costs (NAP+AdaSCALE-A's is AdaSCALE-A's: NAP reads the same forward)
PASS_OF = {"odin": "odin", "react_odin": "react_odin", "himplos_odin": "himplos_odin", "adascale_a": "adascale_a",
           "adascale_l": "adascale_l", "nap_adascale_a": "adascale_a"}


def family_of() -> dict[str, str]:
    """Method name -> the family (chapter) it comes from; fails if a registered method is in no family, so that
    nothing is silently left off the leaderboard."""
    out = {m: fam for fam, ms in FAMILIES.items() for m in ms}
    left_out = set(available()) - set(out)
    if left_out:
        raise RuntimeError(f"registered but not on the leaderboard: {sorted(left_out)}")
    return out


def catalogue(families: Mapping[str, str]) -> pd.DataFrame:
    """One row per method: its family, what it reads, and its source."""
    return pd.DataFrame([{"family": families[n], "method": d.title, "reads": d.needs.describe(),
                          "source": d.reference} for n in families for d in [create(n)]])


def board(runs: Mapping[str, Evaluation], contexts: Mapping[str, RunContext], sets: Mapping[str, Mapping],
          families: Mapping[str, str], *, n_boot: int, seed: int) -> pd.DataFrame:
    """Per ID dataset and method: the mean AUROC over each group's sets with its 95% bootstrap interval (ID images
    resampled once per draw, each OOD set separately), the mean FPR@95 under both conventions, and the top-1
    accuracy of the logits the method classifies with (NaN for network-based methods, which score a subset)."""
    rows = []
    for ds, run in runs.items():
        t = run.table.set_index(["method", "ood"])
        for name in families:
            sc, det = run.scores[name], run.detectors[name]
            row = {"ID": ds, "family": families[name], "method": det.title, "key": name,
                   "ID accuracy (%)": float("nan") if det.needs.network else 100 * det.accuracy(contexts[ds].id_test),
                   "n per set": len(sc[run.id_dataset])}
            for g in GROUPS:
                iv = metrics.bootstrap_mean_auroc(sc[run.id_dataset], [sc[d] for d in sets[ds][g]], n_boot=n_boot,
                                                  seed=seed)
                row |= {f"{g} AUROC": 100 * iv.estimate, f"{g} low": 100 * iv.low, f"{g} high": 100 * iv.high,
                        **{f"{g} FPR {label}": 100 * np.mean([t.loc[(name, d), column] for d in sets[ds][g]])
                           for label, column in (("ID-pos.", "fpr95_id_positive"),
                                                 ("OOD-pos.", "fpr95_ood_positive"))}}
            rows.append(row)
    out = pd.DataFrame(rows)
    for g in GROUPS:
        out[f"{g} AUROC [95% CI]"] = [f"{e:.2f} [{lo:.2f}, {hi:.2f}]" for e, lo, hi in
                                      zip(out[f"{g} AUROC"], out[f"{g} low"], out[f"{g} high"], strict=True)]
    return out


BOARD_COLUMNS = ["method", "family", "n per set", "ID accuracy (%)",
                 *(f"{g} {c}" for g in GROUPS for c in ("AUROC [95% CI]", "FPR ID-pos.", "FPR OOD-pos."))]


def kendall_taus(table: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau between the rankings by AUROC and by each FPR@95 convention (lower FPR = better), per ID
    dataset and group."""
    rows = []
    for ds in table.ID.unique():
        b = table[table.ID == ds]
        for g in GROUPS:
            rows.append({"ID": ds, "group": g,
                         "tau(AUROC, FPR ID-pos.)": kendalltau(b[f"{g} AUROC"], -b[f"{g} FPR ID-pos."]).statistic,
                         "tau(AUROC, FPR OOD-pos.)": kendalltau(b[f"{g} AUROC"], -b[f"{g} FPR OOD-pos."]).statistic,
                         "tau(FPR ID-pos., FPR OOD-pos.)": kendalltau(b[f"{g} FPR ID-pos."],
                                                                      b[f"{g} FPR OOD-pos."]).statistic})
    return pd.DataFrame(rows)


def rank_agreement(runs: Mapping[str, Mapping[str, Evaluation]], sets: Mapping[str, Mapping], methods, *,
                   n_boot: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How far two architectures rank the methods alike: per ID dataset and group, Kendall's tau between the
    methods' mean AUROCs on the two networks (``runs[arch][ds]``), with a 95% bootstrap interval (every draw
    resamples the images once for both networks and every method, :func:`~ood_nb_utils.metrics.mean_auroc_draws`).
    Returns (one row per ID and group, one row per ID, group and method with its rank on each network)."""
    arch_a, arch_b = list(runs)
    taus, ranks = [], []
    for ds in runs[arch_a]:
        for g in GROUPS:
            keys = {(arch, m): (runs[arch][ds].scores[m][ds], [runs[arch][ds].scores[m][d] for d in sets[ds][g]])
                    for arch in runs for m in methods}
            draws = metrics.mean_auroc_draws(keys, n_boot=n_boot, seed=seed)
            point = {k: float(np.mean([metrics.auroc(i, o) for o in oods])) for k, (i, oods) in keys.items()}
            a, b = (np.array([point[(arch, m)] for m in methods]) for arch in (arch_a, arch_b))
            boot = [kendalltau([draws[(arch_a, m)][j] for m in methods],
                               [draws[(arch_b, m)][j] for m in methods]).statistic for j in range(n_boot)]
            taus.append({"ID": ds, "group": g, "methods": len(methods), "tau": kendalltau(a, b).statistic,
                         "low": float(np.quantile(boot, 0.025)), "high": float(np.quantile(boot, 0.975))})
            rank_a = pd.Series(a, index=list(methods)).rank(ascending=False)
            rank_b = pd.Series(b, index=list(methods)).rank(ascending=False)
            ranks += [{"ID": ds, "group": g, "key": m, f"AUROC {arch_a}": 100 * a[i], f"rank {arch_a}": rank_a[m],
                       f"AUROC {arch_b}": 100 * b[i], f"rank {arch_b}": rank_b[m],
                       "rank change": rank_b[m] - rank_a[m]} for i, m in enumerate(methods)]
    return pd.DataFrame(taus), pd.DataFrame(ranks)


def cost_table(context: RunContext, run: Evaluation, families: Mapping[str, str],
               timing_images: np.ndarray) -> tuple[pd.DataFrame, float]:
    """(cost per method, the forward pass in ms per 1,000 images). Feature-based methods: fit once on the train
    subset, then score the cached ID test activations (best of 3). Network-based methods: a fresh uncached pass
    over ``timing_images`` minus the plain forward pass of the same images."""
    rows = [{"method": d.title, "family": families[name], "kind": "scores cached activations",
             **costs.feature_method_cost(d, context.train, context.id_test, context.head, context.held_out())}
            for name in families for d in [create(name)] if not d.needs.network]
    forward = costs.forward_seconds(context.adapter, timing_images)
    seconds = {n: costs.network_seconds(run.detectors[n], timing_images) for n in set(PASS_OF.values())}
    for name, timed in PASS_OF.items():
        rows.append({"method": run.detectors[name].title, "family": families[name],
                     "kind": f"extra network passes ({timed})", "fit (s, once)": np.nan,
                     "extra ms / 1,000 images": (seconds[timed] - forward) / len(timing_images) * 1000 * 1000})
    return (pd.DataFrame(rows).sort_values("extra ms / 1,000 images"),
            forward / len(timing_images) * 1000 * 1000)


def findings(table: pd.DataFrame, runs: Mapping[str, Evaluation], cost: pd.DataFrame,
             forward_ms: float) -> list[str]:
    """"What we saw", as Markdown bullets computed from the tables: per benchmark the best method, the next two,
    and how many others have intervals reaching the best one's; what each cross-paper combination adds over the
    better of NAP and its base; the most expensive method against the forward pass."""
    mean_auroc = table.set_index(["ID", "key"])[[f"{g} AUROC" for g in GROUPS]]
    lines = []
    for ds in runs:
        b = table[table.ID == ds]
        for g in GROUPS:
            top = b.sort_values(f"{g} AUROC", ascending=False).head(3)
            best = top.iloc[0]
            tied = b[b[f"{g} high"] >= best[f"{g} low"]]
            runners_up = ", ".join(f"{m} {v:.2f}" for m, v in zip(top.method[1:], top[f"{g} AUROC"][1:], strict=True))
            lines.append(f"- **{ds}, {g}-OOD**: best {best.method} ({best[f'{g} AUROC']:.2f}; then {runners_up})."
                         f" {len(tied) - 1} other methods have intervals reaching the best one's.")
    for ds in runs:
        for combo, base in COMBINATIONS:
            deltas = {g: mean_auroc.loc[(ds, combo), f"{g} AUROC"] - max(mean_auroc.loc[(ds, base), f"{g} AUROC"],
                                                                        mean_auroc.loc[(ds, "nap"), f"{g} AUROC"])
                      for g in GROUPS}
            lines.append(f"- {ds}: {runs[ds].detectors[combo].title} vs the better of NAP and "
                         f"{runs[ds].detectors[base].title}: "
                         + ", ".join(f"{g} {d:+.2f}" for g, d in deltas.items()) + " AUROC points"
                         + (" (NAP+AdaSCALE-A is on the network subset, NAP on all images)"
                            if combo == "nap_adascale_a" else ""))
    worst_cost = cost.iloc[-1]
    lines.append(f"- The most expensive method adds {worst_cost['extra ms / 1,000 images']:.0f} ms per 1,000 images "
                 f"({worst_cost.method}), {worst_cost['extra ms / 1,000 images'] / forward_ms:.1f}x the forward "
                 "pass; every feature-based method adds less than "
                 f"{cost[~cost.kind.str.startswith('extra')]['extra ms / 1,000 images'].max():.0f} ms.")
    return lines

