import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from ood_nb_utils import metrics


def sklearn_fpr(pos, neg, recall=0.95):
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    fpr, tpr, _ = roc_curve(y, np.r_[pos, neg])
    return fpr[np.argmax(tpr >= recall)]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("tied", [False, True])
def test_agrees_with_sklearn(seed, tied):
    rng = np.random.default_rng(seed)
    id_s = rng.normal(1.0, 1.0, 500)
    ood_s = rng.normal(0.0, 1.5, 700)
    if tied:  # heavy ties, shared between the classes
        id_s, ood_s = np.round(id_s), np.round(ood_s)
    y = np.r_[np.ones(len(id_s)), np.zeros(len(ood_s))]
    s = np.r_[id_s, ood_s]
    assert metrics.auroc(id_s, ood_s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert metrics.fpr_at_95_tpr(id_s, ood_s, positive="id") == pytest.approx(sklearn_fpr(id_s, ood_s))
    assert metrics.fpr_at_95_tpr(id_s, ood_s, positive="ood") == pytest.approx(sklearn_fpr(-ood_s, -id_s))
    assert metrics.aupr_in(id_s, ood_s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert metrics.aupr_out(id_s, ood_s) == pytest.approx(average_precision_score(1 - y, -s), abs=1e-12)


def test_fpr_conventions_by_hand():
    # ID scores 1..20, OOD scores 0.5, 10.5, 15.5, 18.5 (no ties).
    id_s = np.arange(1, 21, dtype=float)
    ood_s = np.array([0.5, 10.5, 15.5, 18.5])
    # ID-positive: accept 95% of ID = 19 of 20 -> threshold 2; OOD >= 2: 10.5, 15.5, 18.5 -> 3/4.
    assert metrics.fpr_at_95_tpr(id_s, ood_s, positive="id") == 0.75
    # OOD-positive: flag 95% of OOD -> all 4 (3.8 rounds up) -> flag scores <= 18.5 -> 18 of 20 ID flagged.
    assert metrics.fpr_at_95_tpr(id_s, ood_s, positive="ood") == pytest.approx(18 / 20)
    # AUROC: pairs (id > ood): 20 + 10 + 5 + 2 = 37 of 80.
    assert metrics.auroc(id_s, ood_s) == pytest.approx(37 / 80)


def test_perfect_and_reversed_separation():
    id_s, ood_s = np.array([2.0, 3.0, 4.0]), np.array([0.0, 1.0])
    assert metrics.auroc(id_s, ood_s) == 1.0
    assert metrics.fpr_at_95_tpr(id_s, ood_s, positive="id") == 0.0
    assert metrics.fpr_at_95_tpr(id_s, ood_s, positive="ood") == 0.0
    assert metrics.auroc(ood_s, id_s) == 0.0
    assert metrics.fpr_at_95_tpr(ood_s, id_s, positive="id") == 1.0


def test_all_ties_give_chance():
    s = np.zeros(10)
    assert metrics.auroc(s, s) == 0.5
    assert metrics.fpr_at_95_tpr(s, s, positive="id") == 1.0


def test_convention_is_required_and_checked():
    with pytest.raises(TypeError):
        metrics.fpr_at_95_tpr([1.0], [0.0])  # no convention given
    with pytest.raises(ValueError, match="'id' or 'ood'"):
        metrics.fpr_at_95_tpr([1.0], [0.0], positive="in")


def test_rejects_nan_and_empty():
    with pytest.raises(ValueError, match="NaN"):
        metrics.auroc([1.0, np.nan], [0.0])
    with pytest.raises(ValueError, match="empty"):
        metrics.auroc([], [0.0])


def test_bootstrap_interval_brackets_estimate_and_paired_difference():
    rng = np.random.default_rng(0)
    id_s, ood_s = rng.normal(1, 1, 300), rng.normal(0, 1, 300)
    ci = metrics.bootstrap_interval(metrics.auroc, id_s, ood_s, n_boot=200)
    assert ci.low <= ci.estimate <= ci.high
    assert ci.estimate == pytest.approx(metrics.auroc(id_s, ood_s))
    assert 0.02 < ci.high - ci.low < 0.15
    same = metrics.bootstrap_interval(metrics.auroc, id_s, ood_s, n_boot=50, paired_with=(id_s, ood_s))
    assert same.low == same.high == same.estimate == 0.0


def test_auroc_per_column_matches_columnwise_auroc():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 4)), rng.normal(0.5, 1, size=(70, 4))
    a[:, 3] = np.round(a[:, 3])
    b[:, 3] = np.round(b[:, 3])  # ties
    expected = [metrics.auroc(a[:, j], b[:, j]) for j in range(4)]
    assert np.allclose(metrics.auroc_per_column(a, b), expected)


def test_mean_metrics_is_the_mean_of_per_set_metrics():
    rng = np.random.default_rng(3)
    id_s = rng.normal(1.0, 1.0, 200)
    sets = [rng.normal(0.0, 1.0, 150), rng.normal(-1.0, 2.0, 80)]
    got = metrics.mean_metrics(id_s, sets)
    for name in ("auroc", "fpr95_id_positive", "fpr95_ood_positive", "aupr_in", "aupr_out"):
        expect = np.mean([getattr(metrics.all_metrics(id_s, s), name) for s in sets])
        assert getattr(got, name) == pytest.approx(expect)
    # not the metric of the pooled OOD set
    assert got.auroc != pytest.approx(metrics.auroc(id_s, np.concatenate(sets)))
    with pytest.raises(ValueError, match="no OOD"):
        metrics.mean_metrics(id_s, [])


def test_roc_of_counts_gives_the_metrics_of_the_resampled_arrays():
    from ood_nb_utils.metrics import _area, _CountedRoc, _fpr_at_recall

    rng = np.random.default_rng(3)
    id_s = np.round(rng.normal(1, 1, 300), 1)  # rounded: many ties across and within the sets
    ood_s = np.round(rng.normal(0, 1, 200), 1)
    r = _CountedRoc(id_s, ood_s)
    for _ in range(5):
        i, o = rng.integers(0, 300, 300), rng.integers(0, 200, 200)
        tpr, fpr = r.curve(np.bincount(i, minlength=300), np.bincount(o, minlength=200))
        assert _area(tpr, fpr) == pytest.approx(metrics.auroc(id_s[i], ood_s[o]), abs=1e-12)
        assert _area(tpr, fpr) == pytest.approx(roc_auc_score(np.r_[np.ones(300), np.zeros(200)],
                                                              np.r_[id_s[i], ood_s[o]]))
        assert _fpr_at_recall(tpr, fpr) == metrics.fpr95_id_positive(id_s[i], ood_s[o])
        sk_fpr, sk_tpr, _ = roc_curve(np.r_[np.ones(300), np.zeros(200)], np.r_[id_s[i], ood_s[o]])
        assert _fpr_at_recall(tpr, fpr) == sk_fpr[np.argmax(sk_tpr >= 0.95)]


@pytest.mark.parametrize("metric", [metrics.auroc, metrics.fpr95_id_positive])
def test_bootstrap_from_counts_equals_the_bootstrap_of_resampled_arrays(metric):
    # the count path (auroc, fpr95_id_positive) against the same metric called on every resampled array
    rng = np.random.default_rng(5)
    id_a, ood_a = np.round(rng.normal(1, 1, 250), 1), np.round(rng.normal(0, 1, 180), 1)
    id_b, ood_b = id_a + np.round(rng.normal(0, 0.5, 250), 1), ood_a + np.round(rng.normal(0, 0.5, 180), 1)

    def resampled(i, o):  # not in the count path's table, so called on the arrays
        return metric(i, o)

    for paired in (None, (id_b, ood_b)):
        fast = metrics.bootstrap_interval(metric, id_a, ood_a, n_boot=150, seed=2, paired_with=paired)
        slow = metrics.bootstrap_interval(resampled, id_a, ood_a, n_boot=150, seed=2, paired_with=paired)
        assert (fast.estimate, fast.low, fast.high) == pytest.approx((slow.estimate, slow.low, slow.high), abs=1e-12)
        assert fast.low < fast.high


def test_bootstrap_mean_auroc_matches_bootstrap_interval_for_one_set_and_averages_several():
    rng = np.random.default_rng(4)
    id_s, a, b = rng.normal(1, 1, 400), rng.normal(0, 1, 300), rng.normal(2, 1, 250)
    one = metrics.bootstrap_mean_auroc(id_s, [a], n_boot=200, seed=7)
    ref = metrics.bootstrap_interval(metrics.auroc, id_s, a, n_boot=200, seed=7)
    assert (one.estimate, one.low, one.high) == pytest.approx((ref.estimate, ref.low, ref.high), abs=1e-12)
    two = metrics.bootstrap_mean_auroc(id_s, [a, b], n_boot=200, seed=7)
    assert two.estimate == pytest.approx((metrics.auroc(id_s, a) + metrics.auroc(id_s, b)) / 2)
    assert two.low < two.estimate < two.high
    separated = metrics.bootstrap_mean_auroc(np.arange(10.0) + 100, [np.arange(5.0)], n_boot=50)
    assert (separated.low, separated.high) == (1.0, 1.0)


def test_worked_example_of_the_conventions_page():
    # book/data_and_conventions.md works this example by hand: 50%, 40% and 91%.
    id_s = [0.95, 0.90, 0.85, 0.80, 0.75, 0.70, 0.60, 0.50, 0.40, 0.20]
    ood_s = [0.65, 0.45, 0.35, 0.30, 0.25, 0.15, 0.10, 0.10, 0.05, 0.00]
    assert metrics.fpr_at_95_tpr(id_s, ood_s, positive="id") == pytest.approx(0.5)
    assert metrics.fpr_at_95_tpr(id_s, ood_s, positive="ood") == pytest.approx(0.4)
    assert metrics.auroc(id_s, ood_s) == pytest.approx(0.91)


def test_fpr95_id_positive_is_the_id_positive_convention():
    rng = np.random.default_rng(4)
    id_s, ood_s = rng.normal(1, 1, 300), rng.normal(0, 1, 200)
    assert metrics.fpr95_id_positive(id_s, ood_s) == metrics.fpr_at_95_tpr(id_s, ood_s, positive="id")
    assert metrics.fpr95_id_positive(id_s, ood_s) != metrics.fpr_at_95_tpr(id_s, ood_s, positive="ood")
