"""Detectors: every method of the book as a small class behind one interface (:mod:`.base`).

One module per paper; importing this package registers every method by name (see
:func:`ood_nb_utils.detectors.registry.create`):

- :mod:`.baselines`  MSP, MaxLogit, Energy, ODIN, Mahalanobis, KNN, ReAct, BFAct, DICE, ASH-P/B/S, SCALE, LTS
- :mod:`.nap`        NAP, NapX (+ NAP-E, -M, -R, -A, -D, -K)
- :mod:`.adascale`   AdaSCALE-A, AdaSCALE-L
- :mod:`.himplos`    HIMPLoS and its Table I/IV rows (DICE+ReAct, MSP/ODIN through ReAct or HIMPLoS, logit smoothing)
- :mod:`.prototype_fusion`  Prototype Fusion
- :mod:`.combos`     the cross-paper combinations NAP+HIMPLoS, NAP+Prototype Fusion, NAP+AdaSCALE-A

and what they share: :mod:`.base` (the interface), :mod:`.registry` (names), :mod:`.tuning` (one search API) and
:mod:`.heldout` (:class:`HeldOut`, the held-out ID images of the detectors that search or calibrate on them).
"""

# isort: off  (import order = registration order = the chapters' order)
from .adascale import PAPER_SETTINGS, AdaScale, AdaScaleA, AdaScaleL
from .base import Detector, Grid, Interval, Needs, NetworkDetector
from .baselines import DICE, KNN, LTS, MSP, ODIN, SCALE, AshB, AshP, AshS, BFAct, Energy, Mahalanobis, MaxLogit, ReAct
from .combos import NapAdaScaleA, NapHimplos, NapPrototypeFusion
from .heldout import HELDOUT_N, HeldOut, PseudoOOD
from .himplos import DiceReAct, HIMPLoS, HimplosMSP, HimplosODIN, LogitSmoothing, ReactMSP, ReactODIN
from .nap import NAP, NapA, NapD, NapE, NapK, NapM, NapR, NapX, nap_score
from .prototype_fusion import PROTOTYPE_LAYERS, PrototypeFusion, layer_subsets
from .registry import available, create, get_class

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
    "BASELINES", "DICE", "FAMILIES", "HELDOUT_N", "KNN", "LTS", "MSP", "NAP", "ODIN", "PAPER_SETTINGS",
    "PROTOTYPE_LAYERS", "SCALE", "AdaScale", "AdaScaleA", "AdaScaleL", "AshB", "AshP", "AshS", "BFAct", "Detector",
    "DiceReAct", "Energy", "Grid", "HIMPLoS", "HeldOut", "HimplosMSP", "HimplosODIN", "Interval", "LogitSmoothing",
    "Mahalanobis", "MaxLogit", "NapA", "NapAdaScaleA", "NapD", "NapE", "NapHimplos", "NapK", "NapM",
    "NapPrototypeFusion", "NapR", "NapX", "Needs", "NetworkDetector", "PrototypeFusion", "PseudoOOD", "ReAct",
    "ReactMSP", "ReactODIN", "available", "create", "get_class", "layer_subsets", "nap_score",
]
