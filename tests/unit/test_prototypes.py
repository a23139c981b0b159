"""Prototype kernels (Prototype Fusion, HIMPLoS' prototypes): hand values, invariants, sklearn reference."""

import numpy as np
import pytest
import torch
from sklearn.metrics.pairwise import cosine_similarity

from ood_nb_utils import scorers
from ood_nb_utils.data import per_class_fraction
from ood_nb_utils.detectors import PrototypeFusion
from ood_nb_utils.extraction.features import Features
from ood_nb_utils.models import Head


def test_class_means_by_hand():
    x = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    assert torch.allclose(scorers.class_means(x, [0, 0, 1]), torch.tensor([[2.0, 0.0], [0.0, 4.0]]))
    # normalised first: (1,0) and (1,0) -> (1,0); (0,1)
    assert torch.allclose(scorers.class_means(x, [0, 0, 1], normalize=True), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))


def test_class_means_rejects_an_empty_class_and_bad_labels():
    x = torch.ones(3, 2)
    with pytest.raises(ValueError, match=r"classes \[1\] have no calibration samples"):
        scorers.class_means(x, [0, 0, 2])
    with pytest.raises(ValueError, match="one entry per feature row"):
        scorers.class_means(x, [0, 1])
    with pytest.raises(ValueError, match="num_classes"):
        scorers.class_means(x, [0, 1, 3], num_classes=2)
    with pytest.raises(ValueError, match="NaN"):
        scorers.class_means(torch.tensor([[float("nan"), 1.0]]), [0])


def test_fit_prototypes_are_unit_normalised_means_of_normalised_features():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(40, 5, generator=gen)
    y = np.arange(40) % 4
    protos = scorers.fit_prototypes({"a": x}, y)["a"]
    assert torch.allclose(protos.norm(dim=1), torch.ones(4), atol=1e-6)
    xn = x / x.norm(dim=1, keepdim=True)
    ref = xn[torch.as_tensor(y == 2)].mean(0)
    assert torch.allclose(protos[2], ref / ref.norm(), atol=1e-6)


def test_cosine_matrix_agrees_with_sklearn():
    gen = torch.Generator().manual_seed(1)
    x, p = torch.randn(30, 7, generator=gen), torch.randn(5, 7, generator=gen)
    assert np.allclose(scorers.cosine_matrix(x, p).numpy(), cosine_similarity(x.numpy(), p.numpy()), atol=1e-6)


def _toy():
    gen = torch.Generator().manual_seed(2)
    layers = {"a": torch.rand(60, 6, generator=gen), "b": torch.rand(60, 4, generator=gen)}
    labels = np.arange(60) % 3
    return layers, labels, scorers.fit_prototypes(layers, labels)


def test_fusion_is_the_weighted_mean_of_per_layer_maximum_cosine():
    layers, _, protos = _toy()
    max_a = torch.from_numpy(cosine_similarity(layers["a"].numpy(), protos["a"].numpy()).max(1)).float()
    max_b = torch.from_numpy(cosine_similarity(layers["b"].numpy(), protos["b"].numpy()).max(1)).float()
    assert torch.allclose(scorers.prototype_fusion(layers, protos), (max_a + max_b) / 2, atol=1e-6)
    assert torch.allclose(scorers.prototype_fusion(layers, protos, weights=[3, 1]), 0.75 * max_a + 0.25 * max_b,
                          atol=1e-6)
    # weights are normalised: (2, 2) is uniform; a mapping is the same as a sequence in layer order
    assert torch.allclose(scorers.prototype_fusion(layers, protos, weights=[2, 2]),
                          scorers.prototype_fusion(layers, protos), atol=1e-6)
    assert torch.allclose(scorers.prototype_fusion(layers, protos, weights={"b": 1, "a": 3}),
                          scorers.prototype_fusion(layers, protos, weights=[3, 1]), atol=1e-6)
    # one layer with all the weight is that layer's maximum cosine
    assert torch.allclose(scorers.prototype_fusion(layers, protos, weights=[0, 1]), max_b, atol=1e-6)


def test_fusion_invariants():
    layers, _, protos = _toy()
    base = scorers.prototype_fusion(layers, protos)
    # cosine ignores each sample's scale, so scaling a feature vector by a positive number changes nothing
    scaled = {k: v * torch.linspace(0.1, 10, len(v)).unsqueeze(1) for k, v in layers.items()}
    assert torch.allclose(scorers.prototype_fusion(scaled, protos), base, atol=1e-5)
    # a sample that equals a prototype in every layer has affinity 1, the maximum
    exact = {k: p[:1].clone() for k, p in protos.items()}
    assert scorers.prototype_fusion(exact, protos).item() == pytest.approx(1.0, abs=1e-6)
    assert (base <= 1 + 1e-6).all()


def test_fusion_input_errors():
    layers, _, protos = _toy()
    with pytest.raises(ValueError, match="2 layers"):
        scorers.prototype_fusion(layers, protos, weights=[1, 1, 1])
    with pytest.raises(ValueError, match=">= 0"):
        scorers.prototype_fusion(layers, protos, weights=[1, -1])
    with pytest.raises(KeyError, match="no prototypes for layer"):
        scorers.prototype_fusion({"c": layers["a"]}, protos)
    with pytest.raises(ValueError, match="columns"):
        scorers.prototype_fusion({"a": layers["b"]}, protos)


def test_per_class_fraction_keeps_every_class():
    labels = np.repeat(np.arange(5), 20)
    idx = per_class_fraction(labels, 0.01, seed=0)
    assert sorted(np.unique(labels[idx]).tolist()) == list(range(5)) and len(idx) == 5  # ceil(0.2) = 1 each
    idx = per_class_fraction(labels, 0.25, seed=3)
    assert np.bincount(labels[idx]).tolist() == [5] * 5
    assert not np.array_equal(idx, per_class_fraction(labels, 0.25, seed=4))
    assert np.array_equal(per_class_fraction(labels, 1.0, seed=0), np.arange(100))


def test_prototype_fusion_detector_matches_the_kernel():
    gen = torch.Generator().manual_seed(5)
    arrays = {"labels": np.arange(50) % 5, "indices": np.arange(50)}
    for tap, dim in [("block2", 6), ("block3", 4), ("final", 4)]:
        arrays[f"{tap}.mean"] = torch.rand(50, dim, generator=gen).numpy()
    arrays["penultimate"] = arrays["final.mean"]
    feats = Features("toy", "toy", arrays)
    head = Head(torch.zeros(5, 4), torch.zeros(5))
    ours = PrototypeFusion().fit(feats, head).score(feats)
    layers = {t: feats[f"{t}.mean"] for t in ("block2", "block3", "final")}
    ref = scorers.prototype_fusion(layers, scorers.fit_prototypes(layers, feats.labels))
    assert np.allclose(ours, ref.numpy(), atol=1e-6)
    single = PrototypeFusion(layers=("penultimate",)).fit(feats, head).score(feats)
    assert np.allclose(single, scorers.prototype_fusion({"p": layers["final"]},
                                                        scorers.fit_prototypes({"p": layers["final"]},
                                                                               feats.labels)).numpy(), atol=1e-6)


def test_per_class_fraction_rounds_up():
    labels = np.repeat(np.arange(4), 50)
    assert np.bincount(labels[per_class_fraction(labels, 0.05, seed=0)]).tolist() == [3] * 4  # ceil(2.5)
    with pytest.raises(ValueError, match="fraction"):
        per_class_fraction(labels, 0.0, seed=0)


def test_layer_sweep_with_memoised_taps_equals_fitting_every_subset_afresh():
    """Chapter 4's sweep fits 127 subsets of seven taps on the same bundles: each tap's prototypes (per train
    bundle) and maxima (per scored bundle and prototypes) are computed once. Fitting and scoring every subset on
    fresh bundles, with nothing memoised, gives the same numbers, bit for bit."""
    from types import SimpleNamespace

    from ood_nb_utils.detectors.prototype_fusion import layer_subsets
    from ood_nb_utils.evaluation import group_metrics, near_far
    from ood_nb_utils.lectures.claims import prototype_fusion as pf_claims
    from ood_nb_utils.models import SPATIAL_TAPS

    def features(seed: int, n: int) -> Features:
        g = torch.Generator().manual_seed(seed)
        arrays = {f"{t}.mean": torch.rand(n, 3 + i, generator=g).numpy() for i, t in enumerate(SPATIAL_TAPS)}
        return Features("toy", "toy", {**arrays, "labels": np.arange(n) % 5, "indices": np.arange(n)})

    shapes = {"cifar10": (1, 60), "cifar100": (2, 30), "tin": (3, 25), "mnist": (4, 20)}
    sets = {d: features(*a) for d, a in shapes.items()}
    head = Head(torch.zeros(5, 4), torch.zeros(5))
    ctx = SimpleNamespace(train=features(0, 80), head=head, features=sets.__getitem__)
    subsets = layer_subsets()[::8] + layer_subsets()[-1:]  # from one tap to every tap, in tap order
    search = SimpleNamespace(trace=[({"layers": s}, i / len(subsets)) for i, s in enumerate(subsets)])
    sweep = pf_claims.layer_sweep({"cifar10": search}, {"cifar10": ctx}, {"cifar10": ["cifar100", "tin", "mnist"]})
    assert len(sweep) == len(subsets) and {len(s) for s in subsets} == set(range(1, len(SPATIAL_TAPS) + 1))
    assert len(ctx.train._derived) == len(SPATIAL_TAPS)  # one prototype set per tap, however many subsets
    groups = near_far("cifar10", ["cifar100", "tin", "mnist"])
    for row, s in zip(sweep.itertuples(index=False), subsets, strict=True):
        det = PrototypeFusion(layers=s).fit(features(0, 80), head)
        direct = group_metrics({d: det.score(features(*a)) for d, a in shapes.items()}, "cifar10", groups)
        assert row.layers == "+".join(s)
        assert (row[4], row[5], row[6], row[7]) == (direct["near"]["auroc"], direct["near"]["fpr95_ood_positive"],
                                                    direct["far"]["auroc"], direct["far"]["fpr95_ood_positive"])
    # a bundle that holds memoised maxima for one train set's prototypes scores another's afresh (the key is the
    # prototypes' digest): the calibration-size sweep refits on subsets and scores the same test bundles
    other = PrototypeFusion(layers=SPATIAL_TAPS).fit(features(5, 80), head)
    fresh = PrototypeFusion(layers=SPATIAL_TAPS).fit(features(5, 80), head).score(features(1, 60))
    assert np.array_equal(other.score(sets["cifar10"]), fresh)
    assert not np.array_equal(fresh, PrototypeFusion(layers=SPATIAL_TAPS).fit(ctx.train, head).score(sets["cifar10"]))
