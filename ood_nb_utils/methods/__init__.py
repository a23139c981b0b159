"""Detectors: every method of the book as a small class behind one interface (:mod:`.base`).

One module per paper; importing this package registers every method by name (see
:func:`ood_nb_utils.registry.create`):

- :mod:`.baselines`  MSP, MaxLogit, Energy, ODIN, Mahalanobis, KNN, ReAct, BFAct, DICE, ASH-P/B/S, SCALE, LTS
- :mod:`.nap`        NAP, NapX (+ NAP-E, -M, -R, -A, -D, -K)
- :mod:`.adascale`   AdaSCALE-A, AdaSCALE-L
- :mod:`.himplos`    HIMPLoS and its Table I/IV rows (DICE+ReAct, MSP/ODIN through ReAct or HIMPLoS, logit smoothing)
- :mod:`.prototype_fusion`  Prototype Fusion
- :mod:`.combos`     the cross-paper combinations NAP+HIMPLoS, NAP+Prototype Fusion, NAP+AdaSCALE-A
"""

# isort: off  (import order = registration order = the chapters' order)
from ..registry import available, create, get_class
from .adascale import AdaScale, AdaScaleA, AdaScaleL
from .base import Detector, Grid, Interval, Needs, NetworkDetector
from .baselines import DICE, KNN, LTS, MSP, ODIN, SCALE, AshB, AshP, AshS, BFAct, Energy, Mahalanobis, MaxLogit, ReAct
from .combos import NapAdaScaleA, NapHimplos, NapPrototypeFusion
from .himplos import DiceReAct, HIMPLoS, HimplosMSP, HimplosODIN, LogitSmoothing, ReactMSP, ReactODIN
from .nap import NAP, NapA, NapD, NapE, NapK, NapM, NapR, NapX, nap_score
from .prototype_fusion import PROTOTYPE_LAYERS, PrototypeFusion, layer_subsets

# isort: on

# the methods each chapter introduces, in the order the leaderboard shows them
FAMILIES: dict[str, tuple[str, ...]] = {
    "baseline (ch. 0)": ("msp", "mls", "energy", "odin", "mahalanobis", "knn", "react", "bfact", "dice", "ash_p",
                         "ash_b", "ash_s", "scale", "lts"),
    "NAP (ch. 1)": ("nap", "nap_e", "nap_m", "nap_r", "nap_a", "nap_d", "nap_k"),
    "AdaSCALE (ch. 2)": ("adascale_a", "adascale_l"),
    "HIMPLoS (ch. 3)": ("himplos", "himplos_msp", "react_msp", "react_odin", "himplos_odin", "dice_react"),
    "Prototype Fusion (ch. 4)": ("prototype_fusion",),
    "cross-paper (new)": ("nap_himplos", "nap_pf", "nap_adascale_a"),
}
BASELINES = FAMILIES["baseline (ch. 0)"]

__all__ = [
    "AdaScale", "AdaScaleA", "AdaScaleL", "AshB", "AshP", "AshS", "BASELINES", "BFAct", "DICE", "Detector",
    "DiceReAct", "Energy", "FAMILIES", "Grid", "HIMPLoS", "HimplosMSP", "HimplosODIN", "Interval", "KNN", "LTS",
    "LogitSmoothing", "MSP", "Mahalanobis", "MaxLogit", "NAP", "NapA", "NapAdaScaleA", "NapD", "NapE", "NapHimplos",
    "NapK", "NapM", "NapPrototypeFusion", "NapR", "NapX", "Needs", "NetworkDetector", "ODIN", "PROTOTYPE_LAYERS",
    "PrototypeFusion", "ReAct", "ReactMSP", "ReactODIN", "SCALE", "available", "create", "get_class",
    "layer_subsets", "nap_score",
]
