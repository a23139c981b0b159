"""The book's figure style and the recurring plot kinds.

One palette everywhere: ID is always blue, OOD sets take the same colour in every chapter, and
substitutes are drawn with hatched/dashed styles so they cannot be mistaken for the real sets.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .data import DATASETS

ID_COLOR = "#1f77b4"
OOD_COLORS = {
    "cifar10": "#ff7f0e", "cifar100": "#ff7f0e", "tin": "#d62728", "mnist": "#9467bd", "svhn": "#8c564b",
    "textures": "#e377c2", "places365": "#7f7f7f", "lsun_crop": "#bcbd22", "lsun_resize": "#17becf",
    "isun": "#2ca02c", "gtsrb": "#8c564b", "intel_scenes": "#7f7f7f", "scene15": "#2ca02c",
}


def use_book_style() -> None:
    """Matplotlib defaults for the book: readable sizes, light grid, tight layout."""
    plt.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 120, "font.size": 10, "axes.titlesize": 11, "axes.grid": True,
        "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False, "figure.autolayout": True,
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
    ax.hist(id_scores, edges, density=True, color=ID_COLOR, alpha=0.45, label=label_of(id_dataset, len(id_scores)))
    for d, s in scores.items():
        if d == id_dataset:
            continue
        sub = DATASETS[d].is_substitute if d in DATASETS else False
        ax.hist(s, edges, density=True, histtype="step", lw=1.6, color=color_of(d),
                ls="--" if sub else "-", label=label_of(d, len(s)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize=7)


def shared_legend(fig, ax, ncol: int = 4) -> None:
    """One legend for a grid of panels that share their series, below the panels."""
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
    (NAP Fig. 1b / Fig. 4 style); the features are :class:`~ood_nb_utils.features.Features` with tap statistics."""
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
    axes[-1].boxplot([100 * a for a in aurocs.values()], tick_labels=list(aurocs))
    axes[-1].axhline(50, color="gray", ls=":")
    axes[-1].set(ylabel="per-channel ratio AUROC (%)", title="all channels, by depth")
    fig.suptitle(title)
    plt.show()


def annotated_heatmap(ax, values, *, xticks, yticks, xlabel: str = "", ylabel: str = "", title: str = "",
                      fmt: str = "{:.1f}", cmap: str = "viridis", vmin=None, vmax=None, annotate: bool = True,
                      highlight=None, fontsize: float = 6.5, colorbar_label: str | None = None):
    """A grid of values with each cell's number written in it (NaN cells left blank).

    ``highlight(row, col) -> bool`` writes those cells' numbers in red (e.g. the diagonal of a
    p_min x p_max grid, which is the fixed-percentile method). Returns the image for a colorbar.
    """
    values = np.asarray(values, dtype=float)
    im = ax.imshow(values, cmap=cmap, origin="lower", vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(t) for t in xticks], fontsize=7)
    ax.set_yticks(range(values.shape[0]), [str(t) for t in yticks], fontsize=7)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(False)
    if annotate:
        for r in range(values.shape[0]):
            for c in range(values.shape[1]):
                if np.isfinite(values[r, c]):
                    red = highlight is not None and highlight(r, c)
                    ax.text(c, r, fmt.format(values[r, c]), ha="center", va="center", fontsize=fontsize,
                            color="red" if red else "white")
    if colorbar_label is not None:
        ax.figure.colorbar(im, ax=ax, shrink=0.8, label=colorbar_label)
    return im


def grouped_bars(ax, categories, series: dict, *, ylabel: str = "", title: str = "", rotation: int = 30,
                 ylim=None, legend: bool = True) -> None:
    """Side-by-side bars: one group per category, one bar per series (``{label: values in category order}``)."""
    x = np.arange(len(categories))
    width = 0.8 / max(1, len(series))
    for k, (label, values) in enumerate(series.items()):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, categories, rotation=rotation, ha="right" if rotation else "center", fontsize=8)
    ax.set(ylabel=ylabel, title=title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if legend:
        ax.legend(fontsize=8)


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
