# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. AdaSCALE: adaptive scaling from activation shift
#
# ```{admonition} What this chapter needs
# :class: note
# - **Checkpoints and data**: as chapter 0, plus the activation cache it filled.
# - **Extra network work**: a gradient and a second forward pass per image (about 50 ms on 2
#   cores): the profile's gradient subset of every set (300 images by default), 1,000 held-out
#   CIFAR train images (the eCDF) and 300 TinyImageNet validation images per model, then 100
#   images per set for the perturbation studies (CIFAR-10 only): about 18 minutes cold on 2 cores
#   (83 ms per image), once.
# - **Profile**: printed below. Every sweep afterwards reads the cache and takes seconds.
# ```
#
# **Learning objectives.** (1) Compute the activation shift of a feature under a tiny input
# perturbation and turn it into an OOD likelihood; (2) explain how a per-sample percentile turns
# SCALE into AdaSCALE; (3) choose hyperparameters on a validation split that no test row sees;
# (4) weigh a detector's gain against its extra cost.
#
# **The claim** {cite}`regmi2025adascale`. SCALE, ASH and LTS scale each sample's activation $a$
# by $r = \sum_j a_j / \sum_{a_j > P_p(a)} a_j$ with one fixed percentile $p$ for every sample.
# AdaSCALE makes $p$ depend on how OOD the sample looks. Perturb the $o\%$ of input elements with
# the smallest gradient of the predicted logit by $\varepsilon\,\mathrm{sign}(\nabla)$ (Eq. 4),
# measure the shift of the top-$k_1$ activations, $Q = \sum_{j \in \mathrm{top}k_1(a)} |a^\varepsilon_j - a_j|$
# (Eq. 6), add a correction $C_o = \sum_{j \in \mathrm{top}k_2(a)} \mathrm{ReLU}(a^\varepsilon_j)$
# (Eq. 7): $Q' = \lambda Q + C_o$ (Eq. 8). With $F$ the eCDF of $Q'$ on $n_{val}$ ID samples,
# $p = p_{min} + (1 - F(Q'))(p_{max} - p_{min})$ (Eq. 11): likely-ID samples get a high
# percentile and thus a large $r$. AdaSCALE-A scores the energy of $W(a\,e^{r}) + b$, AdaSCALE-L
# that of $z\, r^2$. Defaults: $o = 5\%$, $\varepsilon = 0.5$, $k_1 = 1\%$, $k_2 = 5\%$ of $D$, $\lambda = 10$.
#
# **A discrepancy.** The released code's latest commits swap $k_1$ and $k_2$ between fitting the
# eCDF and scoring test samples. We follow the equations: $k_1$ for $Q$ and $k_2$ for $C_o$,
# everywhere (`ood_nb_utils.scorers.adascale`). The paper tunes $p_{min}, p_{max}$ and $k_2$ per
# network (Tables 12-13: for DenseNet-101 $k_2$ is 10-100%, not 5%), so we search them too.
#
# **Convention.** The paper follows OpenOOD: FPR@95 is **OOD-positive** here (ID images rejected at
# the threshold that catches 95% of OOD images). Its DenseNet-101 is OpenOOD's, trained three
# times; ours is the single DICE DenseNet-BC-100 checkpoint, so per-set numbers are a loose check.

# %%
# Outside this repository (Binder, Colab), install the book's package first.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("ood_nb_utils") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "ood-nb-utils[book] @ git+https://github.com/ood-nb/posthoc-ood-book"], check=True)

# %%
import itertools
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from ood_nb_utils import chapter, data, metrics, plots, registry, scorers
from ood_nb_utils.evaluation import FeatureStore
from ood_nb_utils.features import Features, throughput
from ood_nb_utils.models import MODEL_OF as MODELS
from ood_nb_utils.models import load_model
from ood_nb_utils.perturbation import (
    PAPER_HYPERPARAMETERS,
    adascale_scores,
    cached_shift_statistics,
    perturbed_features,
)
from ood_nb_utils.pseudo_ood import heldout_images
from ood_nb_utils.scorecard import Scorecard

PROFILE = chapter.start()

G = PROFILE.gradient_per_set
OOD = {ds: [d for d in data.ood_sets(ds) if data.is_available(d)] for ds in MODELS}
REAL = {ds: [d for d in OOD[ds] if data.ood_group(ds, d) in ("near", "far")] for ds in MODELS}
GROUP = {ds: {g: [d for d in OOD[ds] if data.ood_group(ds, d) == g] for g in ("near", "far", "substitute")}
         for ds in MODELS}
FPR = "fpr95_ood_positive"
missing = [d for d in ("svhn", "places365") if not data.is_available(d)]
display(Markdown(
    f"OpenOOD's CIFAR benchmark: near-OOD the other CIFAR and TIN; far-OOD MNIST, SVHN, Textures, Places365. "
    f"Not available here: {', '.join(data.DATASETS[d].title for d in missing) or 'none'}. Every method in this "
    f"chapter is scored on the same {G} images per set (the perturbation needs a gradient per image); "
    "substitutes are reported separately."
))

# %% [markdown]
# ## Perturbed activations, once per image
#
# For each model: the test subsets of every set; a pool of 1,000 held-out CIFAR train images (not
# in the fit subset, never a test image) of which a seeded half builds the eCDF and the other half
# is the ID side of the validation split; and 300 TinyImageNet images disjoint from TIN's test rows
# as the OOD side of the validation split (OpenOOD's automatic search uses ID and OOD validation
# sets the same way). TIN's test rows never influence a hyperparameter.

# %%
stores = {ds: FeatureStore(m, PROFILE) for ds, m in MODELS.items()}
heads = {ds: registry.Head.of(load_model(m)) for ds, m in MODELS.items()}
test, pool, val_ood = {}, {}, {}
for ds, model in MODELS.items():
    test[ds] = {d: perturbed_features(model, data.load(d, n=G, seed=PROFILE.seed)) for d in [ds, *OOD[ds]]}
    pool[ds] = perturbed_features(model, heldout_images(stores[ds].train, 1000, PROFILE.seed))
    val_ood[ds] = perturbed_features(model, data.load_heldout("tin", test[ds]["tin"]["indices"], G, PROFILE.seed))


def take(arrays, rows):
    return {k: v[rows] if len(v) == len(arrays["labels"]) else v for k, v in arrays.items()}


perm = {ds: np.random.default_rng(PROFILE.seed).permutation(len(pool[ds]["labels"])) for ds in MODELS}
half = {ds: len(perm[ds]) // 2 for ds in MODELS}
reference = {ds: take(pool[ds], perm[ds][:half[ds]]) for ds in MODELS}  # builds the eCDF
val_id = {ds: take(pool[ds], perm[ds][half[ds]:]) for ds in MODELS}  # ID side of the validation split
cost = {ds: float(pool[ds]["seconds_per_image"][0]) for ds in MODELS}
print({ds: f"{1000 * c:.0f} ms per image for gradient + perturbed forward (measured when cached)"
       for ds, c in cost.items()})

# %% [markdown]
# ## The observation: activation shift at the top activations (Fig. 3)
#
# Per image, activations are sorted by their unperturbed value (rank 1 = largest); the curves are
# the mean shift $|a^\varepsilon - a|$ at each rank over the images of a set, with one standard
# deviation shaded for the ID set.

# %%
def by_rank(arrays, what):
    a, a_eps = arrays["penultimate"], arrays["perturbed"]
    order = np.argsort(-a, axis=1)
    values = np.abs(a_eps - a) if what == "shift" else a_eps
    return np.take_along_axis(values, order, axis=1)


fig, axes = plt.subplots(2, 2, figsize=(13, 7))
for j, ds in enumerate(MODELS):
    for i, (what, label) in enumerate([("shift", "activation shift |a_eps - a|"),
                                       ("perturbed", "perturbed activation a_eps")]):
        ax = axes[i, j]
        ranks = np.arange(1, test[ds][ds]["penultimate"].shape[1] + 1)
        id_curve = by_rank(test[ds][ds], what)
        ax.plot(ranks, id_curve.mean(0), color=plots.ID_COLOR, lw=2, label=plots.label_of(ds, len(id_curve)))
        ax.fill_between(ranks, id_curve.mean(0) - id_curve.std(0), id_curve.mean(0) + id_curve.std(0),
                        color=plots.ID_COLOR, alpha=0.2)
        for d in OOD[ds]:
            sub = data.DATASETS[d].is_substitute
            ax.plot(ranks, by_rank(test[ds][d], what).mean(0), color=plots.color_of(d), ls="--" if sub else "-",
                    lw=1.2, label=plots.label_of(d, len(test[ds][d]["labels"])))
        ax.set_xscale("log")
        ax.set_xlabel("rank of the unperturbed activation (1 = largest, log scale)")
        ax.set_ylabel(label)
        ax.set_title(f"{ds} as ID ({'Fig. 3' if what == 'shift' else 'Fig. 5'})")
axes[0, 1].legend(fontsize=7, ncol=2)
fig.suptitle("Figs. 3 and 5: activation shift and perturbed activation by rank (o = 5%, eps = 0.5)")
plt.show()

# %% [markdown]
# ## Q and Q' as OOD indicators (Fig. 4)
#
# The ratio of the mean statistic on each OOD set to its mean on the ID test set, at the paper's
# defaults ($k_1 = 1\%$, $k_2 = 5\%$, $\lambda = 10$). A ratio above 1 means the statistic is
# larger for OOD images, as an OOD likelihood should be.

# %%
rows = []
for ds in MODELS:
    s_id = cached_shift_statistics(test[ds][ds])
    for d in OOD[ds]:
        s = cached_shift_statistics(test[ds][d])
        rows.append({"ID": ds, "OOD": data.DATASETS[d].display_name, "group": data.ood_group(ds, d),
                     "Q_OOD / Q_ID": (s["Q"].mean() / s_id["Q"].mean()).item(),
                     "C_o,OOD / C_o,ID": (s["C_o"].mean() / s_id["C_o"].mean()).item(),
                     "Q'_OOD / Q'_ID": (s["Q_prime"].mean() / s_id["Q_prime"].mean()).item(),
                     "AUROC of -Q (%)": 100 * metrics.auroc(-s_id["Q"].numpy(), -s["Q"].numpy()),
                     "AUROC of -Q' (%)": 100 * metrics.auroc(-s_id["Q_prime"].numpy(), -s["Q_prime"].numpy())})
ratios = pd.DataFrame(rows)
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
for ax, ds in zip(axes, MODELS, strict=True):
    r = ratios[ratios.ID == ds].set_index("OOD")[["Q_OOD / Q_ID", "Q'_OOD / Q'_ID"]]
    r.index = [n.split(" (")[0] for n in r.index]
    r.plot.bar(ax=ax, rot=30)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_ylabel("ratio of means, OOD / ID")
    ax.set_title(f"{ds} as ID")
fig.suptitle("Fig. 4: Q and Q' ratios per OOD set (above 1 = larger for OOD)")
plt.show()
display(ratios.style.format(precision=2).hide(axis="index"))

# %% [markdown]
# ## Choosing hyperparameters on the validation split
#
# For each variant (A, L) and model, every $p_{min} \le p_{max}$ on a 5-point grid from 50 to 95 and
# $k_2 \in \{5, 10, 50, 100\}\%$ ($k_1 = 1\%$, $\lambda = 10$), scored by AUROC of the held-out ID
# half vs the TIN validation images. The diagonal $p_{min} = p_{max}$ *is* SCALE (A) or LTS (L) at
# that percentile, so the same search also tunes SCALE and LTS.

# %%
P_GRID = list(range(50, 100, 5))
K2_GRID = [5.0, 10.0, 50.0, 100.0]
search_rows = []
for ds in MODELS:
    w, b = heads[ds].weight, heads[ds].bias
    for variant, k2, (p_lo, p_hi) in itertools.product(["a", "l"], K2_GRID,
                                                       [(lo, hi) for lo in P_GRID for hi in P_GRID if lo <= hi]):
        kw = {"variant": variant, "p_min": p_lo, "p_max": p_hi, "k2": k2}
        s_id = adascale_scores(val_id[ds], reference[ds], w, b, **kw)
        s_ood = adascale_scores(val_ood[ds], reference[ds], w, b, **kw)
        search_rows.append({"ID": ds, "variant": variant, "k2": k2, "p_min": p_lo, "p_max": p_hi,
                            "val AUROC": 100 * metrics.auroc(s_id, s_ood)})
search = pd.DataFrame(search_rows)
best = {}
for (ds, variant), g in search.groupby(["ID", "variant"]):
    ada = g.sort_values("val AUROC", ascending=False).iloc[0]
    fixed = g[g.p_min == g.p_max].sort_values("val AUROC", ascending=False).iloc[0]
    best[(ds, variant)] = {"p_min": ada.p_min, "p_max": ada.p_max, "k2": ada.k2, "val": ada["val AUROC"],
                           "fixed_p": fixed.p_min, "fixed_val": fixed["val AUROC"]}
chosen = pd.DataFrame([{"ID": ds, "variant": f"AdaSCALE-{v.upper()}", "p_min": c["p_min"], "p_max": c["p_max"],
                        "k2 (%)": c["k2"], "val AUROC": c["val"],
                        "paper (DenseNet-101) p_min, p_max, k2": PAPER_HYPERPARAMETERS[(v, ds)],
                        f"best fixed p ({'SCALE' if v == 'a' else 'LTS'})": c["fixed_p"],
                        "its val AUROC": c["fixed_val"]} for (ds, v), c in best.items()])
display(chosen.style.format(precision=2).hide(axis="index"))

# %% [markdown]
# ## Adaptive vs fixed percentile (Fig. 7)
#
# Validation AUROC of AdaSCALE-A over $p_{min} \times p_{max}$ at the chosen $k_2$; the diagonal
# is SCALE. Right: the same grid scored on the test sets (mean AUROC over near and far sets), shown
# for insight only: it plays no part in the choice.

# %%
def test_auroc(ds, sets, **kw):
    w, b = heads[ds].weight, heads[ds].bias
    s_id = adascale_scores(test[ds][ds], reference[ds], w, b, **kw)
    return 100 * np.mean([metrics.auroc(s_id, adascale_scores(test[ds][d], reference[ds], w, b, **kw)) for d in sets])


fig, axes = plt.subplots(2, 2, figsize=(12, 9), layout="constrained")
for j, ds in enumerate(MODELS):
    k2 = best[(ds, "a")]["k2"]
    g = search[(search.ID == ds) & (search.variant == "a") & (search.k2 == k2)]
    grids = [g.pivot(index="p_min", columns="p_max", values="val AUROC")]
    test_grid = grids[0].copy() * np.nan
    for lo, hi in [(lo, hi) for lo in P_GRID for hi in P_GRID if lo <= hi]:
        test_grid.loc[lo, hi] = test_auroc(ds, REAL[ds], variant="a", p_min=lo, p_max=hi, k2=k2)
    grids.append(test_grid)
    for i, (grid, what) in enumerate(zip(grids, ["validation AUROC (ID half vs TIN val)",
                                                 "test AUROC, mean over near + far sets"], strict=True)):
        ax = axes[i, j]
        im = ax.imshow(grid.values, cmap="viridis", origin="lower")
        ax.set_xticks(range(len(P_GRID)), P_GRID)
        ax.set_yticks(range(len(P_GRID)), P_GRID)
        ax.set_xlabel("p_max")
        ax.set_ylabel("p_min")
        ax.set_title(f"{ds}: {what}, k2 = {k2:g}%", fontsize=9)
        ax.grid(False)
        for a_, b_ in itertools.product(range(len(P_GRID)), repeat=2):
            if not np.isnan(grid.values[a_, b_]):
                ax.text(b_, a_, f"{grid.values[a_, b_]:.1f}", ha="center", va="center", fontsize=5.5,
                        color="white" if a_ != b_ else "red")
        fig.colorbar(im, ax=ax, shrink=0.8, label="AUROC (%)")
fig.suptitle("Fig. 7: AdaSCALE-A over p_min x p_max; diagonal (red numbers) = SCALE")
plt.show()

# %% [markdown]
# ## Sensitivity to k1, k2 and lambda (Fig. 6)

# %%
K1_GRID = [0.5, 1.0, 2.0, 5.0, 10.0]
K2_FIG = [1.0, 5.0, 10.0, 50.0, 100.0]
LAMBDAS = [0.0, 1.0, 5.0, 10.0, 20.0, 50.0, 100.0]
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), layout="constrained")
for ax, ds in zip(axes[:2], MODELS, strict=True):
    c = best[(ds, "a")]
    heat = np.array([[100 * metrics.auroc(
        adascale_scores(val_id[ds], reference[ds], heads[ds].weight, heads[ds].bias, variant="a", p_min=c["p_min"],
                        p_max=c["p_max"], k1=k1, k2=k2),
        adascale_scores(val_ood[ds], reference[ds], heads[ds].weight, heads[ds].bias, variant="a",
                        p_min=c["p_min"], p_max=c["p_max"], k1=k1, k2=k2)) for k2 in K2_FIG] for k1 in K1_GRID])
    im = ax.imshow(heat, cmap="viridis", origin="lower")
    for a_, b_ in itertools.product(range(len(K1_GRID)), range(len(K2_FIG))):
        ax.text(b_, a_, f"{heat[a_, b_]:.1f}", ha="center", va="center", fontsize=7, color="white")
    ax.set_xticks(range(len(K2_FIG)), [f"{k:g}%" for k in K2_FIG])
    ax.set_yticks(range(len(K1_GRID)), [f"{k:g}%" for k in K1_GRID])
    ax.set_xlabel("k2 (share of D for C_o)")
    ax.set_ylabel("k1 (share of D for Q)")
    ax.set_title(f"Fig. 6a, {ds}: validation AUROC (%)")
    ax.grid(False)
    fig.colorbar(im, ax=ax, shrink=0.8)
lam_rows = []
for ds in MODELS:
    c = best[(ds, "a")]
    w, b = heads[ds].weight, heads[ds].bias
    for lam in LAMBDAS:
        kw = {"variant": "a", "p_min": c["p_min"], "p_max": c["p_max"], "k2": c["k2"], "lam": lam}
        s_id = adascale_scores(test[ds][ds], reference[ds], w, b, **kw)
        for group in ("near", "far"):
            fpr = np.mean([metrics.fpr_at_95_tpr(s_id, adascale_scores(test[ds][d], reference[ds], w, b, **kw),
                                                 positive="ood") for d in GROUP[ds][group]])
            lam_rows.append({"ID": ds, "lambda": lam, "group": group, "FPR@95": 100 * fpr})
lam_table = pd.DataFrame(lam_rows)
for ds in MODELS:
    for group, ls in [("near", "--"), ("far", "-")]:
        s = lam_table[(lam_table.ID == ds) & (lam_table.group == group)]
        axes[2].plot(s["lambda"], s["FPR@95"], ls=ls, marker="o", label=f"{ds}, {group}-OOD")
axes[2].set_xscale("symlog", linthresh=1)
axes[2].set_xlabel("lambda (weight of Q in Q')")
axes[2].set_ylabel("mean FPR@95, OOD-positive (%)")
axes[2].set_title("Fig. 6b: lambda sensitivity (test)")
axes[2].legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Main results (Table 5 style, with Tables 16-17's DenseNet-101 rows)
#
# Baselines at the registry's defaults (ReAct threshold 1.6, ASH-S p = 90, SCALE/LTS p = 85,
# BFAct 1.6); SCALE and LTS also at the percentile the validation search picked on the diagonal.
# ASH here is ASH-S. All on the same 300 images per set.

# %%
BASE = ["msp", "mls", "energy", "react", "ash_s", "scale", "bfact", "lts"]
PAPER_FAR = {  # Table 16 (DenseNet-101): MNIST, Textures as FPR@95 (OOD-pos.), AUROC
    "cifar10": {"msp": [(17.91, 94.22), (46.80, 87.53)], "mls": [(10.02, 97.58), (64.43, 85.58)],
                "energy": [(9.74, 97.76), (64.46, 85.48)], "react": [(12.60, 97.24), (50.41, 88.21)],
                "ash_s": [(9.40, 98.12), (70.95, 85.39)], "scale": [(9.04, 97.88), (61.52, 86.77)],
                "bfact": [(23.59, 94.96), (53.74, 87.38)], "lts": [(8.92, 97.97), (59.07, 87.09)],
                "adascale_a": [(12.42, 96.85), (58.28, 87.35)], "adascale_l": [(10.92, 97.44), (58.59, 87.19)]},
    "cifar100": {"msp": [(65.65, 72.43), (75.34, 72.19)], "mls": [(58.69, 78.55), (79.05, 72.68)],
                 "energy": [(58.58, 78.98), (79.09, 72.44)], "react": [(62.71, 76.37), (64.65, 78.62)],
                 "ash_s": [(40.69, 88.57), (65.24, 83.29)], "scale": [(56.92, 79.53), (76.10, 74.47)],
                 "bfact": [(73.83, 67.19), (69.29, 76.41)], "lts": [(55.33, 80.58), (73.06, 75.89)],
                 "adascale_a": [(62.51, 74.96), (71.40, 76.59)], "adascale_l": [(61.33, 75.73), (69.31, 77.71)]}}
PAPER_NEAR = {  # Table 17 (DenseNet-101): other CIFAR, TIN
    "cifar10": {"msp": [(40.13, 88.45), (35.50, 89.61)], "mls": [(45.14, 88.85), (38.01, 90.85)],
                "energy": [(45.19, 88.85), (38.05, 90.90)], "react": [(44.34, 89.19), (37.10, 91.08)],
                "ash_s": [(67.78, 82.68), (62.54, 85.18)], "scale": [(45.25, 88.92), (37.76, 91.01)],
                "bfact": [(52.06, 87.70), (44.09, 89.89)], "lts": [(44.89, 89.03), (37.67, 91.10)],
                "adascale_a": [(43.29, 89.37), (35.57, 91.32)], "adascale_l": [(43.19, 89.40), (35.70, 91.37)]},
    "cifar100": {"msp": [(59.94, 77.53), (56.96, 79.57)], "mls": [(63.61, 78.26), (57.09, 81.75)],
                 "energy": [(63.90, 77.94), (57.53, 81.58)], "react": [(70.77, 75.06), (61.30, 80.40)],
                 "ash_s": [(81.65, 65.84), (78.66, 70.01)], "scale": [(64.20, 78.13), (56.96, 81.88)],
                 "bfact": [(79.31, 67.39), (71.79, 74.18)], "lts": [(64.66, 77.87), (56.83, 81.87)],
                 "adascale_a": [(65.51, 78.00), (54.49, 82.44)], "adascale_l": [(66.09, 77.79), (54.57, 82.47)]}}
PAPER_FAR_SETS = ["mnist", "textures"]
PAPER_NEAR_SETS = {"cifar10": ["cifar100", "tin"], "cifar100": ["cifar10", "tin"]}

main_scores, main_rows = {}, []
for ds in MODELS:
    st, head = stores[ds], heads[ds]
    feats = {d: Features(MODELS[ds], d, {k: test[ds][d][k] for k in ("penultimate", "logits", "labels", "indices")})
             for d in [ds, *OOD[ds]]}
    per_method = {}
    for name in BASE:
        m = registry.get(name)
        p = m.params()
        state = registry.fit_method(m, st.train, head, p)
        per_method[registry.get(name).title] = {d: registry.score_features(m, f, head, state, p)
                                                for d, f in feats.items()}
    for variant, base in [("a", "scale"), ("l", "lts")]:
        c = best[(ds, variant)]
        m = registry.get(base)
        per_method[f"{m.title} (p = {c['fixed_p']:g}, tuned)"] = {
            d: registry.score_features(m, f, head, None, {"percentile": float(c["fixed_p"])})
            for d, f in feats.items()}
        per_method[f"AdaSCALE-{variant.upper()}"] = {
            d: adascale_scores(test[ds][d], reference[ds], head.weight, head.bias, variant=variant,
                               p_min=c["p_min"], p_max=c["p_max"], k2=c["k2"]) for d in [ds, *OOD[ds]]}
    main_scores[ds] = per_method
    for title, sc in per_method.items():
        for d in OOD[ds]:
            mm = metrics.all_metrics(sc[ds], sc[d])
            main_rows.append({"ID": ds, "method": title, "ood": d, "group": data.ood_group(ds, d),
                              "FPR@95": 100 * mm.fpr95_ood_positive, "AUROC": 100 * mm.auroc})
main = pd.DataFrame(main_rows)
main_avg = main.pivot_table(index=["ID", "method"], columns="group", values=["FPR@95", "AUROC"], sort=False)
KEY_OF = {registry.get(n).title: n for n in BASE} | {"AdaSCALE-A": "adascale_a", "AdaSCALE-L": "adascale_l"}
for ds in MODELS:
    t = main_avg.loc[ds].copy()
    for title in t.index:
        key = KEY_OF.get(title)
        if key is None:
            continue
        far = [v for d, v in zip(PAPER_FAR_SETS, PAPER_FAR[ds][key], strict=True) if d in GROUP[ds]["far"]]
        near = PAPER_NEAR[ds][key]
        t.loc[title, ("paper FPR@95", "near")] = np.mean([x[0] for x in near])
        t.loc[title, ("paper AUROC", "near")] = np.mean([x[1] for x in near])
        t.loc[title, ("paper FPR@95", "far (MNIST, Textures)")] = np.mean([x[0] for x in far])
        t.loc[title, ("paper AUROC", "far (MNIST, Textures)")] = np.mean([x[1] for x in far])
    display(Markdown(f"**{ds} as ID** (densenet100-{ds}; {G} images per set; paper: OpenOOD DenseNet-101, "
                     "mean of 3 trials, averaged over the same sets; values in %)"))
    display(t.style.format(precision=2, na_rep="—"))

# %% [markdown]
# ## How many ID samples does the eCDF need? (Table 7)

# %%
NVAL = [10, 100, 1000]
nval_rows = []
for ds in MODELS:
    c = best[(ds, "a")]
    w, b = heads[ds].weight, heads[ds].bias
    for n_val in NVAL:
        ref = take(pool[ds], perm[ds][:n_val])
        kw = {"variant": "a", "p_min": c["p_min"], "p_max": c["p_max"], "k2": c["k2"]}
        s_id = adascale_scores(test[ds][ds], ref, w, b, **kw)
        row = {"ID": ds, "n_val": n_val}
        for group in ("near", "far"):
            m = metrics.mean_metrics(s_id, [adascale_scores(test[ds][d], ref, w, b, **kw) for d in GROUP[ds][group]])
            row[f"{group} FPR@95"], row[f"{group} AUROC"] = 100 * m.fpr95_ood_positive, 100 * m.auroc
        nval_rows.append(row)
nval = pd.DataFrame(nval_rows)
display(Markdown("AdaSCALE-A with the eCDF built from the first n_val images of the 1,000-image held-out pool "
                 "(all available = 1,000); hyperparameters as chosen above"))
display(nval.style.format(precision=2).hide(axis="index"))

# %% [markdown]
# ## What to perturb, and how much (Tables 9 and 10)
#
# Each variant needs the network again, so these run on CIFAR-10 only, with 100 images per set (ID
# test, the near and far sets, and 100 held-out train images for the eCDF), hyperparameters as
# chosen for AdaSCALE-A.

# %%
N_SMALL = 100
SMALL_SETS = ["cifar10", *REAL["cifar10"]]
VARIANTS = [("trivial", 0.05, 0.5), ("trivial", 0.10, 0.5), ("significant", 0.05, 0.5), ("random", 0.05, 0.5),
            ("all", 1.0, 0.5), ("trivial", 0.05, 0.1), ("trivial", 0.05, 1.0)]
c10 = best[("cifar10", "a")]
small_ref_images = heldout_images(stores["cifar10"].train, N_SMALL, PROFILE.seed + 1)
pert_rows = []
for region, frac, eps in VARIANTS:
    kw = {"fraction": frac, "epsilon": eps, "region": region}
    ref = perturbed_features(MODELS["cifar10"], small_ref_images, progress=False, **kw)
    arrays = {d: perturbed_features(MODELS["cifar10"], data.load(d, n=N_SMALL, seed=PROFILE.seed), progress=False,
                                    **kw) for d in SMALL_SETS}
    sc = {d: adascale_scores(a, ref, heads["cifar10"].weight, heads["cifar10"].bias, variant="a",
                             p_min=c10["p_min"], p_max=c10["p_max"], k2=c10["k2"]) for d, a in arrays.items()}
    row = {"region": region, "o (%)": 100 * frac if region != "all" else 100.0, "eps": eps}
    for group in ("near", "far"):
        m = metrics.mean_metrics(sc["cifar10"], [sc[d] for d in GROUP["cifar10"][group]])
        row[f"{group} FPR@95"], row[f"{group} AUROC"] = 100 * m.fpr95_ood_positive, 100 * m.auroc
    pert_rows.append(row)
pert = pd.DataFrame(pert_rows)
display(Markdown("**Table 9** (region x o, eps = 0.5) and **Table 10** (eps, trivial 5%), CIFAR-10, "
                 f"{N_SMALL} images per set, AdaSCALE-A (values in %)"))
display(pert.style.format(precision=2).hide(axis="index"))

# %% [markdown]
# ## What it costs (Table 11)
#
# The scaling step with a fixed percentile (one $k$ for the batch) vs a per-sample percentile, one
# sample at a time, on this CPU; then the end-to-end cost of the extra gradient and forward pass.

# %%
lat_rows = []
gen = torch.Generator().manual_seed(0)
for dim in [128, 512, 1024, 2048, 3024]:
    a = torch.rand(1, dim, generator=gen)
    times = {}
    for label, pct in [("fixed", 85.0), ("variable", torch.tensor([85.0]))]:
        for _ in range(50):
            scorers.scaling_factor(a, pct)
        start = time.perf_counter()
        for _ in range(2000):
            scorers.scaling_factor(a, pct)
        times[label] = (time.perf_counter() - start) / 2000 * 1e6
    lat_rows.append({"D": dim, "fixed percentile (SCALE), us": times["fixed"],
                     "variable percentile (AdaSCALE), us": times["variable"],
                     "ratio": times["variable"] / times["fixed"]})
latency = pd.DataFrame(lat_rows)
display(latency.style.format(precision=2).hide(axis="index"))
fwd = throughput(MODELS["cifar10"], n_images=128)
display(Markdown(
    f"End to end on 2 CPU cores: plain inference (forward with all taps) {1000 / fwd:.1f} ms per image; "
    f"AdaSCALE's gradient and perturbed forward pass add {1000 * cost['cifar10']:.1f} ms per image "
    f"(measured when the cache was filled), so scoring one image costs about "
    f"{(1000 / fwd + 1000 * cost['cifar10']) / (1000 / fwd):.1f}x plain inference."
))

# %% [markdown]
# ## What we saw

# %%
def avg(ds, title, group, metric="AUROC"):
    return main_avg.loc[(ds, title), (metric, group)]


lines = []
for ds in MODELS:
    r = ratios[(ratios.ID == ds) & ratios.group.isin(["near", "far"])]
    auc_q, auc_qp = r["AUROC of -Q (%)"].mean(), r["AUROC of -Q' (%)"].mean()
    lines.append(
        f"- **{ds}: the observation.** Q is larger for OOD than ID on {int((r['Q_OOD / Q_ID'] > 1).sum())} of "
        f"{len(r)} near/far sets (ratios {', '.join(f'{x:.2f}' for x in r['Q_OOD / Q_ID'])}); as a detector on "
        f"its own, -Q reaches a mean AUROC of {auc_q:.1f}% and -Q' {auc_qp:.1f}%.")
    for v, base in [("A", "SCALE"), ("L", "LTS")]:
        c = best[(ds, v.lower())]
        tuned = f"{base} (p = {c['fixed_p']:g}, tuned)"
        lines.append(
            f"- **{ds}, AdaSCALE-{v}** (p_min {c['p_min']:g}, p_max {c['p_max']:g}, k2 {c['k2']:g}%): near AUROC "
            f"{avg(ds, f'AdaSCALE-{v}', 'near'):.2f} vs tuned {base} {avg(ds, tuned, 'near'):.2f}; far "
            f"{avg(ds, f'AdaSCALE-{v}', 'far'):.2f} vs {avg(ds, tuned, 'far'):.2f}.")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Reproduction scorecard
#
# The paper's CIFAR numbers come from a different DenseNet (OpenOOD's DenseNet-101, three training
# runs) on complete sets; ours from the DICE DenseNet-BC-100 on 300 images per set. Per-set values
# are graded with a wide tolerance; orderings (does AdaSCALE beat SCALE? is Q larger for OOD?) are
# graded as claims about this network.

# %%
card = Scorecard("02_adascale", "AdaSCALE", PROFILE.name)
for ds in MODELS:
    r = ratios[(ratios.ID == ds) & ratios.group.isin(["near", "far"])]
    card.add(f"Q is larger for OOD than ID on every near/far set, {ds}", "Fig. 4", None, None,
             holds=bool((r["Q_OOD / Q_ID"] > 1).all()),
             reason=f"ratios {', '.join(f'{x:.2f}' for x in r['Q_OOD / Q_ID'])}; 300 images per set")
    card.add(f"C_o (perturbed top activations) is larger for ID than OOD on every near/far set, {ds}", "Fig. 5",
             None, None, holds=bool((r["C_o,OOD / C_o,ID"] < 1).all()),
             reason=f"ratios {', '.join(f'{x:.2f}' for x in r['C_o,OOD / C_o,ID'])}")
    c = best[(ds, "a")]
    card.add(f"an adaptive percentile beats every fixed one on validation AUROC, {ds}", "Fig. 7", None, None,
             holds=bool(c["val"] > c["fixed_val"]),
             reason=f"AdaSCALE-A {c['val']:.2f} vs SCALE(p = {c['fixed_p']:g}) {c['fixed_val']:.2f}; our split")
    for v, base in [("A", "SCALE"), ("L", "LTS")]:
        cv = best[(ds, v.lower())]
        tuned = f"{base} (p = {cv['fixed_p']:g}, tuned)"
        for group in ("near", "far"):
            ours, theirs = avg(ds, f"AdaSCALE-{v}", group), avg(ds, tuned, group)
            a_sc, b_sc = main_scores[ds][f"AdaSCALE-{v}"], main_scores[ds][tuned]
            iv = metrics.bootstrap_interval(
                metrics.auroc, a_sc[ds], np.concatenate([a_sc[d] for d in GROUP[ds][group]]), n_boot=500,
                paired_with=(b_sc[ds], np.concatenate([b_sc[d] for d in GROUP[ds][group]])))
            noisy = ours > theirs and iv.low <= 0
            card.add(f"AdaSCALE-{v} beats {base} in {group}-OOD AUROC, {ds}", "Tables 16-17", None, None,
                     holds=bool(ours > theirs), override="partly" if noisy else None,
                     reason=f"{ours:.2f} vs {theirs:.2f} ({base} tuned on the same split); paired bootstrap of the "
                            f"pooled-set AUROC gain: {100 * iv.estimate:+.2f} "
                            f"[{100 * iv.low:+.2f}, {100 * iv.high:+.2f}]" + (" includes 0" if noisy else ""))
    for key, title in [("adascale_a", "AdaSCALE-A"), ("adascale_l", "AdaSCALE-L")]:
        for d, (fpr, _) in zip(PAPER_FAR_SETS, PAPER_FAR[ds][key], strict=True):
            if d in OOD[ds]:
                ours = main[(main.ID == ds) & (main.method == title) & (main.ood == d)]["FPR@95"].iloc[0]
                card.add(f"{title} FPR@95 on {data.DATASETS[d].title}, {ds} (%)", "Table 16", fpr, ours,
                         tolerance=3.0, partial_tolerance=10.0,
                         reason="different DenseNet (OpenOOD DenseNet-101, 3 runs); 300 images; Textures 10/47 classes")
        for d, (fpr, _) in zip(PAPER_NEAR_SETS[ds], PAPER_NEAR[ds][key], strict=True):
            ours = main[(main.ID == ds) & (main.method == title) & (main.ood == d)]["FPR@95"].iloc[0]
            card.add(f"{title} FPR@95 on {data.DATASETS[d].title}, {ds} (%)", "Table 17", fpr, ours, tolerance=3.0,
                     partial_tolerance=10.0, reason="different DenseNet (OpenOOD DenseNet-101, 3 runs); 300 images")
    nv = nval[nval.ID == ds].set_index("n_val")
    gap = sum(abs(nv.loc[10, f"{g} AUROC"] - nv.loc[1000, f"{g} AUROC"]) for g in ("near", "far"))
    card.add(f"10 ID samples suffice for the eCDF (near + far AUROC within 1 pt in total of n_val = 1000), {ds}",
             "Table 7 (ImageNet in the paper)", None, None, holds=bool(gap <= 1.0), reason=f"total gap {gap:.2f} pts")
p9 = pert.set_index(["region", "o (%)", "eps"])
triv, sig = p9.loc[("trivial", 5.0, 0.5)], p9.loc[("significant", 5.0, 0.5)]
card.add("perturbing trivial (small-gradient) elements beats significant ones (CIFAR-10, o = 5%)",
         "Table 9 (ImageNet in the paper)", None, None,
         holds=bool(triv["near AUROC"] + triv["far AUROC"] > sig["near AUROC"] + sig["far AUROC"]),
         reason=f"near+far AUROC {triv['near AUROC'] + triv['far AUROC']:.2f} vs "
                f"{sig['near AUROC'] + sig['far AUROC']:.2f}; 100 images per set")
eps_auc = {e: p9.loc[("trivial", 5.0, e), "near AUROC"] + p9.loc[("trivial", 5.0, e), "far AUROC"]
           for e in (0.1, 0.5, 1.0)}
flat = max(eps_auc.values()) - min(eps_auc.values()) < 0.5
card.add("eps = 0.5 is the best of {0.1, 0.5, 1.0} (CIFAR-10)", "Table 10 (ImageNet in the paper)", None, None,
         holds=bool(max(eps_auc, key=eps_auc.get) == 0.5),
         override="partly" if flat and max(eps_auc, key=eps_auc.get) == 0.5 else None,
         reason=", ".join(f"eps {e}: {v:.2f}" for e, v in eps_auc.items()) + " (near+far AUROC, 100 images per set)"
         + ("; all within 0.5 pts, so no clear optimum" if flat else ""))
card.add("a variable percentile costs more than a fixed one, less so as D grows", "Table 11", None, None,
         holds=bool((latency.ratio > 1).all() and latency.ratio.iloc[-1] < latency.ratio.iloc[0]),
         reason="ratios " + ", ".join(f"{x:.2f}" for x in latency.ratio) + " (paper 4.66 ... 3.02 on a GPU); our "
                "kernel takes a per-row top-k in both cases, so a per-sample k costs nothing extra here")
card.add_unavailable(["svhn", "places365"], "Table 16 rows on {title}", "Table 16")
card.publish()

# %% [markdown]
# ## Exercises
#
# 1. Score test images with $-Q'$ alone (no scaling). How far is this single statistic from
#    AdaSCALE-A? What does the scaling add?
# 2. Which percentile does AdaSCALE-A pick? Compare the mean adaptive percentile (Eq. 11) of the
#    ID test images with that of each OOD set. Does the method keep fewer activations for OOD?
#
# The solutions run below; open them with the toggle.

# %% tags=["hide-cell"]
# Solution 1: -Q' as a detector vs AdaSCALE-A (near and far averages, CIFAR-10)
ds = "cifar10"
for group in ("near", "far"):
    q_id = -cached_shift_statistics(test[ds][ds], k2=best[(ds, "a")]["k2"])["Q_prime"].numpy()
    aucs = [metrics.auroc(q_id, -cached_shift_statistics(test[ds][d], k2=best[(ds, "a")]["k2"])["Q_prime"].numpy())
            for d in GROUP[ds][group]]
    print(f"{group}: -Q' AUROC {100 * np.mean(aucs):.2f}% vs AdaSCALE-A {avg(ds, 'AdaSCALE-A', group):.2f}%")
# Q' only decides the percentile; the energy of the scaled feature carries the class evidence.

# %% tags=["hide-cell"]
# Solution 2: the adaptive percentile per set (CIFAR-10, validated hyperparameters)
c = best[("cifar10", "a")]
ref_q = cached_shift_statistics(reference["cifar10"], k2=c["k2"])["Q_prime"]
for d in ["cifar10", *GROUP["cifar10"]["near"], *GROUP["cifar10"]["far"]]:
    pct = scorers.adaptive_percentile(cached_shift_statistics(test["cifar10"][d], k2=c["k2"])["Q_prime"], ref_q,
                                      p_min=c["p_min"], p_max=c["p_max"])
    print(f"{d:>10}: mean percentile {pct.mean():.1f} (range {c['p_min']:g}-{c['p_max']:g})")
# A higher percentile keeps fewer activations in the sum that sets the scaling; it is chosen for
# samples with a small shift (likely ID). Where the OOD mean is not lower than the ID mean, the
# perturbation signal does not separate the sets on this network (see the Q figures above).
