"""The book's figure style and the recurring plot kinds.

One seaborn theme, set once by :func:`use_book_style` (every chapter's :func:`~ood_nb_utils.lectures.chapter.start`
calls it). One palette everywhere: ID is always blue, OOD sets take the same colour in every chapter, and
substitutes are drawn dashed so they cannot be mistaken for the real sets. The statistical figures are
seaborn's: ``histplot`` for score distributions, ``heatmap`` for annotated grids, ``boxplot`` for
distributions by group, ``barplot`` for grouped values and ``pointplot`` for rankings with intervals.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..data import DATASETS

ID_COLOR = "#1f77b4"
OOD_COLORS = {
    "cifar10": "#ff7f0e", "cifar100": "#ff7f0e", "tin": "#d62728", "mnist": "#9467bd", "svhn": "#8c564b",
    "textures": "#e377c2", "places365": "#7f7f7f", "lsun_crop": "#bcbd22", "lsun_resize": "#17becf",
    "isun": "#2ca02c", "gtsrb": "#8c564b", "intel_scenes": "#7f7f7f", "scene15": "#2ca02c",
}


def use_book_style() -> None:
    """The book's theme: seaborn's ``whitegrid`` at notebook scale with readable sizes and tight layout."""
    sns.set_theme(context="notebook", style="whitegrid", palette="tab10", font_scale=0.85, rc={
        "figure.dpi": 100, "savefig.dpi": 120, "axes.titlesize": 11, "grid.alpha": 0.5,
        "axes.spines.top": False, "axes.spines.right": False, "figure.autolayout": True,
    })


def color_of(dataset: str) -> str:
    return OOD_COLORS.get(dataset, "#333333")


def label_of(dataset: str, n: int | None = None) -> str:
    name = DATASETS[dataset].display_name if dataset in DATASETS else dataset
    return f"{name} (n={n})" if n is not None else name


def score_histograms(ax, id_dataset: str, scores: dict[str, np.ndarray], *, xlabel: str, title: str = "",
                     bins: int = 60, legend: bool = True) -> None:
    """Overlaid density histograms: the ID set filled, each OOD set as a step outline.

    With ``legend=False`` the caller draws one shared legend (see :func:`shared_legend`).
    """
    id_scores = scores[id_dataset]
    lo, hi = np.percentile(np.concatenate(list(scores.values())), [0.5, 99.5])
    edges = np.linspace(lo, hi, bins + 1)
    sns.histplot(x=id_scores, bins=edges, stat="density", color=ID_COLOR, alpha=0.45, linewidth=0, ax=ax,
                 label=label_of(id_dataset, len(id_scores)))
    for d, s in scores.items():
        if d == id_dataset:
            continue
        sub = DATASETS[d].is_substitute if d in DATASETS else False
        sns.histplot(x=s, bins=edges, stat="density", element="step", fill=False, linewidth=1.6, color=color_of(d),
                     linestyle="--" if sub else "-", ax=ax, label=label_of(d, len(s)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize=7)


def shared_legend(fig, ax, ncol: int = 4) -> None:
    """One legend for a grid of panels that share their series, below the panels (``ax``'s own legend, if
    seaborn drew one, moves there)."""
    own = ax.get_legend()
    if own is not None:
        handles, labels = own.legend_handles, [t.get_text() for t in own.get_texts()]
        own.remove()
    else:
        handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)


def image_grid(images: np.ndarray, ncols: int = 8, ax=None, title: str = "") -> None:
    """A grid of uint8 N x 32 x 32 x 3 images on one axis."""
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    canvas = np.full((nrows * 34, ncols * 34, 3), 255, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * 34 + 1:r * 34 + 33, c * 34 + 1:c * 34 + 33] = img
    ax = ax or plt.gca()
    ax.imshow(canvas)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)


def mean_max_scatter(ax, id_features, ood_features, tap: str, channel: int, *, id_label: str, ood_label: str,
                     title: str = "", max_points: int = 1500, seed: int = 0) -> None:
    """Channel mean (x) vs channel max (y) of one channel of ``tap``, one point per image, ID vs OOD
    (NAP Fig. 1b / Fig. 4 style); the features are :class:`~ood_nb_utils.extraction.features.Features` with tap
    statistics."""
    id_mean, id_max, ood_mean, ood_max = (f.arrays[f"{tap}.{stat}"][:, channel] for f in (id_features, ood_features)
                                          for stat in ("mean", "max"))
    rng = np.random.default_rng(seed)

    def sample(a, b):
        idx = rng.choice(len(a), min(max_points, len(a)), replace=False)
        return a[idx], b[idx]

    for (m, x), color, label in [(sample(id_mean, id_max), ID_COLOR, id_label),
                                 (sample(ood_mean, ood_max), "#d62728", ood_label)]:
        ax.scatter(m, x, s=4, alpha=0.35, color=color, label=label, rasterized=True)
    ax.set_xlabel("channel mean activation")
    ax.set_ylabel("channel max activation")
    if title:
        ax.set_title(title, fontsize=9)


def activation_pair(images, maps, names, channel: int, ratio_fn, *, title: str = "") -> None:
    """NAP Fig. 1a: two images side by side, each with one channel's activation map (shared colour scale); each
    map's title gives its mean, max and ``ratio_fn(max, mean)``."""
    fig, axes = plt.subplots(1, 2 * len(images), figsize=(7 * len(images), 3.8), layout="constrained")
    for col, (img, amap, name) in enumerate(zip(images, maps, names, strict=True)):
        axes[2 * col].imshow(img)
        axes[2 * col].set_title(name)
        im = axes[2 * col + 1].imshow(amap, cmap="viridis", vmin=0, vmax=np.max(maps))
        axes[2 * col + 1].set_title(f"channel {channel}: mean {amap.mean():.3f}, max {amap.max():.2f}\n"
                                    f"max/(mean+1) = {ratio_fn(amap.max(), amap.mean()):.2f}", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    fig.colorbar(im, ax=axes[-1], shrink=0.9, label="activation (after BN+ReLU)")
    fig.suptitle(title)
    plt.show()


def mean_max_by_depth(id_features, ood_features, aurocs: dict, labels: dict, *, id_label: str, ood_label: str,
                      title: str = "") -> None:
    """NAP Fig. 4/5: per tap, the mean-vs-max scatter of the channel whose ratio AUROC is the median at that
    depth, and a last panel with the distribution of per-channel ratio AUROCs (``aurocs[tap]``, fractions)."""
    fig, axes = plt.subplots(1, len(aurocs) + 1, figsize=(3.8 * (len(aurocs) + 1), 3.8))
    for ax, (tap, auc) in zip(axes, aurocs.items(), strict=False):
        ch = int(np.argsort(auc)[len(auc) // 2])
        mean_max_scatter(ax, id_features, ood_features, tap, ch, id_label=id_label, ood_label=ood_label,
                         title=f"{labels[tap]}\nchannel {ch} (median), ratio AUROC {100 * auc[ch]:.1f}%")
    axes[0].legend(markerscale=4, fontsize=7)
    long = pd.DataFrame([(tap, 100 * v) for tap, a in aurocs.items() for v in a], columns=["tap", "AUROC"])
    sns.boxplot(data=long, x="tap", y="AUROC", color="#9ecae1", fliersize=2, ax=axes[-1])
    axes[-1].axhline(50, color="gray", ls=":")
    axes[-1].set(xlabel="", ylabel="per-channel ratio AUROC (%)", title="all channels, by depth")
    fig.suptitle(title)
    plt.show()


def annotated_heatmap(ax, values, *, xticks, yticks, xlabel: str = "", ylabel: str = "", title: str = "",
                      fmt: str = "{:.1f}", cmap: str = "viridis", vmin=None, vmax=None, annotate: bool = True,
                      highlight=None, fontsize: float = 6.5, colorbar_label: str | None = None):
    """``sns.heatmap`` of a grid with each cell's number written in it (NaN cells left blank); row 0 at the
    bottom, as in the papers' p_min x p_max grids.

    ``highlight(row, col) -> bool`` writes those cells' numbers in red (e.g. the diagonal of a
    p_min x p_max grid, which is the fixed-percentile method). Returns the mesh, for a shared colorbar.
    """
    values = np.asarray(values, dtype=float)
    flipped = values[::-1]  # seaborn draws row 0 at the top
    spec = fmt[2:-1] if fmt.startswith("{:") and fmt.endswith("}") else fmt
    sns.heatmap(flipped, ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, mask=~np.isfinite(flipped), annot=annotate,
                fmt=spec, annot_kws={"fontsize": fontsize}, cbar=colorbar_label is not None,
                cbar_kws={"label": colorbar_label or "", "shrink": 0.8},
                xticklabels=[str(t) for t in xticks], yticklabels=[str(t) for t in yticks][::-1])
    ax.tick_params(labelsize=7)
    ax.grid(False)  # the theme's grid would run through the cells and the blank (NaN) ones
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title, fontsize=9)
    if annotate and highlight is not None:
        cells = [(values.shape[0] - 1 - r, c) for r in range(values.shape[0]) for c in range(values.shape[1])
                 if np.isfinite(flipped[r, c])]  # seaborn writes the unmasked cells row by row, top first
        for text, (r, c) in zip(ax.texts, cells, strict=True):
            if highlight(r, c):
                text.set_color("red")
    return ax.collections[0]


def grouped_bars(ax, categories, series: dict, *, ylabel: str = "", title: str = "", rotation: int = 30,
                 ylim=None, legend: bool = True) -> None:
    """``sns.barplot``: one group per category, one bar per series (``{label: values in category order}``)."""
    long = pd.DataFrame([(cat, label, v) for label, values in series.items()
                         for cat, v in zip(categories, values, strict=True)], columns=["category", "series", "value"])
    sns.barplot(data=long, x="category", y="value", hue="series", order=list(dict.fromkeys(categories)),
                errorbar=None, ax=ax, legend=legend)
    ax.tick_params(axis="x", labelsize=8, rotation=rotation)
    if rotation:
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set(xlabel="", ylabel=ylabel, title=title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if legend:
        ax.legend(fontsize=8)


def ranking(ax, table: pd.DataFrame, *, value: str, low: str, high: str, label: str = "method",
            hue: str | None = None, palette=None, xlabel: str = "", title: str = "", legend: bool = True) -> None:
    """``sns.pointplot`` of one row per item, sorted by ``value``, with its precomputed interval [``low``,
    ``high``] (e.g. a bootstrap 95% interval): each item's three numbers are given to seaborn as its data, drawn
    at their median (the estimate) with an error bar from their minimum to their maximum, so the figure shows
    exactly the table's numbers. The best item is at the top."""
    ordered = table.sort_values(value, ascending=False)
    long = ordered.melt(id_vars=[label] + ([hue] if hue else []), value_vars=[low, value, high],
                        value_name="x")
    sns.pointplot(data=long, x="x", y=label, hue=hue, order=list(ordered[label]), estimator="median",
                  errorbar=lambda v: (v.min(), v.max()), linestyle="none", markersize=4, capsize=0.3,
                  err_kws={"linewidth": 1.2}, palette=palette, ax=ax, legend=legend and hue is not None)
    ax.tick_params(axis="y", labelsize=8)
    ax.set(xlabel=xlabel, ylabel="", title=title)
    ax.grid(axis="x", alpha=0.3)


def band(ax, x, mean, low, high, *, label: str = "", band_label: str = "", marker: str = "o") -> None:
    """A line of means with a shaded band (e.g. min-max over seeds)."""
    ax.plot(x, mean, marker=marker, label=label or None)
    ax.fill_between(x, low, high, alpha=0.25, label=band_label or None)


def labelled_scatter(ax, x, y, labels, *, highlight=None, highlight_color: str = "#d62728") -> None:
    """One labelled point per item (e.g. a method at (accuracy, AUROC)); ``highlight[i]`` True draws item i
    as a red circle instead of a blue square."""
    for i, (xi, yi, label) in enumerate(zip(x, y, labels, strict=True)):
        hot = highlight is not None and bool(highlight[i])
        ax.scatter(xi, yi, color=highlight_color if hot else ID_COLOR, marker="o" if hot else "s")
        ax.annotate(label, (xi, yi), fontsize=8, xytext=(3, 3), textcoords="offset points")
