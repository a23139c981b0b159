"""Capture every registered method's scores with the PRE-REFACTOR registry (commit 5cdb901).

Run once, before the detector redesign of issue 12, to write ``tests/golden/scores.json.gz``:
for both DICE DenseNets, every method of the old ``registry.METHODS`` with its default
hyperparameters scores a fixed, seeded 200-image subset of the ID test set and of Textures.
Fits use the ``default`` profile's ID train subset (5,000 images), exactly as the old code did.
``tests/test_golden.py`` checks that the redesigned detectors reproduce these scores to 1e-6.

This script imports the old API on purpose; it is kept for provenance and does not run on
later commits (the old registry no longer exists there).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import sys
import time
from pathlib import Path

import torch

from ood_nb_utils import config, registry
from ood_nb_utils.evaluation import evaluate
from ood_nb_utils.models import CHECKPOINTS

N = 200
OOD = "textures"
GOLDEN = dataclasses.replace(config.PROFILES["default"], name="golden", id_test=N, near_cifar=N, ood=N,
                             gradient_per_set=N)


def main() -> int:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    config.current_profile = lambda: GOLDEN  # the old network scorers read the profile from here
    out = {"n": N, "ood": OOD, "profile": dataclasses.asdict(GOLDEN), "scores": {}}
    for model in CHECKPOINTS:
        id_ds = CHECKPOINTS[model].id_dataset
        for name in registry.METHODS:
            start = time.perf_counter()
            res = evaluate(model, [name], [OOD], profile=GOLDEN, progress=False)
            sc = res.scores[name]
            out["scores"][f"{model}/{name}"] = {"id": [float(x) for x in sc[id_ds]],
                                                "ood": [float(x) for x in sc[OOD]]}
            print(f"{model} {name}: {time.perf_counter() - start:.1f} s", flush=True)
    path = Path(__file__).with_name("scores.json.gz")
    with gzip.open(path, "wt") as fh:
        json.dump(out, fh)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
