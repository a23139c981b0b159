"""What the activation cache stores per image, and what its keys are made of.

Feature extraction (:mod:`.features`), every forward path (:mod:`.backends`) and the gradient passes
(:mod:`.perturbation`) share these rules, so they live here once:

- :func:`reduce_taps`: of one batch, the logits, the penultimate feature and each spatial tap's channel mean and
  max; :func:`stored_names` lists them in the order a converted graph returns them;
- :data:`FEATURE_VERSION`: bumped whenever what is stored changes, so older cache entries are not read;
- :func:`cache_parts`: what determines a cached computation of an adapter on some inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from ..models.adapter import ModelAdapter

FEATURE_VERSION = 2  # bump when extraction changes what it stores (2: adapter fingerprint keys)
REDUCTIONS = ("mean", "max")


def stored_names(adapter: ModelAdapter) -> list[str]:
    """The arrays stored per image, in a fixed order: logits, penultimate, then ``<tap>.mean`` and ``<tap>.max``."""
    return ["logits", "penultimate", *(f"{t}.{r}" for t in adapter.spatial_taps for r in REDUCTIONS)]


def reduce_taps(adapter: ModelAdapter, taps: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What the cache keeps of one batch: logits, penultimate, and each spatial tap's channel mean and max."""
    out = {"logits": taps["logits"], "penultimate": taps["penultimate"]}
    for name in adapter.spatial_taps:
        fmap = taps[name]
        out[f"{name}.mean"] = fmap.mean(dim=(2, 3))
        out[f"{name}.max"] = fmap.amax(dim=(2, 3))
    return out


def cache_parts(adapter: ModelAdapter, identity: dict, **extra) -> dict:
    """What determines a cached computation of ``adapter`` on inputs with ``identity``."""
    return {"model": adapter.name, "fingerprint": adapter.fingerprint, **identity, **extra}

