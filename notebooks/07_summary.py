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
# # Summary: every claim of the four papers
#
# This page is generated when the book builds, from the scorecard files that chapters 0-5 write
# (`_build/scorecards/*.json`, one per chapter). It re-computes nothing: it gathers. A claim's
# verdict follows the fixed rules of `ood_nb_utils.lectures.scorecard`. A number: within the tolerance,
# reproduced; within three times it, partly; beyond, not reproduced; where the number carries the 95% bootstrap
# interval of our value, that whole interval is judged, and one that crosses a tolerance edge is **inconclusive**.
# A direction ("A beats B"): the
# 95% paired-bootstrap interval of the difference wholly on the paper's side of zero, reproduced;
# wholly on the other side, or the tie [0, 0], not reproduced; containing zero, **inconclusive**,
# whatever the sign of the point estimate (the data cannot tell that difference from zero, so its
# sign is noise). No number here: not testable. Each chapter explains its own claims, tolerances
# and reasons.

# %% tags=["remove-cell"]
# Outside this repository (Binder, Colab), install the book's package first.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("ood_nb_utils") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "ood-nb-utils[book] @ git+https://github.com/ood-nb/posthoc-ood-book"], check=True)

# %% tags=["hide-cell"]
import datetime as dt

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from ood_nb_utils.lectures import chapter, plots, scorecard
from ood_nb_utils.lectures.claims import architectures as across
from ood_nb_utils.models import ARCHITECTURES

PROFILE = chapter.start()
PAPER_CHAPTERS = {"01_nap": "NAP", "02_adascale": "AdaSCALE", "03_himplos": "HIMPLoS",
                  "04_prototype_fusion": "Prototype Fusion"}
cards = {c["chapter"]: c for c in scorecard.read_scorecards()}
absent = [f"{ch} ({paper})" for ch, paper in PAPER_CHAPTERS.items() if ch not in cards]
if absent:
    raise FileNotFoundError(f"no scorecard for {', '.join(absent)} in {scorecard.scorecard_dir()}: build the "
                            "chapters first (they write their scorecards when they run)")
stale = [ch for ch, c in cards.items() if c["profile"] != PROFILE.name]
if stale:
    raise RuntimeError(f"scorecards of {stale} come from another profile than '{PROFILE.name}'; rebuild them")


display(pd.DataFrame([{"chapter": ch, "paper / subject": c["paper"], "profile": c["profile"],
                       "claims": len(c["claims"]), "written": dt.datetime.fromtimestamp(
                           scorecard.scorecard_path(ch).stat().st_mtime).strftime("%Y-%m-%d %H:%M")}
                      for ch, c in sorted(cards.items())]).style.hide(axis="index"))

# %% [markdown]
# ## Verdicts per paper

# %%
counts = pd.DataFrame({PAPER_CHAPTERS.get(ch, c["paper"]): c["counts"] for ch, c in sorted(cards.items())}).T
counts = counts[list(scorecard.VERDICTS)]
counts["total"] = counts.sum(axis=1)
display(counts)

# %% [markdown]
# Each bar is one chapter's claims, split by verdict: read the green share (reproduced) against the red
# (not reproduced), and the grey share, the claims this project cannot test.

# %%
fig, ax = plt.subplots(figsize=(9, 3.4))
left = pd.Series(0, index=counts.index)
for verdict in scorecard.VERDICTS:
    ax.barh(counts.index, counts[verdict], left=left, color=scorecard.VERDICT_COLORS[verdict], label=verdict)
    left += counts[verdict]
ax.invert_yaxis()
ax.set_xlabel("number of claims")
plots.legend_below(fig, *ax.get_legend_handles_labels(), ncol=len(scorecard.VERDICTS))
plots.show(fig, caption=f"The verdicts of every claim, per chapter (profile '{PROFILE.name}'): reproduced, partly, "
           "inconclusive, not reproduced and not testable here, counted from the scorecards the chapters wrote in "
           "this build.", alt="A stacked horizontal bar chart of verdict counts per chapter.")

tested = counts[["reproduced", "partly", "inconclusive", "not reproduced"]].sum(axis=1)
display(Markdown("\n".join(
    f"- **{paper}**: {int(row.reproduced)} of {int(tested[paper])} testable claims reproduced, "
    f"{int(row.partly)} partly, {int(row.inconclusive)} inconclusive, {int(row['not reproduced'])} not; "
    f"{int(row['not testable here'])} not testable here."
    for paper, row in counts.iterrows() if paper in PAPER_CHAPTERS.values())))

# %% [markdown]
# ## Verdicts per architecture
#
# Chapters 1-4 also run on CIFAR ResNet-56 (two checkpoints from two authors: see
# [Across architectures](05_architectures)), which writes their scorecards to `_build/scorecards/resnet56/`. On
# ResNet-56 a numeric claim (a paper number, measured on the paper's own network) is shown but not graded, so more
# claims are untested there; the directional and threshold claims are graded on both networks.

# %%
by_arch = {arch: {c["chapter"]: c for c in scorecard.read_scorecards(arch=arch) if c["chapter"] in PAPER_CHAPTERS}
           for arch in ARCHITECTURES}
lacking = [ARCHITECTURES[a].title for a, c in by_arch.items() if set(c) != set(PAPER_CHAPTERS)]
if lacking:
    display(Markdown(f"No complete set of paper-chapter scorecards for {', '.join(lacking)} in this build: run "
                     "[Across architectures](05_architectures), which writes them."))
per_arch = across.verdict_counts({a: c for a, c in by_arch.items() if set(c) == set(PAPER_CHAPTERS)},
                                 {a: ARCHITECTURES[a].title for a in ARCHITECTURES})
display(per_arch.sort_values("paper", key=lambda p: p.map(list(PAPER_CHAPTERS.values()).index), kind="stable")
        .set_index(["paper", "architecture"]))

# %% [markdown]
# ## Every claim
#
# Numbers as the chapters computed them ("—" where a claim is qualitative or not testable). The
# chapter of each claim explains it.

# %%
claims = pd.DataFrame([
    {"paper": PAPER_CHAPTERS.get(ch, c["paper"]), "claim": cl["claim"], "where": cl["where"],
     **{col: "—" if cl[key] is None else f"{cl[key]:.2f}" for col, key in
        [("paper's", "paper"), ("ours", "ours"), ("difference", "difference")]},
     "95% interval": "—" if cl.get("interval") is None else "[{:+.2f}, {:+.2f}]".format(*cl["interval"]),
     "verdict": cl["verdict"], "reason": cl["reason"]}
    for ch, c in sorted(cards.items()) for cl in c["claims"]
])
for paper, rows in claims.groupby("paper", sort=False):
    display(Markdown(f"### {paper} ({len(rows)} claims)"))
    display(rows.drop(columns="paper").style.hide(axis="index").map(
        lambda v: f"background-color: {scorecard.VERDICT_COLORS[v]}40", subset=["verdict"]))  # the colours, light

# %% [markdown]
# ## Build times
#
# How long each chapter took to execute in this build (from MyST-NB's execution records).
#
# ```{nb-exec-table}
# ```
