"""The package at research scale, on a tiny network: devices and their cache rule, streaming extraction, the disk
cache switched off, features from arrays, and one-call evaluation of an image folder (function and CLI)."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import ood_nb_utils
from ood_nb_utils import Features, Head, cache, config, detectors, metrics
from ood_nb_utils.__main__ import main
from ood_nb_utils.data import ImageFolderSet
from ood_nb_utils.extraction import backends
from ood_nb_utils.extraction.features import extract, stream_digest
from ood_nb_utils.models.adapter import device_key_parts, resolve_device

from .nets import tiny_adapter, tiny_net

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def images(n: int = 40, size: int = 24, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


class Counting(torch.utils.data.Dataset):
    """uint8 images with labels, counting every item read (and optionally different pixels on every read)."""

    def __init__(self, pixels: np.ndarray, *, changing: bool = False) -> None:
        self.pixels, self.changing, self.reads = pixels, changing, 0

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i: int):
        self.reads += 1
        x = self.pixels[i].copy()
        if self.changing:
            x[0, 0, 0] = self.reads % 256
        return x, i % 5


# --- devices ------------------------------------------------------------------------------------------------


def test_the_device_rule_adds_nothing_on_the_cpu_and_the_gpu_model_elsewhere(monkeypatch):
    assert device_key_parts(torch.device("cpu")) == {}
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 80GB HBM3")
    assert device_key_parts(torch.device("cuda")) == {"device": "cuda:NVIDIA H100 80GB HBM3"}
    cpu = tiny_adapter(tiny_net()).to("cpu")
    eager = backends.backend_for(cpu, "eager")
    assert backends.key_parts(cpu, eager) == {}
    monkeypatch.setattr(type(cpu), "cache_key_parts", property(lambda self: {"device": "cuda:X"}))
    assert backends.key_parts(cpu, eager) == {"device": "cuda:X"}


def test_a_device_is_checked_and_none_picks_cuda_only_when_there_is_one():
    assert resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA GPU"):
            resolve_device("cuda")


def test_openvino_is_a_cpu_only_choice(monkeypatch):
    monkeypatch.delenv("OOD_NB_BACKEND")
    on_cpu = "openvino" if backends.openvino_available() else "eager"
    assert backends.default_backend(torch.device("cpu")) == on_cpu
    meta = tiny_adapter(tiny_net(), name="meta-device")
    meta.device = torch.device("meta")  # any device that is not the CPU
    assert backends.default_backend(meta.device) == "eager"
    if backends.openvino_available():
        with pytest.raises(ValueError, match="CPU only"):
            backends._openvino(meta)


def test_a_cpu_extraction_keeps_the_keys_caches_had_before_devices(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    adapter = tiny_adapter(tiny_net()).to("cpu")
    extract(adapter, images(8), progress=False)
    sidecars = list(tmp_path.rglob("*.json"))
    assert len(sidecars) == 1
    assert "device" not in json.loads(sidecars[0].read_text())["parts"]


@needs_cuda
def test_cuda_extraction_and_gradient_passes_agree_with_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    pixels = images(64, size=32)
    cpu = tiny_adapter(tiny_net(), name="cpu").to("cpu")
    gpu = tiny_adapter(tiny_net(), name="gpu").to("cuda")
    a, b = extract(cpu, pixels, progress=False), extract(gpu, pixels, progress=False)
    for k in ("logits", "penultimate", "final.max"):
        assert np.abs(a.arrays[k] - b.arrays[k]).max() <= backends.TOLERANCE
    odin_cpu = detectors.ODIN().fit(None, cpu.head, adapter=cpu).score(pixels)
    odin_gpu = detectors.ODIN().fit(None, gpu.head, adapter=gpu).score(pixels)
    assert np.abs(odin_cpu - odin_gpu).max() <= 1e-4
    parts = [json.loads(p.read_text())["parts"] for p in tmp_path.rglob("*.json")]
    assert sum("device" in p for p in parts) >= 1 and sum("device" not in p for p in parts) >= 1


# --- streaming, keys and the disk cache ------------------------------------------------------------------------


def test_a_dataset_streams_batch_by_batch_and_gives_the_array_results(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    net = tiny_net(seed=11)  # weights of its own: backends are built once per fingerprint, on the first such net
    adapter = tiny_adapter(net)
    pixels = images(100)
    data = Counting(pixels)
    reads_at_forward = []
    net.conv.register_forward_hook(lambda *args: reads_at_forward.append(data.reads))
    streamed = extract(adapter, data, cache=False, progress=False)
    batch = backends.backend_for(adapter).batch_size
    assert reads_at_forward[0] <= batch < len(pixels), "the network must run before the set is read whole"
    whole = extract(adapter, pixels, labels=np.arange(100) % 5, progress=False)
    for k in whole.arrays:
        np.testing.assert_allclose(streamed.arrays[k], whole.arrays[k], atol=1e-6)


def test_a_named_stream_found_in_the_cache_reads_no_image(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    adapter = tiny_adapter(tiny_net())
    first = extract(adapter, Counting(images(30)), key="my-set-v1", progress=False)
    again = Counting(images(30))
    hits = cache.STATS.hits
    second = extract(adapter, again, key="my-set-v1", progress=False)
    assert cache.STATS.hits == hits + 1 and again.reads == 0
    np.testing.assert_array_equal(first.arrays["logits"], second.arrays["logits"])


def test_an_unnamed_stream_is_keyed_by_its_digest(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    adapter = tiny_adapter(tiny_net())
    pixels = images(30)
    assert stream_digest(Counting(pixels)) == stream_digest(Counting(pixels))
    assert stream_digest(Counting(pixels)) != stream_digest(Counting(images(30, seed=1)))
    extract(adapter, Counting(pixels), progress=False)
    misses, data = cache.STATS.misses, Counting(pixels)
    extract(adapter, data, progress=False)
    assert cache.STATS.misses == misses and data.reads == len(pixels)  # one reading pass, no network
    changed = Counting(images(30, seed=2), changing=True)
    with pytest.warns(UserWarning, match="different data on its second pass"):
        extract(adapter, changed, progress=False)
    assert cache.STATS.misses == misses  # not stored


def test_cache_false_writes_nothing_to_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("OOD_NB_BACKEND")  # the machine's default backend: OpenVINO converts, and saves nothing
    monkeypatch.setattr(backends, "_MADE", {})
    adapter = tiny_adapter(tiny_net(), name="nothing-on-disk")
    extract(adapter, images(20), cache=False, progress=False)
    extract(adapter, Counting(images(20)), cache=False, progress=False)
    assert list(tmp_path.rglob("*")) == []


def test_outside_a_checkout_the_cache_is_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("OOD_NB_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path / "site-packages")
    assert not config.in_checkout()
    assert config.cache_dir() == tmp_path / "xdg" / "ood_nb" / "cache"


def test_a_backend_that_fails_while_running_hands_over_to_eager_with_one_warning(monkeypatch):
    adapter = tiny_adapter(tiny_net(), name="failing")
    monkeypatch.setattr(backends, "_MADE", {})
    monkeypatch.delenv("OOD_NB_BACKEND")

    def broken(adapter):
        def run(x):
            raise RuntimeError("shape not supported")
        return backends.Backend("compile", "compile", run)

    monkeypatch.setattr(backends, "_compiled", broken)
    backend = backends.backend_for(adapter, "compile")
    x = adapter.normalize(images(6))
    with pytest.warns(UserWarning, match="failed on failing"):
        out = backend.run(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = backend.run(x)
    reference = backends._eager(adapter).run(x)
    for k in reference:
        assert torch.equal(out[k], reference[k]) and torch.equal(again[k], reference[k])


# --- tensors in and out ------------------------------------------------------------------------------------


def test_features_from_arrays_and_scores_from_plain_arrays():
    torch.manual_seed(0)
    weight, bias = torch.randn(5, 8), torch.randn(5)
    h = torch.rand(60, 8)
    maps = torch.rand(60, 8, 3, 3)
    logits = h @ weight.T + bias
    head = Head(weight, bias)
    train = Features.from_arrays(penultimate=h, logits=logits.numpy(), taps={"final": maps}, labels=np.arange(60) % 5)
    np.testing.assert_allclose(train.arrays["final.max"], maps.amax(dim=(2, 3)).numpy())
    np.testing.assert_allclose(train.arrays["final.mean"], maps.mean(dim=(2, 3)).numpy(), rtol=1e-6)
    for name, given in [("energy", logits), ("msp", logits.numpy()), ("knn", h), ("react", h.numpy()),
                        ("himplos", h), ("mahalanobis", h)]:
        det = detectors.create(name).fit(train, head)
        np.testing.assert_allclose(det.score(given), det.score(train), rtol=1e-5, atol=1e-6, err_msg=name)
    nap = detectors.create("nap").fit(None, head)
    with pytest.raises(ValueError, match="final.max"):
        nap.score(h)
    with pytest.raises(ValueError, match="N x 5"):
        detectors.create("energy").fit(None, head).score(h)
    with pytest.raises(ValueError, match="same N|one row per image"):
        Features.from_arrays(logits=logits, penultimate=h[:10])


# --- one call: a user's network on image folders ---------------------------------------------------------


def write_folder(root, n_per_class: int, seed: int, classes=("a", "b", "c"), size=(40, 36), bright: bool = False):
    rng = np.random.default_rng(seed)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            if bright:
                pixels = (pixels // 4 + 190).astype(np.uint8)
            Image.fromarray(pixels).save(root / c / f"{i:03d}.png")
    return root


MODULE = '''
import torch
from torch import nn
from ood_nb_utils import ModelAdapter

def factory():
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("conv", nn.Conv2d(3, 8, 3, padding=1))
    net.add_module("relu", nn.ReLU())
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flat", nn.Flatten())
    net.add_module("fc", nn.Linear(8, 3))
    return ModelAdapter.from_module(net.eval(), final="relu", head="fc", mean=(0.5,) * 3, std=(0.25,) * 3,
                                    name="user-tiny", device="cpu")
'''


def test_evaluate_model_and_the_cli_score_image_folders_alike(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path / "cache"))
    id_dir = write_folder(tmp_path / "id", 6, seed=1)
    train_dir = write_folder(tmp_path / "train", 8, seed=2)
    ood_dir = write_folder(tmp_path / "ood", 5, seed=3, classes=("x",), bright=True)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "user_net.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    methods = ["msp", "energy", "knn", "nap"]
    sys.modules.pop("user_net", None)
    import user_net

    adapter = user_net.factory()
    table = ood_nb_utils.evaluate_model(adapter, id=id_dir, train=train_dir, ood={"bright": ood_dir},
                                        methods=methods, params={"knn": {"k": 5}}, progress=False, n_boot=200)
    assert list(table["method"]) == methods and set(table["n_id"]) == {18} and set(table["n_ood"]) == {5}
    assert table.attrs["n_train"] == 24
    # the table's AUROC is that of the detector's own scores, computed here again from the folders
    feats = {k: extract(adapter, ImageFolderSet(d), key=ImageFolderSet(d).key, progress=False)
             for k, d in [("id", id_dir), ("train", train_dir), ("ood", ood_dir)]}
    knn = detectors.create("knn", k=5).fit(feats["train"], adapter.head)
    expected = metrics.auroc(knn.score(feats["id"]), knn.score(feats["ood"]))
    assert table.set_index("method").loc["knn", "auroc"] == pytest.approx(expected)
    assert (table["auroc_low"] <= table["auroc"]).all() and (table["auroc"] <= table["auroc_high"]).all()

    code = main(["evaluate", "--model", "user_net:factory", "--methods", ",".join(methods), "--id-folder",
                 str(id_dir), "--train-folder", str(train_dir), "--ood-folder", f"bright={ood_dir}", "--set",
                 "knn.k=5", "--device", "cpu", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "user-tiny" and out["device"] == "cpu"
    cli = {r["method"]: r["auroc"] for r in out["results"]}
    assert cli == pytest.approx(dict(zip(table["method"], table["auroc"], strict=True)))


def test_the_cli_says_what_is_missing_for_a_users_network(tmp_path, capsys, monkeypatch):
    (tmp_path / "user_net2.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["evaluate", "--model", "user_net2:factory", "--methods", "msp"]) == 2
    assert "--id-folder" in capsys.readouterr().err
    assert main(["evaluate", "--model", "no_such_module:factory", "--methods", "msp", "--id-folder", "x",
                 "--train-folder", "y", "--ood-folder", "z=w"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_image_folder_is_verified_against_its_checksums(tmp_path):
    root = write_folder(tmp_path / "set", 2, seed=4)
    files = sorted(p for p in root.rglob("*.png"))
    sums = "".join(f"{cache.hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}\n"
                   for p in files)
    (root / "SHA256SUMS").write_text(sums)
    data = ImageFolderSet(root, resize=None, crop=None)
    assert len(data) == 6 and data[0][0].shape == (40, 36, 3) and list(data.labels) == [0, 0, 1, 1, 2, 2]
    key = data.key
    part = data.subset([1, 4])
    assert list(part.labels) == [0, 2] and part.key != key and len(data) == 6
    np.testing.assert_array_equal(part[1][0], data[4][0])
    files[0].write_bytes(files[1].read_bytes())
    with pytest.raises(ValueError, match="altered"):
        ImageFolderSet(root, resize=None, crop=None)
    (root / "SHA256SUMS").write_text(sums.replace(files[0].name, "gone.png"))
    with pytest.raises(ValueError, match="missing"):
        ImageFolderSet(root)
    assert key.startswith("folder:set:")
