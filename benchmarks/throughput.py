"""Speed figures of this machine: the forward paths side by side, cold vs cached extraction, per-scorer time.

Run: ``.venv/bin/python benchmarks/throughput.py`` (or ``make benchmark``) for tables, ``--json`` for one JSON
object on the last line::

    {"default_backend": ..., "backends": {name: {"images_per_s", "ratio_to_eager", "max_abs_diff"}},
     "model_gflops_per_image": ..., "peak_gflops": ..., "peak_fraction": ...}

``max_abs_diff`` is the largest |backend - eager| over every stored array (logits, penultimate, each tap's
channel mean and max) on the same real images; ``peak_fraction`` is the default backend's FLOP rate (FLOPs
from ``torch.utils.flop_counter``) over this CPU's measured peak (a large float32 matmul). The numbers are
measurements, not assertions (speed targets live here, never in tests).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np
import torch

torch.set_num_threads(int(os.environ.get("OOD_NB_THREADS", "2")))

from ood_nb_utils import cache, detectors  # noqa: E402
from ood_nb_utils.data import is_available, load  # noqa: E402
from ood_nb_utils.extraction import backends  # noqa: E402
from ood_nb_utils.extraction.features import Features, extract, run_network, throughput  # noqa: E402
from ood_nb_utils.models import load_model  # noqa: E402

MODEL = "densenet100-cifar10"


def model_flops(adapter, image_shape=(3, 32, 32)) -> float:
    """FLOPs of one image's forward pass with all taps (torch.utils.flop_counter; a multiply-add counts 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, *image_shape)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        adapter.forward_taps(x)
    return float(counter.get_total_flops())


def peak_flops(n: int = 2048, repeats: int = 5) -> float:
    """This CPU's float32 FLOP rate on a large matmul (best of ``repeats``), with the threads in force."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare_backends(adapter, images: np.ndarray, names, rounds: int = 2) -> dict[str, dict[str, float]]:
    """images/s of each backend on the same images, sent in the batches extraction sends it
    (:func:`~ood_nb_utils.extraction.features.run_network`: 32 for eager, more for OpenVINO, which splits them into
    small requests on every stream), best of ``rounds`` after a warm-up, and its largest absolute difference from eager
    over every stored array."""
    reference = run_network(adapter, images, backends.backend_for(adapter, "eager"))
    out = {}
    for name in names:
        backend = backends.backend_for(adapter, name)
        result = run_network(adapter, images, backend)  # warm-up (and compilation) outside the timing
        diff = max(float(np.abs(result[k] - reference[k]).max()) for k in reference)
        seconds = min(_timed(lambda backend=backend: run_network(adapter, images, backend)) for _ in range(rounds))
        out[name] = {"images_per_s": len(images) / seconds, "max_abs_diff": diff, "batch": backend.batch_size}
    for name in out:
        out[name]["ratio_to_eager"] = out[name]["images_per_s"] / out["eager"]["images_per_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (last line) and nothing else")
    parser.add_argument("--images", type=int, default=512, help="real CIFAR-10 images per backend (default 512)")
    args = parser.parse_args()
    adapter = load_model(MODEL)
    names = ["eager", *(["openvino"] if backends.openvino_available() else []), "compile"]
    images = (load("cifar10", n=args.images).images if is_available("cifar10") else
              np.random.default_rng(0).integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8))
    side_by_side = compare_backends(adapter, images, names)
    default = backends.default_backend()
    flops, peak = model_flops(adapter), peak_flops()
    summary = {"default_backend": default, "threads": torch.get_num_threads(), "images": len(images),
               "backends": side_by_side, "model_gflops_per_image": flops / 1e9, "peak_gflops": peak / 1e9,
               "peak_fraction": flops * side_by_side[default]["images_per_s"] / peak}
    if args.json:
        print(json.dumps(summary))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; default backend: {default}")
    print(f"\n## forward paths on the same {len(images)} images (all taps; OpenVINO: requests of "
          f"{backends.MICRO_BATCH} images on {torch.get_num_threads()} streams)")
    print(f"{'backend':10s} {'batch':>6s} {'images/s':>9s} {'x eager':>8s} {'max |diff|':>11s}")
    for name, row in side_by_side.items():
        print(f"{name:10s} {row['batch']:6d} {row['images_per_s']:9.1f} {row['ratio_to_eager']:8.2f} "
              f"{row['max_abs_diff']:11.2e}")
    print(f"model {flops / 1e9:.3f} GFLOP per image; matmul peak {peak / 1e9:.1f} GFLOP/s; the default backend runs "
          f"at {100 * summary['peak_fraction']:.1f}% of it")
    print("\n## eager forward throughput by batch size (all taps, channels_last, random 32x32 inputs)")
    for bs in (16, 32, 64, 128):
        print(f"batch {bs:4d}: {throughput(adapter, n_images=384, batch_size=bs):7.1f} images/s")

    if not is_available("cifar10"):
        print("cifar10 not available: skipping the extraction and scoring benchmarks")
        return
    print(f"\n## extraction of 1,000 CIFAR-10 test images ({default}): cold (empty cache) vs cached")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OOD_NB_CACHE_DIR"] = tmp
        cold = _timed(lambda: extract(adapter, load("cifar10", n=1000), progress=False))
        warm = _timed(lambda: extract(adapter, load("cifar10", n=1000), progress=False))
        del os.environ["OOD_NB_CACHE_DIR"]
    print(f"cold: {cold:7.2f} s ({1000 / cold:.1f} images/s incl. loading)   cached: {warm:6.3f} s   "
          f"speed-up x{cold / warm:.0f}")

    print("\n## per-scorer time on 10,000 x 342 cached features (fit on 5,000 train features)")
    feats = extract(adapter, load("cifar10"), progress=False)
    train = extract(adapter, load("cifar10_train", n=5000), progress=False) if is_available("cifar10_train") else feats
    assert isinstance(feats, Features) and len(feats) == 10_000
    for name in detectors.BASELINES:
        det = detectors.create(name)
        if det.needs.network:
            continue
        fit_s = _timed(lambda det=det: det.fit(train, adapter.head))
        score_s = _timed(lambda det=det: det.score(feats))
        print(f"{name:12s} fit {fit_s * 1000:8.1f} ms   score {score_s * 1000:8.1f} ms   "
              f"({score_s * 100:.2f} ms per 1,000 images)")
    print(f"\ncache: {cache.STATS.hits} hits, {cache.STATS.misses} misses")


if __name__ == "__main__":
    main()
