"""The seaborn-based figure helpers draw exactly the numbers they are given, where the caller expects them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ood_nb_utils.lectures import plots  # noqa: E402


def test_annotated_heatmap_keeps_row_zero_at_the_bottom_and_marks_the_highlighted_cells():
    plots.use_book_style()
    values = np.array([[1.0, 2.0], [3.0, np.nan]])
    fig, ax = plt.subplots()
    plots.annotated_heatmap(ax, values, xticks=["a", "b"], yticks=["r0", "r1"], highlight=lambda r, c: r == c)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    positions = [t.get_position()[1] for t in ax.get_yticklabels()]
    assert labels[int(np.argmax(positions))] == "r0"  # seaborn's y axis grows downwards: largest y is the bottom
    texts = {t.get_text(): t.get_color() for t in ax.texts}
    assert set(texts) == {"1.0", "2.0", "3.0"}  # the NaN cell stays blank
    assert texts["1.0"] == "red" and texts["2.0"] != "red" and texts["3.0"] != "red"
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
