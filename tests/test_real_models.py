"""End-to-end checks on the real checkpoints and test sets (minutes on 2 cores, cached after).

They share the activation cache with the book: the features extracted here are the ones
chapter 0 reads, so CI pays for each image once.
"""

import dataclasses
import json

import numpy as np
import pytest

from ood_nb_utils import config, data, metrics, scorers
from ood_nb_utils.__main__ import main
from ood_nb_utils.data import load
from ood_nb_utils.features import activation_maps, extract
from ood_nb_utils.models import load_model

from .conftest import requires

C10, C100 = "densenet100-cifar10", "densenet100-cifar100"


@requires("cifar10", model=C10)
def test_cifar10_accuracy():
    assert extract(load_model(C10), load("cifar10")).accuracy() >= 0.940


@requires("cifar100", model=C100)
def test_cifar100_accuracy():
    assert extract(load_model(C100), load("cifar100")).accuracy() >= 0.745


@requires("cifar10", "cifar100", model=C10)
def test_energy_anchor_nap_table9():
    """NAP Table 9: Energy, CIFAR-10 (ID) vs CIFAR-100 (OOD), FPR@95 50.74 / AUROC 89.76."""
    adapter = load_model(C10)
    id_s = scorers.energy(extract(adapter, load("cifar10")).logits).numpy()
    ood_s = scorers.energy(extract(adapter, load("cifar100")).logits).numpy()
    assert 100 * metrics.fpr_at_95_tpr(id_s, ood_s, positive="id") == pytest.approx(50.74, abs=0.1)
    assert 100 * metrics.auroc(id_s, ood_s) == pytest.approx(89.76, abs=0.1)


@requires("cifar10", model=C10)
def test_cached_features_agree_with_a_fresh_forward_pass():
    adapter = load_model(C10)
    feats = extract(adapter, load("cifar10"))
    maps = activation_maps(adapter, load("cifar10").images[:4], "final")
    assert np.allclose(maps.mean((2, 3)), feats.arrays["penultimate"][:4], atol=1e-4)
    assert np.allclose(maps.max((2, 3)), feats.arrays["final.max"][:4], atol=1e-4)
    logits = feats.arrays["penultimate"][:4] @ adapter.weight.numpy().T + adapter.bias.numpy()
    assert np.allclose(logits, feats.arrays["logits"][:4], atol=1e-4)


@requires("cifar10", "cifar100", model=C10)
def test_cli_evaluate_json(capsys):
    base = ["evaluate", "--model", C10, "--methods", "energy,msp", "--ood", "cifar100", "--json", "--profile",
            "default"]
    assert main(base) == 0  # the default scores the 9,000 images outside the ID validation split
    split = json.loads(capsys.readouterr().out)
    assert {r["n_id"] for r in split["results"]} == {10_000 - data.ID_VALIDATION_N}
    assert main([*base, "--validation-split", "0"]) == 0  # every test image, as in NAP's Table 9
    out = json.loads(capsys.readouterr().out)
    assert {r["n_id"] for r in out["results"]} == {10_000}
    assert out["model"] == C10 and out["id_dataset"] == "cifar10" and out["profile"] == "default"
    assert out["id_accuracy"] >= 0.94
    energy = next(r for r in out["results"] if r["method"] == "energy")
    assert energy["fpr95_id_positive"] == pytest.approx(0.5074, abs=0.001)
    assert set(energy) >= {"method", "ood", "auroc", "fpr95_id_positive", "fpr95_ood_positive", "aupr_in",
                           "aupr_out"}
    assert all(0.0 <= r[k] <= 1.0 for r in out["results"] for k in ("auroc", "aupr_in", "aupr_out"))


def test_cli_reports_unknown_method_and_bad_settings(capsys):
    assert main(["evaluate", "--model", C10, "--methods", "nope", "--ood", "cifar100"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
    assert main(["evaluate", "--model", C10, "--methods", "knn", "--set", "knn.kk=3"]) == 2
    assert "no hyperparameter 'kk'" in capsys.readouterr().err
    assert main(["evaluate", "--model", C10, "--methods", "knn", "--set", "react.threshold=1"]) == 2
    assert "not among --methods" in capsys.readouterr().err
    assert main(["evaluate", "--model", C10, "--methods", "knn", "--ood", "nowhere"]) == 2
    assert "unknown OOD set" in capsys.readouterr().err


def test_cli_fails_at_once_on_a_missing_or_corrupt_requested_set(capsys, tmp_path, monkeypatch):
    """Issue 14: `evaluate --ood X` with X absent or corrupt stops before any network work, with the message
    (set, folder, how to get it), not a pandas KeyError after extracting the ID features."""
    import time

    monkeypatch.setenv("OOD_NB_DATA_DIR", str(tmp_path))  # an empty data folder: nothing is there
    start = time.perf_counter()
    assert main(["evaluate", "--model", C10, "--methods", "energy", "--ood", "textures"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: dataset 'cifar10'") and str(tmp_path) in err and "prepare --only cifar10" in err
    np.savez_compressed(tmp_path / "textures.npz", images=np.zeros((2, 32, 32, 3), np.uint8), labels=[0, 1])
    assert main(["evaluate", "--model", C10, "--methods", "energy", "--ood", "textures"]) == 2
    assert "error: dataset 'cifar10'" in capsys.readouterr().err  # the ID set is checked first
    assert time.perf_counter() - start < 30  # no feature extraction happened


@requires("cifar10", "cifar10_train")
def test_cli_names_a_missing_ood_set_before_any_work(capsys, tmp_path, monkeypatch):
    from ood_nb_utils import config

    for key in ("cifar10", "cifar10_train"):  # the ID files, linked from the real data folder
        path, _ = data.find_file(key)
        (tmp_path / path.name).symlink_to(path)
        side = path.with_name(path.name + ".sha256")
        if side.exists():
            (tmp_path / side.name).symlink_to(side)
    monkeypatch.setenv("OOD_NB_DATA_DIR", str(tmp_path))
    assert config.data_dir() == tmp_path
    assert main(["evaluate", "--model", C10, "--methods", "energy", "--ood", "textures"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: dataset 'textures'") and "prepare --only textures" in err
    np.savez_compressed(tmp_path / "textures.npz", images=np.zeros((2, 32, 32, 3), np.uint8), labels=[0, 1])
    (tmp_path / "textures.npz.sha256").write_text("0" * 64 + "  textures.npz\n")  # a file that fails its checksum
    assert main(["evaluate", "--model", C10, "--methods", "energy", "--ood", "textures"]) == 2
    assert "corrupt" in capsys.readouterr().err


# A small profile for the CLI tests: the code paths of `--profile full` at a size tests can afford.
TINY = dataclasses.replace(config.PROFILES["default"], name="tiny", id_test=100, near_cifar=100, ood=100, train=600,
                           gradient_per_set=20)


@pytest.fixture
def tiny_profile(monkeypatch):
    monkeypatch.setitem(config.PROFILES, "tiny", TINY)
    monkeypatch.setenv("OOD_NB_PROFILE", "default")  # the CLI's --profile must win over the environment
    return TINY


@requires("cifar10", "cifar10_train", "textures", model=C10)
def test_cli_profile_decides_every_fit_set(capsys, tiny_profile):
    """Regression (issue 12): with --profile X, every method fits on X's train subset, network-based ones included,
    even when OOD_NB_PROFILE names another profile; the JSON reports each method's fit-set sizes."""
    methods = "knn,himplos,himplos_odin,adascale_a,nap_e,nap_adascale_a"
    argv = ["evaluate", "--model", C10, "--methods", methods, "--ood", "textures", "--profile", "tiny", "--json",
            "--set", "adascale_a.n_val=100", "--set", "nap_adascale_a.base.n_val=100",
            "--set", "nap_adascale_a.n_heldout=40", "--set", "nap_e.n_heldout=200"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["profile"] == "tiny"
    sizes = out["fit_sizes"]
    assert set(sizes) == set(methods.split(","))
    for name in ("knn", "himplos", "himplos_odin"):  # fit on the train subset itself
        assert sizes[name]["train"] == TINY.train, (name, sizes[name])
    for name in ("adascale_a", "nap_e", "nap_adascale_a"):  # fit on the ID test set's validation split
        assert sizes[name]["ID test validation split (never scored)"] == data.ID_VALIDATION_N, (name, sizes[name])
    assert 0.0 <= out["fitted"]["nap_e"]["w"] <= 1.0 and 0.0 <= out["fitted"]["nap_adascale_a"]["w"] <= 1.0
    assert sizes["adascale_a"]["heldout (eCDF)"] == 100 and sizes["nap_e"]["heldout (w search)"] == 200
    assert sizes["nap_adascale_a"]["heldout (w search)"] == 40
    rows = {r["method"]: r for r in out["results"]}
    assert rows["knn"]["n_id"] == TINY.id_test and rows["himplos_odin"]["n_id"] == TINY.gradient_per_set
    assert out["hyperparameters"]["adascale_a"]["n_val"] == 100


@requires("cifar10", "cifar10_train", model=C10)
def test_scored_id_images_never_include_the_validation_split(tiny_profile):
    """Issue 13: held-out ID images come from a fixed split of the ID *test* set that is never scored (the
    checkpoints trained on every CIFAR train image); the whole set stays available for full-set tables."""
    from ood_nb_utils.context import RunContext

    context = RunContext.for_model(C10, TINY, progress=False)
    validation, scored = data.id_validation_split(data.labels_of("cifar10"))
    scored_rows = {int(i) for i in context.id_test.arrays["indices"]}
    gradient_rows = {int(i) for i in context.gradient_images("cifar10").indices}
    held = {int(i) for i in context.heldout_images(200).indices}
    assert len(scored_rows) == TINY.id_test and len(gradient_rows) == TINY.gradient_per_set and len(held) == 200
    assert scored_rows | gradient_rows <= set(scored.tolist()) and held <= set(validation.tolist())
    assert not (scored_rows | gradient_rows) & held
    # train-file images instead: outside the fit subset, and the scored images do not change
    train_held = context.with_heldout_from("train").heldout_images(200)
    assert train_held.key == "cifar10_train"
    assert not {int(i) for i in train_held.indices} & {int(i) for i in context.train.arrays["indices"]}
    # without a split (validation_n=0) the profile's subset of the whole file is scored, as before issue 13
    plain = RunContext.for_model(C10, TINY, progress=False, validation_n=0, heldout_from="train")
    np.testing.assert_array_equal(plain.id_test.arrays["indices"], data.subset_indices(
        data.labels_of("cifar10"), TINY.id_test, TINY.seed))
    with pytest.raises(ValueError, match="validation split has 1000"):
        context.heldout_images(1001)


@requires("cifar10", "cifar10_train", "textures", model=C10)
def test_cli_set_and_tune(capsys, tiny_profile):
    """--set reaches a nested hyperparameter (nap_r's ReAct threshold); --tune searches on held-out data."""
    base = ["evaluate", "--model", C10, "--ood", "textures", "--profile", "tiny", "--json"]
    assert main([*base, "--methods", "nap_r", "--set", "nap_r.base.threshold=1.0", "--set", "nap_r.w=0.4"]) == 0
    set_out = json.loads(capsys.readouterr().out)
    assert set_out["hyperparameters"]["nap_r"]["base.threshold"] == 1.0
    assert main([*base, "--methods", "react", "--set", "react.threshold=1.0"]) == 0
    react_out = json.loads(capsys.readouterr().out)
    assert main([*base, "--methods", "react"]) == 0
    default_out = json.loads(capsys.readouterr().out)
    assert react_out["results"][0]["auroc"] != default_out["results"][0]["auroc"]  # the override took effect

    assert main([*base, "--methods", "energy", "--tune", "knn"]) == 0
    out = json.loads(capsys.readouterr().out)
    search = out["tuned"]["knn"]
    assert [s["k"] for s in search["trace"]] == [1, 10, 20, 50, 100, 200]
    best = max(search["trace"], key=lambda s: s["auroc"])
    assert search["best"] == {"k": best["k"]} and out["hyperparameters"]["knn"]["k"] == best["k"]
    assert {r["method"] for r in out["results"]} == {"energy", "knn"}


@requires("cifar10", "cifar10_train", "textures", model=C10)
def test_cli_offers_the_chapter_methods(capsys):
    methods = "himplos,himplos_msp,dice_react,react_msp,prototype_fusion"
    assert main(["evaluate", "--model", C10, "--methods", methods, "--ood", "textures", "--json",
                 "--profile", "default"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {r["method"]: r for r in out["results"]}
    assert set(got) == set(methods.split(","))
    # HIMPLoS separates CIFAR-10 from Textures far better than chance on the real checkpoint
    assert got["himplos"]["auroc"] > 0.9 and got["prototype_fusion"]["auroc"] > 0.9


@requires("cifar10", model=C10)
def test_perturbed_features_match_a_clean_forward_and_are_cached():
    from ood_nb_utils import cache
    from ood_nb_utils.perturbation import perturbed_features

    adapter = load_model(C10)
    images = load("cifar10", indices=np.arange(4))
    first = perturbed_features(adapter, images, progress=False)
    clean = extract(adapter, load("cifar10")).arrays["penultimate"][:4]
    assert np.allclose(first.arrays["penultimate"], clean, atol=1e-4)
    shift = np.abs(first.arrays["perturbed"] - first.arrays["penultimate"])
    assert shift.max() > 0  # the perturbation moves the activations ...
    assert shift.mean() < first.arrays["penultimate"].mean()  # ... by less than their own size
    hits = cache.STATS.hits
    again = perturbed_features(adapter, images, progress=False)
    assert cache.STATS.hits == hits + 1 and np.array_equal(again.arrays["perturbed"], first.arrays["perturbed"])
