"""Cross-paper combinations (chapter 5): NAP's Eq. 4 with another chapter's method as the base, which
none of the four papers tried. Each holds its base as an instance; w is searched as for NAP-X."""

from __future__ import annotations

from ..scorers import NAP_EPS
from .adascale import AdaScaleA
from .himplos import HIMPLoS
from .nap import NapX
from .prototype_fusion import PrototypeFusion
from .registry import register

CROSS_REFERENCE = "cross-paper: NAP Eq. 4 with {} as the base; w searched as for NAP-X (App. H)"
NAP_ADASCALE_SEARCH_N = 200  # held-out images (and as many corrupted copies) for the w search: each needs a gradient


@register
class NapHimplos(NapX):
    name, title, default_base, reference = "nap_himplos", "NAP+HIMPLoS", HIMPLoS, CROSS_REFERENCE.format("HIMPLoS")


@register
class NapPrototypeFusion(NapX):
    name, title, default_base = "nap_pf", "NAP+Prototype Fusion", PrototypeFusion
    reference = CROSS_REFERENCE.format("Prototype Fusion")


@register
class NapAdaScaleA(NapX):
    """NAP+AdaSCALE-A: network-based, so its w search runs on fewer held-out images (each needs a gradient)."""

    name, title, default_base = "nap_adascale_a", "NAP+AdaSCALE-A", AdaScaleA
    reference = (f"cross-paper: NAP Eq. 4 with AdaSCALE-A (paper hyperparameters) as the base; w searched on "
                 f"{NAP_ADASCALE_SEARCH_N} held-out ID images vs corrupted copies")

    def __init__(self, base=None, w: float | None = None, eps: float = NAP_EPS, n_heldout: int = NAP_ADASCALE_SEARCH_N):
        super().__init__(base, w, eps, n_heldout)
