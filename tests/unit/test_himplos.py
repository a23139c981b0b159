"""HIMPLoS kernels: a hand-computed example, the ablation switches as invariants, Eq. 12's identity."""

import math

import numpy as np
import pytest
import torch

from ood_nb_utils import scorers
from ood_nb_utils.data import CIFAR_MEAN, CIFAR_STD, ImageSet
from ood_nb_utils.detectors import HIMPLoS, HimplosODIN, ReactODIN, create
from ood_nb_utils.extraction.features import Features
from ood_nb_utils.models import DenseNet3, Head, ModelAdapter

W = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
B = torch.tensor([0.5, -0.5])


def test_class_masks_keep_each_class_top_k_weights():
    # L = 3, p = 33.4 -> k = 3 - round(1.002) = 2
    masks = scorers.class_masks(W, percentile=33.4)
    assert masks.tolist() == [[True, False, True], [False, True, True]]
    assert scorers.class_masks(W, percentile=0).all()


def test_himplos_by_hand():
    h = torch.tensor([[1.0, 0.2, 2.0]])  # logits W h + b = (3 + .2 + 4 + .5, 0 + 1 + 8 - .5) = (7.7, 8.5) -> class 1
    protos = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    # mask of class 1 (k = 2): features 1 and 2 -> (0, 0.2, 2.0); clip at 1.6 -> (0, 0.2, 1.6)
    f_m = torch.tensor([0 + 0.2 + 3.2 + 0.5, 0 + 1.0 + 6.4 - 0.5])
    s = (0.2 + 2.0) / (math.sqrt(1 + 0.04 + 4) * math.sqrt(2))
    got = scorers.himplos_logits(h, W, B, protos, percentile=33.4, threshold=1.6)
    assert torch.allclose(got, s * f_m.unsqueeze(0), atol=1e-5)
    assert scorers.himplos(h, W, B, protos, percentile=33.4, threshold=1.6).item() == pytest.approx(
        float(torch.logsumexp(s * f_m, 0)), abs=1e-5)


def _random(n=40, seed=0):
    gen = torch.Generator().manual_seed(seed)
    h = torch.rand(n, 12, generator=gen) * 3
    w, b = torch.randn(4, 12, generator=gen), torch.randn(4, generator=gen)
    protos = scorers.class_means(h, np.arange(n) % 4)
    return h, w, b, protos


def test_switches_reduce_to_energy_and_react():
    h, w, b, protos = _random()
    off = dict(mask=False, clip=False, smooth=False)
    assert torch.allclose(scorers.himplos(h, w, b, None, **off), scorers.energy(scorers.linear_head(h, w, b)))
    assert torch.allclose(scorers.himplos(h, w, b, None, mask=False, smooth=False, threshold=1.0),
                          scorers.react(h, w, b, threshold=1.0))
    # masking at percentile 0 keeps everything; an infinite threshold clips nothing
    assert torch.allclose(scorers.himplos(h, w, b, protos, percentile=0, threshold=float("inf")),
                          scorers.energy(scorers.smooth_logits(scorers.linear_head(h, w, b), h, protos)))


def test_logit_enhancing_shifts_the_energy_by_alpha_times_cosine():
    h, w, b, protos = _random(seed=1)
    base = scorers.himplos(h, w, b, protos, smooth=False)
    pred = scorers.linear_head(h, w, b).argmax(1)
    s = scorers.prototype_cosine(h, protos, pred)
    got = scorers.himplos(h, w, b, protos, smooth=False, enhance_alpha=20.0)
    assert torch.allclose(got, base + 20.0 * s, atol=1e-4)
    with pytest.raises(ValueError, match="not both"):
        scorers.himplos(h, w, b, protos, enhance_alpha=1.0)
    with pytest.raises(ValueError, match="prototypes"):
        scorers.himplos(h, w, b, None)


def test_smoothing_is_identity_for_a_feature_on_its_prototype():
    h, w, b, protos = _random(seed=2)
    pred = scorers.linear_head(protos, w, b).argmax(1)
    s = scorers.prototype_cosine(protos, protos, pred)
    same = pred == torch.arange(4)
    assert torch.allclose(s[same], torch.ones(int(same.sum())), atol=1e-6)


def test_himplos_detector_and_its_accuracy_logits():
    h, w, b, _ = _random(n=60, seed=3)
    labels = scorers.linear_head(h, w, b).argmax(1).numpy()
    feats = Features("toy", "toy", {"penultimate": h.numpy(), "logits": scorers.linear_head(h, w, b).numpy(),
                                    "labels": labels, "indices": np.arange(60)})
    head = Head(w, b)
    det = create("himplos").fit(feats, head)
    assert torch.allclose(det.prototypes_, scorers.class_means(h, labels, num_classes=4))
    assert np.allclose(det.score(feats), scorers.himplos(h, w, b, det.prototypes_).numpy(), atol=1e-5)
    # the ablation switches are hyperparameters: all off is Energy
    off = det.with_params(mask=False, clip=False, smooth=False)
    assert off.is_fitted and np.allclose(off.score(feats), scorers.energy(feats.logits).numpy(), atol=1e-5)
    # masking keeps the predicted class's strongest weights, so it rarely changes the prediction
    assert 0.5 <= det.accuracy(feats) <= 1.0
    assert isinstance(det, HIMPLoS)


def test_odin_through_react_with_infinite_threshold_is_plain_odin():
    net = DenseNet3(depth=10, num_classes=3).eval()
    adapter = ModelAdapter(net, head=net.fc, runner=net.forward_taps, spatial_taps=("final",), mean=CIFAR_MEAN,
                           std=CIFAR_STD, name="tiny", source={"kind": "test"})
    rng = np.random.default_rng(0)
    images = ImageSet.from_array(rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
    train = Features("tiny", "t", {"penultimate": rng.random((6, net.feature_dim)).astype(np.float32),
                                   "labels": np.arange(6) % 3})
    head = adapter.head
    plain = create("odin").fit(None, head, adapter=adapter).compute(images.images, progress=False)
    react = ReactODIN(threshold=float("inf")).fit(None, head, adapter=adapter).compute(images.images, progress=False)
    assert np.allclose(plain, react, atol=1e-6)
    him = HimplosODIN().fit(train, head, adapter=adapter)
    him.head_logits = lambda h: scorers.himplos_logits(h, head.weight, head.bias, him.prototypes_, mask=False,
                                                       clip=False, smooth=False)
    assert np.allclose(plain, him.compute(images.images, progress=False), atol=1e-6)
