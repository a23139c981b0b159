"""The detector redesign reproduces the pre-refactor registry's scores (issue 12's golden test).

``tests/golden/scores.json.gz`` holds every method's scores from the old registry (written by
``tests/golden/capture_pre_refactor.py`` at commit 5cdb901, before the redesign): both DICE DenseNets,
default hyperparameters except the sizes of the held-out searches, a seeded 100-image subset of the ID test set
and of Textures (32 for the methods that run the network), fits on a seeded 1,000-image ID train subset: sizes
a cold cache extracts in seconds. Every registered detector must give the same scores to 1e-6 through the new
engine (:func:`~ood_nb_utils.evaluation.evaluate` in an explicit
:class:`~ood_nb_utils.context.RunContext`), the network-based ones included. The golden scores predate the ID
validation split of issue 13, so the context here has none (``validation_n=0``) and holds its searches out of the
train file (``heldout_from="train"``), as the engine did then.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from ood_nb_utils import config, registry
from ood_nb_utils.context import RunContext
from ood_nb_utils.evaluation import evaluate
from ood_nb_utils.models import CHECKPOINTS

from .conftest import requires

GOLDEN = json.loads(gzip.open(Path(__file__).with_name("golden") / "scores.json.gz", "rt").read())
PROFILE = config.Profile(**GOLDEN["profile"])
SIZES = GOLDEN["sizes"]
# the old registry's held-out sizes, as the new detectors' hyperparameters (dotted names reach a nested base)
SIZE_PARAMS = {"n_heldout": SIZES["n_heldout"], "n_val": SIZES["n_val"], "base.n_val": SIZES["n_val"]}
NAP_ADASCALE = {"n_heldout": SIZES["n_search"], "base.n_val": SIZES["n_val"]}


def golden_detectors() -> dict:
    """Every registered detector with the golden run's held-out sizes (nothing else differs from its defaults)."""
    detectors = {}
    for name in registry.available():
        detector = registry.create(name)
        params = detector.get_params()
        sizes = NAP_ADASCALE if name == "nap_adascale_a" else {k: v for k, v in SIZE_PARAMS.items() if k in params}
        detectors[name] = detector.clone(**sizes) if sizes else detector
    return detectors


def test_golden_file_covers_every_registered_method():
    names = {key.split("/")[1] for key in GOLDEN["scores"]}
    assert names == set(registry.available()), "a method was added or removed without a golden score"
    assert PROFILE == dataclasses.replace(config.PROFILES["default"], name="golden", id_test=100, near_cifar=100,
                                          ood=100, train=1000, gradient_per_set=32)


@pytest.mark.parametrize("model", [
    pytest.param(m, marks=requires(ck.id_dataset, f"{ck.id_dataset}_train", GOLDEN["ood"], model=m))
    for m, ck in sorted(CHECKPOINTS.items())])
def test_every_method_reproduces_the_pre_refactor_scores(model):
    context = RunContext.for_model(model, PROFILE, progress=False, validation_n=0, heldout_from="train")
    result = evaluate(context, golden_detectors(), [GOLDEN["ood"]])
    worst = {}
    for name in registry.available():
        golden = GOLDEN["scores"][f"{model}/{name}"]
        for side, key in [("id", context.id_dataset), ("ood", GOLDEN["ood"])]:
            ours = result.scores[name][key]
            n = PROFILE.gradient_per_set if result.detectors[name].needs.network else GOLDEN["n"]
            assert ours.shape == (n,), (name, side, ours.shape)
            worst[(name, side)] = float(np.max(np.abs(ours - np.asarray(golden[side]))))
    bad = {k: v for k, v in worst.items() if v > 1e-6}
    assert not bad, f"scores moved by more than 1e-6: {bad}"
