"""The figure helpers draw exactly the numbers they are given, in the book's one style map, and put every figure on
the page with a caption and alt text at a readable size."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from ood_nb_utils.data import DATASETS, is_available  # noqa: E402
from ood_nb_utils.lectures import plots  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIGURE_CODE = sorted([*ROOT.glob("notebooks/*.py"), *ROOT.glob("book/*.py"),
                      *(ROOT / "ood_nb_utils" / "lectures").rglob("*.py")])
COLOUR_KEYWORDS = {"color", "c", "colors", "palette", "ecolor", "mfc", "mec", "facecolor", "edgecolor"}
SIZE_KEYWORDS = {"fontsize", "labelsize"}


def test_annotated_heatmap_keeps_row_zero_at_the_bottom_and_marks_the_highlighted_and_chosen_cells():
    plots.use_book_style()
    values = np.array([[1.0, 2.0], [3.0, np.nan]])
    fig, ax = plt.subplots()
    plots.annotated_heatmap(ax, values, xticks=["a", "b"], yticks=["r0", "r1"], highlight=lambda r, c: r == c,
                            chosen=(0, 1))
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    positions = [t.get_position()[1] for t in ax.get_yticklabels()]
    assert labels[int(np.argmax(positions))] == "r0"  # seaborn's y axis grows downwards: largest y is the bottom
    weights = {t.get_text(): t.get_fontweight() for t in ax.texts}
    assert set(weights) == {"1.0", "2.0", "3.0"}  # the NaN cell stays blank
    assert weights["1.0"] == "bold" and weights["2.0"] != "bold" and weights["3.0"] != "bold"
    (outline,) = ax.patches  # row 0, column 1: drawn at x = 1 and, rows flipped, y = 1 (the bottom row)
    assert outline.get_xy() == (1, 1) and not outline.get_fill()
    with pytest.raises(ValueError, match="unreadable"):
        plots.annotated_heatmap(ax, values, xticks=["a", "b"], yticks=["r0", "r1"], fontsize=6)
    plt.close(fig)


def test_ranking_draws_each_estimate_and_its_interval_exactly_best_on_top():
    table = pd.DataFrame({"method": ["a", "b", "c"], "v": [80.0, 90.0, 85.0], "lo": [78.0, 89.0, 80.0],
                          "hi": [81.0, 93.0, 86.0]})
    fig, ax = plt.subplots()
    plots.ranking(ax, table, value="v", low="lo", high="hi")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "c", "a"]
    points = next(line for line in ax.lines if line.get_marker() == "o")
    assert points.get_xdata().tolist() == [90.0, 85.0, 80.0] and points.get_ydata().tolist() == [0, 1, 2]
    bars = [(np.nanmin(x), np.nanmax(x), np.nanmean(line.get_ydata())) for line in ax.lines
            if line is not points and len(x := line.get_xdata())]
    assert sorted(bars, key=lambda b: b[2]) == [(89.0, 93.0, 0.0), (80.0, 86.0, 1.0), (78.0, 81.0, 2.0)]
    plt.close(fig)


def test_each_available_dataset_has_its_own_colour_and_no_series_colour_is_a_dataset_colour():
    drawn = [d for d in DATASETS if is_available(d) and not d.endswith("_train") and d not in ("cifar10", "cifar100")]
    colours = [plots.color_of(d) for d in drawn] + [plots.color_of("cifar100"), plots.ID_STYLE.color]
    assert len(set(colours)) == len(colours), dict(zip([*drawn, "other CIFAR", "ID"], colours, strict=True))
    dataset_colours = {s.color for s in plots.DATASET_STYLES.values()} | {plots.ID_STYLE.color}
    series = {*plots.SERIES_COLORS, plots.HIGHLIGHT_COLOR, plots.REFERENCE_COLOR, plots.NEUTRAL_FILL}
    assert not dataset_colours & series
    # the ID set of a figure is drawn as ID whichever CIFAR it is; substitutes are dashed
    assert plots.style_of("cifar10", id_dataset="cifar10") == plots.style_of("cifar100", id_dataset="cifar100")
    assert all(plots.style_of(d).linestyle == "--" for d in DATASETS if DATASETS[d].is_substitute)
    assert plots.model_group_style("densenet100-cifar10", "near") != plots.model_group_style("densenet100-cifar10",
                                                                                             "far")
    with pytest.raises(ValueError, match="palette"):
        plots.series_palette(range(len(plots.SERIES_COLORS) + 1))


def test_a_shared_legend_names_the_id_set_by_role_and_both_cifars_at_once():
    handles, labels = plots.dataset_handles(["cifar100", "cifar10", "textures", "gtsrb"],
                                            other_cifar="the other CIFAR (near-OOD)")
    assert labels == ["ID test set", "the other CIFAR (near-OOD)", DATASETS["textures"].display_name,
                      DATASETS["gtsrb"].display_name]
    assert handles[0].get_color() == plots.ID_STYLE.color and handles[3].get_linestyle() == "--"


def test_histogram_range_keeps_every_sets_bulk_and_counts_what_falls_outside():
    rng = np.random.default_rng(0)
    big, small = rng.normal(0, 1, 10_000), rng.normal(10, 1, 200)  # pooled percentiles would cut the small set
    lo, hi, outside = plots.histogram_range({"a": big, "b": small})
    assert lo == pytest.approx(np.percentile(big, 1)) and hi == pytest.approx(np.percentile(small, 99))
    assert outside == {d: pytest.approx(100 * np.mean((s < lo) | (s > hi))) for d, s in [("a", big), ("b", small)]}
    assert np.percentile(np.concatenate([big, small]), 99.5) < np.percentile(small, 99)  # what a pooled rule lost
    # a set far out does not squash the others: the range stops ten ID spans beyond the ID scores
    far = rng.normal(-1e4, 10, 500)
    lo, hi, outside = plots.histogram_range({"a": big, "far": far}, id_dataset="a")
    span = np.subtract(*np.percentile(big, [99, 1]))
    assert lo == pytest.approx(np.percentile(big, 1) - 10 * span) and outside["far"] == 100.0


def test_score_histograms_switch_to_a_labelled_log_axis_under_an_id_spike():
    rng = np.random.default_rng(0)
    spike = {"cifar10": np.r_[np.ones(900), rng.uniform(0.5, 1, 100)], "textures": rng.uniform(0.2, 1, 1000)}
    spread = {"cifar10": rng.normal(1, 1, 1000), "textures": rng.normal(0, 1, 1000)}
    for scores, log in [(spike, True), (spread, False)]:
        fig, ax = plt.subplots()
        plots.score_histograms(ax, "cifar10", scores, xlabel="s")
        assert (ax.get_yscale() == "log") is log and ("log" in ax.get_ylabel()) is log
        plt.close(fig)


def test_show_puts_a_captioned_figure_with_alt_text_on_the_page(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0, 1])
    plots.show(fig, caption="A line <from> 0 to 1.", alt='A rising "line".')
    (bundle,) = shown
    page = bundle["text/html"]
    assert re.search(r'<img src="data:image/png;base64,[^"]+" width="(\d+)"', page)
    width = int(re.search(r'width="(\d+)"', page).group(1))
    assert 500 <= width <= 6 * plots.DPI  # shown at DPI px per inch (the tight box trims the margins)
    assert 'alt="A rising &quot;line&quot;."' in page and "<figcaption>A line &lt;from&gt; 0 to 1.</figcaption>" in page
    assert not plt.get_fignums(), "show closes the figure, so the inline backend cannot draw it a second time"
    with pytest.raises(ValueError, match="caption and alt"):
        plots.show(plt.figure(), caption="", alt="x")
    with pytest.raises(ValueError, match="in wide"):
        plots.show(plt.figure(figsize=(12, 3)), caption="c", alt="a")
    plt.close("all")


def _keyword_literals(tree: ast.AST, names: set[str]):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in names:
                    yield node, kw


def _string_constants(node: ast.AST) -> list[str]:
    """The colour literals of a keyword's value: a string, or strings listed in a list, tuple, set or dict."""
    items = [node]
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = node.elts
    elif isinstance(node, ast.Dict):
        items = node.values
    return [n.value for n in items if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_every_colour_in_the_figure_code_comes_from_the_style_map():
    """No chapter, page or lecture helper writes a colour of its own: datasets take theirs from
    ``plots.DATASET_STYLES``, other series from ``plots.SERIES_COLORS`` (colormaps of heatmaps are not colours of a
    series and stay free)."""
    found = []
    for path in FIGURE_CODE:
        tree = ast.parse(path.read_text())
        for node, kw in _keyword_literals(tree, COLOUR_KEYWORDS):
            if _string_constants(kw.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {kw.arg}={ast.unparse(kw.value)}")
        for node in ast.walk(tree):
            text = ast.unparse(node) if isinstance(node, ast.Call) else ""
            if path.name != "plots.py" and re.match(r"(plt\.cm\.\w+|sns\.color_palette)\(", text):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {text[:60]}")
    assert not found, "colours written outside the style map:\n" + "\n".join(found)


def test_every_figure_is_shown_with_a_caption_and_no_text_is_smaller_than_the_minimum():
    found = []
    for path in FIGURE_CODE:
        source = path.read_text()
        tree = ast.parse(source)
        if "plt.show()" in source:
            found.append(f"{path.relative_to(ROOT)}: plt.show() (use plots.show with a caption and alt text)")
        for node, kw in _keyword_literals(tree, SIZE_KEYWORDS):
            if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, int | float) \
                    and kw.value.value < plots.MIN_FONT_PT:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {kw.arg}={kw.value.value}")
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "figsize" and isinstance(node.value, ast.Tuple):
                width = node.value.elts[0]
                if isinstance(width, ast.Constant) and width.value > plots.MAX_WIDTH_IN:
                    found.append(f"{path.relative_to(ROOT)}: figsize width {width.value} in")
    assert not found, "\n".join(found)


def test_labelled_scatter_keeps_labels_apart_merges_coincident_points_and_widens_a_tiny_span():
    fig, ax = plt.subplots()
    x, y = [94.6, 94.6, 94.6, 94.5, 94.6], [90.0, 90.1, 90.2, 93.0, 90.0]
    plots.labelled_scatter(ax, x, y, ["a", "b", "c", "d", "e"], min_xspan=4, gap=0.06)
    texts = {t.get_text(): t.xyann[1] for t in ax.texts}  # label positions, axes fraction
    assert set(texts) == {"a = e", "b", "c", "d"}  # a and e lie on the same point: one label
    placed = sorted(texts.values())
    assert all(b - a >= 0.06 - 1e-9 for a, b in zip(placed, placed[1:], strict=False))
    assert np.diff(ax.get_xlim())[0] == pytest.approx(4)
    plt.close(fig)


def test_spread_apart_moves_labels_symmetrically_and_keeps_them_inside():
    placed = plots.spread_apart([0.5, 0.5, 0.5], 0.1)
    assert placed == pytest.approx([0.4, 0.5, 0.6])
    placed = plots.spread_apart([0.0, 0.01, 0.99, 1.0], 0.1)
    assert placed[0] >= 0.02 - 1e-9 and placed[-1] <= 0.98 + 1e-9
    assert all(b - a >= 0.1 - 1e-6 for a, b in zip(placed, placed[1:], strict=False))


def test_short_labels_keep_the_substitute_mark_and_drop_what_it_stands_in_for():
    assert plots.short_label("gtsrb") == f"{DATASETS['gtsrb'].title} (substitute)"
    assert plots.short_label("textures") == DATASETS["textures"].title
    assert plots.short_label("my_own_set") == "my_own_set"
