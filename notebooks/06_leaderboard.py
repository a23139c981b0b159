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
# # 6. Leaderboard: every method of the book on one benchmark
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

# %% [markdown] tags=["slide"]
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
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from ood_nb_utils import data, detectors
from ood_nb_utils.evaluation import evaluate, near_far
from ood_nb_utils.lectures import chapter, plots
from ood_nb_utils.lectures.claims import leaderboard as board_claims

PROFILE, contexts, MODELS, _ = chapter.begin(arch="densenet100")  # the DenseNet first; ResNet-56 below
GROUPS = board_claims.GROUPS
SETS = {ds: near_far(ds, chapter.available_ood(ds)) for ds in MODELS}
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
FAMILY_OF = board_claims.family_of()  # fails if a registered method is in no family
FAMILY_TITLE = {name: detectors.get_class(name).title for name in FAMILY_OF}
display(board_claims.catalogue(FAMILY_OF).style.hide(axis="index"))

# %% [markdown]
# ## Scoring
#
# Feature-based methods score every image of the {term}`profile <Profile>`; network-based ones (ODIN and its
# variants, AdaSCALE, NAP+AdaSCALE-A) score the profile's seeded subset of each set (its size is
# printed below), the same images for all of them, so their intervals are wider.

# %%
runs = {ds: evaluate(ctx, list(FAMILY_OF), [*SETS[ds]["near"], *SETS[ds]["far"]]) for ds, ctx in contexts.items()}
n_grad = PROFILE.gradient_per_set
print(f"network-based methods: {n_grad} images per set; w found for the NAP combinations: "
      + "; ".join(f"{ds}: " + ", ".join(f"{k} {v['w']:.3f}" for k, v in runs[ds].fitted().items() if "w" in v)
                  for ds in MODELS))
board = board_claims.board(runs, contexts, SETS, FAMILY_OF, n_boot=BOOT, seed=PROFILE.seed)

# %% [markdown] tags=["slide"]
# ## The leaderboard
#
# Mean {term}`AUROC` over each group's sets with its 95% {term}`bootstrap <Bootstrap interval>` interval (ID images
# resampled once per draw, each OOD set separately), and FPR@95 under **both** conventions: *ID-positive* (OOD
# accepted when 95% of ID is accepted; DICE, NAP, HIMPLoS) and *OOD-positive* (ID rejected when
# 95% of OOD is caught; OpenOOD, AdaSCALE, Prototype Fusion). Sorted by {term}`far-OOD <Far-OOD>` AUROC.

# %% tags=["slide-more"]
for ds in MODELS:
    display(Markdown(f"### ID = {data.DATASETS[ds].title} ({MODELS[ds]})"))
    display(board[board.ID == ds].sort_values("far AUROC", ascending=False)[board_claims.BOARD_COLUMNS].style.format(
        precision=2, na_rep="—").hide(axis="index"))

# %% [markdown]
# The same numbers as a ranking. Where two intervals overlap, this benchmark cannot tell the two
# methods apart (for a formal comparison use the paired bootstrap of
# `metrics.bootstrap_interval(..., paired_with=...)`, as chapters 2-4 do).

# %%
FAMILIES = detectors.FAMILIES
colors = plots.series_palette(FAMILIES)
for ds in MODELS:
    fig, axes = plt.subplots(1, 2, figsize=(9, 8.2))
    for ax, g in zip(axes, GROUPS, strict=True):
        plots.ranking(ax, board[board.ID == ds], value=f"{g} AUROC", low=f"{g} low", high=f"{g} high", hue="family",
                      palette=colors, legend=False, title=f"{g}-OOD", xlabel=f"mean {g}-OOD AUROC (%)")
    plots.legend_below(fig, *plots.marker_handles(colors), ncol=3)
    plots.show(fig, caption=f"Every method of the book on {MODELS[ds]} (ID {data.DATASETS[ds].title}), ranked by "
               "mean AUROC with its 95% bootstrap interval, near-OOD ("
               + ", ".join(data.DATASETS[d].title for d in SETS[ds]["near"]) + ") and far-OOD ("
               + ", ".join(data.DATASETS[d].title for d in SETS[ds]["far"]) + "), coloured by the chapter the method "
               f"comes from. Feature-based methods score all images of the profile, network-based ones {n_grad} per "
               "set; methods whose intervals overlap are not told apart by this benchmark.",
               alt=f"Two dot plots with interval bars ranking every method by near- and far-OOD AUROC for "
               f"{MODELS[ds]}.")

# %% [markdown]
# ## Does the convention change the ranking?
#
# Rank correlation (Kendall's tau) between the ranking by AUROC and by each FPR@95 convention
# (lower FPR = better), per benchmark. A tau well below 1 means "the best method" depends on which
# number a paper reports.

# %%
taus = board_claims.kendall_taus(board)
display(taus.style.format(precision=2, na_rep="—").hide(axis="index"))

# %% [markdown]
# ## On a second architecture
#
# A leaderboard on one network says which method suits *that* network. Here every method runs again on CIFAR
# **ResNet-56** (the CIFAR-10 checkpoint from akamaster, option-A shortcuts; the CIFAR-100 one from chenyaofo,
# option-B shortcuts: two authors, two training recipes), on the same images and sets, with the network's own
# hyperparameters where a paper gives them per network (`models.ARCHITECTURES`). Kendall's tau compares the two
# rankings by mean AUROC; its 95% interval comes from a bootstrap that resamples the images once per draw for both
# networks and every method. A tau near 1 means the ranking carries over; near 0, it does not.

# %%
res_contexts = chapter.contexts(PROFILE, arch="resnet56")
RES_MODELS = {ds: ctx.model for ds, ctx in res_contexts.items()}
res_runs = {ds: evaluate(ctx, list(FAMILY_OF), [*SETS[ds]["near"], *SETS[ds]["far"]])
            for ds, ctx in res_contexts.items()}
res_board = board_claims.board(res_runs, res_contexts, SETS, FAMILY_OF, n_boot=BOOT, seed=PROFILE.seed)
arch_taus, arch_ranks = board_claims.rank_agreement({"densenet100": runs, "resnet56": res_runs}, SETS,
                                                    list(FAMILY_OF), n_boot=BOOT, seed=PROFILE.seed)
display(arch_taus.style.format(precision=2, na_rep="—").hide(axis="index"))
for ds in MODELS:
    display(Markdown(f"### ID = {data.DATASETS[ds].title}: {MODELS[ds]} beside {RES_MODELS[ds]}"))
    both = pd.concat({net: b[b.ID == ds].set_index("key")[[f"{g} AUROC [95% CI]" for g in GROUPS]]
                      for net, b in [("DenseNet-BC-100", board), ("ResNet-56", res_board)]}, axis=1)
    both.index = [FAMILY_TITLE[k] for k in both.index]
    display(both.style)

# %%
moves = arch_ranks.assign(size=arch_ranks["rank change"].abs()).sort_values("size", ascending=False)
fig, axes = plt.subplots(2, 2, figsize=(9, 8))
for ax, (ds, g) in zip(axes.flat, [(ds, g) for ds in MODELS for g in GROUPS], strict=True):
    r = arch_ranks[(arch_ranks.ID == ds) & (arch_ranks.group == g)]
    fams = r.key.map(FAMILY_OF)
    for fam, color in colors.items():
        sel = fams == fam
        ax.scatter(r["rank densenet100"][sel], r["rank resnet56"][sel], color=color, s=22)
    top = moves[(moves.ID == ds) & (moves.group == g)].head(3)
    for _, row in top.iterrows():
        ax.annotate(FAMILY_TITLE[row.key], (row["rank densenet100"], row["rank resnet56"]), fontsize=8,
                    xytext=(3, 3), textcoords="offset points")
    n = len(r)
    ax.plot([1, n], [1, n], color=plots.REFERENCE_COLOR, lw=1, ls=":")
    tau = arch_taus[(arch_taus.ID == ds) & (arch_taus.group == g)].iloc[0]
    ax.set(xlabel="rank on DenseNet-BC-100 (1 = best)", ylabel="rank on ResNet-56",
           title=f"{data.DATASETS[ds].title}, {g}-OOD: tau {tau.tau:.2f} [{tau.low:.2f}, {tau.high:.2f}]")
plots.legend_below(fig, *plots.marker_handles(colors), ncol=3)
plots.show(fig, caption="Each method's rank by mean AUROC on DenseNet-BC-100 (x) against its rank on ResNet-56 (y), "
           "per ID dataset and group, coloured by the chapter the method comes from; dotted: the same rank on both. "
           "The three methods whose rank moves most are named. Titles: Kendall's tau with its 95% bootstrap interval.",
           alt="Four scatter plots of rank on DenseNet against rank on ResNet-56, one point per method.")
display(Markdown("Largest rank changes (DenseNet rank -> ResNet-56 rank): " + "; ".join(
    f"{data.DATASETS[r.ID].title} {r.group}: {FAMILY_TITLE[r.key]} {r['rank densenet100']:.0f} -> "
    f"{r['rank resnet56']:.0f}" for _, r in moves.groupby(["ID", "group"], sort=False).head(1).iterrows()) + "."))

# %% [markdown]
# ## What each method costs
#
# Time per 1,000 images *beyond the forward pass*, measured now on this machine (CIFAR-10
# DenseNet, the CPU threads printed at the top of the chapter). Feature-based methods: scoring the cached
# activations of the 10,000 ID test images (best of 3), with their one-off fit on the train subset
# apart. Network-based methods: a fresh pass over 128 test images with no cache, minus the plain
# forward pass of the same images.

# %%
timing_images = data.load("cifar10", n=128, seed=PROFILE.seed + 1).images
cost, forward_ms = board_claims.cost_table(contexts["cifar10"], runs["cifar10"], FAMILY_OF, timing_images)
display(Markdown(f"The forward pass itself: **{forward_ms:.0f} ms per 1,000 images** here."))
display(cost.style.format({"fit (s, once)": "{:.2f}", "extra ms / 1,000 images": "{:.1f}"}, na_rep="—")
        .hide(axis="index"))

# %%
fig, ax = plt.subplots(figsize=(9, 4.6))
for ds, marker in zip(MODELS, ["o", "s"], strict=True):
    b = board[board.ID == ds].merge(cost, on=["method", "family"])
    for fam, color in colors.items():
        sel = b.family == fam
        ax.scatter(b["extra ms / 1,000 images"][sel] + 1e-2, b["far AUROC"][sel], color=color, marker=marker,
                   alpha=0.8)
ax.set_xscale("log")
ax.set_xlabel("extra cost beyond the forward pass (ms per 1,000 images, log scale; +0.01 to show zeros)")
ax.set_ylabel("mean far-OOD AUROC (%)")
handles, labels = plots.marker_handles(colors)
for marker, label in [("o", "CIFAR-10 as ID"), ("s", "CIFAR-100 as ID")]:
    more = plots.marker_handles({label: plots.REFERENCE_COLOR}, marker=marker, hollow=True)
    handles, labels = handles + more[0], labels + more[1]
plots.legend_below(fig, handles, labels, ncol=4)
plots.show(fig, caption="Detection quality against test-time cost: each method's mean far-OOD AUROC against its "
           "time per 1,000 images beyond the forward pass, measured in this build on this machine (log scale, "
           "+0.01 ms so that free methods show); circles CIFAR-10 as ID, squares CIFAR-100, colours by chapter.",
           alt="A scatter plot of far-OOD AUROC against extra test-time cost for every method and both models.")

# %% [markdown] tags=["slide"]
# ## What we saw

# %% tags=["slide-more"]
display(Markdown("\n".join(board_claims.findings(board, runs, cost, forward_ms))))

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
# These two are open questions; the instructor edition runs a solution below each (open it with the toggle).

# %% tags=["solution", "hide-cell"]
# Solution 1: top 5 by AUROC vs by FPR@95 (OOD-positive), far-OOD CIFAR-100
b = board[board.ID == "cifar100"]
by_auroc = set(b.nlargest(5, "far AUROC").method)
by_fpr = set(b.nsmallest(5, "far FPR OOD-pos.").method)
print("top 5 by AUROC:", sorted(by_auroc))
print("top 5 by FPR@95 (OOD-positive):", sorted(by_fpr))
print("only by FPR:", sorted(by_fpr - by_auroc) or "none")
# FPR@95 looks at one point of the ROC curve (the 5% tail of the OOD scores); AUROC at all of it. A
# method whose OOD scores have a long tail into the ID range ranks well by AUROC but not by FPR.

# %% tags=["solution", "hide-cell"]
# Solution 2: NAP+HIMPLoS with w fixed at 0.5 vs searched
for ds in MODELS:
    fixed = evaluate(contexts[ds], ["nap_himplos"], [*SETS[ds]["near"], *SETS[ds]["far"]],
                     params={"nap_himplos": {"w": 0.5}}).table
    for g in GROUPS:
        got = 100 * fixed[fixed.group == g].auroc.mean()
        print(f"{ds} {g}: w = 0.5 -> {got:.2f}; searched w = {runs[ds].fitted()['nap_himplos']['w']:.3f} -> "
              f"{board.set_index(['ID', 'key']).loc[(ds, 'nap_himplos'), f'{g} AUROC']:.2f}")
