"""CIFAR ResNet-56, the second architecture: its taps, its two checkpoints (option-A and option-B shortcuts, loaded
strictly with ``weights_only=True``) and their accuracy on a fixed 200-image subset of each test set."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ood_nb_utils import ModelAdapter, extract
from ood_nb_utils.config import Profile
from ood_nb_utils.data import is_available, labels_of, load, subset_indices
from ood_nb_utils.lectures.claims import nap as nap_claims
from ood_nb_utils.lectures.claims import prototype_fusion as pf_claims
from ood_nb_utils.models import (
    ARCHITECTURES,
    CHECKPOINTS,
    CifarResNet,
    checkpoint_path,
    load_model,
    load_network,
    models_of,
)
from ood_nb_utils.models import resnet as resnet_module
from ood_nb_utils.runs import RunContext

from ..conftest import have_weights, requires

RESNETS = models_of("resnet56")
EXPECTED_SHAPES = {"conv1": (16, 32, 32), "layer1": (16, 32, 32), "layer2": (32, 16, 16), "final": (64, 8, 8),
                   "penultimate": (64,)}
# Accuracy on the fixed stratified 200-image subset (seed 0) of each test set: the networks give 0.950 and 0.735
# there (their full-test-set figures are 93.39% and 72.63%). A mis-loaded network does not reach these floors: fed
# unnormalised inputs the same weights give 0.545 and 0.350, and with stage 3's BN statistics left at their
# initial values 0.495 and 0.02.
FLOORS = {"cifar10": 0.92, "cifar100": 0.70}


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_taps_have_the_documented_shapes_and_compose(shortcut):
    net = CifarResNet(56, 10, shortcut=shortcut).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        taps = net.forward_taps(x)
    assert {k: tuple(v.shape[1:]) for k, v in taps.items() if k != "logits"} == EXPECTED_SHAPES
    assert tuple(taps["logits"].shape) == (2, 10)
    arch = ARCHITECTURES["resnet56"]
    assert arch.spatial_taps == resnet_module.SPATIAL_TAPS and set(arch.spatial_taps) < set(taps)
    assert tuple(taps["final"].shape[1:]) == arch.final_shape and arch.final_channels == 64
    assert set(arch.nap_depths.values()) <= set(arch.spatial_taps)
    assert set(arch.prototype_layers) <= set(arch.spatial_taps)
    assert torch.allclose(taps["penultimate"], taps["final"].mean((2, 3)))
    assert torch.allclose(taps["logits"], net.head(taps["penultimate"]))
    assert all((taps[t] >= 0).all() for t in arch.spatial_taps)  # every tap is after a ReLU


def test_option_a_has_no_shortcut_parameters_and_option_b_has_them():
    a, b = CifarResNet(56, 10, "A"), CifarResNet(56, 10, "B")
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert 0.84e6 < count(a) < 0.87e6  # He et al. 2016, Table 6: ResNet-56 has 0.85M parameters
    assert not any("downsample" in k for k in a.state_dict())
    assert sum("downsample" in k for k in b.state_dict()) == 2 * 6  # two reshaping blocks x (conv, BN's 5 entries)
    with pytest.raises(ValueError, match="6n \\+ 2"):
        CifarResNet(55)


@pytest.mark.skipif(not all(have_weights(n) for n in RESNETS.values()), reason="needs the ResNet-56 checkpoints")
@pytest.mark.parametrize("name", sorted(RESNETS.values()))
def test_checkpoints_load_strictly_with_weights_only(name, monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    net = load_network(name)
    assert calls == [True]  # tensors only: no pickled code runs
    ck = CHECKPOINTS[name]
    assert net.head.weight.shape == (ck.num_classes, 64) and net.shortcut == ck.shortcut
    state = real_load(checkpoint_path(name), map_location="cpu", weights_only=True)
    state = {k.removeprefix("module."): v for k, v in state.get("state_dict", state).items()}
    other = "B" if ck.shortcut == "A" else "A"  # the other author's layout cannot take this file
    with pytest.raises(RuntimeError, match="key"):
        CifarResNet(56, ck.num_classes, shortcut=other).load_state_dict(state, strict=True)


@pytest.mark.parametrize("ds", ["cifar10", "cifar100"])
def test_accuracy_on_a_fixed_subset_clears_a_floor_a_misloaded_network_cannot(ds):
    name = RESNETS[ds]
    if not have_weights(name):
        pytest.skip(f"needs {CHECKPOINTS[name].filename}")
    if not is_available(ds):
        pytest.skip(f"needs {ds}")
    labels = labels_of(ds)
    images = load(ds, indices=np.sort(subset_indices(labels, 200, 0)))
    adapter = load_model(name)
    with torch.no_grad():
        accuracy = float((adapter.logits(adapter.normalize(images.images)).argmax(1).numpy() == images.labels).mean())
    assert accuracy >= FLOORS[ds], f"{name}: {accuracy:.3f} on the fixed 200-image subset"
    # the same weights fed unnormalised inputs (a loader that forgot the checkpoint's normalisation) fall below it
    wrong = ModelAdapter(adapter.net, head=adapter.head_module, runner=adapter.net.forward_taps,
                         spatial_taps=adapter.spatial_taps, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0),
                         name="unnormalised", source={"kind": "test"})
    with torch.no_grad():
        logits = wrong.logits(wrong.normalize(images.images))
    assert float((logits.argmax(1).numpy() == images.labels).mean()) < FLOORS[ds] - 0.1


@requires("cifar10", model="resnet56-cifar10")
def test_plain_module_through_hooks_equals_the_built_in_features(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path / "cache"))
    name = "resnet56-cifar10"
    built_in = load_model(name)
    ck = CHECKPOINTS[name]
    plain = ModelAdapter.from_module(load_network(name), final="layer3", head="linear", taps=resnet_module.HOOK_TAPS,
                                     mean=ck.mean, std=ck.std, name="resnet56-as-plain-module")
    images = load("cifar10", n=32, seed=0)
    ours, ref = extract(plain, images, progress=False), extract(built_in, images, progress=False)
    assert set(ours.arrays) == set(ref.arrays)
    for key in ref.arrays:
        np.testing.assert_allclose(ours.arrays[key], ref.arrays[key], atol=1e-5, err_msg=key)


TINY = Profile("tiny-arch", id_test=200, near_cifar=100, ood=100, train=500, gradient_per_set=20)


@requires("cifar10", "cifar10_train", "textures", "mnist", model="densenet100-cifar10")
@requires(model="resnet56-cifar10")
def test_chapter_helpers_return_results_of_the_same_structure_on_either_architecture():
    out = {}
    for arch in ("densenet100", "resnet56"):
        contexts = {"cifar10": RunContext.for_model(models_of(arch)["cifar10"], TINY, progress=False, validation_n=0,
                                                    heldout_from="train")}
        table4, single = nap_claims.table_4(contexts, ["textures"], ["mnist"])
        maxima, separation = pf_claims.layer_maxima(contexts, {"cifar10": ["textures", "mnist"]})
        out[arch] = table4, single, maxima, separation
    (t_d, s_d, m_d, sep_d), (t_r, s_r, m_r, sep_r) = out["densenet100"], out["resnet56"]
    assert t_d.index.equals(t_r.index) and t_d.columns.equals(t_r.columns)  # NAP's Table 4: same rows, same columns
    assert t_r.notna().all().all()
    assert set(s_d["cifar10"]) == set(s_r["cifar10"])  # every layer and product of Table 4, on both networks
    assert {k for k in s_d["cifar10"] if "," not in k} == {"c1", "t1", "t2", "p"}
    assert set(m_d) == set(m_r)  # Prototype Fusion's Fig. 5: the same (ID, set) keys, one column per tap
    for key in m_r:
        assert m_r[key].shape == (m_d[key].shape[0], len(ARCHITECTURES["resnet56"].spatial_taps))
    assert sep_d.index.equals(sep_r.index)
    assert [tap for _, tap in sep_r.columns] == list(ARCHITECTURES["resnet56"].spatial_taps)


@requires("cifar100", "cifar100_train", "textures", model="resnet56-cifar100")
def test_cli_evaluates_a_resnet_with_its_own_taps_and_clip(capsys, monkeypatch):
    from ood_nb_utils import config
    from ood_nb_utils.__main__ import main

    monkeypatch.setitem(config.PROFILES, "tiny-arch", TINY)
    assert main(["evaluate", "--model", "resnet56-cifar100", "--methods", "energy,nap_e,himplos,prototype_fusion",
                 "--ood", "textures", "--json", "--profile", "tiny-arch", "--set", "nap_e.n_heldout=100"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "resnet56-cifar100" and out["id_dataset"] == "cifar100"
    assert {r["method"] for r in out["results"]} == {"energy", "nap_e", "himplos", "prototype_fusion"}
    assert out["hyperparameters"]["prototype_fusion"]["layers"] == ["layer1", "layer2", "final"]
    context = RunContext.for_model("resnet56-cifar100", TINY, progress=False)
    clip = float(np.quantile(context.train.penultimate.numpy().ravel(), 0.9))  # ReAct's 90th percentile
    assert out["hyperparameters"]["himplos"]["threshold"] == pytest.approx(clip, rel=1e-6)
    assert out["id_accuracy"] >= 0.65
    assert all(0.5 < r["auroc"] < 1.0 for r in out["results"])  # far-OOD Textures: above chance for every method
