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
# # 4. Prototype Fusion: class prototypes at several layers
#
# ```{admonition} What this chapter needs
# :class: note
# - **Checkpoints and data**: as chapter 0; everything here reads the activation cache (the pooled
#   output of every tapped layer) and chapter 1's held-out pseudo-OOD images.
# - **Profile**: printed below. **Time**: about 1-2 minutes.
# ```

# %% [markdown] tags=["slide"]
# **Learning objectives.** (1) Build class {term}`prototypes <Prototype>` at any layer and score an image by cosine
# similarity; (2) compare a multi-layer score with the penultimate layer on far- and {term}`near-OOD <Near-OOD>` sets;
# (3) measure how much calibration data prototypes need; (4) choose layers without OOD test data.
#
# **The claim** {cite}`gul2026prototype`. Penultimate-layer methods leave information on the table:
# intermediate layers are "equally rich and discriminative". Global-average-pool and L2-normalise
# several layers, average each class's normalised features into a (re-normalised) prototype, and
# take per layer the largest cosine to any prototype; their mean is the ID affinity
# ({py:class}`~ood_nb_utils.detectors.PrototypeFusion`), 1 - affinity the OOD score. The abstract reports
# {term}`AUROC` gains of up to 4.41 points and {term}`FPR@95` reductions of up to 13.58 points over penultimate-layer
# methods.

# %% [markdown]
# **Which choice comes from where.** We have the abstract and figure captions only
# (`../shared/papers/prototype_fusion_abstract.txt`). Fig. 1's caption gives the score; the released
# code (github.com/sgchr273/cosine-layers) the taps: dense block 2's output (300-d), dense block
# 3's before the final BN (342-d), the final BN+ReLU map (342-d), and 5,000 calibration images (here: the
# {term}`profile <Profile>`'s train subset); Fig. 2 the calibration fractions; the weighting schemes come from the
# released `code_for_plot.py` (Fig. 4 plots them). On
# ResNet-56 (`arch="resnet56"` below) the fused taps are its three stage outputs, as Fig. 5's caption fuses "the last
# three layers of ResNet-18" (`models.ARCHITECTURES`). Ours:
# weights normalised to sum 1. A machine-written review beside the abstract has a *simulated* author
# reply describing a maximum over layers; it contradicts Fig. 1's caption and is not the authors' text.
#
# **Convention.** OpenOOD's: FPR@95 is **OOD-positive** (ID images flagged at 95% OOD recall).

# %% tags=["remove-cell"]
# Outside this repository (Binder, Colab): install the book's package, then fetch the data this chapter needs
# into a folder you can write to (beside the project's shared/ folder nothing is downloaded).
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("ood_nb_utils") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "ood-nb-utils[book] @ git+https://github.com/ood-nb/posthoc-ood-book"], check=True)
from ood_nb_utils.lectures import chapter

chapter.fetch_data()

# %% tags=["hide-input"]
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from ood_nb_utils import data, detectors, scorers
from ood_nb_utils.detectors.tuning import tune
from ood_nb_utils.evaluation import groups_of, summary_table
from ood_nb_utils.lectures import chapter, exercises, plots
from ood_nb_utils.lectures.claims import prototype_fusion as pf_claims

PROFILE, contexts, MODELS, ARCH = chapter.begin(arch=None)  # arch="resnet56" runs this chapter on ResNet-56
PF_LAYERS = list(ARCH.prototype_layers)  # on the DenseNet the released code's taps (detectors.PROTOTYPE_LAYERS)
OOD = {ds: chapter.available_ood(ds) for ds in MODELS}
GROUPS = {ds: groups_of(ds, OOD[ds]) for ds in MODELS}
FPR = "fpr95_ood_positive"
display(Markdown(chapter.sets_note(["cifar100", "tin", "mnist", "svhn", "textures", "places365"],
                                   "OpenOOD's CIFAR-10 benchmark (near: CIFAR-100, TIN; far: the rest)")))
display(Markdown(chapter.data_note(contexts)))

# %% [markdown]
# ## The kernel
#
# The prototypes of Fig. 1 and the fused affinity, as the package computes them (API:
# {py:func}`~ood_nb_utils.scorers.fit_prototypes`, {py:func}`~ood_nb_utils.scorers.prototype_fusion`).

# %%
chapter.show_source(scorers.fit_prototypes, scorers.prototype_fusion)

# %% [markdown]
# ## What the prototypes see (Fig. 1, right)
#
# For the CIFAR-10 model we fit prototypes on the calibration set and draw, for one CIFAR-10 test
# image and one Textures image, the cosine similarity of each layer's feature to each class
# prototype. Below them, the same matrices averaged over every image of each dataset.

# %% tags=["slide"]
c10 = contexts["cifar10"]
matrix = pf_claims.similarity_matrices(c10, ["cifar10", *OOD["cifar10"]])  # set -> N x layer x class
affinity = {d: pf_claims.matrix_affinity(m) for d, m in matrix.items()}
# a typical image of each: the one with the median affinity
i_id = int(np.argsort(affinity["cifar10"])[len(affinity["cifar10"]) // 2])
i_ood = int(np.argsort(affinity["textures"])[len(affinity["textures"]) // 2])
CLASSES10 = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
panels = [("CIFAR-10 test image (ID)", matrix["cifar10"][i_id]), ("Textures image (OOD)", matrix["textures"][i_ood])]
panels += [(f"mean over {plots.short_label(d)}\n(n={len(affinity[d]):,})", matrix[d].mean(0))
           for d in ["cifar10", *OOD["cifar10"]]]
rows = int(np.ceil(len(panels) / 3))
fig, axes = plt.subplots(rows, 3, figsize=(9, 2.5 * rows), layout="constrained", squeeze=False)
for ax, (title, mat) in zip(axes.flat, panels, strict=False):
    im = plots.annotated_heatmap(ax, mat, xticks=CLASSES10, yticks=PF_LAYERS, title=title, cmap="magma", vmin=0,
                                 vmax=1, annotate=False)
    ax.tick_params(axis="x", rotation=90)
for ax in axes.flat[len(panels):]:
    ax.set_axis_off()
fig.colorbar(im, ax=axes, shrink=0.5, location="bottom", label="cosine similarity to the class prototype (0 to 1)")
plots.show(fig, caption="After Prototype Fusion Fig. 1 (right): the cosine similarity between each layer's pooled "
           f"feature ({', '.join(PF_LAYERS)}) and each CIFAR-10 class prototype, for one CIFAR-10 test image and one "
           "Textures image (each its set's median by affinity), then averaged over every image of each set "
           f"({MODELS['cifar10']}; prototypes from the calibration images; one colour scale, 0 to 1).",
           alt="Heatmaps of layer by class cosine similarity, two single images and one mean per dataset.")

# %%
spread = {d: float(matrix[d].mean(0).std(1).mean()) for d in ("cifar10", "textures")}
best_cos = {d: ", ".join(f"{v:.2f}" for v in matrix[d][i].max(1)) for d, i in [("cifar10", i_id), ("textures", i_ood)]}
display(Markdown(
    f"The ID image's best class reaches cosine {best_cos['cifar10']} at "
    f"({', '.join(PF_LAYERS)}); the Textures image's best reaches {best_cos['textures']}. "
    f"Averaged over a dataset, the spread across classes of the mean similarity is {spread['cifar10']:.3f} (CIFAR-10) "
    f"and {spread['textures']:.3f} (Textures), against {float(matrix['cifar10'][i_id].std(1).mean()):.3f} for the "
    "single ID image. The distributions of the per-image maxima are further down (Fig. 5)."
))

# %% [markdown]
# ## Results against other methods
#
# Prototype Fusion with the paper's three layers and uniform weights, the same kernel on the
# penultimate layer alone, and baselines from chapters 0 and 1, all on the same cached
# features. Averages: near-OOD (other CIFAR, TIN), {term}`far-OOD <Far-OOD>` (MNIST, Textures; the others are not
# available) and the substitutes on their own.

# %% tags=["slide"]
runs, penult, tables = pf_claims.results(contexts, OOD)
for ds in MODELS:
    display(Markdown(f"**{ds} as ID** ({MODELS[ds]}; {len(contexts[ds].id_test)} ID test images, "
                     f"prototypes from {len(contexts[ds].train)} calibration images); all values in %"))
    for metric, label in [("auroc", "AUROC (%) ↑"), (FPR, "FPR@95, OOD-positive (%) ↓")]:
        display(Markdown(f"*{label}*"))
        display(summary_table(tables[ds], metric).style.format(precision=2, na_rep="—"))

# %% [markdown]
# ### Is the multi-layer gain real? The paired bootstrap (1,000 resamples, 95% interval) of the AUROC
# difference between Prototype Fusion and the penultimate-only prototype on the same resampled images.

# %%
boot = pf_claims.fusion_vs_penultimate(runs, penult)
display(boot.style.format(precision=2, na_rep="—").hide(axis="index"))

# %% [markdown]
# ## Penultimate layer vs the last three layers (Fig. 3)

# %%
fig, axes = plt.subplots(2, 2, figsize=(9, 7), sharey="row")
for (i, (metric, label)), (j, ds) in itertools.product(
        enumerate([("auroc", "AUROC (%)"), (FPR, "FPR@95, OOD-pos. (%)")]), enumerate(MODELS)):
    t = tables[ds].set_index(["method", "ood"])
    series = {title: [100 * t.loc[(m, d), metric] for d in OOD[ds]]
              for m, title in [("prototype_penultimate", "penultimate only"),
                               ("prototype_fusion", f"last three ({', '.join(PF_LAYERS)})")]}
    palette = plots.grouped_bars(axes[i, j], [plots.short_label(d) for d in OOD[ds]], series, ylabel=label,
                                 title=f"{data.DATASETS[ds].title} as ID", ylim=(0, 100), legend=False)
    if i == 0:
        axes[i, j].set_xticklabels([])
plots.legend_below(fig, *plots.patch_handles(palette), ncol=2)
auroc_of = {ds: tables[ds].set_index(["method", "ood"]).auroc for ds in MODELS}
pf_wins = {ds: int((auroc_of[ds]["prototype_fusion"][OOD[ds]] > auroc_of[ds]["prototype_penultimate"][OOD[ds]]).sum())
           for ds in MODELS}
plots.show(fig, caption="After Prototype Fusion Fig. 3: AUROC (top) and FPR@95, OOD-positive (bottom) of the "
           "prototype score from the penultimate layer alone and from the paper's last three layers, per OOD set "
           "and model; bars start at 0. The three layers have the higher AUROC on "
           + " and ".join(f"{pf_wins[ds]} of {len(OOD[ds])} sets for {MODELS[ds]}" for ds in MODELS)
           + " (point estimates; the paired bootstrap above decides the claim).",
           alt="Four grouped bar charts comparing penultimate-only and three-layer prototype scores on each OOD "
           "set, AUROC and FPR for each model.")

# %% [markdown]
# ## Per-layer score distributions (Fig. 5)
#
# Each panel is one layer's maximum cosine similarity over the class prototypes: ID test images
# filled, OOD sets as outlines (dashed: substitutes).

# %%
# every candidate tap's prototypes at once: (ds, dataset) -> N x L per-layer maxima
maxima, separation = pf_claims.layer_maxima(contexts, OOD)
col = {t: i for i, t in enumerate(ARCH.spatial_taps)}
fig, axes = plt.subplots(2, 3, figsize=(9, 6))
for j, ds in enumerate(MODELS):
    for i, layer in enumerate(PF_LAYERS):
        per_set = {d: maxima[(ds, d)][:, col[layer]].numpy() for d in [ds, *OOD[ds]]}
        plots.score_histograms(axes[j, i], ds, per_set, xlabel="max cosine to a class prototype",
                               title=f"{data.DATASETS[ds].title} as ID: {layer}", legend=False)
plots.legend_below(fig, *plots.dataset_handles(list(dict.fromkeys(d for ds in MODELS for d in OOD[ds])),
                                               other_cifar="the other CIFAR (near-OOD)", filled_id=True),
                   ncol=3)
plots.show(fig, caption="After Prototype Fusion Fig. 5: per layer, the distribution of each image's largest cosine "
           "similarity to a class prototype, ID test set (filled blue) against each OOD set (outlines; dashed: "
           f"substitutes); {MODELS['cifar10']} top, {MODELS['cifar100']} bottom.",
           alt="Six histogram panels, three layers for each model, of the maximum prototype cosine for ID and OOD "
           "sets.")

# %%
display(Markdown("**AUROC (%) of each single layer's maximum cosine**, every candidate tap (columns: ID, layer)"))
display(separation.style.format(precision=1, na_rep="—").background_gradient(cmap="RdYlGn", vmin=50, vmax=100,
                                                                            axis=None))

# %% [markdown]
# ## Layer weights (Fig. 4)
#
# Prototype Fusion adds the three layers' cosine similarities with weights. The four schemes of the paper's Fig. 4
# (taken from its released `code_for_plot.py`) weight the three fused layers, shallow to deep, as follows:

# %%
SCHEMES = pf_claims.SCHEMES
display(pd.DataFrame(SCHEMES, index=PF_LAYERS).T.style.format(precision=2, na_rep="—"))

# %% [markdown]
# The figure shows each scheme's mean AUROC and FPR@95 as a **difference from the uniform scheme**, so that a
# difference of a fraction of a point is drawn as one.

# %%
weights_table = pf_claims.weighting_schemes(contexts, OOD)
fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True)
for ax, (metric, ds) in zip(axes.flat, itertools.product(["AUROC", "FPR@95"], MODELS), strict=True):
    wide = weights_table[weights_table.ID == ds].pivot(index="scheme", columns="group", values=metric)
    others = [k for k in SCHEMES if k != "uniform"]
    diff = wide.loc[others] - wide.loc["uniform"]
    palette = plots.grouped_bars(ax, others, {g: diff[g] for g in diff.columns}, rotation=20,
                                 title=f"{data.DATASETS[ds].title} as ID", ylabel=f"{metric} − uniform (points)",
                                 legend=False,
                                 ylim=(min(-1.0, diff.values.min() * 1.2), max(1.0, diff.values.max() * 1.2)))
    ax.axhline(0, color=plots.REFERENCE_COLOR, lw=1)
plots.legend_below(fig, *plots.patch_handles(palette), ncol=2)
largest = weights_table.groupby(["ID", "group"]).AUROC.agg(lambda v: v.max() - v.min()).max()
plots.show(fig, caption="After Prototype Fusion Fig. 4: mean AUROC (top) and FPR@95, OOD-positive (bottom) over "
           f"the near and far sets for each weighting scheme of ({', '.join(PF_LAYERS)}), minus the uniform scheme's, "
           f"per model; each axis spans at least ±1 point. The largest AUROC spread between schemes in any (model, "
           f"group) is {largest:.2f} points.",
           alt="Four bar charts of each weighting scheme's difference from the uniform scheme, near and far, AUROC "
           "and FPR for each model.")

# %%
display(weights_table.pivot_table(index=["ID", "scheme"], columns="group", values=["AUROC", "FPR@95"]).style.format(
    precision=2, na_rep="—"))

# %% [markdown]
# ## How much calibration data? (Fig. 2)
#
# Prototypes are class means, so they should settle with few images. We refit on
# {0.5, 1, 5, 10, 25, 50, 100}% of each class of the calibration subset (rounded up, so at least
# one image per class: with 50 CIFAR-100 images per class, 0.5% and 1% are both one image), five
# seeds each, and average AUROC and FPR@95 over the available near- and far-OOD sets.

# %%
FRACTIONS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0]
SEEDS = range(5)
cal_table = pf_claims.calibration_curve(contexts, OOD, FRACTIONS, SEEDS)
fig, axes = plt.subplots(2, 2, figsize=(9, 5.6), sharex=True)
for (i, metric), (j, ds) in itertools.product(enumerate(["AUROC", "FPR@95"]), enumerate(MODELS)):
    g = cal_table[cal_table.ID == ds].groupby("fraction")[metric]
    plots.band(axes[i, j], 100 * g.mean().index, g.mean(), g.min(), g.max(), label="mean over 5 seeds",
               band_label="min-max over 5 seeds", style=plots.Style(plots.MODEL_COLORS[MODELS[ds]]))
    axes[i, j].set(xscale="log", ylabel=f"mean {metric} (%)" + (", OOD-pos." if metric == "FPR@95" else ""),
                   title=f"{data.DATASETS[ds].title} as ID")
    axes[1, j].set_xlabel("calibration images per class (% of the subset, log)")
plots.legend_below(fig, *axes[0, 0].get_legend_handles_labels(), ncol=2)
plots.show(fig, caption="After Prototype Fusion Fig. 2: mean AUROC and FPR@95 (OOD-positive) over the available "
           "near and far sets as the share of calibration images per class grows (log scale; at least one image "
           "per class), Prototype Fusion with uniform weights; line: mean over 5 seeds, band: their range.",
           alt="Four line plots with shaded bands of AUROC and FPR against the calibration share, one column per "
           "model.")

# %%
cal_summary = cal_table.groupby(["ID", "fraction"]).agg(images=("images", "first"), AUROC=("AUROC", "mean"),
                                                        AUROC_std=("AUROC", "std"), FPR=("FPR@95", "mean"),
                                                        FPR_std=("FPR@95", "std"))
display(cal_summary.style.format(precision=2, na_rep="—"))

# %% [markdown]
# ## Which layers? A sweep over every subset of taps
#
# With every tap's pooled features cached, each non-empty subset of the taps (on the DenseNet the $2^7 - 1 = 127$
# subsets of {conv1, block1, trans1, block2, trans2, block3, final}) costs one fit of class means and one
# scoring of cached features. Choosing the subset by its *test* AUROC would be cheating, so `tune`
# ranks the subsets (`PrototypeFusion.search_space`) on {term}`pseudo-OOD data <Pseudo-OOD data>`: the
# ID test set's 1,000-image validation split, never scored, clean vs corrupted (the images chapter 1
# used to choose {term}`NAP`'s w); then we report the test averages of every subset.

# %%
searches = {ds: tune(detectors.PrototypeFusion(), pf_claims.layer_space(ctx), ctx.pseudo_ood().validation,
                     train=ctx.train, head=ctx.head) for ds, ctx in contexts.items()}
sweep = pf_claims.layer_sweep(searches, contexts, OOD)
PAPER_SET, PEN_SET = "+".join(PF_LAYERS), "final"
for ds in MODELS:
    s = sweep[sweep.ID == ds].sort_values("held-out AUROC", ascending=False)
    s = s.assign(rank=range(1, len(s) + 1))
    display(Markdown(f"**{ds} as ID**: the ten subsets ranked best on held-out pseudo-OOD data, then the paper's "
                     "set and the penultimate layer alone (values in %)"))
    display(pd.concat([s.head(10), s[s.layers.isin([PAPER_SET, PEN_SET])]]).drop(columns="ID").style.format(
        precision=2, na_rep="—").hide(axis="index"))

fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), layout="constrained")
for ax, ds in zip(axes, MODELS, strict=True):
    s = sweep[sweep.ID == ds]
    sc = ax.scatter(s["held-out AUROC"], s["far AUROC"], c=s["n layers"], cmap="viridis", s=18)
    for name, marker, label in [(PAPER_SET, "*", "paper's three layers"), (PEN_SET, "X", "penultimate only")]:
        ax.scatter(*s[s.layers == name][["held-out AUROC", "far AUROC"]].iloc[0], marker=marker, s=160,
                   color=plots.HIGHLIGHT_COLOR, label=label)
    ax.set(xlabel="held-out clean vs corrupted AUROC (%)", ylabel="mean far-OOD test AUROC (%)",
           title=f"{data.DATASETS[ds].title} as ID: {len(s)} layer subsets")
plots.legend_below(fig, *axes[0].get_legend_handles_labels(), ncol=2)
fig.colorbar(sc, ax=axes, label="layers in the subset")
plots.show(fig, caption=f"Every non-empty subset of the {len(ARCH.spatial_taps)} taps as Prototype Fusion's layers: "
           "its AUROC on "
           "held-out clean against corrupted ID images (what the search ranks by, x) against its mean far-OOD test "
           "AUROC (y), coloured by the number of layers; stars: the paper's three layers, crosses: the penultimate "
           "layer alone. Spearman correlation of the two axes: " + ", ".join(
               f"{sweep[sweep.ID == ds][['held-out AUROC', 'far AUROC']].corr(method='spearman').iloc[0, 1]:.2f} "
               f"({MODELS[ds]})" for ds in MODELS) + ".",
           alt="Two scatter plots of held-out AUROC against far-OOD test AUROC for every layer subset, one per model.")
chosen = {ds: sweep[(sweep.ID == ds) & (sweep.layers == "+".join(r.best["layers"]))].iloc[0]
          for ds, r in searches.items()}
rank_corr = {ds: sweep[sweep.ID == ds][["held-out AUROC", "far AUROC"]].corr(method="spearman").iloc[0, 1]
             for ds in MODELS}

# %% [markdown] tags=["slide"]
# ## What we saw

# %% tags=["slide-more"]
PENULT_TITLE = pf_claims.PENULT_TITLE
gain, best_base = pf_claims.gains(tables)
cal_gap = {ds: abs(cal_summary.loc[(ds, 0.05), "AUROC"] - cal_summary.loc[(ds, 1.0), "AUROC"]) for ds in MODELS}
scheme_span = weights_table.groupby(["ID", "group"]).AUROC.agg(lambda a: a.max() - a.min())
lines = [
    f"- **{ds} as ID.** Three layers vs the penultimate prototype: {gain[(ds, 'far', PENULT_TITLE)]:+.2f} AUROC "
    f"points on far-OOD, {gain[(ds, 'near', PENULT_TITLE)]:+.2f} on near-OOD, "
    f"{gain[(ds, 'substitute', PENULT_TITLE)]:+.2f} on the substitutes. Against the best penultimate baseline "
    f"on far-OOD ({best_base[(ds, 'far')]}): "
    f"{gain[(ds, 'far', best_base[(ds, 'far')])]:+.2f}; on near-OOD (against {best_base[(ds, 'near')]}): "
    f"{gain[(ds, 'near', best_base[(ds, 'near')])]:+.2f}." for ds in MODELS]
lines += [
    f"- **Calibration size.** With 5% of each class ({int(cal_summary.loc[('cifar10', 0.05), 'images'])} CIFAR-10 "
    f"images) the mean AUROC is within {cal_gap['cifar10']:.2f} points of the full calibration set; for CIFAR-100 "
    f"({int(cal_summary.loc[('cifar100', 0.05), 'images'])} images) within {cal_gap['cifar100']:.2f}.",
    "- **Weights.** The four schemes' mean AUROCs span " + "; ".join(
        f"{ds}: {scheme_span[(ds, 'far')]:.2f} points on far-OOD, {scheme_span[(ds, 'near')]:.2f} on near-OOD"
        for ds in MODELS) + " (we name no best scheme: these gaps carry no interval).",
    "- **Layer choice without OOD data.** " + "; ".join(
        f"{ds}: held-out data picks {chosen[ds].layers} (far AUROC {chosen[ds]['far AUROC']:.2f}%, near "
        f"{chosen[ds]['near AUROC']:.2f}%); the Spearman correlation between held-out and far-OOD AUROC over the "
        f"{(sweep.ID == ds).sum()} subsets is {rank_corr[ds]:.2f}" for ds in MODELS) + ".",
]
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Reproduction scorecard
#
# The paper's figures have no numbers in the text we have, so most claims are graded qualitatively
# on the sets available; "A beats B" claims are decided by the paired-bootstrap interval of the
# difference. The abstract's "up to 4.41 / 13.58" names no baseline, dataset or unit, so it is
# listed as not testable rather than graded against a number of ours.

# %%
card = pf_claims.scorecard(PROFILE.name, runs, penult, tables, maxima=maxima, separation=separation,
                           contexts=contexts, arch=ARCH.key)
card.publish()

# %% [markdown]
# ## Exercises
#
# 1. **Prototypes** (`pf-1`). From the calibration features of the final layer and their labels, compute the ten
#    CIFAR-10 prototypes of Fig. 1 (a 10 x D array). How does a prototype differ from a plain class mean?
# 2. **The fused score** (`pf-2`). With the prototypes of the three layers, compute each CIFAR-10 test image's
#    affinity: per layer the largest cosine to a prototype, averaged over the layers with uniform weights.

# %% tags=["exercise", "hide-input"]
f, y = c10.train.layer("final"), c10.train.labels
### BEGIN SOLUTION
u = torch.nn.functional.normalize(torch.as_tensor(f), dim=1)  # unit length first, so every image counts the same
answer = torch.nn.functional.normalize(torch.stack([u[torch.as_tensor(y == c)].mean(0) for c in range(10)]), dim=1)
### END SOLUTION
exercises.check("pf-1", answer, features=f, labels=y)

# %% tags=["exercise", "hide-input"]
test = {layer: c10.id_test.layer(layer) for layer in PF_LAYERS}
protos = scorers.fit_prototypes({layer: c10.train.layer(layer) for layer in PF_LAYERS}, c10.train.labels)
### BEGIN SOLUTION
per_layer = [(torch.nn.functional.normalize(x, dim=1) @ protos[name].T).amax(1) for name, x in test.items()]
answer = torch.stack(per_layer, dim=1).mean(1)
### END SOLUTION
exercises.check("pf-2", answer, layers=test, prototypes=protos)
