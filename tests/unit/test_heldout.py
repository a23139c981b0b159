"""Held-out ID images reach the detectors that need them as a HeldOut, with no run context: subsets, pseudo-OOD
copies, the errors a detector gives without them, and AdaSCALE's named settings."""

from __future__ import annotations

import numpy as np
import pytest

from ood_nb_utils import HeldOut, ModelAdapter, detectors, extract
from ood_nb_utils.detectors.adascale import PAPER_SETTINGS

from . import nets


def tiny_adapter() -> ModelAdapter:
    return nets.tiny_adapter(nets.tiny_net(channels=16, classes=4), name="tiny-heldout")


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    adapter = tiny_adapter()
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(40) % 4
    train = extract(adapter, rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8), np.arange(48) % 4,
                    progress=False)
    return adapter, HeldOut(adapter, images, labels), train, images, labels


def test_subsets_are_seeded_stratified_and_all_when_asked_for_more(setup):
    adapter, heldout, _, images, labels = setup
    assert len(heldout) == 40 and len(heldout.images(None)) == 40 and len(heldout.images(1000)) == 40
    sub = heldout.images(12)
    assert len(sub) == 12 and np.bincount(sub.labels, minlength=4).tolist() == [3, 3, 3, 3]
    np.testing.assert_array_equal(sub.images, images[sub.indices])  # rows of the given images
    np.testing.assert_array_equal(heldout.images(12).indices, sub.indices)  # the same seed, the same subset
    other = HeldOut(adapter, images, labels, seed=1).images(12)
    assert not np.array_equal(other.indices, sub.indices)
    unlabelled = HeldOut(adapter, images).images(5)
    np.testing.assert_array_equal(unlabelled.indices, np.arange(5))  # no labels: the first n
    with pytest.raises(ValueError, match="at least one"):
        heldout.images(0)


def test_pseudo_ood_copies_are_corrupted_with_features_and_built_once(setup):
    _, heldout, _, _, _ = setup
    pseudo = heldout.pseudo_ood(8)
    assert len(pseudo.clean) == len(pseudo.corrupted) == 8 and len(pseudo.recipe) == 8
    assert not np.array_equal(pseudo.clean_images.images, pseudo.corrupted_images.images)
    assert pseudo.corrupted_images.transform["name"] == "corrupted"
    assert heldout.pseudo_ood(8) is pseudo
    assert pseudo.for_detector(detectors.Energy()) == pseudo.validation
    assert pseudo.for_detector(detectors.ODIN())[0] is pseudo.clean_images


def test_heldout_checks_its_arguments(setup):
    adapter, _, _, images, labels = setup
    with pytest.raises(TypeError, match="ModelAdapter"):
        HeldOut("not an adapter", images)
    with pytest.raises(ValueError, match="uint8 N x H x W x 3"):
        HeldOut(adapter, images.astype(np.float32))
    with pytest.raises(ValueError, match="labels for"):
        HeldOut(adapter, images, labels[:3])


def test_nap_x_searches_w_on_the_heldout_images_and_says_what_it_needs_without_them(setup):
    adapter, heldout, train, _, _ = setup
    nap_e = detectors.NapE(n_heldout=16).fit(train, adapter.head, heldout)
    assert 0.0 <= nap_e.w_ <= 1.0 and nap_e.fit_info_.sizes["heldout (w search)"] == 16
    with pytest.raises(ValueError, match=r"HeldOut\(adapter, images, labels\).*or give w"):
        detectors.NapE().fit(train, adapter.head)
    with pytest.raises(TypeError, match="must be a HeldOut"):
        detectors.NapE().fit(train, adapter.head, heldout.images(8))
    assert detectors.NapE(w=0.5).fit(train, adapter.head).w_ == 0.5  # a given w needs no held-out images


def test_adascale_uses_a_named_row_of_the_paper_or_asks_for_values(setup):
    adapter, heldout, _, images, _ = setup
    for setting, rows in PAPER_SETTINGS.items():
        assert detectors.AdaScaleA(setting=setting).resolved() == rows["a"]
        assert detectors.AdaScaleL(setting=setting).resolved() == rows["l"]
    assert PAPER_SETTINGS["cifar10-densenet"]["a"] == (65.0, 90.0, 10.0)  # Table 12, DenseNet-101, CIFAR-10
    assert PAPER_SETTINGS["cifar100-densenet"]["l"] == (65.0, 75.0, 50.0)  # Table 13, DenseNet-101, CIFAR-100
    assert detectors.AdaScaleA(p_min=60.0, setting="cifar10-densenet").resolved() == (60.0, 90.0, 10.0)
    with pytest.raises(ValueError, match="p_min, p_max, k2.*Tables 12-13"):
        detectors.AdaScaleA().fit(None, adapter.head, heldout, adapter=adapter)
    with pytest.raises(ValueError, match="setting must be one of"):
        detectors.AdaScaleA(setting="cifar10")
    with pytest.raises(ValueError, match="eCDF of Q' from held-out ID images"):
        detectors.AdaScaleA(setting="cifar10-densenet").fit(None, adapter.head, adapter=adapter)
    ada = detectors.AdaScaleA(setting="cifar10-densenet", n_val=12).fit(None, adapter.head, heldout)
    assert ada.adapter_ is adapter  # taken from the held-out images when not given
    assert len(ada.reference_) == 12 and ada.fit_info_.sizes == {"heldout (eCDF)": 12}
    scores = ada.score(images[:6])
    assert scores.shape == (6,) and np.isfinite(scores).all()


def test_a_network_detector_says_it_needs_the_adapter():
    with pytest.raises(ValueError, match="adapter=your_adapter"):
        detectors.ODIN().fit(None, tiny_adapter().head)
