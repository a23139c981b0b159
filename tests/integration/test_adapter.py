"""Bring your own model: ModelAdapter.from_module and extract on any nn.Module.

- the DICE DenseNet wrapped as a plain module through forward hooks gives the built-in features to 1e-6;
- a random-initialised torchvision ResNet-18 (sized for 32 x 32) runs through every feature-based detector
  and returns finite scores of the right shape (its numbers mean nothing: the weights are random);
- extract takes arrays, ImageSets, Datasets and DataLoaders, and its cache key follows the weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ood_nb_utils import HeldOut, ModelAdapter, detectors, extract
from ood_nb_utils.data import CIFAR_MEAN, CIFAR_STD, load
from ood_nb_utils.models import HOOK_TAPS, load_densenet, load_model

from ..conftest import requires

C10 = "densenet100-cifar10"


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@requires("cifar10", model=C10)
def test_plain_module_through_hooks_equals_the_built_in_features(own_cache):
    net = load_densenet(C10)  # a plain nn.Module: the adapter calls net(x) and reads hooks, not forward_taps
    adapter = ModelAdapter.from_module(net, final="relu", head="fc", taps=HOOK_TAPS, mean=CIFAR_MEAN, std=CIFAR_STD,
                                       name="dice-densenet-as-plain-module")
    built_in = load_model(C10)
    assert adapter.fingerprint != built_in.fingerprint  # different tap source: separate cache entries
    images = load("cifar10", n=64, seed=0)
    ours, ref = extract(adapter, images, progress=False), extract(built_in, images, progress=False)
    assert set(ours.arrays) == set(ref.arrays)
    for name, value in ref.arrays.items():
        assert np.abs(ours.arrays[name].astype(np.float64) - value).max() <= 1e-6, name
    assert torch.equal(adapter.head.weight, built_in.head.weight)


def resnet18_for_cifar(num_classes: int = 10) -> nn.Module:
    """torchvision's ResNet-18 with a 3 x 3 stride-1 stem and no max-pool (the usual CIFAR sizing), random weights."""
    from torchvision.models import resnet18

    torch.manual_seed(0)
    net = resnet18(num_classes=num_classes)
    net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    return net.eval()


def test_every_feature_based_detector_runs_on_a_random_resnet18(own_cache):
    adapter = ModelAdapter.from_module(resnet18_for_cifar(), final="layer4", head="fc",
                                       taps={"block2": "layer2", "block3": "layer3"}, mean=CIFAR_MEAN, std=CIFAR_STD,
                                       name="resnet18-random")
    rng = np.random.default_rng(0)
    train_images = rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
    train = extract(adapter, train_images, np.arange(60) % 10, progress=False)
    test = extract(adapter, rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8), progress=False)
    assert train.arrays["final.max"].shape == (60, 512) and train.arrays["block2.mean"].shape == (60, 128)
    heldout = HeldOut(adapter, rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8), np.arange(20) % 10)
    ran = []
    for name in detectors.available():
        det = detectors.create(name, **({"k": 5} if name == "knn" else {}))
        if det.needs.network:
            continue
        if name == "nap_k":
            det = det.clone(**{"base.k": 5})
        det.fit(train if det.needs.train else None, adapter.head, heldout)
        scores = det.score(test)
        assert scores.dtype == np.float64 and scores.shape == (12,), name
        assert np.isfinite(scores).all(), name
        ran.append(name)
    assert len(ran) == sum(not detectors.create(n).needs.network for n in detectors.available())


def test_from_module_says_what_is_wrong():
    net = resnet18_for_cifar()
    with pytest.raises(KeyError, match="no module named 'layer5'"):
        ModelAdapter.from_module(net, final="layer5", head="fc", mean=CIFAR_MEAN, std=CIFAR_STD, name="x")
    with pytest.raises(TypeError, match="must be the nn.Linear"):
        ModelAdapter.from_module(net, final="layer4", head="avgpool", mean=CIFAR_MEAN, std=CIFAR_STD, name="x")
    with pytest.raises(ValueError, match="reserved"):
        ModelAdapter.from_module(net, final="layer4", head="fc", taps={"logits": "layer3"}, mean=CIFAR_MEAN,
                                 std=CIFAR_STD, name="x")
    with pytest.raises(ValueError, match="std must be positive"):
        ModelAdapter.from_module(net, final="layer4", head="fc", mean=CIFAR_MEAN, std=(1, 0, 1), name="x")


def test_extract_takes_arrays_datasets_and_loaders_and_keys_by_weights(own_cache):
    net = resnet18_for_cifar()
    adapter = ModelAdapter.from_module(net, final="layer4", head="fc", mean=CIFAR_MEAN, std=CIFAR_STD, name="r")
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(10) % 3
    from_array = extract(adapter, images, labels, progress=False)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    from_dataset = extract(adapter, dataset, progress=False)
    from_loader = extract(adapter, torch.utils.data.DataLoader(dataset, batch_size=4), progress=False)
    normalised = adapter.normalize(images)  # a float dataset is taken as already normalised
    from_floats = extract(adapter, torch.utils.data.TensorDataset(normalised, torch.from_numpy(labels)),
                          progress=False)
    for other in (from_dataset, from_loader, from_floats):
        assert np.allclose(other.arrays["logits"], from_array.arrays["logits"], atol=1e-5)
        assert np.array_equal(other.labels, labels)
    # new weights, new fingerprint: the cache does not return the old features
    with torch.no_grad():
        net.fc.bias.add_(1.0)
    changed = ModelAdapter.from_module(net, final="layer4", head="fc", mean=CIFAR_MEAN, std=CIFAR_STD, name="r")
    assert changed.fingerprint != adapter.fingerprint
    assert np.allclose(extract(changed, images, labels, progress=False).arrays["logits"],
                       from_array.arrays["logits"] + 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="uint8 N x H x W x 3"):
        extract(adapter, images.astype(np.float32))
    with pytest.raises(TypeError, match="ModelAdapter"):
        extract("densenet100-cifar10", images)
