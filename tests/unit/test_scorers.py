import math

import numpy as np
import pytest
import torch

from ood_nb_utils import scorers


@pytest.fixture
def head():
    g = torch.Generator().manual_seed(0)
    return torch.randn(5, 12, generator=g), torch.randn(5, generator=g)


@pytest.fixture
def feats():
    g = torch.Generator().manual_seed(1)
    return torch.relu(torch.randn(40, 12, generator=g)) * 2.0


def test_logit_scores_by_hand():
    logits = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    assert torch.allclose(scorers.max_logit(logits), torch.tensor([3.0, 0.0]))
    assert torch.allclose(scorers.energy(logits), torch.tensor([math.log(math.e + math.e**2 + math.e**3), math.log(3)]))
    p = math.e**3 / (math.e + math.e**2 + math.e**3)
    assert torch.allclose(scorers.msp(logits), torch.tensor([p, 1 / 3]))
    # energy at temperature T = T * logsumexp(f / T)
    assert torch.allclose(scorers.energy(logits, temperature=2.0), 2 * torch.logsumexp(logits / 2, 1))


def test_msp_invariant_to_logit_shift_energy_shifts_by_constant():
    logits = torch.randn(30, 10)
    assert torch.allclose(scorers.msp(logits), scorers.msp(logits + 7.5))
    assert torch.allclose(scorers.energy(logits + 7.5), scorers.energy(logits) + 7.5, atol=1e-5)


def test_react_with_infinite_threshold_is_energy(feats, head):
    w, b = head
    plain = scorers.energy(scorers.linear_head(feats, w, b))
    assert torch.allclose(scorers.react(feats, w, b, threshold=math.inf), plain)


def test_react_clips_by_hand():
    h = torch.tensor([[0.5, 3.0]])
    w, b = torch.tensor([[1.0, 1.0], [1.0, -1.0]]), torch.tensor([0.0, 0.0])
    # clipped h = [0.5, 1.0] -> logits [1.5, -0.5]
    expected = torch.logsumexp(torch.tensor([[1.5, -0.5]]), 1)
    assert torch.allclose(scorers.react(h, w, b, threshold=1.0), expected)


def test_fit_react_is_the_percentile_of_all_activations():
    x = torch.arange(1, 101, dtype=torch.float32).reshape(10, 10)
    assert scorers.fit_react(x, percentile=90) == pytest.approx(np.quantile(np.arange(1, 101), 0.9))


def test_bfact_gain_is_a_butterworth_response(head):
    w, b = head
    eye, zero = torch.eye(3), torch.zeros(3)
    h = torch.tensor([[0.01, 1.0, 3.0]])
    for n in (1, 2, 4):
        shaped = torch.logsumexp(h / torch.sqrt(1 + h ** (2 * n)), 1)
        assert torch.allclose(scorers.bfact(h, eye, zero, threshold=1.0, order=n), shaped)
    # far below the cut-off activations pass; at the cut-off they are damped by 1/sqrt(2)
    x = torch.tensor([[0.01, 2.0]])
    got = scorers.bfact(x, torch.tensor([[1.0, 0.0]]), None, threshold=2.0, order=3)
    assert torch.allclose(got, torch.tensor([0.01]), atol=1e-6)
    got = scorers.bfact(x, torch.tensor([[0.0, 1.0]]), None, threshold=2.0, order=3)
    assert torch.allclose(got, torch.tensor([2.0 / 2**0.5]))
    # an infinite cut-off is plain Energy
    f = torch.relu(torch.randn(7, 12))
    assert torch.allclose(scorers.bfact(f, w, b, threshold=math.inf), scorers.energy(scorers.linear_head(f, w, b)))


def test_bfact_order_one_saturates_below_threshold():
    x = torch.linspace(0, 50, 200).unsqueeze(1)
    out = torch.stack([scorers.bfact(x[i:i + 1], torch.ones(1, 1), None, threshold=2.0, order=1) for i in range(200)])
    assert (out <= 2.0).all() and (out[1:] >= out[:-1]).all()


def test_kept_count_and_top_k_mask():
    assert scorers.kept_count(10, 90).item() == 1
    assert scorers.kept_count(342, 90).item() == 342 - 308
    assert scorers.kept_count(10, 0).item() == 10
    x = torch.tensor([[3.0, 1.0, 2.0, 0.0], [0.0, 5.0, 4.0, 6.0]])
    mask = scorers.top_k_mask(x, 50.0)
    assert mask.tolist() == [[True, False, True, False], [False, True, False, True]]
    per_row = scorers.top_k_mask(x, torch.tensor([25.0, 75.0]))
    assert per_row.sum(1).tolist() == [3, 1]


def test_scaling_factor_by_hand_and_monotone(feats):
    x = torch.tensor([[4.0, 3.0, 2.0, 1.0]])
    assert scorers.scaling_factor(x, 50.0).item() == pytest.approx(10 / 7)
    assert scorers.scaling_factor(x, 75.0).item() == pytest.approx(10 / 4)
    # r = 1 when every activation is kept, and never decreases as p rises
    assert torch.allclose(scorers.scaling_factor(feats, 0.0), torch.ones(len(feats)))
    rs = torch.stack([scorers.scaling_factor(feats, p) for p in np.linspace(0, 99, 25)])
    assert (rs[1:] >= rs[:-1] - 1e-6).all()


def test_ash_variants_by_hand():
    h = torch.tensor([[4.0, 3.0, 2.0, 1.0]])
    w, b = torch.eye(4), torch.zeros(4)
    # p = 50 keeps [4, 3]; sum(h) = 10, sum(kept) = 7
    assert torch.allclose(scorers.ash_p(h, w, b, percentile=50),
                          torch.logsumexp(torch.tensor([[4.0, 3.0, 0.0, 0.0]]), 1))
    assert torch.allclose(scorers.ash_b(h, w, b, percentile=50),
                          torch.logsumexp(torch.tensor([[5.0, 5.0, 0.0, 0.0]]), 1))
    s = math.exp(10 / 7)
    assert torch.allclose(scorers.ash_s(h, w, b, percentile=50),
                          torch.logsumexp(torch.tensor([[4 * s, 3 * s, 0.0, 0.0]]), 1))
    assert torch.allclose(scorers.scale(h, w, b, percentile=50),
                          torch.logsumexp(h * s, 1))


def test_lts_scales_logits_by_r_squared(feats, head):
    w, b = head
    logits = scorers.linear_head(feats, w, b)
    assert torch.allclose(scorers.lts(feats, logits, percentile=0.0), scorers.energy(logits))
    r = scorers.scaling_factor(feats, 60.0)
    assert torch.allclose(scorers.lts(feats, logits, percentile=60.0), scorers.energy(logits * r[:, None] ** 2))


def test_dice_keeps_top_contributions(feats, head):
    w, _ = head
    masked = scorers.fit_dice(feats, w, sparsity=90)
    kept = (masked != 0).float().mean().item()
    assert kept == pytest.approx(0.1, abs=1 / w.numel() + 1e-9)
    contrib = w * feats.mean(0, keepdim=True)
    assert contrib[masked != 0].min() > contrib[masked == 0].max()
    # sparsity 0 keeps everything but the smallest contribution
    assert (scorers.fit_dice(feats, w, sparsity=0) != 0).sum() == w.numel() - 1


def test_mahalanobis_matches_numpy_reference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)) + np.repeat(np.eye(3, 6) * 4, 100, axis=0)
    y = np.repeat(np.arange(3), 100)
    fit = scorers.fit_mahalanobis(torch.tensor(x, dtype=torch.float32), y)
    means = np.stack([x[y == c].mean(0) for c in range(3)])
    cov = sum(np.cov((x[y == c] - means[c]).T, bias=True) * 100 for c in range(3)) / 300
    prec = np.linalg.inv(cov)
    q = rng.normal(size=(20, 6))
    ref = -np.min([np.einsum("nd,de,ne->n", q - m, prec, q - m) for m in means], axis=0)
    got = scorers.mahalanobis(torch.tensor(q, dtype=torch.float32), fit).numpy()
    assert np.allclose(got, ref, rtol=1e-3, atol=1e-3)


def test_knn_matches_brute_force():
    g = torch.Generator().manual_seed(3)
    bank_raw, q = torch.randn(200, 8, generator=g), torch.randn(30, 8, generator=g)
    bank = scorers.fit_knn(bank_raw)
    got = scorers.knn(q, bank, k=7, chunk=8)
    qn = q / q.norm(dim=1, keepdim=True)
    d = torch.cdist(qn, bank)
    ref = -d.sort(dim=1).values[:, 6]
    assert torch.allclose(got, ref, atol=1e-5)
    with pytest.raises(ValueError, match="k must be"):
        scorers.knn(q, bank, k=201)


@pytest.mark.parametrize("bad,match", [
    (torch.tensor([[1.0, float("nan")]]), "NaN"),
    (torch.ones(3), "2-D"),
    (torch.ones(2, 2, dtype=torch.long), "floating-point"),
])
def test_inputs_are_validated(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        scorers.energy(bad)


def test_head_shape_mismatch_is_explained(feats):
    with pytest.raises(ValueError, match="columns"):
        scorers.react(feats, torch.ones(5, 7), torch.zeros(5), threshold=1.0)
    with pytest.raises(ValueError, match="percentile"):
        scorers.scale(feats, torch.ones(5, 12), torch.zeros(5), percentile=100)


def test_shaped_features_are_what_the_scorers_score(feats, head):
    w, b = head
    for shape, scorer, p in [(scorers.shape_ash_p, scorers.ash_p, 70.0), (scorers.shape_ash_b, scorers.ash_b, 70.0),
                             (scorers.shape_ash_s, scorers.ash_s, 70.0), (scorers.shape_scale, scorers.scale, 70.0)]:
        expected = scorers.energy(scorers.linear_head(shape(feats, p), w, b))
        assert torch.allclose(scorer(feats, w, b, percentile=p), expected)
    assert torch.allclose(scorers.bfact(feats, w, b, threshold=1.0, order=2),
                          scorers.energy(scorers.linear_head(scorers.shape_bfact(feats, 1.0, 2), w, b)))
