"""The faster forward paths (ood_nb_utils.extraction.backends) against the eager reference, and the cache rule."""

from __future__ import annotations

import pytest
import torch

from ood_nb_utils import cache
from ood_nb_utils.data import load
from ood_nb_utils.extraction import backends
from ood_nb_utils.extraction.features import batches, extract
from ood_nb_utils.models import load_model

from ..conftest import requires

C10 = "densenet100-cifar10"
needs_openvino = pytest.mark.skipif(not backends.openvino_available(), reason="openvino is not installed")


@needs_openvino
@requires("cifar10", model=C10)
def test_openvino_matches_eager_on_every_stored_array():
    adapter = load_model(C10)
    images = load("cifar10", n=96, seed=3).images
    eager, fast = backends.backend_for(adapter, "eager"), backends.backend_for(adapter, "openvino")
    worst = {}
    for batch in batches(adapter, images, batch_size=40):  # batch sizes 40, 40, 16: the dynamic batch dimension
        ref, out = eager.run(batch), fast.run(batch)
        assert set(out) == set(ref) and all(out[k].shape == ref[k].shape for k in ref)
        for k in ref:
            worst[k] = max(worst.get(k, 0.0), float((out[k] - ref[k]).abs().max()))
    assert max(worst.values()) <= backends.TOLERANCE, worst


@needs_openvino
@requires("cifar10", model=C10)
def test_openvino_outputs_do_not_depend_on_how_a_batch_is_split(monkeypatch):
    """The cache rule leaves the request size and the streams out of the key: every split of a batch must give the
    same bits (here: one request for the whole batch, the default small requests on every stream, one image each)."""
    adapter = load_model(C10)
    x = next(iter(batches(adapter, load("cifar10", n=37, seed=4).images, batch_size=37)))
    backend = backends.backend_for(adapter, "openvino")
    outputs = {}
    for micro in (64, backends.MICRO_BATCH, 1):
        monkeypatch.setattr(backends, "MICRO_BATCH", micro)
        outputs[micro] = backend.run(x)
    whole = outputs.pop(64)
    assert all(v.shape[0] == 37 for v in whole.values())
    for split in outputs.values():
        assert all(bool(torch.equal(split[k], whole[k])) for k in whole)


@needs_openvino
@requires("cifar10", model=C10)
def test_the_cache_never_reads_one_backend_as_another(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    adapter, images = load_model(C10), load("cifar10", n=24, seed=5)
    before = cache.STATS.misses
    monkeypatch.setenv("OOD_NB_BACKEND", "openvino")
    fast = extract(adapter, images, progress=False)
    monkeypatch.setenv("OOD_NB_BACKEND", "eager")
    ref = extract(adapter, images, progress=False)
    assert cache.STATS.misses - before == 2  # two keys: the eager cache is not the OpenVINO one
    hits = cache.STATS.hits
    monkeypatch.setenv("OOD_NB_BACKEND", "openvino")
    again = extract(adapter, images, progress=False)
    assert cache.STATS.hits == hits + 1 and (again.logits == fast.logits).all()
    for k in ref.arrays:
        if k not in ("labels", "indices"):
            assert abs(fast.arrays[k] - ref.arrays[k]).max() <= backends.TOLERANCE, k


def test_default_backend_follows_the_environment(monkeypatch):
    monkeypatch.delenv("OOD_NB_BACKEND", raising=False)
    assert backends.default_backend() == ("openvino" if backends.openvino_available() else "eager")
    monkeypatch.setenv("OOD_NB_BACKEND", "eager")
    assert backends.default_backend() == "eager"
    monkeypatch.setenv("OOD_NB_BACKEND", "bf16")
    with pytest.raises(ValueError, match="not a backend"):
        backends.default_backend()


@needs_openvino
@requires("cifar10", "textures", model=C10)
def test_gradient_methods_run_their_perturbed_forward_through_the_backend_and_match_eager(monkeypatch):
    """ODIN (plain and through a head) and AdaSCALE compute their input gradient eagerly and send the
    perturbed images through the backend; the eager path is the reference."""
    import numpy as np

    from ood_nb_utils.detectors import create
    from ood_nb_utils.extraction.perturbation import compute_perturbed

    adapter = load_model(C10)
    images = np.concatenate([load("cifar10", n=40, seed=7).images, load("textures", n=24, seed=7).images])
    train = extract(adapter, load("cifar10", n=64, seed=8), progress=False)  # what HIMPLoS-ODIN's head fits on
    got = {}
    for name in ("eager", "openvino"):
        monkeypatch.setenv("OOD_NB_BACKEND", name)
        odin = [create(m).fit(train, adapter.head, adapter=adapter).compute(images, progress=False)
                for m in ("odin", "himplos_odin")]
        got[name] = (odin, compute_perturbed(adapter, images, progress=False, region="random", seed=1))
    (odin_ref, pert_ref), (odin_fast, pert_fast) = got["eager"], got["openvino"]
    for ref, fast in zip(odin_ref, odin_fast, strict=True):
        assert np.abs(fast - ref).max() <= 1e-6 and ref.std() > 1e-4  # scores differ far more between images
    assert np.array_equal(pert_fast["penultimate"], pert_ref["penultimate"])  # the gradient's own forward: eager
    assert np.array_equal(pert_fast["logits"], pert_ref["logits"])
    assert np.abs(pert_fast["perturbed"] - pert_ref["perturbed"]).max() <= backends.TOLERANCE
    assert np.abs(pert_ref["perturbed"] - pert_ref["penultimate"]).max() > 100 * backends.TOLERANCE


@needs_openvino
@requires("cifar10", model=C10)
def test_openvino_saves_its_converted_graph_and_a_later_process_reads_the_same_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    adapter = load_model(C10)
    x = next(iter(batches(adapter, load("cifar10", n=16, seed=8).images)))
    monkeypatch.setattr(backends, "_MADE", {})
    converted = backends.backend_for(adapter, "openvino").run(x)
    saved = backends.converted_model_path(adapter, backends.ReducedTaps(adapter).names, (3, 32, 32))
    assert saved.exists() and saved.with_suffix(".bin").exists()
    assert not list(saved.parent.glob(".tmp-*"))  # the temporary folder is gone

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again although the graph was saved")

    monkeypatch.setattr(backends, "_MADE", {})  # what a new process sees
    monkeypatch.setattr(backends, "_convert", no_conversion)
    reread = backends.backend_for(adapter, "openvino").run(x)
    assert all(bool((reread[k] == converted[k]).all()) for k in converted)
    # a saved graph whose weights file is gone is converted and saved again, with a warning
    monkeypatch.undo()
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(backends, "_MADE", {})
    saved.with_suffix(".bin").unlink()
    with pytest.warns(UserWarning, match="converting again"):
        again = backends.backend_for(adapter, "openvino").run(x)
    assert saved.with_suffix(".bin").exists() and all(bool((again[k] == converted[k]).all()) for k in converted)
    # the key follows what the graph computes: another input shape or another set of outputs is another graph
    names = backends.ReducedTaps(adapter).names
    assert backends.converted_model_path(adapter, names, (3, 64, 64)) != saved
    assert backends.converted_model_path(adapter, names[:2], (3, 32, 32)) != saved


@pytest.mark.parametrize("size", [64, 224])
def test_the_default_backend_takes_a_torchvision_resnet18_at_any_input_size(size, tmp_path, monkeypatch):
    """extract with the machine's default backend (OpenVINO where installed: a graph converted per input shape)
    agrees with eager within the backends' tolerance on an ImageNet-shaped network at 64 and 224 px."""
    import numpy as np
    from torchvision.models import resnet18

    from ood_nb_utils.models import ModelAdapter

    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    torch.manual_seed(0)
    net = resnet18(weights=None, num_classes=10).eval()
    adapter = ModelAdapter.from_module(net, final="layer4", head="fc", taps={"layer3": "layer3"},
                                       mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), name="resnet18",
                                       device="cpu")
    pixels = np.random.default_rng(size).integers(0, 256, (12, size, size, 3), dtype=np.uint8)
    monkeypatch.delenv("OOD_NB_BACKEND")
    default = extract(adapter, pixels, progress=False)
    monkeypatch.setenv("OOD_NB_BACKEND", "eager")
    eager = extract(adapter, pixels, progress=False)
    assert default.arrays["final.max"].shape == (12, 512)
    for k in ("logits", "penultimate", "final.max", "final.mean", "layer3.max", "layer3.mean"):
        assert np.abs(default.arrays[k] - eager.arrays[k]).max() <= backends.TOLERANCE, k
