"""Speed figures of this machine: forward throughput, cold vs cached extraction, per-scorer time.

Run: ``.venv/bin/python benchmarks/throughput.py`` (or ``make benchmark``). Prints a table; the
numbers are measurements, not assertions (speed targets live here, never in tests).
"""

from __future__ import annotations

import os
import tempfile
import time

import torch

torch.set_num_threads(int(os.environ.get("OOD_NB_THREADS", "2")))

from ood_nb_utils import cache, detectors  # noqa: E402
from ood_nb_utils.data import is_available, load  # noqa: E402
from ood_nb_utils.features import Features, extract, throughput  # noqa: E402
from ood_nb_utils.models import load_model  # noqa: E402

MODEL = "densenet100-cifar10"


def main() -> None:
    adapter = load_model(MODEL)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("\n## forward throughput (all taps, channels_last, random 32x32 inputs)")
    for bs in (16, 32, 64, 128):
        print(f"batch {bs:4d}: {throughput(adapter, n_images=384, batch_size=bs):7.1f} images/s")

    if not is_available("cifar10"):
        print("cifar10 not available: skipping the extraction and scoring benchmarks")
        return
    print("\n## extraction of 1,000 CIFAR-10 test images: cold (empty cache) vs cached")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OOD_NB_CACHE_DIR"] = tmp
        start = time.perf_counter()
        extract(adapter, load("cifar10", n=1000), progress=False)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        extract(adapter, load("cifar10", n=1000), progress=False)
        warm = time.perf_counter() - start
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
        start = time.perf_counter()
        det.fit(train, adapter.head)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        det.score(feats)
        score_s = time.perf_counter() - start
        print(f"{name:12s} fit {fit_s * 1000:8.1f} ms   score {score_s * 1000:8.1f} ms   "
              f"({score_s * 100:.2f} ms per 1,000 images)")
    print(f"\ncache: {cache.STATS.hits} hits, {cache.STATS.misses} misses")


if __name__ == "__main__":
    main()
