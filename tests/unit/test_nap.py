import importlib
import math

import pytest
import torch

nap = importlib.import_module("ood_nb_utils.scorers.nap")  # the module (the package exports the function `nap`)


def test_nap_by_hand():
    # one image, two channels of a 2x2 map: [[4, 0], [0, 0]] and [[1, 1], [1, 1]]
    maps = torch.tensor([[[[4.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]]])
    # channel 1: max 4, mean 1 -> (4 / 2)^2 = 4; channel 2: max 1, mean 1 -> (1 / 2)^2 = 0.25
    assert nap.nap_from_maps(maps).item() == pytest.approx((4 + 0.25) / 2)
    assert nap.nap_from_maps(maps, eps=0.5).item() == pytest.approx(((4 / 1.5) ** 2 + (1 / 1.5) ** 2) / 2)


def test_nap_invariant_to_spatial_permutation_within_channels():
    g = torch.Generator().manual_seed(0)
    maps = torch.relu(torch.randn(5, 7, 4, 4, generator=g))
    flat = maps.flatten(2)
    shuffled = torch.stack([torch.stack([c[torch.randperm(16, generator=g)] for c in img]) for img in flat])
    assert torch.allclose(nap.nap_from_maps(maps), nap.nap_from_maps(shuffled.view_as(maps)))
    # ...but not to permuting values across channels
    mixed = flat.clone()
    mixed[:, 0, :8], mixed[:, 1, :8] = flat[:, 1, :8], flat[:, 0, :8]
    assert not torch.allclose(nap.nap_from_maps(maps), nap.nap_from_maps(mixed.view_as(maps)))


def test_peaked_channel_scores_higher_than_flat_with_same_mean():
    peaked = torch.zeros(1, 1, 8, 8)
    peaked[0, 0, 3, 3] = 64.0  # mean 1, max 64
    flat = torch.ones(1, 1, 8, 8)  # mean 1, max 1
    assert nap.nap_from_maps(peaked) > nap.nap_from_maps(flat)


def test_nap_from_cached_statistics_matches_maps():
    maps = torch.relu(torch.randn(3, 5, 8, 8))
    assert torch.allclose(nap.nap(maps.amax((2, 3)), maps.mean((2, 3))), nap.nap_from_maps(maps))


def test_nap_validates_inputs():
    with pytest.raises(ValueError, match="swapped"):
        nap.nap(torch.tensor([[1.0]]), torch.tensor([[2.0]]))
    with pytest.raises(ValueError, match="post-ReLU"):
        nap.nap(torch.tensor([[1.0]]), torch.tensor([[-0.5]]))
    assert nap.nap(torch.tensor([[1.0]]), torch.tensor([[-0.5]]), post_relu=False).item() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="eps"):
        nap.nap(torch.ones(1, 2), torch.ones(1, 2), eps=0.0)
    with pytest.raises(ValueError, match="N x C x H x W"):
        nap.nap_from_maps(torch.ones(2, 3))


def test_transformer_variant_is_max_attention():
    att = torch.softmax(torch.randn(4, 10), dim=1)
    assert torch.allclose(nap.nap_transformer(att), att.max(1).values)
    uniform = torch.full((1, 10), 0.1)
    assert nap.nap_transformer(uniform).item() == pytest.approx(0.1)


def test_combination_endpoints_and_log_form():
    base = torch.tensor([5.0, 8.0, 12.0])
    s = torch.tensor([2.0, 1.0, 3.0])
    sp = torch.nn.functional.softplus(base.double())
    assert torch.allclose(nap.nap_combine(base, s, w=1.0), torch.log(sp))
    assert torch.allclose(nap.nap_combine(base, s, w=0.0), torch.log(s.double()))
    expected = torch.log(sp ** 0.4 * s.double() ** 0.6)
    assert torch.allclose(nap.nap_combine(base, s, w=0.4), expected)
    # for positive energies softplus is the identity up to exp(-b): the paper's Eq. 4 is kept
    assert torch.allclose(nap.nap_combine(base, s, w=0.4), torch.log(base.double() ** 0.4 * s.double() ** 0.6),
                          atol=5e-3)


@pytest.mark.parametrize("base", [torch.tensor([-1e4, -50.0, 0.0, 1e-12, 3.0, 1e4]),
                                  torch.tensor([-2.0, -1.0, -0.5, -1e-9, 0.0, -1.9])])  # energies; KNN's -distance
@pytest.mark.parametrize("w", [0.0, 0.3, 0.8, 1.0])
def test_combination_never_returns_nan_or_inf(base, w):
    s = torch.tensor([0.0, 1e-30, 1.0, 5.0, 1e6, 2.0])
    out = nap.nap_combine(base, s, w=w)
    assert torch.isfinite(out).all()


def test_combination_preserves_order_of_base_when_nap_is_equal():
    base = torch.tensor([-3.0, -1.0, 0.0, 2.0, 10.0])
    out = nap.nap_combine(base, torch.ones(5), w=0.5)
    assert (out[1:] > out[:-1]).all()


def test_combination_validates():
    with pytest.raises(ValueError, match="w must be"):
        nap.nap_combine(torch.ones(2), torch.ones(2), w=1.5)
    with pytest.raises(ValueError, match="base > 0"):
        nap.nap_combine(torch.tensor([0.5, -0.1]), torch.ones(2), w=0.5, transform="identity")
    with pytest.raises(ValueError, match="NaN"):
        nap.nap_combine(torch.tensor([math.nan, 1.0]), torch.ones(2), w=0.5)


def test_suspect_paper_cells_need_a_tenfold_gap_that_the_other_column_explains():
    """NAP Tables 6-7: a Textures cell is flagged only when ours is >= 10x the paper's and closer to the same row's
    LSUN-Crop value (the DICE/NAP-D column-swap check); a large gap alone, or a small one, is not flagged."""
    import pandas as pd

    from ood_nb_utils.detectors.registry import create
    from ood_nb_utils.lectures.claims import nap as nap_claims
    from ood_nb_utils.lectures.paper_values import NAP_TABLES67_LSUN_CROP, NAP_TABLES67_TEXTURES

    ours = {m: t for m, (t, _) in NAP_TABLES67_TEXTURES["cifar10"].items()}  # ours = the paper's: nothing flagged
    ours["dice"] = NAP_TABLES67_LSUN_CROP["cifar10"]["dice"][0]  # 45.87 vs paper 0.38: the swap pattern
    ours["nap_m"] = 80.0  # 80 vs paper 7.33 (>10x) but 64 pts from its LSUN-Crop 16.42: not flagged
    table = pd.DataFrame({("Textures (DTD)", "FPR"): {create(m).title: v for m, v in ours.items()}})
    flagged = nap_claims.suspect_textures({"cifar10": table}).set_index("key")["suspect"]
    assert flagged["dice"] and not flagged["nap_m"] and flagged.sum() == 1
