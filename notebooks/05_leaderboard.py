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
# # 5. Leaderboard: every method of the book on one benchmark
#
# ```{admonition} What this chapter needs
# :class: note
# - **Checkpoints and data**: as chapter 0. Feature-based methods read the activation cache that
#   the earlier chapters filled.
# - **Extra network work**: ODIN through the ReAct and HIMPLoS heads on the near-OOD sets
#   (chapter 3 ran them on far-OOD only), and the cross-paper combination NAP+AdaSCALE-A, whose
#   weight is searched on 200 held-out ID images and their corrupted copies. The cost table times
#   fresh passes over 128 images.
# - **Profile**: printed below. **Time**: about 3 minutes after chapters 0-4, longer from a cold cache.
# ```
#
# **Learning objectives.** (1) Read a leaderboard with its uncertainty: when are two methods
# actually different? (2) See how the ranking depends on the benchmark (near vs far OOD,
# CIFAR-10 vs CIFAR-100) and on the {term}`FPR@95` convention. (3) Weigh detection quality against
# what a method costs at test time.
#
# Each earlier chapter compares its paper's method with the baselines *that paper* chose, under
# *that paper's* conventions. Here every registered method meets every other on the same cached
# activations of the same images, plus combinations that none of the four papers tried:
#
# - **NAP+HIMPLoS**, **NAP+Prototype Fusion**: {term}`NAP`'s Eq. 4, $\log(\mathrm{softplus}(S_{base})^w
#   \, S_{NAP}^{1-w})$, with the HIMPLoS energy or the Prototype Fusion affinity as the base; $w$ is
#   searched on corrupted {term}`held-out <Held-out images>` ID images exactly as for NAP-X (chapter 1);
# - **NAP+AdaSCALE-A**: the same with AdaSCALE-A (paper hyperparameters) as the base.

# %%
# Outside this repository (Binder, Colab): install the book's package, then fetch the data this chapter needs
# into a folder you can write to (beside the project's shared/ folder nothing is downloaded).
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("ood_nb_utils") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "ood-nb-utils[book] @ git+https://github.com/ood-nb/posthoc-ood-book"], check=True)
from ood_nb_utils import chapter

chapter.fetch_data()

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from scipy.stats import kendalltau

from ood_nb_utils import chapter, costs, data, detectors, metrics, plots
from ood_nb_utils.evaluation import evaluate, groups_of

PROFILE = chapter.start()
contexts = chapter.contexts(PROFILE)
MODELS = {ds: ctx.model for ds, ctx in contexts.items()}
GROUPS = ("near", "far")
SETS = {ds: {g: groups_of(ds, chapter.available_ood(ds)).get(g, []) for g in GROUPS} for ds in MODELS}
missing = [data.DATASETS[d].title for d in data.ood_sets("cifar10")
           if not data.is_available(d) and data.ood_group("cifar10", d) != "substitute"]
BOOT = 200  # bootstrap draws per interval
display(Markdown(chapter.data_note(contexts)))

display(Markdown(
    "OOD sets in this leaderboard: "
    + "; ".join(f"**{ds}** near: {', '.join(SETS[ds]['near'])}, far: {', '.join(SETS[ds]['far'])}" for ds in MODELS)
    + f". Not available here: {', '.join(missing) or 'none'}. Substitute sets are left out: a leaderboard of the "
    "papers' benchmark should not mix in sets that stand in for missing ones."
))

# %% [markdown]
# ## The methods
#
# Every method in the registry, grouped by the chapter it comes from. The cell fails if a method
# is registered but missing from the leaderboard, so nothing is silently left out.

# %%
FAMILIES = detectors.FAMILIES
FAMILY_OF = {m: fam for fam, ms in FAMILIES.items() for m in ms}
left_out = set(detectors.available()) - set(FAMILY_OF)
if left_out:
    raise RuntimeError(f"registered but not on the leaderboard: {sorted(left_out)}")
METHODS = list(FAMILY_OF)
catalogue = pd.DataFrame([{"family": FAMILY_OF[n], "method": d.title, "reads": d.needs.describe(),
                           "source": d.reference} for n in METHODS for d in [detectors.create(n)]])
display(catalogue.style.hide(axis="index"))

# %% [markdown]
# ## Scoring
#
# Feature-based methods score every image of the {term}`profile <Profile>`; network-based ones (ODIN and its
# variants, AdaSCALE, NAP+AdaSCALE-A) score the profile's seeded subset of each set (its size is
# printed below), the same images for all of them, so their intervals are wider.

# %%
runs = {ds: evaluate(ctx, METHODS, [*SETS[ds]["near"], *SETS[ds]["far"]]) for ds, ctx in contexts.items()}
n_grad = PROFILE.gradient_per_set
print(f"network-based methods: {n_grad} images per set; w found for the NAP combinations: "
      + "; ".join(f"{ds}: " + ", ".join(f"{k} {v['w']:.3f}" for k, v in runs[ds].fitted().items() if "w" in v)
                  for ds in MODELS))
# top-1 accuracy of the logits each method classifies with; NaN for network-based methods (they score a subset)
accuracy = {(ds, n): (float("nan") if d.needs.network else 100 * d.accuracy(contexts[ds].id_test))
            for ds in MODELS for n, d in runs[ds].detectors.items()}

rows = []
for ds, run in runs.items():
    t = run.table.set_index(["method", "ood"])
    for name in METHODS:
        sc = run.scores[name]
        row = {"ID": ds, "family": FAMILY_OF[name], "method": run.detectors[name].title, "key": name,
               "ID accuracy (%)": accuracy[(ds, name)], "n per set": len(sc[run.id_dataset])}
        for g in GROUPS:
            iv = metrics.bootstrap_mean_auroc(sc[run.id_dataset], [sc[d] for d in SETS[ds][g]], n_boot=BOOT,
                                              seed=PROFILE.seed)
            row |= {f"{g} AUROC": 100 * iv.estimate, f"{g} low": 100 * iv.low, f"{g} high": 100 * iv.high,
                    f"{g} FPR ID-pos.": 100 * np.mean([t.loc[(name, d), "fpr95_id_positive"] for d in SETS[ds][g]]),
                    f"{g} FPR OOD-pos.": 100 * np.mean([t.loc[(name, d), "fpr95_ood_positive"]
                                                        for d in SETS[ds][g]])}
        rows.append(row)
board = pd.DataFrame(rows)

# %% [markdown]
# ## The leaderboard
#
# Mean {term}`AUROC` over each group's sets with its 95% {term}`bootstrap <Bootstrap interval>` interval (ID images
# resampled once per draw, each OOD set separately), and FPR@95 under **both** conventions: *ID-positive* (OOD
# accepted when 95% of ID is accepted; DICE, NAP, HIMPLoS) and *OOD-positive* (ID rejected when
# 95% of OOD is caught; OpenOOD, AdaSCALE, Prototype Fusion). Sorted by {term}`far-OOD <Far-OOD>` AUROC.

# %%
for g in GROUPS:
    board[f"{g} AUROC [95% CI]"] = [f"{e:.2f} [{lo:.2f}, {hi:.2f}]" for e, lo, hi in
                                    zip(board[f"{g} AUROC"], board[f"{g} low"], board[f"{g} high"], strict=True)]
COLUMNS = ["method", "family", "n per set", "ID accuracy (%)",
           *(f"{g} {c}" for g in GROUPS for c in ("AUROC [95% CI]", "FPR ID-pos.", "FPR OOD-pos."))]
for ds in MODELS:
    display(Markdown(f"### ID = {data.DATASETS[ds].title} ({MODELS[ds]})"))
    display(board[board.ID == ds].sort_values("far AUROC", ascending=False)[COLUMNS].style.format(
        precision=2, na_rep="—").hide(axis="index"))

# %% [markdown]
# The same numbers as a ranking. Where two intervals overlap, this benchmark cannot tell the two
# methods apart (for a formal comparison use the paired bootstrap of
# `metrics.bootstrap_interval(..., paired_with=...)`, as chapters 2-4 do).

# %%
colors = dict(zip(FAMILIES, sns.color_palette("tab10"), strict=False))
fig, axes = plt.subplots(2, 2, figsize=(14, 17), sharey=False)
for r, ds in enumerate(MODELS):
    for c, g in enumerate(GROUPS):
        plots.ranking(axes[r, c], board[board.ID == ds], value=f"{g} AUROC", low=f"{g} low", high=f"{g} high",
                      hue="family", palette=colors, legend=(r, c) == (0, 0), title=f"ID {data.DATASETS[ds].title}: "
                      f"{g}-OOD", xlabel=f"mean AUROC over {', '.join(SETS[ds][g])} (%)")
fig.suptitle("Every method of the book, ranked by mean AUROC with 95% bootstrap intervals\n"
             f"(feature-based: all images of the profile; network-based: {n_grad} per set)")
fig.set_layout_engine("tight", rect=(0, 0.03, 1, 1))
plots.shared_legend(fig, axes[0, 0], ncol=len(FAMILIES))
plt.show()

# %% [markdown]
# ## Does the convention change the ranking?
#
# Rank correlation (Kendall's tau) between the ranking by AUROC and by each FPR@95 convention
# (lower FPR = better), per benchmark. A tau well below 1 means "the best method" depends on which
# number a paper reports.

# %%
tau_rows = []
for ds in MODELS:
    b = board[board.ID == ds]
    for g in GROUPS:
        tau_rows.append({"ID": ds, "group": g,
                         "tau(AUROC, FPR ID-pos.)": kendalltau(b[f"{g} AUROC"], -b[f"{g} FPR ID-pos."]).statistic,
                         "tau(AUROC, FPR OOD-pos.)": kendalltau(b[f"{g} AUROC"], -b[f"{g} FPR OOD-pos."]).statistic,
                         "tau(FPR ID-pos., FPR OOD-pos.)": kendalltau(b[f"{g} FPR ID-pos."],
                                                                      b[f"{g} FPR OOD-pos."]).statistic})
taus = pd.DataFrame(tau_rows)
display(taus.style.format(precision=2).hide(axis="index"))

# %% [markdown]
# ## What each method costs
#
# Time per 1,000 images *beyond the forward pass*, measured now on this machine (CIFAR-10
# DenseNet, the CPU threads printed at the top of the chapter). Feature-based methods: scoring the cached
# activations of the 10,000 ID test images (best of 3), with their one-off fit on the train subset
# apart. Network-based methods: a fresh pass over 128 test images with no cache, minus the plain
# forward pass of the same images.

# %%
c10 = contexts["cifar10"]
cost_rows = [{"method": d.title, "family": FAMILY_OF[name], "kind": "scores cached activations",
              **costs.feature_method_cost(d, c10.train, c10.id_test, c10.head, context=c10)}
             for name in METHODS for d in [detectors.create(name)] if not d.needs.network]
timing_images = data.load("cifar10", n=128, seed=PROFILE.seed + 1).images
forward = costs.forward_seconds(c10.adapter, timing_images)
# the uncached pass of each network-based method (NAP+AdaSCALE-A's is AdaSCALE-A's: NAP reads the same forward)
PASS_OF = {"odin": "odin", "react_odin": "react_odin", "himplos_odin": "himplos_odin", "adascale_a": "adascale_a",
           "adascale_l": "adascale_l", "nap_adascale_a": "adascale_a"}
seconds = {n: costs.network_seconds(runs["cifar10"].detectors[n], timing_images) for n in set(PASS_OF.values())}
for name, timed in PASS_OF.items():
    cost_rows.append({"method": runs["cifar10"].detectors[name].title, "family": FAMILY_OF[name],
                      "kind": f"extra network passes ({timed})", "fit (s, once)": np.nan,
                      "extra ms / 1,000 images": (seconds[timed] - forward) / len(timing_images) * 1000 * 1000})
cost = pd.DataFrame(cost_rows).sort_values("extra ms / 1,000 images")
forward_ms = forward / len(timing_images) * 1000 * 1000
display(Markdown(f"The forward pass itself: **{forward_ms:.0f} ms per 1,000 images** here."))
display(cost.style.format({"fit (s, once)": "{:.2f}", "extra ms / 1,000 images": "{:.1f}"}, na_rep="—")
        .hide(axis="index"))

# %%
fig, ax = plt.subplots(figsize=(10, 5))
for ds, marker in zip(MODELS, ["o", "s"], strict=True):
    b = board[board.ID == ds].merge(cost, on=["method", "family"])
    for fam, color in colors.items():
        sel = b.family == fam
        ax.scatter(b["extra ms / 1,000 images"][sel] + 1e-2, b["far AUROC"][sel], color=color, marker=marker,
                   label=fam if ds == "cifar10" else None, alpha=0.8)
ax.set_xscale("log")
ax.set_xlabel("extra cost beyond the forward pass (ms per 1,000 images, log scale; +0.01 to show zeros)")
ax.set_ylabel("mean far-OOD AUROC (%)")
ax.set_title("Detection quality vs test-time cost (circles: CIFAR-10 ID, squares: CIFAR-100 ID)")
ax.legend(fontsize=8, loc="lower left")
plt.show()

# %% [markdown]
# ## What we saw

# %%
mean_auroc = board.set_index(["ID", "key"])[[f"{g} AUROC" for g in GROUPS]]  # (ID, method) -> mean AUROC per group
lines = []
for ds in MODELS:
    b = board[board.ID == ds]
    for g in GROUPS:
        top = b.sort_values(f"{g} AUROC", ascending=False).head(3)
        best = top.iloc[0]
        tied = b[b[f"{g} high"] >= best[f"{g} low"]]
        runners_up = ", ".join(f"{m} {v:.2f}" for m, v in zip(top.method[1:], top[f"{g} AUROC"][1:], strict=True))
        lines.append(f"- **{ds}, {g}-OOD**: best {best.method} ({best[f'{g} AUROC']:.2f}; then {runners_up})."
                     f" {len(tied) - 1} other methods have intervals reaching the best one's.")
for ds in MODELS:
    for combo, base in [("nap_himplos", "himplos"), ("nap_pf", "prototype_fusion"), ("nap_adascale_a", "adascale_a")]:
        deltas = {g: mean_auroc.loc[(ds, combo), f"{g} AUROC"] - max(mean_auroc.loc[(ds, base), f"{g} AUROC"],
                                                                    mean_auroc.loc[(ds, "nap"), f"{g} AUROC"])
                  for g in GROUPS}
        lines.append(f"- {ds}: {runs[ds].detectors[combo].title} vs the better of NAP and "
                     f"{runs[ds].detectors[base].title}: "
                     + ", ".join(f"{g} {d:+.2f}" for g, d in deltas.items()) + " AUROC points"
                     + (" (NAP+AdaSCALE-A is on the network subset, NAP on all images)" if combo == "nap_adascale_a"
                        else ""))
worst_cost = cost.iloc[-1]
lines.append(f"- The most expensive method adds {worst_cost['extra ms / 1,000 images']:.0f} ms per 1,000 images "
             f"({worst_cost.method}), {worst_cost['extra ms / 1,000 images'] / forward_ms:.1f}x the forward pass; "
             "every feature-based method adds less than "
             f"{cost[~cost.kind.str.startswith('extra')]['extra ms / 1,000 images'].max():.0f} ms.")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Exercises
#
# 1. Which methods enter the top 5 on far-OOD CIFAR-100 under FPR@95 (OOD-positive) but not under
#    AUROC? Look at their score histograms (chapter 0's `plots.score_histograms`): what shape of
#    distribution makes a method good at one number and not the other?
# 2. The cross-paper combinations search their weight $w$ on corrupted held-out images. Fix
#    $w = 0.5$ for NAP+HIMPLoS (`evaluate(..., params={"nap_himplos": {"w": 0.5}})`): how much of the
#    combination's gain (or loss) is due to the search?
#
# The solutions run below; open them with the toggle.

# %% tags=["hide-cell"]
# Solution 1: top 5 by AUROC vs by FPR@95 (OOD-positive), far-OOD CIFAR-100
b = board[board.ID == "cifar100"]
by_auroc = set(b.nlargest(5, "far AUROC").method)
by_fpr = set(b.nsmallest(5, "far FPR OOD-pos.").method)
print("top 5 by AUROC:", sorted(by_auroc))
print("top 5 by FPR@95 (OOD-positive):", sorted(by_fpr))
print("only by FPR:", sorted(by_fpr - by_auroc) or "none")
# FPR@95 looks at one point of the ROC curve (the 5% tail of the OOD scores); AUROC at all of it. A
# method whose OOD scores have a long tail into the ID range ranks well by AUROC but not by FPR.

# %% tags=["hide-cell"]
# Solution 2: NAP+HIMPLoS with w fixed at 0.5 vs searched
for ds in MODELS:
    fixed = evaluate(contexts[ds], ["nap_himplos"], [*SETS[ds]["near"], *SETS[ds]["far"]],
                     params={"nap_himplos": {"w": 0.5}}).table
    for g in GROUPS:
        got = 100 * fixed[fixed.group == g].auroc.mean()
        print(f"{ds} {g}: w = 0.5 -> {got:.2f}; searched w = {runs[ds].fitted()['nap_himplos']['w']:.3f} -> "
              f"{mean_auroc.loc[(ds, 'nap_himplos'), f'{g} AUROC']:.2f}")
