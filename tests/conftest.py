"""Shared fixtures. Tests that need the real data or checkpoints skip, with the reason, when the
data directory lacks them; CI runs with ../shared beside the checkout, so there they all run."""

from __future__ import annotations

import os

import pytest
import torch

from ood_nb_utils.data import is_available
from ood_nb_utils.models import CHECKPOINTS, checkpoint_path

torch.set_num_threads(2)
# Tests compare with eager references (the golden scores to 1e-6), so extraction runs eagerly here whatever the
# machine's default; tests/test_backends.py names the other backends explicitly and checks them against eager.
os.environ["OOD_NB_BACKEND"] = "eager"


def have_weights(name: str) -> bool:
    try:
        checkpoint_path(name)
    except (FileNotFoundError, ValueError):
        return False
    return True


def requires(*datasets: str, model: str | None = None):
    """Skip (naming what is missing) unless the datasets and checkpoint are present."""
    missing = [d for d in datasets if not is_available(d)]
    if model is not None and not have_weights(model):
        missing.append(CHECKPOINTS[model].filename)
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} in the data/weights folders")
