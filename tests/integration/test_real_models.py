"""End-to-end checks on the real checkpoints, on small fixed subsets (seconds on 2 cores from a cold cache).

Every test here extracts into the test session's own cache (``tests/conftest.py``), never the book's. Whole-set
figures (test accuracy, NAP's Table 9 anchors) are checked where they are computed anyway: chapter 0's and
chapter 1's scorecards.
"""

import dataclasses
import json

import numpy as np
import pytest

from ood_nb_utils import config, data
from ood_nb_utils.__main__ import main
from ood_nb_utils.data import load
from ood_nb_utils.extraction.features import activation_maps, extract
from ood_nb_utils.models import CHECKPOINTS, load_model

from ..conftest import requires

C10, C100 = "densenet100-cifar10", "densenet100-cifar100"

# A small profile for the CLI tests: the code paths of `--profile full` at a size tests can afford. Its train
# subset is the golden test's (same size and seed), so the session extracts those images once.
TINY = dataclasses.replace(config.PROFILES["default"], name="tiny", id_test=100, near_cifar=100, ood=100, train=1000,
                           gradient_per_set=20)


@pytest.mark.parametrize("model, floor", [
    pytest.param(C10, 0.90, marks=requires("cifar10", model=C10)),
    pytest.param(C100, 0.65, marks=requires("cifar100", model=C100)),
])
def test_checkpoints_classify_a_fixed_test_subset(model, floor):
    """A wrongly loaded checkpoint (BN statistics, transition layers, normalisation) falls to chance; the DICE
    networks reach 94.5% / 75.1% on the whole sets (chapter 0's scorecard checks those to 0.3 points)."""
    images = load(CHECKPOINTS[model].id_dataset, n=200, seed=0)
    assert extract(load_model(model), images, progress=False).accuracy() >= floor


@requires("cifar10", model=C10)
def test_cached_features_agree_with_a_fresh_forward_pass():
    adapter = load_model(C10)
    images = load("cifar10", indices=np.arange(8))
    feats = extract(adapter, images, progress=False)
    maps = activation_maps(adapter, images.images, "final")
    assert np.allclose(maps.mean((2, 3)), feats.arrays["penultimate"], atol=1e-4)
    assert np.allclose(maps.max((2, 3)), feats.arrays["final.max"], atol=1e-4)
    logits = feats.arrays["penultimate"] @ adapter.weight.numpy().T + adapter.bias.numpy()
    assert np.allclose(logits, feats.arrays["logits"], atol=1e-4)


@pytest.fixture
def tiny_profile(monkeypatch):
    monkeypatch.setitem(config.PROFILES, "tiny", TINY)
    monkeypatch.setenv("OOD_NB_PROFILE", "default")  # the CLI's --profile must win over the environment
    return TINY


@requires("cifar10", "cifar10_train", "cifar100", model=C10)
def test_cli_evaluate_json(capsys, tiny_profile):
    base = ["evaluate", "--model", C10, "--methods", "energy,msp,nap_e", "--ood", "cifar100", "--json", "--profile",
            "tiny", "--set", "nap_e.n_heldout=100"]
    assert main(base) == 0  # by default searches draw from the ID validation split, which is never scored
    split = json.loads(capsys.readouterr().out)
    assert split["fit_sizes"]["nap_e"] == {"ID test validation split (never scored)": data.ID_VALIDATION_N,
                                           "heldout (w search)": 100}
    assert main([*base, "--validation-split", "0"]) == 0  # every test image can be scored; searches use train
    out = json.loads(capsys.readouterr().out)
    assert out["fit_sizes"]["nap_e"] == {"train (held out from)": TINY.train, "heldout (w search)": 100}
    for got in (split, out):
        assert {(r["n_id"], r["n_ood"]) for r in got["results"]} == {(TINY.id_test, TINY.near_cifar)}
    assert out["model"] == C10 and out["id_dataset"] == "cifar10" and out["profile"] == "tiny"
    assert out["id_accuracy"] >= 0.9
    energy = next(r for r in out["results"] if r["method"] == "energy")
    assert set(energy) >= {"method", "ood", "auroc", "fpr95_id_positive", "fpr95_ood_positive", "aupr_in",
                           "aupr_out"}
    assert all(0.0 <= r[k] <= 1.0 for r in out["results"] for k in ("auroc", "aupr_in", "aupr_out"))
    assert 0.75 < energy["auroc"] < 0.98  # near-OOD: far above chance, short of perfect (NAP Table 9: 0.898)


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
    """`evaluate --ood X` with X absent or corrupt stops before any network work, with the message
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


@requires("cifar10", "cifar10_train", "textures", model=C10)
def test_cli_profile_decides_every_fit_set(capsys, tiny_profile):
    """Regression: with --profile X, every method fits on X's train subset, network-based ones included,
    even when OOD_NB_PROFILE names another profile; the JSON reports each method's fit-set sizes."""
    methods = "knn,himplos,himplos_odin,adascale_a,nap_e,nap_adascale_a"
    argv = ["evaluate", "--model", C10, "--methods", methods, "--ood", "textures", "--profile", "tiny", "--json",
            "--set", "adascale_a.n_val=100", "--set", "nap_adascale_a.base.n_val=100",
            "--set", "nap_adascale_a.n_heldout=40", "--set", "nap_e.n_heldout=100"]
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
    assert sizes["adascale_a"]["heldout (eCDF)"] == 100 and sizes["nap_e"]["heldout (w search)"] == 100
    assert sizes["nap_adascale_a"]["heldout (w search)"] == 40
    rows = {r["method"]: r for r in out["results"]}
    assert rows["knn"]["n_id"] == TINY.id_test and rows["himplos_odin"]["n_id"] == TINY.gradient_per_set
    assert out["hyperparameters"]["adascale_a"]["n_val"] == 100


@requires("cifar10", "cifar10_train", model=C10)
def test_scored_id_images_never_include_the_validation_split(tiny_profile):
    """Held-out ID images come from a fixed split of the ID *test* set that is never scored (the
    checkpoints trained on every CIFAR train image); the whole set stays available for full-set tables."""
    from ood_nb_utils.runs.context import RunContext

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
    # without a split (validation_n=0) the profile's subset of the whole file is scored
    plain = RunContext.for_model(C10, TINY, progress=False, validation_n=0, heldout_from="train")
    np.testing.assert_array_equal(plain.id_test.arrays["indices"], data.subset_indices(
        data.labels_of("cifar10"), TINY.id_test, TINY.seed))
    with pytest.raises(ValueError, match="validation split has 1000"):
        context.heldout_images(1001)


@requires("cifar10", model=C10)
def test_chapters_with_and_without_a_split_score_the_same_id_subset_with_network_methods(tiny_profile):
    """Chapter 0 scores every ID test image (no split: it tunes nothing), the others set the validation split
    aside; the subset ODIN scores is the same in both, so the chapters share chapter 0's cached ODIN scores."""
    from ood_nb_utils.lectures import chapter
    from ood_nb_utils.runs.context import RunContext

    whole = chapter.contexts(TINY, progress=False, validation_split=False)["cifar10"]
    split = chapter.contexts(TINY, progress=False)["cifar10"]
    assert whole.validation_n == 0 and split.validation_n == data.ID_VALIDATION_N
    validation, _ = data.id_validation_split(data.labels_of("cifar10"))
    rows = whole.gradient_images("cifar10").indices
    np.testing.assert_array_equal(rows, split.gradient_images("cifar10").indices)
    assert len(rows) == TINY.gradient_per_set and not set(rows.tolist()) & set(validation.tolist())
    # a profile subset of the ID test set follows the same rule (HIMPLoS Table IV scores every row on these
    # images), while the whole-set rows stay every test image
    sized = dataclasses.replace(whole, profile=dataclasses.replace(TINY, id_test=TINY.gradient_per_set), _memo={})
    np.testing.assert_array_equal(sized.images("cifar10").indices, rows)
    every = dataclasses.replace(whole, profile=dataclasses.replace(TINY, id_test=None), _memo={})
    assert len(every.images("cifar10").indices) == len(data.labels_of("cifar10"))
    # without the option (the golden test's context) a subset is drawn from the whole file, as before
    plain = RunContext.for_model(C10, TINY, progress=False, validation_n=0, heldout_from="train")
    np.testing.assert_array_equal(plain.gradient_images("cifar10").indices, data.subset_indices(
        data.labels_of("cifar10"), TINY.gradient_per_set, TINY.seed))


@requires("cifar10", model=C10)
def test_pseudo_ood_clean_features_are_rows_of_the_whole_id_test_features(tiny_profile, monkeypatch):
    """With a validation split the context keeps the ID test set's whole features; the held-out clean images of
    the searches are read from those rows instead of a second forward pass. They agree with a fresh extraction of
    the same images within float rounding (a batch of another size can round the last bit differently; with the
    default profile's 1,000 and 200 held-out images they are bit-identical), and nothing else is extracted."""
    from ood_nb_utils.lectures import chapter
    from ood_nb_utils.runs import context as context_module

    ctx = chapter.contexts(TINY, progress=False)["cifar10"]
    clean = ctx.heldout_images(24)
    others = ctx.images("cifar10", n=40)
    # the whole set's features as the default profile keeps them (here: the clean rows among 40 scored images,
    # shuffled), so that the test does not pass 10,000 images through the network
    rows = np.random.default_rng(0).permutation(np.concatenate([clean.indices, others.indices]))
    ctx._memo[("whole", "cifar10")] = extract(ctx.adapter, load("cifar10", indices=rows), progress=False)
    extracted = []
    monkeypatch.setattr(context_module, "extract", lambda adapter, images, **kw: extracted.append(images.name)
                        or extract(adapter, images, **kw))
    pseudo = ctx.pseudo_ood(24)
    assert extracted == ["cifar10+corrupted"]  # the corrupted copies only
    fresh = extract(ctx.adapter, clean, progress=False).arrays
    assert sorted(pseudo.clean.arrays) == sorted(fresh)
    for name, array in fresh.items():
        np.testing.assert_allclose(pseudo.clean.arrays[name], array, rtol=0, atol=1e-5, err_msg=name)
    np.testing.assert_array_equal(pseudo.clean.arrays["indices"], clean.indices)
    # a row the whole features lack: the clean images are extracted as before
    ctx._memo = {("whole", "cifar10"): ctx._memo[("whole", "cifar10")].subset(np.arange(30))}
    again = ctx.pseudo_ood(24).clean.arrays
    assert extracted[1:] == ["cifar10", "cifar10+corrupted"]
    for name, array in fresh.items():
        np.testing.assert_array_equal(again[name], array, err_msg=name)


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

    assert main([*base, "--methods", "energy", "--tune", "knn", "--tune-n", "100"]) == 0
    out = json.loads(capsys.readouterr().out)
    search = out["tuned"]["knn"]
    assert search["n_heldout"] == 100
    assert [s["k"] for s in search["trace"]] == [1, 10, 20, 50, 100, 200]
    best = max(search["trace"], key=lambda s: s["auroc"])
    assert search["best"] == {"k": best["k"]} and out["hyperparameters"]["knn"]["k"] == best["k"]
    assert {r["method"] for r in out["results"]} == {"energy", "knn"}


@requires("cifar10", "cifar10_train", "textures", model=C10)
def test_cli_offers_the_chapter_methods(capsys, tiny_profile):
    methods = "himplos,himplos_msp,dice_react,react_msp,prototype_fusion"
    assert main(["evaluate", "--model", C10, "--methods", methods, "--ood", "textures", "--json",
                 "--profile", "tiny"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {r["method"]: r for r in out["results"]}
    assert set(got) == set(methods.split(","))
    # HIMPLoS separates CIFAR-10 from Textures far better than chance on the real checkpoint
    assert got["himplos"]["auroc"] > 0.9 and got["prototype_fusion"]["auroc"] > 0.9


@requires("cifar10", model=C10)
def test_perturbed_features_match_a_clean_forward_and_are_cached():
    from ood_nb_utils import cache
    from ood_nb_utils.extraction.perturbation import perturbed_features

    adapter = load_model(C10)
    images = load("cifar10", indices=np.arange(4))
    first = perturbed_features(adapter, images, progress=False)
    clean = extract(adapter, images, progress=False).arrays["penultimate"]
    assert np.allclose(first.arrays["penultimate"], clean, atol=1e-4)
    shift = np.abs(first.arrays["perturbed"] - first.arrays["penultimate"])
    assert shift.max() > 0  # the perturbation moves the activations ...
    assert shift.mean() < first.arrays["penultimate"].mean()  # ... by less than their own size
    hits = cache.STATS.hits
    again = perturbed_features(adapter, images, progress=False)
    assert cache.STATS.hits == hits + 1 and np.array_equal(again.arrays["perturbed"], first.arrays["perturbed"])


@requires("cifar10", model=C10)
def test_gradient_pass_and_perturbed_forward_equal_the_reference_with_separate_forward_passes():
    """The clean activations come from the gradient's own forward pass; the reference runs a separate
    inference forward of the clean images, as the code did before. Both must agree exactly."""
    import torch

    from ood_nb_utils.extraction.perturbation import gradient_pass, perturbed_penultimate
    from ood_nb_utils.scorers import perturb_inputs

    adapter = load_model(C10)
    x = adapter.normalize(load("cifar10", indices=np.arange(8)).images)
    kw = {"fraction": 0.05, "epsilon": 0.5, "region": "trivial"}
    clean = gradient_pass(adapter, x)
    pert = perturbed_penultimate(adapter, x, clean["gradient"], generator=torch.Generator().manual_seed(0), **kw)
    x_eps = perturb_inputs(adapter.logits, x, generator=torch.Generator().manual_seed(0), **kw)
    with torch.inference_mode():
        ref_clean, ref_pert = adapter.forward_taps(x), adapter.forward_taps(x_eps)
    for key in ("penultimate", "logits"):
        assert torch.equal(clean[key], ref_clean[key]), key
    assert torch.equal(pert, ref_pert["penultimate"])


@requires("cifar10", model=C10)
def test_every_perturbation_of_the_same_images_reuses_one_cached_gradient():
    """Tables 9-10 perturb the same images seven ways; the gradient pass runs once and each
    perturbation costs one forward. Each cached perturbation equals the uncached batch-by-batch pass."""
    import torch

    from ood_nb_utils import cache
    from ood_nb_utils.extraction.perturbation import gradient_pass, perturbed_features, perturbed_penultimate

    adapter = load_model(C10)
    images = load("cifar10", indices=np.arange(40, 80))  # 40 images: two batches, the second one short
    before = len(cache.STATS.log)
    for region, fraction in [("random", 0.05), ("significant", 0.10)]:
        got = perturbed_features(adapter, images, progress=False, region=region, fraction=fraction, seed=3)
        gen, ref = torch.Generator().manual_seed(3), []
        for start in range(0, 40, 32):
            x = adapter.normalize(images.images[start:start + 32]).contiguous(memory_format=torch.channels_last)
            clean = gradient_pass(adapter, x)  # uncached, batch by batch
            pert = perturbed_penultimate(adapter, x, clean["gradient"], fraction=fraction, epsilon=0.5,
                                         region=region, generator=gen)
            ref.append((clean["penultimate"], clean["logits"], pert))
        for i, key in enumerate(("penultimate", "logits", "perturbed")):
            assert np.array_equal(got.arrays[key], torch.cat([r[i] for r in ref]).numpy()), (region, key)
    misses = [line.split()[1] for line in cache.STATS.log[before:] if line.startswith("miss")]
    assert sorted(misses) == ["gradient", "perturbed", "perturbed"]


def _audited(context, monkeypatch) -> tuple[set, set]:
    """Record the ID *test-file* rows that fitting, searching or calibrating reads (held-out images, their
    corrupted copies, eCDF references: everything drawn through ``RunContext.heldout_images``) and the rows that
    are scored (``RunContext.features`` / ``gradient_images`` of the ID set)."""
    from ood_nb_utils.runs import context as context_module

    tuned, scored = set(), set()
    cls = context_module.RunContext
    heldout, features, gradient = cls.heldout_images, cls.features, cls.gradient_images

    def rows(images_or_features):
        indices = getattr(images_or_features, "indices", None)
        return indices if indices is not None else images_or_features.arrays["indices"]

    def spy_heldout(self, *args, **kwargs):
        out = heldout(self, *args, **kwargs)
        if out.key == self.id_dataset:
            tuned.update(int(i) for i in out.indices)
        return out

    def spy(fn):
        def inner(self, dataset, *args, **kwargs):
            out = fn(self, dataset, *args, **kwargs)
            if dataset == self.id_dataset:
                scored.update(int(i) for i in rows(out))
            return out
        return inner

    monkeypatch.setattr(cls, "heldout_images", spy_heldout)
    monkeypatch.setattr(cls, "features", spy(features))
    monkeypatch.setattr(cls, "gradient_images", spy(gradient))
    return tuned, scored


@requires("cifar10", "cifar10_train", "cifar100", model=C10)
@pytest.mark.parametrize("validation_split", [True, False])
def test_no_scored_image_is_used_to_fit_tune_or_calibrate(tiny_profile, monkeypatch, validation_split):
    """Every chapter builds its contexts with ``chapter.contexts``; on them, fitting every kind of detector (train
    statistics, a w search on held-out images and their corrupted copies, a clip, prototypes) and scoring reads no
    ID test image twice: the rows searched or calibrated on and the rows scored are disjoint. A context whose
    held-out images are the scored ones is caught (the audit can fail)."""
    from ood_nb_utils.detectors import create
    from ood_nb_utils.evaluation import evaluate
    from ood_nb_utils.lectures import chapter
    from ood_nb_utils.runs.context import RunContext

    ctx = chapter.contexts(TINY, progress=False, validation_split=validation_split)["cifar10"]
    tuned, scored = _audited(ctx, monkeypatch)
    methods = {"nap_e": create("nap_e", n_heldout=40), "nap_m": create("nap_m", n_heldout=40), "knn": create("knn"),
               "react": create("react"), "himplos": create("himplos"), "prototype_fusion": create("prototype_fusion")}
    run = evaluate(ctx, methods, ["cifar100"])
    assert scored and run.detectors["nap_e"].search_ is not None
    if validation_split:  # the searches drew held-out images from the ID test file: never from the scored rows
        assert len(tuned) == 40
    else:  # held-out images come from the train file instead
        assert not tuned and ctx.held_out().images(40).key == "cifar10_train"
    assert not tuned & scored
    # the audit fails on a context whose held-out images are the scored ones
    leaky = RunContext(ctx.adapter, TINY, "cifar10", progress=False,
                       heldout=load("cifar10", indices=ctx.id_test.arrays["indices"][:40]))
    tuned, scored = _audited(leaky, monkeypatch)
    evaluate(leaky, {"nap_e": create("nap_e", n_heldout=40)}, ["cifar100"])
    assert tuned & scored


def test_no_claim_scores_the_whole_id_test_set():
    """The whole ID test set (its validation split included) is read for the network's accuracy only: no claim
    module or chapter scores it with a method."""
    from ood_nb_utils.config import REPO_ROOT

    sources = [*(REPO_ROOT / "ood_nb_utils" / "lectures").rglob("*.py"), *(REPO_ROOT / "notebooks").glob("*.py")]
    uses = [(p.name, line.strip()) for p in sources for line in p.read_text().splitlines() if "whole_features(" in line]
    assert all(".accuracy()" in line for _, line in uses), uses
