"""Store what every golden score was computed from (the network's outputs that the cache holds), with the scores.

``tests/integration/test_golden.py`` runs the golden evaluation (every registered detector, both DICE DenseNets,
the sizes of ``scores.json.gz``) with the activation cache pointed at an empty folder. Every network output it needs
lands in that cache, one content-keyed entry per computation: the extracted features of each image set
(``features``), the perturbed activations of AdaSCALE (``perturbed``) and the ODIN scores of every ODIN-type method
(``odin``). This
script runs that evaluation once and copies those entries (the arrays the detectors read: :data:`KEEP`) to
``tests/integration/golden/inputs/<kind>/<key>.npz`` (compressed), each with its JSON description (what the key
was made of), and writes the scores it computed into ``scores.json.gz`` (with the commit and CPU they came from).

The golden test then scores these stored arrays (no network output is computed again, so the result depends on
the scoring arithmetic only, not on the CPU's convolution kernels) and compares with the stored scores to 1e-6;
a separate test extracts afresh and compares with the stored arrays at the tolerance another CPU meets.

Run it from the repository root with the test suite's settings (eager extraction, two threads)::

    OOD_NB_BACKEND=eager .venv/bin/python tests/integration/golden/capture_inputs.py
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

INPUTS = Path(__file__).with_name("inputs")
# What the detectors read of a features entry (the taps Prototype Fusion and NAP use, the logits and penultimate);
# the other taps are not stored, to keep the folder small
KEEP = ("logits", "penultimate", "block2.mean", "block3.mean", "final.mean", "final.max", "labels", "indices",
        "perturbed", "scores", "seconds_per_image")
# Network outputs only: corrupted pixels are data (and recomputed from the shared images by numpy), and the raw
# input gradients are read only to compute the perturbed activations, which are stored
STORED_KINDS = ("features", "perturbed", "odin")
# Smaller than the first capture's 1,000 train and 200 held-out images, to keep the stored arrays small
SIZES = {"train": 500, "n_heldout": 100}


def out_sizes_unchanged(golden: dict) -> bool:
    return golden["profile"]["train"] == SIZES["train"] and golden["sizes"]["n_heldout"] == SIZES["n_heldout"]


def main() -> int:
    os.environ["OOD_NB_BACKEND"] = "eager"
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="golden-cache-") as folder:
        os.environ["OOD_NB_CACHE_DIR"] = folder
        sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
        import tests.integration.test_golden as golden_test

        golden_test.PROFILE = dataclasses.replace(golden_test.PROFILE, train=SIZES["train"])
        golden_test.SIZE_PARAMS["n_heldout"] = SIZES["n_heldout"]
        GOLDEN, golden_scores = golden_test.GOLDEN, golden_test.golden_scores

        worst, scores = 0.0, {}
        for model in sorted({key.split("/")[0] for key in GOLDEN["scores"]}):
            for name, sides in golden_scores(model).items():
                golden = GOLDEN["scores"][f"{model}/{name}"]
                worst = max(worst, *(float(np.max(np.abs(sides[s] - np.asarray(golden[s])))) for s in sides))
                scores[f"{model}/{name}"] = {s: [float(x) for x in v] for s, v in sides.items()}
        print(f"largest difference from the scores scores.json.gz held: {worst:.2e} (sizes {SIZES} now; this is "
              "a CPU difference only when the sizes did not change)")
        if INPUTS.exists():
            shutil.rmtree(INPUTS)
        count = 0
        for entry in sorted(Path(folder).glob("*/*/*.npz")):
            kind = entry.parent.parent.name
            if kind not in STORED_KINDS:
                continue
            target = INPUTS / kind / entry.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with np.load(entry, allow_pickle=False) as archive:
                np.savez_compressed(target, **{k: archive[k] for k in archive.files if k in KEEP})
            shutil.copyfile(entry.with_suffix(".json"), target.with_suffix(".json"))
            count += 1
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    profile = {**GOLDEN["profile"], "train": SIZES["train"]}
    out = {**GOLDEN, "profile": profile, "sizes": {**GOLDEN["sizes"], "n_heldout": SIZES["n_heldout"]},
           "scores": scores, "commit": commit, "cpu": cpu,
           "previous": {k: GOLDEN.get(k) for k in ("commit", "cpu")},
           # a CPU-to-CPU difference only when the images and sizes are those of the previous capture
           "max_difference_from_previous_capture": worst if out_sizes_unchanged(GOLDEN) else None}
    with gzip.open(INPUTS.with_name("scores.json.gz"), "wt") as fh:
        json.dump(out, fh)
    size = sum(p.stat().st_size for p in INPUTS.rglob("*.npz"))
    print(f"stored {count} entries ({size / 1e6:.1f} MB) in {INPUTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
