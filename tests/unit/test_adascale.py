"""AdaSCALE kernels: the perturbation on a linear model (gradient known), hand-computed Q/C_o, eCDF, limits."""

import numpy as np
import pytest
import torch
from torch import nn

from ood_nb_utils import scorers


class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(2 * 3 * 3, 4)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_trivial_region_moves_the_smallest_gradient_elements():
    net, x = Linear(), torch.randn(5, 2, 3, 3)
    out = scorers.perturb_inputs(net, x, fraction=0.25, epsilon=0.5, region="trivial")
    grad = net.fc.weight.detach()[net(x).argmax(1)]  # d logit_pred / dx for a linear model
    moved = (out - x).flatten(1)
    k = round(0.25 * 18)
    for i in range(5):
        changed = torch.nonzero(moved[i]).flatten()
        assert len(changed) == k
        assert set(changed.tolist()) == set(grad[i].abs().argsort()[:k].tolist())
        assert torch.allclose(moved[i][changed], 0.5 * torch.sign(grad[i][changed]))


def test_other_regions():
    net, x = Linear(), torch.randn(3, 2, 3, 3)
    grad = net.fc.weight.detach()[net(x).argmax(1)]
    every = scorers.perturb_inputs(net, x, epsilon=0.1, region="all")
    assert torch.allclose((every - x).flatten(1), 0.1 * torch.sign(grad))
    sig = (scorers.perturb_inputs(net, x, fraction=1 / 18, region="significant") - x).flatten(1)
    assert torch.equal(torch.nonzero(sig)[:, 1], grad.abs().argmax(1))
    a = scorers.perturb_inputs(net, x, region="random", generator=torch.Generator().manual_seed(1))
    b = scorers.perturb_inputs(net, x, region="random", generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="region"):
        scorers.perturb_inputs(net, x, region="edges")


def test_shift_statistics_by_hand():
    a = torch.tensor([[5.0, 1.0, 3.0, 0.0]])
    a_eps = torch.tensor([[4.0, 2.0, 3.5, -1.0]])
    # D = 4: k1 = 25% -> 1 (index 0), k2 = 50% -> 2 (indices 0, 2)
    st = scorers.shift_statistics(a, a_eps, k1_percent=25, k2_percent=50, lam=10)
    assert st["Q"].item() == pytest.approx(1.0)
    assert st["C_o"].item() == pytest.approx(4.0 + 3.5)
    assert st["Q_prime"].item() == pytest.approx(10 * 1.0 + 7.5)
    assert scorers.top_count(342, 1.0) == 3 and scorers.top_count(342, 5.0) == 17


def test_ecdf_and_adaptive_percentile():
    ref = torch.tensor([1.0, 2.0, 2.0, 5.0])
    vals = torch.tensor([0.0, 2.0, 4.0, 9.0])
    expect = np.array([(ref.numpy() <= v).mean() for v in vals.numpy()])
    assert np.allclose(scorers.ecdf(vals, ref).numpy(), expect)
    p = scorers.adaptive_percentile(vals, ref, p_min=60, p_max=90)
    assert p[0].item() == pytest.approx(90) and p[-1].item() == pytest.approx(60)
    assert (p[:-1] >= p[1:]).all()  # a larger OOD likelihood never gets a larger percentile
    with pytest.raises(ValueError, match="p_min"):
        scorers.adaptive_percentile(vals, ref, p_min=90, p_max=60)


def test_fixed_percentile_reduces_to_scale_and_lts():
    gen = torch.Generator().manual_seed(0)
    h = torch.rand(20, 30, generator=gen)
    w, b = torch.randn(5, 30, generator=gen), torch.randn(5, generator=gen)
    logits = scorers.linear_head(h, w, b)
    q = torch.rand(20, generator=gen)
    p = scorers.adaptive_percentile(q, torch.rand(50, generator=gen), p_min=80, p_max=80)  # the diagonal: SCALE
    assert torch.allclose(scorers.adascale_a(h, w, b, p), scorers.scale(h, w, b, percentile=80.0), atol=1e-5)
    assert torch.allclose(scorers.adascale_l(h, logits, p), scorers.lts(h, logits, percentile=80.0), atol=1e-5)


def test_a_search_computes_q_prime_once_per_bundle_and_k2_and_scores_as_a_fresh_detector(monkeypatch):
    """AdaSCALE's grid varies p_min and p_max at each k2: Q' of a bundle is computed once per (k1, k2, lambda)
    (``Features.derived``) and every setting scores exactly as a freshly built detector does."""
    from types import SimpleNamespace

    from ood_nb_utils.detectors import AdaScaleA
    from ood_nb_utils.detectors.base import Grid
    from ood_nb_utils.detectors.tuning import tune
    from ood_nb_utils.extraction import perturbation
    from ood_nb_utils.extraction.features import Features
    from ood_nb_utils.metrics import auroc
    from ood_nb_utils.models import Head

    def bundle(seed: int, n: int) -> Features:
        g = torch.Generator().manual_seed(seed)
        a = torch.rand(n, 40, generator=g)
        arrays = {"penultimate": a, "perturbed": a + 0.1 * torch.randn(n, 40, generator=g),
                  "logits": torch.randn(n, 5, generator=g)}
        return Features("toy", f"toy{seed}", {**{k: v.numpy() for k, v in arrays.items()},
                                             "labels": np.zeros(n, int), "indices": np.arange(n)})

    head = Head(torch.randn(5, 40, generator=torch.Generator().manual_seed(9)), torch.zeros(5))
    reference, val_id, val_ood = bundle(1, 50), bundle(2, 30), bundle(3, 30)
    calls = []
    real = perturbation.cached_shift_statistics
    monkeypatch.setattr("ood_nb_utils.detectors.adascale.cached_shift_statistics",
                        lambda a, **kw: calls.append((a.dataset, kw["k2"])) or real(a, **kw))
    det = AdaScaleA(p_min=50.0, p_max=90.0, k2=5.0).fit_reference(reference, head, adapter=SimpleNamespace())
    space = {"p_min": Grid((10.0, 50.0)), "p_max": Grid((60.0, 90.0)), "k2": Grid((5.0, 10.0))}
    result = tune(det, space, (val_id, val_ood), constraint=AdaScaleA.constraint)
    assert len(result.trace) == 8 and sorted(set(calls)) == [(d, k) for d in ("toy1", "toy2", "toy3")
                                                             for k in (5.0, 10.0)]
    assert len(calls) == 6  # three bundles, two values of k2
    for setting, value in result.trace:
        fresh = AdaScaleA(**setting).fit_reference(bundle(1, 50), head, adapter=SimpleNamespace())
        assert value == auroc(fresh.score(bundle(2, 30)), fresh.score(bundle(3, 30)))
