"""Images per second of the gradient passes (ODIN, AdaSCALE's perturbation) on this machine.

Run: ``.venv/bin/python benchmarks/gradient_passes.py [--n 320] [--json]``. Each pass runs on the same ``--n``
CIFAR-10 test images, uncached, after one warm-up batch:

- ODIN (T = 1000, eps = 0.0014) in batches of 64 and of 32, its perturbed forward through eager PyTorch and
  through the default backend (the gradient itself is always eager);
- AdaSCALE's gradient pass alone (one forward and one backward,
  :func:`~ood_nb_utils.extraction.perturbation.compute_gradients`), and gradient + perturbed forward through each
  backend (:func:`~ood_nb_utils.extraction.perturbation.compute_perturbed`);
- one perturbed forward from cached gradients, what each extra perturbation of Tables 9-10 costs
  (:func:`~ood_nb_utils.extraction.perturbation.perturb_cached`).

Measurements, not assertions; ``tests/integration/test_backends.py`` checks that the fast paths agree with eager.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable

import torch

torch.set_num_threads(int(os.environ.get("OOD_NB_THREADS", "2")))

from ood_nb_utils.data import load  # noqa: E402
from ood_nb_utils.detectors import create  # noqa: E402
from ood_nb_utils.extraction import backends, perturbation  # noqa: E402
from ood_nb_utils.models import load_model  # noqa: E402

MODEL = "densenet100-cifar10"


def images_per_s(run: Callable, images) -> float:
    """``run(images)``'s rate after a warm-up call on one batch (which also builds the backend)."""
    run(images[:32])
    start = time.perf_counter()
    run(images)
    return len(images) / (time.perf_counter() - start)


def measure(n: int) -> dict[str, float]:
    adapter, images = load_model(MODEL), load("cifar10", n=n, seed=11).images
    fast = backends.default_backend()
    rates: dict[str, float] = {}
    for name in dict.fromkeys(["eager", fast]):
        os.environ["OOD_NB_BACKEND"] = name
        odin = create("odin").fit(None, adapter.head, adapter=adapter)
        for batch in (64, 32):
            rates[f"ODIN, batches of {batch}, perturbed forward {name}"] = images_per_s(
                lambda x, b=batch: odin.compute(x, progress=False, batch_size=b), images)
        rates[f"AdaSCALE gradient + perturbed forward {name}"] = images_per_s(
            lambda x: perturbation.compute_perturbed(adapter, x, progress=False), images)
    rates["AdaSCALE gradient pass alone (eager)"] = images_per_s(
        lambda x: perturbation.compute_gradients(adapter, x, progress=False), images)
    grads = perturbation.compute_gradients(adapter, images, progress=False)
    rates[f"AdaSCALE, one more perturbation from cached gradients ({fast})"] = images_per_s(
        lambda x: perturbation.perturb_cached(adapter, x, {k: v[:len(x)] for k, v in grads.items()},
                                              progress=False), images)
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=320, help="CIFAR-10 test images per measurement")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    rates = measure(args.n)
    if args.json:
        print(json.dumps({"images": args.n, "threads": torch.get_num_threads(), "images_per_s": rates}))
    else:
        print(f"{args.n} CIFAR-10 images, {torch.get_num_threads()} threads, model {MODEL}")
        for label, rate in rates.items():
            print(f"  {label:<70} {rate:7.1f} img/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
