"""The book's figure style and the recurring plot kinds.

One seaborn theme, set once by :func:`use_book_style` (every chapter's :func:`~ood_nb_utils.lectures.chapter.start`
calls it), and one **style map** that every figure takes its colours from:

- :data:`DATASET_STYLES`: each benchmark set has one colour and one marker in every figure of the book. The ID test
  set of a figure is always :data:`ID_STYLE` (blue circles), whichever CIFAR it is; the *other* CIFAR, when it is
  the near-OOD set, is orange. Substitute sets are drawn dashed, so they cannot be mistaken for the real sets.
- Series that are not datasets (method families, near/far, models, settings) take :data:`SERIES_COLORS`, a palette
  that shares no colour with the datasets; :func:`model_group_style` fixes the four (model, near/far) series.

:func:`show` puts a finished figure on the page with a caption and alt text, at most :data:`MAX_WIDTH_IN` inches
wide. The statistical figures are seaborn's: ``histplot`` for score distributions, ``heatmap`` for annotated grids,
``boxplot`` for distributions by group, ``barplot`` for grouped values and ``pointplot`` for rankings with intervals.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from ..data import DATASETS

MAX_WIDTH_IN = 9.0  # the article column is about 770 px: a wider figure shrinks its text below readability
MIN_FONT_PT = 8  # the smallest text a figure may print
SPIKE = 0.25  # a set with this share of its scores in one bin (MSP's spike at 1) puts the panel on a log y-axis
DPI = 100  # pixels per inch as shown on the page (the PNG is rendered at twice this, for sharp text)


@dataclass(frozen=True)
class Style:
    """How one series is drawn: colour, marker and line style."""

    color: str
    marker: str = "o"
    linestyle: str = "-"

    def line(self) -> dict:
        """Keyword arguments for ``ax.plot``."""
        return {"color": self.color, "marker": self.marker, "linestyle": self.linestyle}


ID_STYLE = Style("#1f77b4", "o")  # the ID test set of the figure, whichever dataset it is
DATASET_STYLES = {
    "cifar10": Style("#ff7f0e", "^"), "cifar100": Style("#ff7f0e", "^"),  # the other CIFAR, as near-OOD
    "tin": Style("#d62728", "v"), "mnist": Style("#9467bd", "D"), "textures": Style("#e377c2", "s"),
    "gtsrb": Style("#8c564b", "P", "--"), "intel_scenes": Style("#7f7f7f", "X", "--"),
    "scene15": Style("#bcbd22", "h", "--"),
    # not in this project's data; kept distinct should a build have them
    "svhn": Style("#17becf", "p"), "places365": Style("#2ca02c", "*"), "lsun_crop": Style("#393b79", "<"),
    "lsun_resize": Style("#637939", ">"), "isun": Style("#843c39", "d"),
}
OTHER_STYLE = Style("#333333", ".")  # a set the map does not know (a reader's own data)

# Series that are not datasets: a palette with none of the dataset colours (Dark2 without its magenta)
SERIES_COLORS = ("#1b9e77", "#7570b3", "#a6761d", "#4d4d4d", "#e6ab02", "#66a61e")
# a colour per ID dataset, the same on either architecture (a chapter shows one architecture's two models)
MODEL_COLORS = {"densenet100-cifar10": SERIES_COLORS[0], "densenet100-cifar100": SERIES_COLORS[2],
                "resnet56-cifar10": SERIES_COLORS[0], "resnet56-cifar100": SERIES_COLORS[2]}
# where two architectures stand together: one colour and marker each
ARCH_STYLES = {"densenet100": Style(SERIES_COLORS[1], "o"), "resnet56": Style(SERIES_COLORS[4], "s")}
GROUP_LINES = {"near": ("-", "o"), "far": ("--", "s"), "substitute": (":", "X")}
HIGHLIGHT_COLOR = "#e7298a"  # one marked item among others (a chosen setting, a paper's method)
REFERENCE_COLOR = "#555555"  # reference lines: chance level, a paper's value, a chosen parameter
NEUTRAL_FILL = "#d9d9d9"  # boxes and bars that stand for no particular series


def use_book_style() -> None:
    """The book's theme: seaborn's ``whitegrid`` at notebook scale, no text below :data:`MIN_FONT_PT`."""
    sns.set_theme(context="notebook", style="whitegrid", palette=list(SERIES_COLORS), font_scale=0.85, rc={
        "figure.dpi": DPI, "savefig.dpi": 2 * DPI, "axes.titlesize": 10, "grid.alpha": 0.5,
        "axes.spines.top": False, "axes.spines.right": False, "figure.autolayout": True,
        "legend.fontsize": MIN_FONT_PT, "legend.title_fontsize": MIN_FONT_PT + 1,
        "xtick.labelsize": MIN_FONT_PT + 1, "ytick.labelsize": MIN_FONT_PT + 1, "figure.titlesize": 11,
    })


def style_of(dataset: str, *, id_dataset: str | None = None) -> Style:
    """The style of ``dataset`` in a figure whose ID set is ``id_dataset`` (that one is drawn as ID)."""
    if dataset == id_dataset:
        return ID_STYLE
    return DATASET_STYLES.get(dataset, OTHER_STYLE)


def color_of(dataset: str, *, id_dataset: str | None = None) -> str:
    """The colour of ``dataset`` (see :func:`style_of`)."""
    return style_of(dataset, id_dataset=id_dataset).color


def series_palette(labels) -> dict:
    """Colours for series that are not datasets, in order (raises when there are more than the palette has)."""
    labels = list(dict.fromkeys(labels))
    if len(labels) > len(SERIES_COLORS):
        raise ValueError(f"{len(labels)} series but the book's series palette has {len(SERIES_COLORS)} colours: "
                         "group them, or split the figure")
    return dict(zip(labels, SERIES_COLORS, strict=False))


def class_palette(n: int) -> list:
    """Colours for the ``n`` classes of an ID set (e.g. CIFAR-10's classes in an embedding): seaborn's pastel
    ``Set3``, light enough that the saturated dataset colours drawn over them stand out."""
    if n > 12:
        raise ValueError(f"{n} classes: the class palette has 12 colours; show a subset of the classes")
    return sns.color_palette("Set3", n)


def model_group_style(model: str, group: str) -> Style:
    """The same (model, near/far) series looks the same in every figure: colour by model, line by group."""
    linestyle, marker = GROUP_LINES[group]
    return Style(MODEL_COLORS.get(model, SERIES_COLORS[3]), marker, linestyle)


def label_of(dataset: str, n: int | None = None) -> str:
    """A dataset's name for legends (substitutes say what they stand in for), with its size when given."""
    name = DATASETS[dataset].display_name if dataset in DATASETS else dataset
    return f"{name} (n={n:,})" if n is not None else name


def short_label(dataset: str) -> str:
    """A dataset's short name for tick labels and panel titles: its title, and "(substitute)" for a
    substitute (the full :func:`label_of` says what it stands in for)."""
    spec = DATASETS.get(dataset)
    if spec is None:
        return dataset
    return spec.title + " (substitute)" * spec.is_substitute


def dataset_handles(ood: list[str], *, id_label: str = "ID test set", other_cifar: str | None = None,
                    filled_id: bool = False) -> tuple[list, list[str]]:
    """Legend entries built from the style map, for a legend shared by panels with different ID sets: the ID
    entry says "ID test set", and ``other_cifar`` (e.g. "the other CIFAR (near-OOD)") names both CIFARs at once,
    so no panel reads a label that is wrong for it. ``filled_id``: the ID set is drawn filled (histograms)."""
    id_handle = Patch(color=ID_STYLE.color, alpha=0.45) if filled_id else _line_handle(ID_STYLE)
    handles, labels = [id_handle], [id_label]
    seen = set()
    for d in ood:
        is_cifar = d in ("cifar10", "cifar100")
        label = other_cifar if is_cifar and other_cifar else label_of(d)
        if label in seen:
            continue
        seen.add(label)
        handles.append(_line_handle(style_of(d)))
        labels.append(label)
    return handles, labels


def _line_handle(style: Style) -> Line2D:
    return Line2D([], [], color=style.color, linestyle=style.linestyle, linewidth=2)


def marker_handles(colors: dict, *, marker: str = "o", hollow: bool = False) -> tuple[list, list[str]]:
    """Legend entries for series drawn as points: one marker per ``{label: colour}``; ``hollow`` draws only the
    outline (for entries that name a marker shape, not a colour)."""
    face = {"markerfacecolor": "none"} if hollow else {}
    return [Line2D([], [], color=c, marker=marker, linestyle="none", **face) for c in colors.values()], list(colors)


def legend_below(fig, handles, labels, *, ncol: int = 4) -> None:
    """One legend under every panel (never over data or axis labels)."""
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False)


def show(fig, *, caption: str, alt: str) -> None:
    """Put ``fig`` on the page as a captioned figure with alt text, and close it.

    The caption says what the figure shows, which paper figure it follows and on which data; the alt text says
    the same for a screen reader. The figure must be at most :data:`MAX_WIDTH_IN` inches wide, so that its text
    stays readable in the article column. The output is one HTML ``<figure>``, which the book, JupyterLab and
    Colab all render."""
    from IPython.display import display

    if not caption.strip() or not alt.strip():
        raise ValueError("a figure needs a caption and alt text: say what it shows, which paper figure, which data")
    width = fig.get_size_inches()[0]
    if width > MAX_WIDTH_IN + 1e-9:
        raise ValueError(f"figure is {width:.1f} in wide; at most {MAX_WIDTH_IN:g} in fit the page's column "
                         "with readable text: fewer panels per row, or a second row")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=2 * DPI, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    png = buf.getvalue()
    px = int.from_bytes(png[16:20], "big") // 2  # the PNG's width (IHDR), shown at half size for sharp text
    data = base64.b64encode(png).decode("ascii")
    page = (f'<figure class="ood-figure"><img src="data:image/png;base64,{data}" width="{px}" '
            f'style="max-width: 100%; height: auto" alt="{html.escape(alt, quote=True)}">'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')
    display({"text/html": page, "text/plain": f"[figure] {caption}"}, raw=True)


def histogram_range(scores: dict[str, np.ndarray], *, id_dataset: str | None = None, tail: float = 1.0,
                    reach: float = 10.0) -> tuple[float, float, dict[str, float]]:
    """The x-range of a score histogram, and the share (%) of each set's scores outside it.

    From the lowest set's ``tail`` percentile to the highest set's ``100 - tail`` percentile, so that every set's
    bulk is drawn (a pooled percentile cuts a small set's tail). A set far out would squash every other set into
    a few bins, so the range reaches at most ``reach`` times the ID set's own 1-99 percentile span beyond it;
    what that leaves out is counted, for the panel to say."""
    lo = min(float(np.percentile(s, tail)) for s in scores.values())
    hi = max(float(np.percentile(s, 100 - tail)) for s in scores.values())
    if id_dataset is not None:
        id_lo, id_hi = (float(v) for v in np.percentile(scores[id_dataset], [1, 99]))
        span = max(id_hi - id_lo, 1e-12)
        lo, hi = max(lo, id_lo - reach * span), min(hi, id_hi + reach * span)
    return lo, hi, {d: 100 * float(np.mean((s < lo) | (s > hi))) for d, s in scores.items()}


def score_histograms(ax, id_dataset: str, scores: dict[str, np.ndarray], *, xlabel: str, title: str = "",
                     bins: int = 60, legend: bool = True) -> None:
    """Overlaid density histograms: the ID set filled, each OOD set as a step outline in its style.

    The x-range is :func:`histogram_range`; the panel names the sets with more than 1% of their scores outside
    it. When one bin holds more than :data:`SPIKE` of a set's scores (MSP's spike at 1), the y-axis is logarithmic
    and says so. With
    ``legend=False`` the caller draws one legend for all panels (:func:`panel_legend`, :func:`dataset_handles`,
    :func:`legend_below`).
    """
    lo, hi, outside = histogram_range(scores, id_dataset=id_dataset)
    edges = np.linspace(lo, hi, bins + 1)
    log = max(np.histogram(s, bins=edges)[0].max() / len(s) for s in scores.values()) > SPIKE
    id_scores = scores[id_dataset]
    sns.histplot(x=id_scores, bins=edges, stat="density", color=ID_STYLE.color, alpha=0.45, linewidth=0, ax=ax,
                 label=label_of(id_dataset, len(id_scores)))
    for d, s in scores.items():
        if d == id_dataset:
            continue
        st = style_of(d)
        sns.histplot(x=s, bins=edges, stat="density", element="step", fill=False, linewidth=1.6, color=st.color,
                     linestyle=st.linestyle, ax=ax, label=label_of(d, len(s)))
    if log:
        ax.set_yscale("log")
    cut = {d: v for d, v in outside.items() if v > 1}
    names = ", ".join(f"{DATASETS[d].title if d in DATASETS else d} {v:.0f}%" for d, v in cut.items())
    ax.set_xlabel(xlabel + (f"\n(beyond the axis: {names})" if cut else ""))
    ax.set_ylabel("density (log scale)" if log else "density")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(*panel_legend(ax))


def panel_legend(ax) -> tuple[list, list[str]]:
    """A histogram panel's legend entries with the filled ID set first, then the outlines."""
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(handles)), key=lambda i: isinstance(handles[i], Line2D))
    return [handles[i] for i in order], [labels[i] for i in order]


def image_grid(images: np.ndarray, ncols: int = 8, ax=None, title: str = "") -> None:
    """A grid of uint8 N x H x W x 3 images (all one size) on one axis."""
    n, h, w = len(images), images.shape[1], images.shape[2]
    nrows = int(np.ceil(n / ncols))
    canvas = np.full((nrows * (h + 2), ncols * (w + 2), 3), 255, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * (h + 2) + 1:r * (h + 2) + 1 + h, c * (w + 2) + 1:c * (w + 2) + 1 + w] = img
    ax = ax or plt.gca()
    ax.imshow(canvas)
    ax.set_axis_off()
    ax.set_title(title, fontsize=MIN_FONT_PT + 1)


def mean_max_scatter(ax, id_features, ood_features, tap: str, channel: int, *, id_label: str, ood_label: str,
                     ood_dataset: str, title: str = "", max_points: int = 1500, seed: int = 0) -> None:
    """Channel mean (x) vs channel max (y) of one channel of ``tap``, one point per image, ID vs OOD
    (NAP Fig. 1b / Fig. 4 style); the features are :class:`~ood_nb_utils.extraction.features.Features` with tap
    statistics, and the OOD cloud takes ``ood_dataset``'s colour from the style map."""
    id_mean, id_max, ood_mean, ood_max = (f.arrays[f"{tap}.{stat}"][:, channel] for f in (id_features, ood_features)
                                          for stat in ("mean", "max"))
    rng = np.random.default_rng(seed)

    def sample(a, b):
        idx = rng.choice(len(a), min(max_points, len(a)), replace=False)
        return a[idx], b[idx]

    for (m, x), color, label in [(sample(id_mean, id_max), ID_STYLE.color, id_label),
                                 (sample(ood_mean, ood_max), color_of(ood_dataset), ood_label)]:
        ax.scatter(m, x, s=4, alpha=0.35, color=color, label=label, rasterized=True)
    ax.set_xlabel("channel mean activation")
    ax.set_ylabel("channel max activation")
    if title:
        ax.set_title(title, fontsize=MIN_FONT_PT + 1)


def activation_pair(images, maps, names, channel: int, ratio_fn, *, title: str = ""):
    """NAP Fig. 1a: two images side by side, each with one channel's activation map (shared colour scale); each
    map's title gives its mean, max and ``ratio_fn(max, mean)``. Returns the figure (see :func:`show`)."""
    fig, axes = plt.subplots(1, 2 * len(images), figsize=(MAX_WIDTH_IN, 3.0), layout="constrained")
    for col, (img, amap, name) in enumerate(zip(images, maps, names, strict=True)):
        axes[2 * col].imshow(img)
        axes[2 * col].set_title(name, fontsize=MIN_FONT_PT + 1)
        im = axes[2 * col + 1].imshow(amap, cmap="viridis", vmin=0, vmax=np.max(maps))
        axes[2 * col + 1].set_title(f"channel {channel}: mean {amap.mean():.3f},\nmax {amap.max():.2f}, "
                                    f"max/(mean+1) = {ratio_fn(amap.max(), amap.mean()):.2f}", fontsize=MIN_FONT_PT)
    for ax in axes:
        ax.set_axis_off()
    fig.colorbar(im, ax=axes[-1], shrink=0.9, label="activation (after BN+ReLU)")
    fig.suptitle(title)
    return fig


def mean_max_by_depth(id_features, ood_features, aurocs: dict, labels: dict, *, id_label: str, ood_label: str,
                      ood_dataset: str, title: str = ""):
    """NAP Fig. 4/5: per tap, the mean-vs-max scatter of the channel whose ratio AUROC is the median at that
    depth, and a last panel with the distribution of per-channel ratio AUROCs (``aurocs[tap]``, fractions).
    Two rows of three panels; returns the figure (see :func:`show`)."""
    fig, axes = plt.subplots(2, 3, figsize=(MAX_WIDTH_IN, 6.4))
    for ax, (tap, auc) in zip(axes.flat, aurocs.items(), strict=False):
        ch = int(np.argsort(auc)[len(auc) // 2])
        mean_max_scatter(ax, id_features, ood_features, tap, ch, id_label=id_label, ood_label=ood_label,
                         ood_dataset=ood_dataset,
                         title=f"{labels[tap]}\nchannel {ch} (median), ratio AUROC {100 * auc[ch]:.1f}%")
    box = axes.flat[len(aurocs)]
    long = pd.DataFrame([(tap, 100 * v) for tap, a in aurocs.items() for v in a], columns=["tap", "AUROC"])
    sns.boxplot(data=long, x="tap", y="AUROC", color=NEUTRAL_FILL, fliersize=2, ax=box)
    box.axhline(50, color=REFERENCE_COLOR, ls=":")
    box.set(xlabel="", ylabel="per-channel ratio AUROC (%)", title="all channels, by depth")
    for ax in axes.flat[len(aurocs) + 1:]:
        ax.set_axis_off()
    handles, names = axes.flat[0].get_legend_handles_labels()
    axes.flat[-1].legend(handles, names, markerscale=4, loc="center", frameon=False)
    fig.suptitle(title)
    return fig


def annotated_heatmap(ax, values, *, xticks, yticks, xlabel: str = "", ylabel: str = "", title: str = "",
                      fmt: str = "{:.1f}", cmap: str = "viridis", vmin=None, vmax=None, annotate: bool = True,
                      highlight=None, chosen=None, fontsize: float = MIN_FONT_PT, colorbar_label: str | None = None):
    """``sns.heatmap`` of a grid with each cell's number written in it (NaN cells left blank); row 0 at the
    bottom, as in the papers' p_min x p_max grids.

    Give ``vmin``/``vmax`` to state the colour range (panels compared side by side should share one).
    ``highlight(row, col) -> bool`` writes those cells' numbers in bold (e.g. the diagonal of a p_min x p_max
    grid, which is the fixed-percentile method); ``chosen=(row, col)`` outlines the cell a search picked.
    Returns the mesh, for a shared colorbar.
    """
    if fontsize < MIN_FONT_PT:
        raise ValueError(f"cell numbers below {MIN_FONT_PT} pt are unreadable on the page: show fewer cells")
    values = np.asarray(values, dtype=float)
    flipped = values[::-1]  # seaborn draws row 0 at the top
    spec = fmt[2:-1] if fmt.startswith("{:") and fmt.endswith("}") else fmt
    sns.heatmap(flipped, ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, mask=~np.isfinite(flipped), annot=annotate,
                fmt=spec, annot_kws={"fontsize": fontsize}, cbar=colorbar_label is not None,
                cbar_kws={"label": colorbar_label or "", "shrink": 0.8},
                xticklabels=[str(t) for t in xticks], yticklabels=[str(t) for t in yticks][::-1])
    ax.grid(False)  # the theme's grid would run through the cells and the blank (NaN) ones
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title, fontsize=MIN_FONT_PT + 1)
    if annotate and highlight is not None:
        cells = [(values.shape[0] - 1 - r, c) for r in range(values.shape[0]) for c in range(values.shape[1])
                 if np.isfinite(flipped[r, c])]  # seaborn writes the unmasked cells row by row, top first
        for text, (r, c) in zip(ax.texts, cells, strict=True):
            if highlight(r, c):
                text.set_fontweight("bold")
    if chosen is not None:
        r, c = chosen
        ax.add_patch(Rectangle((c, values.shape[0] - 1 - r), 1, 1, fill=False, edgecolor=HIGHLIGHT_COLOR, lw=2.5))
    return ax.collections[0]


def grouped_bars(ax, categories, series: dict, *, ylabel: str = "", title: str = "", rotation: int = 30,
                 ylim=None, legend: bool = True, palette=None) -> dict:
    """``sns.barplot``: one group per category, one bar per series (``{label: values in category order}``),
    coloured from the series palette unless ``palette`` maps each series to a colour. Returns the palette, for a
    legend shared by several panels (:func:`patch_handles`)."""
    palette = palette or series_palette(series)
    long = pd.DataFrame([(cat, label, v) for label, values in series.items()
                         for cat, v in zip(categories, values, strict=True)], columns=["category", "series", "value"])
    sns.barplot(data=long, x="category", y="value", hue="series", order=list(dict.fromkeys(categories)),
                errorbar=None, ax=ax, legend=legend, palette=palette)
    ax.tick_params(axis="x", rotation=rotation)
    if rotation:
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set(xlabel="", ylabel=ylabel, title=title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if legend:
        ax.legend()
    return palette


def patch_handles(colors: dict) -> tuple[list, list[str]]:
    """Legend entries for series drawn as bars: one filled square per ``{label: colour}``."""
    return [Patch(color=c) for c in colors.values()], list(colors)


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
    ax.set(xlabel=xlabel, ylabel="", title=title)
    ax.grid(axis="x", alpha=0.3)


def band(ax, x, mean, low, high, *, style: Style, label: str = "", band_label: str = "") -> None:
    """A line of means with a shaded band (e.g. min-max over seeds), drawn in ``style``."""
    ax.plot(x, mean, label=label or None, **style.line())
    ax.fill_between(x, low, high, alpha=0.2, color=style.color, label=band_label or None)


def labelled_scatter(ax, x, y, labels, *, highlight=None, min_xspan: float | None = None,
                     gap: float = 0.055) -> None:
    """One labelled point per item (e.g. a method at (accuracy, AUROC)); ``highlight[i]`` True draws item i
    as a :data:`HIGHLIGHT_COLOR` circle instead of a grey square. Items at the same point (to 0.01) share one
    label; labels sit right of their points, pushed apart vertically to at least ``gap`` (axes fraction) and tied
    to their points by a thin line, so that none prints over another. ``min_xspan`` widens the x-axis to at
    least that span, so that a tiny difference is not drawn as a large one."""
    x, y, labels = np.asarray(x, dtype=float), np.asarray(y, dtype=float), list(labels)
    hot = np.zeros(len(x), bool) if highlight is None else np.asarray(highlight, bool)
    for xi, yi, h in zip(x, y, hot, strict=True):
        ax.scatter(xi, yi, color=HIGHLIGHT_COLOR if h else SERIES_COLORS[3], marker="o" if h else "s", zorder=3)
    if min_xspan is not None and x.max() - x.min() < min_xspan:
        mid = (x.min() + x.max()) / 2
        ax.set_xlim(mid - min_xspan / 2, mid + min_xspan / 2)
    points: dict[tuple[float, float], list[str]] = {}
    for xi, yi, label in zip(x, y, labels, strict=True):
        points.setdefault((round(xi, 2), round(yi, 2)), []).append(label)
    ax.autoscale_view()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    items = sorted(points.items(), key=lambda p: p[0][1])
    frac = [((px - x0) / (x1 - x0), (py - y0) / (y1 - y0)) for (px, py), _ in items]
    placed = spread_apart([fy for _, fy in frac], gap)
    for ((px, py), names), (fx, _), ty in zip(items, frac, placed, strict=True):
        ax.annotate(" = ".join(names), (px, py), xytext=(fx + 0.04, ty), textcoords="axes fraction", va="center",
                    fontsize=MIN_FONT_PT, arrowprops={"arrowstyle": "-", "lw": 0.5, "color": REFERENCE_COLOR})


def spread_apart(positions, gap: float, *, low: float = 0.02, high: float = 0.98) -> list[float]:
    """Sorted positions moved apart so that neighbours are at least ``gap`` apart, all within [low, high]: the
    mean of packing upwards then downwards and packing downwards then upwards, so that a crowd spreads evenly
    around where it was."""
    n = len(positions)
    gap = min(gap, (high - low) / max(n - 1, 1))

    def up(pos):
        out = []
        for p in pos:
            out.append(max(p, out[-1] + gap) if out else max(p, low))
        return out

    def down(pos):
        out = []
        for p in reversed(pos):
            out.append(min(p, out[-1] - gap) if out else min(p, high))
        return out[::-1]

    a, b = down(up(list(positions))), up(down(list(positions)))
    return [(x + y) / 2 for x, y in zip(a, b, strict=True)]
