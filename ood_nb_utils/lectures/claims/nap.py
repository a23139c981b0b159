"""NAP (Wan et al., 2024): Tables 6, 7 and 9 with our numbers beside the paper's, and the scorecard.

FPR@95 is ID-positive throughout (the paper's convention: OOD accepted at 95% ID recall).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ... import data, metrics, scorers
from ...detectors.nap import NAP, same_mean_pair
from ...detectors.registry import create
from ...evaluation import Evaluation, evaluate, group_metrics, paired_gain
from ...extraction.features import activation_maps
from ...models import DEFAULT_ARCH
from ...runs.context import RunContext
from ..paper_values import (
    HIMPLOS_TABLE1_TEXTURES,
    NAP_TABLE4,
    NAP_TABLE8_W,
    NAP_TABLE9,
    NAP_TABLES67_LSUN_CROP,
    NAP_TABLES67_TEXTURES,
)
from ..scorecard import Scorecard, percent_interval

# (base, NAP-X) pairs of Tables 6-7, in the tables' row order
PAIRS = [("ash_s", "nap_a"), ("dice", "nap_d"), ("energy", "nap_e"), ("knn", "nap_k"), ("msp", "nap_m"),
         ("react", "nap_r")]
NAPS = ["nap_e", "nap_m", "nap_r", "nap_a", "nap_d", "nap_k"]  # the chapter's order
PAPER_SETS = ["svhn", "textures", "isun", "lsun_resize", "lsun_crop", "places365"]  # columns of Tables 6 and 7


NO_IMAGENET = "ImageNet-1k, its OOD sets and its networks are not available offline"
UNTESTABLE = [  # (claim, where, why not here)
    ("NAP-X's averages over six OOD sets beat their bases' (the headline CIFAR numbers)", "Table 1",
     "the averages are over SVHN, LSUN-C, LSUN-R, iSUN, Places365 and Textures; only Textures (10 of 47 classes) "
     "is here, so the averages cannot be formed"),
    ("NAP-X beats X on ImageNet-1k with MobileNetV2 (iNaturalist, SUN, Places, Textures)", "Table 2, Sec. 5.2",
     NO_IMAGENET),
    ("NAP improves MSP and Energy on a Vision Transformer (ViT-B/16)", "Table 3, Sec. 5.3",
     "no ViT checkpoint and no ImageNet data offline"),
    ("NAP-E beats Energy on ImageNet with other backbones (ResNet, VGG)", "Table 5", NO_IMAGENET),
    ("the prior holds in MobileNetV2, ResNet50 and VGG16 activation maps", "Appendix E (Figs. 8-10)", NO_IMAGENET),
    ("the w of each NAP-X on ImageNet-1k", "Table 8, ImageNet-1k column", NO_IMAGENET),
]


def percent_table(run: Evaluation) -> pd.DataFrame:
    """(method, ood) -> FPR@95 (ID-positive) and AUROC in %."""
    return 100 * run.table.set_index(["method", "ood"])[["fpr95_id_positive", "auroc"]]


def same_mean_example(context: RunContext, ood: str, channel: int, tap: str = "final"):
    """Fig. 1a: an ID test image and an ``ood`` image with nearly the same mean of ``channel`` at ``tap`` but
    different maxima (:func:`~ood_nb_utils.detectors.nap.same_mean_pair`). Returns the two uint8 images, the
    channel's two activation maps (2 x H x W) and the relative gap between the channel means."""
    id_f, ood_f = context.id_test, context.features(ood)
    i_id, i_ood, gap = same_mean_pair(*(f.arrays[f"{tap}.{stat}"][:, channel]
                                        for f in (id_f, ood_f) for stat in ("mean", "max")))
    images = np.stack([data.load(context.id_dataset, indices=id_f.arrays["indices"][[i_id]]).images[0],
                       data.load(ood, indices=ood_f.arrays["indices"][[i_ood]]).images[0]])
    return images, activation_maps(context.adapter, images, tap)[:, channel], gap


def example_channel(context: RunContext, ood: str, tap: str = "final") -> int:
    """The channel of ``tap`` whose max/(mean + 1) ratio ranks the ID test images above ``ood``'s best (highest
    per-channel AUROC): Fig. 1's channel on a network for which the paper names none."""
    id_f, ood_f = context.id_test, context.features(ood)
    ratio = [scorers.nap_channel_ratio(f.arrays[f"{tap}.max"], f.arrays[f"{tap}.mean"]) for f in (id_f, ood_f)]
    return int(np.argmax(metrics.auroc_per_column(*ratio)))


def w_table(runs: Mapping[str, Evaluation]) -> pd.DataFrame:
    """Table 8: the w each NAP-X found on pseudo-OOD held-out data beside the paper's."""
    rows = [{"ID": ds, "method": d.title, "w (our search)": d.w_, "w (paper, Table 8)": NAP_TABLE8_W[ds][n],
             "held-out AUROC at our w (%)": 100 * d.search_.value}
            for ds, run in runs.items() for n in NAPS for d in [run.detectors[n]]]
    return pd.DataFrame(rows)


def heldout_source_effect(contexts: Mapping[str, RunContext], runs: Mapping[str, Evaluation],
                          sets: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """How much the source of the w search's clean images moves NAP: each NAP-X searched on corrupted copies of
    the ID test set's validation split (``runs``, the chapter's choice) and again on train-file images outside the
    fit subset (which the DICE checkpoints were trained on); the same scored images, AUROC averaged over ``sets``
    and FPR@95 (ID-positive) on Textures, in %."""
    rows = []
    for ds, ctx in contexts.items():
        other = evaluate(ctx.with_heldout_from("train"), NAPS, sets[ds])
        for n in NAPS:
            pair = {"validation split": runs[ds], "train images": other}
            row = {"ID": ds, "method": runs[ds].detectors[n].title}
            for label, run in pair.items():
                t = percent_table(run).loc[n]
                row[f"w ({label})"] = run.detectors[n].w_
                row[f"AUROC ({label})"] = t.loc[list(sets[ds]), "auroc"].mean()
                row[f"Textures FPR ({label})"] = t.loc["textures", "fpr95_id_positive"]
            row["ΔAUROC (train - split)"] = row["AUROC (train images)"] - row["AUROC (validation split)"]
            rows.append(row)
    return pd.DataFrame(rows)


def w_search_diagnosis(run: Evaluation, context: RunContext, method: str, ood: str = "textures") -> pd.DataFrame:
    """Why a search ends where it does: ``method``'s pseudo-OOD AUROC (the search objective) and its AUROC and
    FPR@95 (ID-positive) on ``ood`` at w = 0, the paper's w (Table 8), the searched w and 1, in %."""
    det, paper_w = run.detectors[method], NAP_TABLE8_W[run.id_dataset][method]
    clean, corrupted = context.pseudo_ood(det.n_heldout).validation
    rows = []
    for w in sorted({0.0, paper_w, float(det.w_), 1.0}):
        d = det.clone(w=w).fit(context.train, context.head, context.held_out())
        id_s, ood_s = d.score(context.id_test), d.score(context.features(ood))
        rows.append({"ID": run.id_dataset, "method": det.title, "w": w,
                     "which": ", ".join(label for label, v in [("searched", det.w_), ("paper", paper_w)] if v == w),
                     "pseudo-OOD AUROC (objective)": 100 * metrics.auroc(d.score(clean), d.score(corrupted)),
                     f"{ood} AUROC": 100 * metrics.auroc(id_s, ood_s),
                     f"{ood} FPR@95": 100 * metrics.fpr95_id_positive(id_s, ood_s)})
    return pd.DataFrame(rows)


def single_layers(scores: Mapping[str, object]) -> list[str]:
    """The single layers among :func:`table_4`'s keys ("c1", ..., "p"), shallow to deep; the other keys are
    products of layers ("t2,p")."""
    return [x for x in scores if "," not in x]


def table_4(contexts: Mapping[str, RunContext], sets_here: Sequence[str], substitutes: Sequence[str]):
    """Table 4: NAP at each layer and at products of layers (``NAP(layer=(...))``), averaged over the paper's sets
    that are here and, separately, over the substitutes; the paper's values beside ours. Returns the table and
    the scores of each layer and product (ID -> "p", "t2,p", ... -> set -> scores) for the paired comparisons."""
    rows, single = [], {ds: {} for ds in contexts}
    for combo, paper in NAP_TABLE4.items():
        row = {"NAP(...)": ",".join(combo)}
        for j, (ds, ctx) in enumerate(contexts.items()):
            depths = ctx.architecture.nap_depths
            run = evaluate(ctx, {"nap": NAP(layer=tuple(depths[x] for x in combo))}, [*sets_here, *substitutes])
            single[ds][",".join(combo)] = run.scores["nap"]
            g = group_metrics(run.scores["nap"], ds, {"paper sets here": sets_here, "substitutes": substitutes})
            for group, m in g.items():
                row[f"{ds} {group} FPR"], row[f"{ds} {group} AUROC"] = m["fpr95_id_positive"], m["auroc"]
            row[f"{ds} paper FPR"], row[f"{ds} paper AUROC"] = paper[2 * j], paper[2 * j + 1]
        rows.append(row)
    return pd.DataFrame(rows).set_index("NAP(...)"), single


def tables_6_7(runs: Mapping[str, Evaluation], sets: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Per ID dataset, every Tables 6-7 method on ``sets`` (FPR, AUROC in %), the paper's Textures values and
    the average over the paper's sets that are available."""
    here = [d for d in PAPER_SETS if d in sets]
    out = {}
    for ds, run in runs.items():
        t = percent_table(run)
        rows = [{"method": run.detectors[m].title,
                 **{(data.DATASETS[d].display_name, k): t.loc[(m, d), c] for d in sets
                    for k, c in [("FPR", "fpr95_id_positive"), ("AUROC", "auroc")]},
                 ("Textures, paper", "FPR"): NAP_TABLES67_TEXTURES[ds][m][0],
                 ("Textures, paper", "AUROC"): NAP_TABLES67_TEXTURES[ds][m][1],
                 ("avg. paper sets here", "FPR"): t.loc[m].loc[here, "fpr95_id_positive"].mean(),
                 ("avg. paper sets here", "AUROC"): t.loc[m].loc[here, "auroc"].mean()}
                for pair in PAIRS for m in pair]
        table = pd.DataFrame(rows).set_index("method")
        table.columns = pd.MultiIndex.from_tuples(table.columns)
        out[ds] = table
    return out


def gains_over_base(runs: Mapping[str, Evaluation]) -> pd.DataFrame:
    """One row per (ID, NAP-X vs X, OOD set): the AUROC gain and the FPR@95 cut of NAP-X over X, in points."""
    rows = []
    for ds, run in runs.items():
        t = percent_table(run)
        for b, n in PAIRS:
            for d in run.table.ood.unique():
                rows.append({"ID": ds, "pair": f"{run.detectors[n].title} vs {run.detectors[b].title}", "ood": d,
                             "group": data.ood_group(ds, d),
                             "AUROC gain": t.loc[(n, d), "auroc"] - t.loc[(b, d), "auroc"],
                             "FPR gain": t.loc[(b, d), "fpr95_id_positive"] - t.loc[(n, d), "fpr95_id_positive"]})
    return pd.DataFrame(rows)


def accuracy_and_auroc(runs: Mapping[str, Evaluation], contexts: Mapping[str, RunContext],
                       methods: Sequence[str]) -> pd.DataFrame:
    """Fig. 6: per model and method, the ID test accuracy of the method's (possibly reshaped) logits and its
    mean AUROC over the far-OOD and substitute sets, in %."""
    rows = []
    for ds, run in runs.items():
        far = run.table[run.table.group != "near"].groupby("method").auroc.mean()
        rows += [{"ID": ds, "method": m, "title": run.detectors[m].title, "is NAP": m.startswith("nap"),
                  "accuracy": 100 * run.detectors[m].accuracy(contexts[ds].id_test), "AUROC": 100 * far[m]}
                 for m in methods]
    return pd.DataFrame(rows)


def gain_counts(wins: pd.DataFrame) -> pd.DataFrame:
    """Per ID dataset and set group: how many (pair, set) cases NAP-X beats X in AUROC and in FPR@95, and the
    mean AUROC gain (points)."""
    return wins.groupby(["ID", "group"]).agg(pairs=("pair", "size"),
                                             nap_better_auroc=("AUROC gain", lambda g: (g > 0).sum()),
                                             nap_better_fpr=("FPR gain", lambda g: (g > 0).sum()),
                                             mean_auroc_gain=("AUROC gain", "mean")).round(2)


def table_9(run: Evaluation) -> pd.DataFrame:
    """Table 9: CIFAR-10 vs CIFAR-100, ours beside the paper's, with the w each NAP-X used. The ID side is the
    scored CIFAR-10 test images: the 1,000-image validation split, on which NAP-X searched w, is never scored (the
    paper scores the whole test set; it does not say where it searched w)."""
    t = percent_table(run)
    return pd.DataFrame([{"method": run.detectors[m].title, "FPR@95 paper": p[0],
                          "FPR@95 ours": t.loc[(m, "cifar100"), "fpr95_id_positive"], "AUROC paper": p[1],
                          "AUROC ours": t.loc[(m, "cifar100"), "auroc"],
                          "w used": run.detectors[m].fitted_params().get("w")}
                         for m, p in NAP_TABLE9.items()]).set_index("method")


def bootstrap_gains(runs: Mapping[str, Evaluation], cases: Sequence[tuple[str, str]],
                    pairs: Sequence[tuple[str, str]], *, n_boot: int = 200) -> pd.DataFrame:
    """Paired-bootstrap 95% intervals (points) of NAP-X minus X in AUROC and FPR@95 (ID-positive), for each
    (ID, OOD) case and (base, NAP-X) pair."""
    fns = [("AUROC", metrics.auroc), ("FPR@95", metrics.fpr95_id_positive)]
    rows = []
    for ds, d in cases:
        run = runs[ds]
        for b, n in pairs:
            ivs = {label: paired_gain(run.scores[n], run.scores[b], ds, d, metric=fn, n_boot=n_boot)
                   for label, fn in fns}
            rows.append({"ID": ds, "OOD": data.DATASETS[d].title,
                         "pair": f"{run.detectors[n].title} - {run.detectors[b].title}",
                         **{f"Δ{label} (pts)": 100 * iv.estimate for label, iv in ivs.items()},
                         **{f"Δ{label} 95% CI": f"[{100 * iv.low:.2f}, {100 * iv.high:.2f}]"
                            for label, iv in ivs.items()},
                         "AUROC gain beyond noise": ivs["AUROC"].low > 0})
    return pd.DataFrame(rows)




# the base method of each Tables 6-7 row (a NAP-X row inherits its base row's evidence)
BASE_OF = {n: b for b, n in PAIRS} | {b: b for b, _ in PAIRS}


def suspect_textures(tables67: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Evidence for a column swap in Tables 6-7, from the papers' numbers only (ours are shown, never used):
    HIMPLoS Table I reports the Textures FPR@95 of MSP, Energy, DICE and ReAct on the same DICE DenseNet-BC-100. A
    row's Textures cell is suspect when the same row's LSUN-Crop cell is closer to that independent value than its
    Textures cell is; a NAP-X row inherits its base row's verdict (one table, one transcription). Rows whose base
    HIMPLoS does not report (ASH-S, KNN) have no independent value and are graded as printed."""
    rows = []
    for ds, table in tables67.items():
        for m, (paper_t, _) in NAP_TABLES67_TEXTURES[ds].items():
            base = BASE_OF[m]
            reference = HIMPLOS_TABLE1_TEXTURES[ds].get(base, (np.nan,))[0]
            base_t, base_lc = NAP_TABLES67_TEXTURES[ds][base][0], NAP_TABLES67_LSUN_CROP[ds][base][0]
            suspect = bool(not np.isnan(reference) and abs(base_lc - reference) < abs(base_t - reference))
            rows.append({"ID": ds, "method": create(m).title, "key": m, "paper Textures FPR": paper_t,
                         "paper LSUN-Crop FPR": NAP_TABLES67_LSUN_CROP[ds][m][0],
                         "HIMPLoS Table I Textures FPR (base, same network)": reference,
                         "base row: |Textures - HIMPLoS|": abs(base_t - reference),
                         "base row: |LSUN-Crop - HIMPLoS|": abs(base_lc - reference),
                         "suspect": suspect,
                         "ours, Textures FPR": table.loc[create(m).title, ("Textures (DTD)", "FPR")]})
    return pd.DataFrame(rows)


def is_degenerate_w(w: float) -> bool:
    """Whether a searched w is an end of [0, 1], where NAP-X is one of its two parts (w = 1: the base alone,
    w = 0: NAP alone), so that it tests nothing of the combination."""
    return w >= 0.995 or w <= 0.005


def paper_w_runs(contexts: Mapping[str, RunContext], runs: Mapping[str, Evaluation],
                 sets: Mapping[str, Sequence[str]]) -> dict[str, Evaluation | None]:
    """Per ID dataset, every NAP-X whose search landed on an end of [0, 1] (:func:`is_degenerate_w`), evaluated
    again at the paper's Table 8 w on ``sets``; None where no search did."""
    out = {}
    for ds, run in runs.items():
        stuck = [n for n in NAPS if is_degenerate_w(run.detectors[n].w_)]
        out[ds] = (evaluate(contexts[ds], {n: create(n, w=NAP_TABLE8_W[ds][n]) for n in stuck}, sets[ds])
                   if stuck else None)
    return out


def search_vs_paper(runs: Mapping[str, Evaluation], contexts: Mapping[str, RunContext], *,
                    n_boot: int = 500) -> pd.DataFrame:
    """Does the searched w beat the paper's on the search's own objective beyond noise? Per NAP-X, the pseudo-OOD
    AUROC (clean vs corrupted held-out images) at our w and at Table 8's, and the paired-bootstrap 95% interval of
    the difference, in points."""
    rows = []
    for ds, run in runs.items():
        ctx = contexts[ds]
        for n in NAPS:
            det, paper_w = run.detectors[n], NAP_TABLE8_W[ds][n]
            clean, corrupted = ctx.pseudo_ood(det.n_heldout).validation
            paper = det.clone(w=paper_w).fit(ctx.train, ctx.head, ctx.held_out())
            ours_s, paper_s = ((d.score(clean), d.score(corrupted)) for d in (det, paper))
            iv = metrics.bootstrap_interval(metrics.auroc, *ours_s, n_boot=n_boot, paired_with=paper_s)
            rows.append({"ID": ds, "key": n, "method": det.title, "w (ours)": det.w_, "w (paper)": paper_w,
                         "objective at ours": 100 * metrics.auroc(*ours_s),
                         "objective at paper's": 100 * metrics.auroc(*paper_s),
                         "difference": 100 * iv.estimate, "low": 100 * iv.low, "high": 100 * iv.high,
                         "ours better beyond noise": iv.low > 0})
    return pd.DataFrame(rows)


def w_generalisation(runs: Mapping[str, Evaluation], contexts: Mapping[str, RunContext],
                     sets: Mapping[str, Sequence[str]], grid: Sequence[float] = tuple(np.linspace(0, 1, 11))):
    """App. H: does the w found on pseudo-OOD data generalise to real OOD sets? Per NAP-X, the mean AUROC over
    ``sets`` at the searched w and at the best w of ``grid`` chosen on those test sets (an oracle no method may
    use), in %. The base and NAP scores of each set are computed once and combined at every w (Eq. 4)."""
    rows = []
    for ds, run in runs.items():
        ctx = contexts[ds]
        for n in NAPS:
            det = run.detectors[n]
            parts = {d: det.components(ctx.features(d)) for d in [ds, *sets[ds]]}

            def mean_auroc(w, det=det, parts=parts):
                s = {d: scorers.nap_combine(*parts[d], w=w, transform=det.transform).numpy() for d in parts}
                return 100 * np.mean([metrics.auroc(s[ds], s[o]) for o in sets[ds]])

            at = {float(w): mean_auroc(float(w)) for w in grid}
            best = max(at, key=at.get)
            rows.append({"ID": ds, "method": det.title, "w (searched)": det.w_,
                         "AUROC at searched w": mean_auroc(float(det.w_)), "best w on the test sets": best,
                         "AUROC at best w": at[best]})
    table = pd.DataFrame(rows)
    table["gap"] = table["AUROC at best w"] - table["AUROC at searched w"]
    return table


def table9_directional(card: Scorecard, c10: Evaluation, *, n_boot: int) -> None:
    """Table 9's orderings: NAP-E, -R, -A lower their bases' FPR@95 (ID-positive), CIFAR-10 vs CIFAR-100."""
    title = {m: d.title for m, d in c10.detectors.items()}
    for m, base in [("nap_e", "energy"), ("nap_r", "react"), ("nap_a", "ash_s")]:
        card.add_directional(f"{title[m]} lowers {title[base]}'s FPR@95 (ID-positive) on CIFAR-10 vs CIFAR-100 "
                             f"(paper: by {NAP_TABLE9[base][0] - NAP_TABLE9[m][0]:.2f} pts)", "Table 9",
                             paired_gain(c10.scores[base], c10.scores[m], "cifar10", "cifar100",
                                         metric=metrics.fpr95_id_positive, n_boot=n_boot),
                             reason="complete test sets; difference FPR(base) - FPR(NAP-X)")


def tables67_directional(card: Scorecard, ds: str, run: Evaluation, sets_here: Sequence[str], *,
                         n_boot: int, paper_w: Evaluation | None = None) -> None:
    """Tables 6-7's orderings on ``ds``: each NAP-X lowers its base's FPR@95 (ID-positive) on each set here; where
    our search chose an end of [0, 1], the same claim at the paper's w (``paper_w``) follows it."""
    title = {m: d.title for m, d in run.detectors.items()}
    for b, n in PAIRS:
        for d in sets_here:
            w = run.detectors[n].w_
            stuck = is_degenerate_w(w)
            note = "; 10 of 47 DTD classes" if d == "textures" else ""
            card.add_directional(f"{title[n]} lowers {title[b]}'s FPR@95 (ID-positive) on "
                                 f"{data.DATASETS[d].title}, {ds}", f"Table {6 if ds == 'cifar10' else 7}",
                                 paired_gain(run.scores[b], run.scores[n], ds, d,
                                             metric=metrics.fpr95_id_positive, n_boot=n_boot),
                                 reason="difference FPR(base) - FPR(NAP-X)" + note
                                 + (f"; our w search chose w = {w:g}, so {title[n]} is "
                                    f"{title[b] if w > 0.5 else 'NAP'} itself; see the claim at the paper's w"
                                    if stuck else ""))
            if stuck and paper_w is not None:
                card.add_directional(f"{title[n]} at the paper's w = {NAP_TABLE8_W[ds][n]} lowers {title[b]}'s "
                                     f"FPR@95 (ID-positive) on {data.DATASETS[d].title}, {ds}",
                                     f"Table {6 if ds == 'cifar10' else 7}",
                                     paired_gain(run.scores[b], paper_w.scores[n], ds, d,
                                                 metric=metrics.fpr95_id_positive, n_boot=n_boot),
                                     reason="difference FPR(base) - FPR(NAP-X at Table 8's w)" + note)


def table4_directional(card: Scorecard, ds: str, single: Mapping[str, Mapping[str, np.ndarray]],
                       sets_here: Sequence[str], *, n_boot: int) -> None:
    """Table 4's ordering on ``ds``: NAP at the map before global pooling (p) beats it at every other single layer
    (``single``: layer name -> set -> scores)."""
    for other in [x for x in single_layers(single) if x != "p"]:
        card.add_directional(f"NAP(p) beats NAP({other}) in AUROC (p is the best single layer), {ds}", "Table 4",
                             paired_gain(single["p"], single[other], ds, sets_here, n_boot=n_boot),
                             reason="AUROC on the available paper sets pooled")


def depth_cases(ds: str, single: Mapping[str, Mapping[str, np.ndarray]], sets: Sequence[str], *, n_boot: int):
    """Figs. 4-5's "the deeper, the more separable": per set and per pair of consecutive depths, the paired interval
    of AUROC(deeper) - AUROC(shallower)."""
    depths = single_layers(single)
    return {f"{data.DATASETS[d].title}: {b} vs {a}": paired_gain(single[b], single[a], ds, d, n_boot=n_boot)
            for d in sets for a, b in zip(depths, depths[1:], strict=False)}


def on_pareto_front(points: pd.DataFrame) -> pd.Series:
    """Whether each (accuracy, AUROC) point is on the Pareto front: no other point is at least as good in both
    and better in one."""
    acc, auc = points.accuracy.to_numpy(), points.AUROC.to_numpy()
    return pd.Series([not np.any((acc >= a) & (auc >= u) & ((acc > a) | (auc > u))) for a, u in zip(acc, auc,
                                                                                                    strict=True)],
                     index=points.index)


def scorecard(profile: str, runs: Mapping[str, Evaluation], *, table9: pd.DataFrame,
              tables67: Mapping[str, pd.DataFrame], single: Mapping, fig6: pd.DataFrame,
              paper_w: Mapping[str, Evaluation | None], search: pd.DataFrame, generalisation: pd.DataFrame,
              n_boot: int = 500, arch: str = DEFAULT_ARCH) -> Scorecard:
    """The NAP scorecard from chapter 1's results: Table 9 and Table 8 (w) numerically, each value with its bootstrap
    interval; Textures with a wide tolerance (10 of 47 classes); the prior, Fig. 2, Figs. 4-6, App. H and the
    orderings of Tables 4 and 6-7 as claims about this network. Where a w search landed on an end of [0, 1], the
    claims are graded again at the paper's w (``paper_w``, :func:`paper_w_runs`)."""
    card = Scorecard("01_nap", "NAP: Neural Activation Prior", profile, arch=arch)
    c10 = runs["cifar10"]
    title = {m: c10.detectors[m].title for m in c10.detectors}
    for m in ["nap_e", "nap_r", "nap_a"]:
        sc = c10.scores[m]
        for label, fn, col, tol in [("FPR@95 (ID-positive)", metrics.fpr95_id_positive, 0, 1.0),
                                    ("AUROC", metrics.auroc, 1, 0.5)]:
            ours, iv = percent_interval(fn, sc["cifar10"], sc["cifar100"], n_boot=n_boot)
            card.add(f"{title[m]} {label}, CIFAR-10 vs CIFAR-100 (%)", "Table 9", NAP_TABLE9[m][col], ours,
                     tolerance=tol, ours_interval=iv,
                     reason=f"complete CIFAR-100 test set against the 9,000 scored CIFAR-10 test images; w = "
                            f"{c10.detectors[m].w_} from our pseudo-OOD search")
    table9_directional(card, c10, n_boot=n_boot)
    sets_here = [d for d in PAPER_SETS if data.is_available(d)]
    suspect = suspect_textures(tables67).set_index(["ID", "key"])
    searched = search.set_index(["ID", "key"])
    for ds, run in runs.items():
        where67 = f"Table {6 if ds == 'cifar10' else 7}"
        every = [d for d in run.scores["nap"] if d != ds]
        nap = run.scores["nap"]
        card.add_every_directional(
            f"the prior: NAP's max/mean ratio (Eq. 3, before global pooling) ranks ID images above OOD images on "
            f"every set, {ds}", "Fig. 1, Sec. 3",
            {data.DATASETS[d].title: metrics.above_chance(metrics.bootstrap_interval(metrics.auroc, nap[ds], nap[d],
                                                                            n_boot=n_boot)) for d in every},
            reason="AUROC of NAP alone minus 50% per set (near, far and substitutes); not reproduced if any set's "
                   "interval lies below 50%")
        far = [d for d in every if data.ood_group(ds, d) != "near"]
        card.add_every_directional(
            f"NAP-E separates better than either Energy or NAP alone (Energy x NAP), {ds}", "Fig. 2",
            {f"vs {title[b]}": paired_gain(run.scores["nap_e"], run.scores[b], ds, far, n_boot=n_boot)
             for b in ("energy", "nap")},
            reason=f"AUROC of the far and substitute sets pooled (the paper shows iSUN, not here); NAP-E at our "
                   f"searched w = {run.detectors['nap_e'].w_}")
        for m in [m for pair in PAIRS for m in pair]:
            ev = suspect.loc[(ds, m)]
            sc = run.scores[m]
            ours, iv = percent_interval(metrics.fpr95_id_positive, sc[ds], sc["textures"], n_boot=n_boot)
            extra = ({"override": "not testable here", "reason": (
                f"paper value suspect: HIMPLoS Table I puts the Textures FPR of {create(BASE_OF[m]).title} on the same "
                f"DenseNet at {ev['HIMPLoS Table I Textures FPR (base, same network)']:.2f}, closer to this table's "
                f"LSUN-Crop cell of the base row than to its Textures cell, a likely column swap (see the evidence "
                "table)")}
                if ev["suspect"] else {"reason": "our Textures has 10 of the 47 DTD classes; differences expected"})
            card.add(f"{title[m]} FPR@95 on Textures, {ds} (%)", where67, NAP_TABLES67_TEXTURES[ds][m][0], ours,
                     tolerance=3.0, partial_tolerance=10.0, ours_interval=iv, **extra)
            if m in NAPS and is_degenerate_w(run.detectors[m].w_) and paper_w[ds] is not None:
                sp = paper_w[ds].scores[m]
                ours_p, iv_p = percent_interval(metrics.fpr95_id_positive, sp[ds], sp["textures"], n_boot=n_boot)
                card.add(f"{title[m]} at the paper's w = {NAP_TABLE8_W[ds][m]} FPR@95 on Textures, {ds} (%)", where67,
                         NAP_TABLES67_TEXTURES[ds][m][0], ours_p, tolerance=3.0, partial_tolerance=10.0,
                         ours_interval=iv_p, **({**extra, "reason": f"our search chose w = {run.detectors[m].w_}, "
                                                                   f"where {title[m]} is one of its parts; "
                                                                   + extra["reason"]}))
        tables67_directional(card, ds, run, sets_here, n_boot=n_boot, paper_w=paper_w[ds])
        table4_directional(card, ds, single[ds], sets_here, n_boot=n_boot)
        card.add_every_directional(
            f"the deeper the layer, the better NAP separates ID from OOD (c1 < t1 < t2 < p), {ds}",
            "Figs. 4-5, Sec. 5.4",
            depth_cases(ds, single[ds], [d for d in single[ds]["p"] if d != ds], n_boot=n_boot),
            reason="AUROC of NAP at each depth, per set (paper sets here and substitutes; the paper shows Places365, "
                   "not here), each deeper layer against the one before")
        products = {x: paired_gain(single[ds][x], single[ds]["p"], ds, sets_here, n_boot=n_boot)
                    for x in single[ds] if x not in single_layers(single[ds])}
        card.add(f"multiplying earlier layers' NAP into NAP(p) brings no significant improvement, {ds}",
                 "Table 4, App. D", None, None, holds=all(iv.low <= 0 for iv in products.values()),
                 reason="not reproduced if a product's AUROC interval over NAP(p) lies wholly above 0; "
                        + "; ".join(f"NAP({x}) - NAP(p) {100 * iv.estimate:+.2f} [{100 * iv.low:+.2f}, "
                                    f"{100 * iv.high:+.2f}]" for x, iv in products.items()))
        pts = fig6[fig6.ID == ds].set_index("title")
        front = on_pareto_front(pts)
        card.add(f"a NAP method lies on the accuracy / AUROC Pareto front, {ds}", "Fig. 6, App. F", None, None,
                 holds=bool(front[pts["is NAP"]].any()),
                 reason="not reproduced if every point of the front is a method without NAP; on the front: "
                        + ", ".join(front.index[front]))
        gen = generalisation[generalisation.ID == ds]
        card.add(f"the w found on pseudo-OOD data generalises to the real OOD sets (mean AUROC within 1 pt of the "
                 f"best w on a 0.1 grid, every NAP-X), {ds}", "App. H", None, None, holds=bool((gen.gap <= 1.0).all()),
                 reason="the best w is chosen on the test sets themselves (an oracle); not reproduced if any NAP-X "
                        "loses more than 1 pt to it; gaps " + ", ".join(f"{r.method} {r.gap:.2f}"
                                                                        for r in gen.itertuples()))
        for n in NAPS:
            r = searched.loc[(ds, n)]
            card.add(f"w for {title[n]}, {ds}", "Table 8", NAP_TABLE8_W[ds][n], run.detectors[n].w_, tolerance=0.1,
                     partial_tolerance=0.3,
                     reason="our corruption set lacks fog/frost/snow and our blurs are re-implementations; search "
                            f"objective at our w minus at the paper's: {r.difference:+.2f} [{r.low:+.2f}, "
                            f"{r.high:+.2f}] pts ({'' if r['ours better beyond noise'] else 'not '}beyond noise)")
    card.add_unavailable(PAPER_SETS, "NAP-E beats Energy on {title}", "Tables 6-7")
    card.add_untestable(UNTESTABLE)
    card.add("NAP-R cuts ReAct's SVHN FPR@95 on CIFAR-100 from 83.81 to 14.19", "Sec. G text", 14.19, None,
             reason="SVHN is not available (GTSRB substitute results are in the tables, not comparable)")
    return card

