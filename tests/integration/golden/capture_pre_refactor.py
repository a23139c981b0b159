"""Capture every registered method's scores with the PRE-REFACTOR registry (commit 5cdb901).

Writes ``tests/golden/scores.json.gz``: for both DICE DenseNets, every method of the old
``registry.METHODS`` with its default hyperparameters scores a fixed, seeded ``N``-image subset of the ID test
set and of Textures (``N_NETWORK`` images for the methods that run the network: ODIN and AdaSCALE), fitting on a
seeded ``TRAIN``-image subset of the ID train file. ``tests/test_golden.py`` checks that the
redesigned detectors reproduce these scores to 1e-6.

The held-out searches are shrunk to test size, the same way on both sides (``HELDOUT``, the old
``pseudo_ood.HELDOUT_N`` / the new ``n_heldout``: NAP-X's w search; ``N_VAL``: AdaSCALE's eCDF; ``N_SEARCH``:
NAP+AdaSCALE's w search), so that the test runs on a cold cache in seconds (issue 15). The first capture
(issue 12) used the ``default`` profile's 5,000 train images and N = 200; this one keeps the method code and
changes only sizes.

Run from a checkout of 5cdb901 (``git worktree add /tmp/old 5cdb901``; copy this file there; run it with
``OOD_NB_CACHE_DIR`` pointing at an empty folder). It imports the old API on purpose and does not run on later
commits (the old registry no longer exists there).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import sys
import time
from pathlib import Path

import torch

from ood_nb_utils import config, pseudo_ood, registry
from ood_nb_utils.evaluation import evaluate
from ood_nb_utils.models import CHECKPOINTS

N = 100
N_NETWORK = 32
TRAIN = 1000
HELDOUT = 200
N_VAL = 100
N_SEARCH = 50
OOD = "textures"
GOLDEN = dataclasses.replace(config.PROFILES["default"], name="golden", id_test=N, near_cifar=N, ood=N,
                             train=TRAIN, gradient_per_set=N_NETWORK)
# The old NAP-X search took its image count from these defaults; every other size is a hyperparameter.
SIZES = {"adascale_a": {"n_val": N_VAL}, "adascale_l": {"n_val": N_VAL},
         "nap_adascale_a": {"n_val": N_VAL, "n_search": N_SEARCH}}


def main() -> int:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    config.current_profile = lambda: GOLDEN  # the old network scorers read the profile from here
    pseudo_ood.heldout_images.__defaults__ = (HELDOUT, 0)
    pseudo_ood.heldout_features.__defaults__ = (HELDOUT, 0, True)
    out = {"n": N, "ood": OOD, "profile": dataclasses.asdict(GOLDEN), "scores": {},
           "sizes": {"n_heldout": HELDOUT, "n_val": N_VAL, "n_search": N_SEARCH}, "commit": "5cdb901"}
    for model in CHECKPOINTS:
        id_ds = CHECKPOINTS[model].id_dataset
        for name in registry.METHODS:
            start = time.perf_counter()
            res = evaluate(model, [name], [OOD], profile=GOLDEN, progress=False, params={name: SIZES.get(name, {})})
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
