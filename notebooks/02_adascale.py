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
# - **Extra network work**: a gradient and a second forward pass per image (about 80 ms on 2
#   cores): the profile's gradient subset of every set (300 images by default), 1,000 held-out
#   CIFAR train images (the eCDF) and 300 TinyImageNet validation images per model, then 100
#   images per set for the perturbation studies (CIFAR-10 only): about 18 minutes cold, once.
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
# eCDF and scoring test samples. We follow the equations (`ood_nb_utils.scorers.adascale`). The
# paper tunes $p_{min}, p_{max}$ and $k_2$ per network (Tables 12-13: for DenseNet-101 $k_2$ is
# 10-100%, not 5%), so we search them too (`tuning.tune` over `detectors.AdaScaleA.search_space`).
#
# **Convention.** The paper follows OpenOOD: FPR@95 is **OOD-positive** here. Its DenseNet-101 is
# OpenOOD's, trained three times; ours is the single DICE DenseNet-BC-100 checkpoint, so per-set
# numbers are a loose check.

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

from ood_nb_utils import chapter, data, detectors, metrics, plots, scorers
from ood_nb_utils.evaluation import group_metrics, groups_of, paired_gain
from ood_nb_utils.features import throughput
from ood_nb_utils.methods.adascale import P_GRID, PAPER_HYPERPARAMETERS
from ood_nb_utils.paper_values import ADASCALE_FAR_SETS, ADASCALE_TABLE16_FAR, ADASCALE_TABLE17_NEAR
from ood_nb_utils.perturbation import by_rank, cached_shift_statistics, perturbed_features
from ood_nb_utils.scorecard import Scorecard
from ood_nb_utils.tuning import tune

PROFILE = chapter.start()
contexts = chapter.contexts(PROFILE)
MODELS = {ds: ctx.model for ds, ctx in contexts.items()}
G = PROFILE.gradient_per_set
OOD = {ds: chapter.available_ood(ds) for ds in MODELS}
GROUP = {ds: groups_of(ds, OOD[ds]) for ds in MODELS}
REAL = {ds: GROUP[ds]["near"] + GROUP[ds]["far"] for ds in MODELS}
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
test, pool, val_ood, reference, val_id, perm = {}, {}, {}, {}, {}, {}
for ds, ctx in contexts.items():
    test[ds] = {d: perturbed_features(ctx.adapter, ctx.gradient_images(d)) for d in [ds, *OOD[ds]]}
    pool[ds] = perturbed_features(ctx.adapter, ctx.heldout_images(1000))
    val_ood[ds] = perturbed_features(ctx.adapter, data.load_heldout("tin", test[ds]["tin"].arrays["indices"], G,
                                                                    PROFILE.seed))
    perm[ds] = np.random.default_rng(PROFILE.seed).permutation(len(pool[ds]))
    reference[ds], val_id[ds] = pool[ds].subset(perm[ds][:500], "eCDF half"), pool[ds].subset(perm[ds][500:], "ID val")
cost = {ds: float(pool[ds].arrays["seconds_per_image"][0]) for ds in MODELS}
print({ds: f"{1000 * c:.0f} ms per image for gradient + perturbed forward (measured when cached)"
       for ds, c in cost.items()})
# AdaSCALE-A/-L fitted on the eCDF half: every later score re-reads cached perturbed activations
ada = {(ds, v): detectors.create(f"adascale_{v}").fit_reference(reference[ds], ctx.head, adapter=ctx.adapter,
                                                                  id_dataset=ds)
       for ds, ctx in contexts.items() for v in "al"}

# %% [markdown]
# ## The observation: activation shift at the top activations (Fig. 3)
#
# Per image, activations are sorted by their unperturbed value (rank 1 = largest); the curves are
# the mean shift $|a^\varepsilon - a|$ at each rank over the images of a set, with one standard
# deviation shaded for the ID set.

# %%
fig, axes = plt.subplots(2, 2, figsize=(13, 7))
for (i, (what, label)), (j, ds) in itertools.product(
        enumerate([("shift", "activation shift |a_eps - a|"), ("perturbed", "perturbed activation a_eps")]),
        enumerate(MODELS)):
    ax, id_curve = axes[i, j], by_rank(test[ds][ds], what)
    ranks = np.arange(1, id_curve.shape[1] + 1)
    ax.plot(ranks, id_curve.mean(0), color=plots.ID_COLOR, lw=2, label=plots.label_of(ds, len(id_curve)))
    ax.fill_between(ranks, id_curve.mean(0) - id_curve.std(0), id_curve.mean(0) + id_curve.std(0),
                    color=plots.ID_COLOR, alpha=0.2)
    for d in OOD[ds]:
        ax.plot(ranks, by_rank(test[ds][d], what).mean(0), color=plots.color_of(d), lw=1.2,
                ls="--" if data.DATASETS[d].is_substitute else "-", label=plots.label_of(d, len(test[ds][d])))
    ax.set(xscale="log", xlabel="rank of the unperturbed activation (1 = largest, log scale)", ylabel=label,
           title=f"{ds} as ID ({'Fig. 3' if what == 'shift' else 'Fig. 5'})")
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
stats = {(ds, d): cached_shift_statistics(test[ds][d]) for ds in MODELS for d in [ds, *OOD[ds]]}
ratios = pd.DataFrame([
    {"ID": ds, "OOD": data.DATASETS[d].display_name, "group": data.ood_group(ds, d),
     **{f"{k}_OOD / {k}_ID": (s[k].mean() / s_id[k].mean()).item() for k in ("Q", "C_o", "Q_prime")},
     **{f"AUROC of -{k} (%)": 100 * metrics.auroc(-s_id[k].numpy(), -s[k].numpy()) for k in ("Q", "Q_prime")}}
    for ds in MODELS for d in OOD[ds] for s, s_id in [(stats[(ds, d)], stats[(ds, ds)])]])
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
for ax, ds in zip(axes, MODELS, strict=True):
    r = ratios[ratios.ID == ds].set_index("OOD")[["Q_OOD / Q_ID", "Q_prime_OOD / Q_prime_ID"]]
    r.set_axis([n.split(" (")[0] for n in r.index]).plot.bar(ax=ax, rot=30)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set(ylabel="ratio of means, OOD / ID", title=f"{ds} as ID")
fig.suptitle("Fig. 4: Q and Q' ratios per OOD set (above 1 = larger for OOD)")
plt.show()
display(ratios.style.format(precision=2).hide(axis="index"))

# %% [markdown]
# ## Choosing hyperparameters on the validation split
#
# For each variant (A, L) and model, `tune` tries every $p_{min} \le p_{max}$ on a 10-point grid
# from 50 to 95 and $k_2 \in \{5, 10, 50, 100\}\%$ ($k_1 = 1\%$, $\lambda = 10$), scored by AUROC of
# the held-out ID half vs the TIN validation images. The diagonal $p_{min} = p_{max}$ *is* SCALE (A)
# or LTS (L) at that percentile, so the same search also tunes SCALE and LTS.

# %%
searches = {key: tune(det, None, (val_id[key[0]], val_ood[key[0]]), constraint=det.constraint)
            for key, det in ada.items()}
search = pd.concat([r.table().assign(ID=ds, variant=v) for (ds, v), r in searches.items()]).rename(
    columns={"auroc": "val AUROC"})
search["val AUROC"] *= 100
best = {}
for (ds, v), g in search.groupby(["ID", "variant"]):
    top, fixed = g.loc[g["val AUROC"].idxmax()], g[g.p_min == g.p_max].sort_values("val AUROC").iloc[-1]
    best[(ds, v)] = {"p_min": top.p_min, "p_max": top.p_max, "k2": top.k2, "val": top["val AUROC"],
                     "fixed_p": fixed.p_min, "fixed_val": fixed["val AUROC"]}
tuned = {key: searches[key].detector for key in ada}
display(pd.DataFrame([{"ID": ds, "variant": f"AdaSCALE-{v.upper()}", "p_min": c["p_min"], "p_max": c["p_max"],
                       "k2 (%)": c["k2"], "val AUROC": c["val"],
                       "paper (DenseNet-101) p_min, p_max, k2": PAPER_HYPERPARAMETERS[(v, ds)],
                       f"best fixed p ({'SCALE' if v == 'a' else 'LTS'})": c["fixed_p"],
                       "its val AUROC": c["fixed_val"]}
                      for (ds, v), c in best.items()]).style.format(precision=2).hide(axis="index"))

# %% [markdown]
# ## Adaptive vs fixed percentile (Fig. 7)
#
# Validation AUROC of AdaSCALE-A over $p_{min} \times p_{max}$ at the chosen $k_2$; the diagonal
# is SCALE. Bottom: the same grid scored on the test sets (mean AUROC over near and far sets), shown
# for insight only: it plays no part in the choice.

# %%
fig, axes = plt.subplots(2, 2, figsize=(12, 9), layout="constrained")
for j, ds in enumerate(MODELS):
    k2 = best[(ds, "a")]["k2"]
    val_grid = search[(search.ID == ds) & (search.variant == "a") & (search.k2 == k2)].pivot(
        index="p_min", columns="p_max", values="val AUROC")
    test_grid = val_grid * np.nan
    for lo, hi in [(lo, hi) for lo in P_GRID for hi in P_GRID if lo <= hi]:
        sc = {d: tuned[(ds, "a")].with_params(p_min=lo, p_max=hi).score(test[ds][d]) for d in [ds, *REAL[ds]]}
        test_grid.loc[lo, hi] = group_metrics(sc, ds, {"all": REAL[ds]})["all"]["auroc"]
    for i, (grid, what) in enumerate([(val_grid, "validation AUROC (ID half vs TIN val)"),
                                      (test_grid, "test AUROC, mean over near + far sets")]):
        ax = axes[i, j]
        im = ax.imshow(grid.values, cmap="viridis", origin="lower")
        ax.set(xticks=range(len(P_GRID)), yticks=range(len(P_GRID)), xlabel="p_max", ylabel="p_min")
        ax.set_xticklabels([f"{p:g}" for p in P_GRID])
        ax.set_yticklabels([f"{p:g}" for p in P_GRID])
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
K1_GRID, K2_FIG, LAMBDAS = [0.5, 1.0, 2.0, 5.0, 10.0], [1.0, 5.0, 10.0, 50.0, 100.0], [0, 1, 5, 10, 20, 50, 100]
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), layout="constrained")
for ax, ds in zip(axes[:2], MODELS, strict=True):
    heat = np.array([[100 * metrics.auroc(det.score(val_id[ds]), det.score(val_ood[ds]))
                      for det in [tuned[(ds, "a")].with_params(k1=k1, k2=k2) for k2 in K2_FIG]] for k1 in K1_GRID])
    im = ax.imshow(heat, cmap="viridis", origin="lower")
    for a_, b_ in itertools.product(range(len(K1_GRID)), range(len(K2_FIG))):
        ax.text(b_, a_, f"{heat[a_, b_]:.1f}", ha="center", va="center", fontsize=7, color="white")
    ax.set(xticks=range(len(K2_FIG)), yticks=range(len(K1_GRID)), xlabel="k2 (share of D for C_o)",
           ylabel="k1 (share of D for Q)", title=f"Fig. 6a, {ds}: validation AUROC (%)")
    ax.set_xticklabels([f"{k:g}%" for k in K2_FIG])
    ax.set_yticklabels([f"{k:g}%" for k in K1_GRID])
    ax.grid(False)
    fig.colorbar(im, ax=ax, shrink=0.8)
lam_table = pd.DataFrame([{"ID": ds, "lambda": lam, "group": g, "FPR@95": m["fpr95_ood_positive"]}
                          for ds in MODELS for lam in LAMBDAS
                          for det in [tuned[(ds, "a")].with_params(lam=float(lam))]
                          for g, m in group_metrics({d: det.score(test[ds][d]) for d in [ds, *REAL[ds]]}, ds,
                                                    {g: GROUP[ds][g] for g in ("near", "far")}).items()])
for (ds, group), s in lam_table.groupby(["ID", "group"], sort=False):
    axes[2].plot(s["lambda"], s["FPR@95"], ls="--" if group == "near" else "-", marker="o", label=f"{ds}, {group}-OOD")
axes[2].set(xscale="symlog", xlabel="lambda (weight of Q in Q')", ylabel="mean FPR@95, OOD-positive (%)",
            title="Fig. 6b: lambda sensitivity (test)")
axes[2].legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Main results (Table 5 style, with Tables 16-17's DenseNet-101 rows)
#
# Baselines at the registry's defaults (ReAct threshold 1.6, ASH-S p = 90, SCALE/LTS p = 85,
# BFAct 1.6); SCALE and LTS also at the percentile the validation search picked on the diagonal.
# ASH here is ASH-S. All on the same 300 images per set: the cached perturbed activations carry the
# penultimate feature and logits, so feature-based detectors score them directly.

# %%
BASE = ["msp", "mls", "energy", "react", "ash_s", "scale", "bfact", "lts"]
main_scores = {}
for ds, ctx in contexts.items():
    methods = {detectors.get_class(n).title: detectors.create(n).fit(ctx.train, ctx.head) for n in BASE}
    for v, base in [("a", "scale"), ("l", "lts")]:
        methods[f"{detectors.get_class(base).title} (p = {best[(ds, v)]['fixed_p']:g}, tuned)"] = detectors.create(
            base, percentile=float(best[(ds, v)]["fixed_p"])).fit(None, ctx.head)
        methods[f"AdaSCALE-{v.upper()}"] = tuned[(ds, v)]
    main_scores[ds] = {t: {d: det.score(test[ds][d]) for d in [ds, *OOD[ds]]} for t, det in methods.items()}
main_avg = pd.DataFrame([{"ID": ds, "method": t, "group": g, "FPR@95": m["fpr95_ood_positive"], "AUROC": m["auroc"]}
                         for ds, per in main_scores.items() for t, sc in per.items()
                         for g, m in group_metrics(sc, ds, GROUP[ds]).items()]).pivot_table(
    index=["ID", "method"], columns="group", values=["FPR@95", "AUROC"], sort=False)
KEY_OF = {detectors.get_class(n).title: n for n in BASE} | {"AdaSCALE-A": "adascale_a", "AdaSCALE-L": "adascale_l"}
for ds in MODELS:
    t = main_avg.loc[ds].copy()
    for title, key in ((t_, KEY_OF[t_]) for t_ in t.index if t_ in KEY_OF):
        far = [v for d, v in zip(ADASCALE_FAR_SETS, ADASCALE_TABLE16_FAR[ds][key], strict=True)
               if d in GROUP[ds]["far"]]
        for (metric, col), paper in itertools.product([("paper FPR@95", 0), ("paper AUROC", 1)],
                                                      [("near", ADASCALE_TABLE17_NEAR[ds][key]),
                                                       ("far (MNIST, Textures)", far)]):
            t.loc[title, (metric, paper[0])] = np.mean([x[col] for x in paper[1]])
    display(Markdown(f"**{ds} as ID** (densenet100-{ds}; {G} images per set; paper: OpenOOD DenseNet-101, "
                     "mean of 3 trials, averaged over the same sets; values in %)"))
    display(t.style.format(precision=2, na_rep="—"))

# %% [markdown]
# ## How many ID samples does the eCDF need? (Table 7)

# %%
nval = pd.DataFrame([{"ID": ds, "n_val": n, **{f"{g} {k}": m[c] for g, m in group_metrics(
    {d: det.score(test[ds][d]) for d in [ds, *REAL[ds]]}, ds, {g: GROUP[ds][g] for g in ("near", "far")}).items()
    for k, c in [("FPR@95", "fpr95_ood_positive"), ("AUROC", "auroc")]}}
    for ds, ctx in contexts.items() for n in [10, 100, 1000]
    for det in [tuned[(ds, "a")].clone().fit_reference(pool[ds].subset(perm[ds][:n]), ctx.head, adapter=ctx.adapter,
                                                       id_dataset=ds)]])
display(Markdown("AdaSCALE-A with the eCDF built from n_val images of the 1,000-image held-out pool (the first of "
                 "the seeded order that split it; all available = 1,000); "
                 "hyperparameters as chosen above"))
display(nval.style.format(precision=2).hide(axis="index"))

# %% [markdown]
# ## What to perturb, and how much (Tables 9 and 10)
#
# Each variant needs the network again, so these run on CIFAR-10 only, with 100 images per set (ID
# test, the near and far sets, and 100 held-out train images for the eCDF), hyperparameters as
# chosen for AdaSCALE-A.

# %%
c10 = contexts["cifar10"]
VARIANTS = [("trivial", 0.05, 0.5), ("trivial", 0.10, 0.5), ("significant", 0.05, 0.5), ("random", 0.05, 0.5),
            ("all", 1.0, 0.5), ("trivial", 0.05, 0.1), ("trivial", 0.05, 1.0)]
small = {d: data.load(d, n=100, seed=PROFILE.seed) for d in ["cifar10", *REAL["cifar10"]]}
small_ref = c10.heldout_images(100, seed=PROFILE.seed + 1)
pert = pd.DataFrame([
    {"region": region, "o (%)": 100 * frac, "eps": eps,
     **{f"{g} {k}": m[c] for g, m in group_metrics({d: det.score(x) for d, x in small.items()}, "cifar10",
                                                    {g: GROUP["cifar10"][g] for g in ("near", "far")}).items()
        for k, c in [("FPR@95", "fpr95_ood_positive"), ("AUROC", "auroc")]}}
    for region, frac, eps in VARIANTS
    for det in [tuned[("cifar10", "a")].clone(region=region, fraction=frac, epsilon=eps).fit_reference(
        perturbed_features(c10.adapter, small_ref, progress=False, region=region, fraction=frac, epsilon=eps),
        c10.head, adapter=c10.adapter, id_dataset="cifar10")]])
display(Markdown("**Table 9** (region x o, eps = 0.5) and **Table 10** (eps, trivial 5%), CIFAR-10, "
                 "100 images per set, AdaSCALE-A (values in %)"))
display(pert.style.format(precision=2).hide(axis="index"))

# %% [markdown]
# ## What it costs (Table 11)
#
# The scaling step with a fixed percentile (one $k$ for the batch) vs a per-sample percentile, one
# sample at a time, on this CPU; then the end-to-end cost of the extra gradient and forward pass.

# %%
lat_rows, gen = [], torch.Generator().manual_seed(0)
for dim in [128, 512, 1024, 2048, 3024]:
    a, times = torch.rand(1, dim, generator=gen), {}
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
fwd = throughput(c10.adapter, n_images=128)
display(Markdown(
    f"End to end on 2 CPU cores: plain inference (forward with all taps) {1000 / fwd:.1f} ms per image; "
    f"AdaSCALE's gradient and perturbed forward pass add {1000 * cost['cifar10']:.1f} ms per image "
    f"(measured when the cache was filled), so scoring one image costs about "
    f"{(1000 / fwd + 1000 * cost['cifar10']) / (1000 / fwd):.1f}x plain inference."
))

# %% [markdown]
# ## What we saw

# %%
lines = []
for ds in MODELS:
    r = ratios[(ratios.ID == ds) & ratios.group.isin(["near", "far"])]
    lines.append(
        f"- **{ds}: the observation.** Q is larger for OOD than ID on {int((r['Q_OOD / Q_ID'] > 1).sum())} of "
        f"{len(r)} near/far sets (ratios {', '.join(f'{x:.2f}' for x in r['Q_OOD / Q_ID'])}); as a detector on "
        f"its own, -Q reaches a mean AUROC of {r['AUROC of -Q (%)'].mean():.1f}% and -Q' "
        f"{r['AUROC of -Q_prime (%)'].mean():.1f}%.")
    for v, base in [("A", "SCALE"), ("L", "LTS")]:
        c, tuned_base = best[(ds, v.lower())], f"{base} (p = {best[(ds, v.lower())]['fixed_p']:g}, tuned)"
        lines.append(f"- **{ds}, AdaSCALE-{v}** (p_min {c['p_min']:g}, p_max {c['p_max']:g}, k2 {c['k2']:g}%): "
                     + "; ".join(f"{g} AUROC {main_avg.loc[(ds, f'AdaSCALE-{v}'), ('AUROC', g)]:.2f} vs tuned {base} "
                                 f"{main_avg.loc[(ds, tuned_base), ('AUROC', g)]:.2f}" for g in ("near", "far")) + ".")
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
             None, None, holds=bool((r["C_o_OOD / C_o_ID"] < 1).all()),
             reason=f"ratios {', '.join(f'{x:.2f}' for x in r['C_o_OOD / C_o_ID'])}")
    c = best[(ds, "a")]
    card.add(f"an adaptive percentile beats every fixed one on validation AUROC, {ds}", "Fig. 7", None, None,
             holds=bool(c["val"] > c["fixed_val"]),
             reason=f"AdaSCALE-A {c['val']:.2f} vs SCALE(p = {c['fixed_p']:g}) {c['fixed_val']:.2f}; our split")
    for v, base in [("A", "SCALE"), ("L", "LTS")]:
        tuned_base = f"{base} (p = {best[(ds, v.lower())]['fixed_p']:g}, tuned)"
        for group in ("near", "far"):
            ours, theirs = (main_avg.loc[(ds, t), ("AUROC", group)] for t in (f"AdaSCALE-{v}", tuned_base))
            iv = paired_gain(main_scores[ds][f"AdaSCALE-{v}"], main_scores[ds][tuned_base], ds, GROUP[ds][group],
                             n_boot=500)
            noisy = ours > theirs and iv.low <= 0
            card.add(f"AdaSCALE-{v} beats {base} in {group}-OOD AUROC, {ds}", "Tables 16-17", None, None,
                     holds=bool(ours > theirs), override="partly" if noisy else None,
                     reason=f"{ours:.2f} vs {theirs:.2f} ({base} tuned on the same split); paired bootstrap of the "
                            f"pooled-set AUROC gain: {100 * iv.estimate:+.2f} "
                            f"[{100 * iv.low:+.2f}, {100 * iv.high:+.2f}]" + (" includes 0" if noisy else ""))
    for key, title in [("adascale_a", "AdaSCALE-A"), ("adascale_l", "AdaSCALE-L")]:
        for table, sets, paper in [("Table 16", ADASCALE_FAR_SETS, ADASCALE_TABLE16_FAR[ds][key]),
                                   ("Table 17", GROUP[ds]["near"], ADASCALE_TABLE17_NEAR[ds][key])]:
            for d, (fpr, _) in ((d, p) for d, p in zip(sets, paper, strict=True) if d in OOD[ds]):
                sc = main_scores[ds][title]
                ours = 100 * metrics.fpr_at_95_tpr(sc[ds], sc[d], positive="ood")
                card.add(f"{title} FPR@95 on {data.DATASETS[d].title}, {ds} (%)", table, fpr, ours, tolerance=3.0,
                         partial_tolerance=10.0, reason="different DenseNet (OpenOOD DenseNet-101, 3 runs); 300 images"
                         + ("; Textures 10/47 classes" if d == "textures" else ""))
    nv = nval[nval.ID == ds].set_index("n_val")
    gap = sum(abs(nv.loc[10, f"{g} AUROC"] - nv.loc[1000, f"{g} AUROC"]) for g in ("near", "far"))
    card.add(f"10 ID samples suffice for the eCDF (near + far AUROC within 1 pt in total of n_val = 1000), {ds}",
             "Table 7 (ImageNet in the paper)", None, None, holds=bool(gap <= 1.0), reason=f"total gap {gap:.2f} pts")
p9 = pert.set_index(["region", "o (%)", "eps"])
near_far = {k: p9.loc[k, "near AUROC"] + p9.loc[k, "far AUROC"] for k in p9.index}
triv, sig = near_far[("trivial", 5.0, 0.5)], near_far[("significant", 5.0, 0.5)]
card.add("perturbing trivial (small-gradient) elements beats significant ones (CIFAR-10, o = 5%)",
         "Table 9 (ImageNet in the paper)", None, None, holds=bool(triv > sig),
         reason=f"near+far AUROC {triv:.2f} vs {sig:.2f}; 100 images per set")
eps_auc = {e: near_far[("trivial", 5.0, e)] for e in (0.1, 0.5, 1.0)}
flat, top = max(eps_auc.values()) - min(eps_auc.values()) < 0.5, max(eps_auc, key=eps_auc.get)
card.add("eps = 0.5 is the best of {0.1, 0.5, 1.0} (CIFAR-10)", "Table 10 (ImageNet in the paper)", None, None,
         holds=bool(top == 0.5), override="partly" if flat and top == 0.5 else None,
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
#    ID test images with that of each OOD set (`tuned[("cifar10", "a")].percentiles(arrays)`).
#    Does the method keep fewer activations for OOD?
#
# The solutions run below; open them with the toggle.

# %% tags=["hide-cell"]
# Solution 1: -Q' as a detector vs AdaSCALE-A (near and far averages, CIFAR-10)
q = {d: -cached_shift_statistics(x, k2=best[("cifar10", "a")]["k2"])["Q_prime"].numpy()
     for d, x in test["cifar10"].items()}
for group, m in group_metrics(q, "cifar10", {g: GROUP["cifar10"][g] for g in ("near", "far")}).items():
    print(f"{group}: -Q' AUROC {m['auroc']:.2f}% vs AdaSCALE-A "
          f"{main_avg.loc[('cifar10', 'AdaSCALE-A'), ('AUROC', group)]:.2f}%")
# Q' only decides the percentile; the energy of the scaled feature carries the class evidence.

# %% tags=["hide-cell"]
# Solution 2: the adaptive percentile per set (CIFAR-10, validated hyperparameters)
for d in ["cifar10", *REAL["cifar10"]]:
    pct = tuned[("cifar10", "a")].percentiles(test["cifar10"][d])
    print(f"{d:>10}: mean percentile {pct.mean():.1f} (range {best[('cifar10', 'a')]['p_min']:g}-"
          f"{best[('cifar10', 'a')]['p_max']:g})")
# A higher percentile keeps fewer activations in the sum that sets the scaling; it is chosen for
# samples with a small shift (likely ID). Where the OOD mean is not lower than the ID mean, the
# perturbation signal does not separate the sets on this network (see the Q figures above).
