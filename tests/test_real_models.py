"""End-to-end checks on the real checkpoints and test sets (minutes on 2 cores, cached after).

They share the activation cache with the book: the features extracted here are the ones
chapter 0 reads, so CI pays for each image once.
"""

import json

import numpy as np
import pytest

from ood_nb_utils import metrics, scorers
from ood_nb_utils.__main__ import main
from ood_nb_utils.features import extract
from ood_nb_utils.models import load_model

from .conftest import requires

C10, C100 = "densenet100-cifar10", "densenet100-cifar100"


@requires("cifar10", model=C10)
def test_cifar10_accuracy():
    assert extract(C10, "cifar10").accuracy() >= 0.940


@requires("cifar100", model=C100)
def test_cifar100_accuracy():
    assert extract(C100, "cifar100").accuracy() >= 0.745


@requires("cifar10", "cifar100", model=C10)
def test_energy_anchor_nap_table9():
    """NAP Table 9: Energy, CIFAR-10 (ID) vs CIFAR-100 (OOD), FPR@95 50.74 / AUROC 89.76."""
    id_s = scorers.energy(extract(C10, "cifar10").logits).numpy()
    ood_s = scorers.energy(extract(C10, "cifar100").logits).numpy()
    assert 100 * metrics.fpr_at_95_tpr(id_s, ood_s, positive="id") == pytest.approx(50.74, abs=0.1)
    assert 100 * metrics.auroc(id_s, ood_s) == pytest.approx(89.76, abs=0.1)


@requires("cifar10", model=C10)
def test_cached_features_agree_with_a_fresh_forward_pass():
    feats = extract(C10, "cifar10")
    from ood_nb_utils.data import load
    from ood_nb_utils.features import activation_maps

    images = load("cifar10").images[:4]
    maps = activation_maps(C10, images, "final")
    assert np.allclose(maps.mean((2, 3)), feats.arrays["penultimate"][:4], atol=1e-4)
    assert np.allclose(maps.max((2, 3)), feats.arrays["final.max"][:4], atol=1e-4)
    head = load_model(C10)
    logits = feats.arrays["penultimate"][:4] @ head.weight.numpy().T + head.bias.numpy()
    assert np.allclose(logits, feats.arrays["logits"][:4], atol=1e-4)


@requires("cifar10", "cifar100", model=C10)
def test_cli_evaluate_json(capsys):
    assert main(["evaluate", "--model", C10, "--methods", "energy,msp", "--ood", "cifar100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == C10 and out["id_dataset"] == "cifar10" and out["profile"] == "default"
    assert out["id_accuracy"] >= 0.94
    energy = next(r for r in out["results"] if r["method"] == "energy")
    assert energy["fpr95_id_positive"] == pytest.approx(0.5074, abs=0.001)
    assert set(energy) >= {"method", "ood", "auroc", "fpr95_id_positive", "fpr95_ood_positive", "aupr_in",
                           "aupr_out"}
    assert all(0.0 <= r[k] <= 1.0 for r in out["results"] for k in ("auroc", "aupr_in", "aupr_out"))


def test_cli_reports_unknown_method(capsys):
    assert main(["evaluate", "--model", C10, "--methods", "nope", "--ood", "cifar100"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err


@requires("cifar10", "cifar100", "cifar10_train", model=C10)
def test_cli_offers_nap_and_reports_its_w(capsys):
    assert main(["evaluate", "--model", C10, "--methods", "nap,nap_e", "--ood", "cifar100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["method"] for r in out["results"]} == {"nap", "nap_e"}
    assert 0.0 <= out["fitted_w"]["nap_e"] <= 1.0


@requires("cifar10", "textures", model=C10)
def test_cli_offers_the_chapter_methods(capsys):
    methods = "himplos,himplos_msp,dice_react,react_msp,prototype_fusion"
    assert main(["evaluate", "--model", C10, "--methods", methods, "--ood", "textures", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {r["method"]: r for r in out["results"]}
    assert set(got) == set(methods.split(","))
    # HIMPLoS separates CIFAR-10 from Textures far better than chance on the real checkpoint
    assert got["himplos"]["auroc"] > 0.9 and got["prototype_fusion"]["auroc"] > 0.9


@requires("cifar10", model=C10)
def test_perturbed_features_match_a_clean_forward_and_are_cached():
    from ood_nb_utils import cache
    from ood_nb_utils.data import load
    from ood_nb_utils.perturbation import perturbed_features

    images = load("cifar10", indices=np.arange(4))
    first = perturbed_features(C10, images, progress=False)
    clean = extract(C10, "cifar10").arrays["penultimate"][:4]
    assert np.allclose(first["penultimate"], clean, atol=1e-4)
    shift = np.abs(first["perturbed"] - first["penultimate"])
    assert shift.max() > 0  # the perturbation moves the activations ...
    assert shift.mean() < first["penultimate"].mean()  # ... by less than their own size
    hits = cache.STATS.hits
    again = perturbed_features(C10, images, progress=False)
    assert cache.STATS.hits == hits + 1 and np.array_equal(again["perturbed"], first["perturbed"])


@requires("cifar10", "textures", model=C10)
def test_cli_adascale_uses_the_cached_perturbation(capsys):
    """AdaSCALE through the command line: 300 test images per set, eCDF from 1,000 held-out train images
    (the same cached perturbed activations chapter 2 reads), paper's DenseNet-101 hyperparameters."""
    assert main(["evaluate", "--model", C10, "--methods", "adascale_a,adascale_l,scale", "--ood", "textures",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {r["method"]: r for r in out["results"]}
    assert got["adascale_a"]["n_id"] == got["adascale_a"]["n_ood"] == 300
    assert got["adascale_a"]["auroc"] > 0.85 and got["adascale_l"]["auroc"] > 0.85
