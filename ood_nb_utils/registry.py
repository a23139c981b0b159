"""Method name -> how it fits on ID data and how it scores, with documented defaults.

The command line (``python -m ood_nb_utils evaluate --methods ...``) and the chapters look
methods up here. A method is either *feature-based* (it scores cached activations: every
baseline but ODIN) or *network-based* (it needs gradients through the network: ODIN; its
scores are cached per image subset and hyperparameters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch

from . import scorers
from .cache import array_digest
from .data import normalize
from .features import Features, cached_per_image
from .models import LoadedModel, load_model


@dataclass(frozen=True)
class Head:
    """The classifier head ``logits = weight @ h + bias``."""

    weight: torch.Tensor
    bias: torch.Tensor

    @classmethod
    def of(cls, model: LoadedModel) -> Head:
        return cls(model.weight, model.bias)


@dataclass(frozen=True)
class Method:
    """A registered OOD scorer. ``defaults`` are the paper values (see ``reference``)."""

    name: str
    title: str
    reference: str
    score: Callable[..., torch.Tensor] | None = None  # score(features, head, state, **params)
    fit: Callable[..., Any] | None = None  # fit(train_features, head, **params) -> state
    network: Callable[..., np.ndarray] | None = None  # network(model_name, dataset, n, seed, **params)
    defaults: dict[str, Any] = field(default_factory=dict)
    # logits(features, head, state, **params): the logits the method classifies with, where it
    # changes them (activation shaping, DICE); None means the network's own logits.
    logits: Callable[..., torch.Tensor] | None = None

    @property
    def needs_network(self) -> bool:
        return self.network is not None

    def params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        unknown = set(overrides or {}) - set(self.defaults)
        if unknown:
            raise KeyError(f"{self.name} has no hyperparameter(s) {sorted(unknown)}; it takes {sorted(self.defaults)}")
        return {**self.defaults, **(overrides or {})}


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method (chapters' packages call this at import); names are unique and lower-case."""
    if method.name != method.name.lower():
        raise ValueError(f"method names are lower-case: {method.name!r}")
    if method.name in METHODS:
        raise ValueError(f"method {method.name!r} is registered twice")
    if (method.score is None) == (method.network is None):
        raise ValueError(f"method {method.name!r} needs exactly one of score= or network=")
    METHODS[method.name] = method
    return method


def get(name: str) -> Method:
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; available: {', '.join(METHODS)}")
    return METHODS[name]


def _odin_network(model_name: str, dataset: str, n: int | None, seed: int, *, temperature: float,
                  epsilon: float, head: str = "plain", head_params: dict | None = None,
                  batch_size: int = 64) -> np.ndarray:
    """ODIN scores of a seeded image subset, cached. ``head`` names what maps the penultimate feature
    to logits: the network's own head (``plain``), ReAct-clipped (``react``) or HIMPLoS (``himplos``)."""
    head_params = dict(head_params or {})

    def compute(model: LoadedModel, images: np.ndarray) -> dict[str, np.ndarray]:
        from tqdm import tqdm

        logits_of = odin_head(model, head, head_params)
        out = []
        for start in tqdm(range(0, len(images), batch_size), desc=f"ODIN ({head}) | {dataset}", mininterval=20):
            batch = normalize(images[start:start + batch_size])
            out.append(scorers.odin(logits_of, batch, temperature=temperature, epsilon=epsilon))
        return {"scores": torch.cat(out).numpy()}

    params = {"temperature": temperature, "epsilon": epsilon}
    if head != "plain":  # keeps the cache key of plain ODIN unchanged
        params.update(head=head, **{k: (v if not isinstance(v, torch.Tensor) else array_digest(v.numpy()))
                                    for k, v in head_params.items()})
    return cached_per_image("odin", model_name, dataset, n, seed, params, compute)["scores"]


def odin_head(model: LoadedModel, head: str, head_params: dict) -> Callable[[torch.Tensor], torch.Tensor]:
    """images -> logits for ODIN: the network (``plain``), or its penultimate feature through the
    ReAct-clipped (``react``: ``threshold``) or HIMPLoS (``himplos``: ``himplos_logits`` options) head."""
    if head == "plain":
        return model.net
    w, b = model.weight, model.bias

    def logits_of(x: torch.Tensor) -> torch.Tensor:
        h = model.net.forward_taps(x)["penultimate"]
        if head == "react":
            return scorers.linear_head(h.clamp(max=head_params["threshold"]), w, b)
        if head == "himplos":
            return scorers.himplos_logits(h, w, b, **head_params)
        raise ValueError(f"unknown ODIN head {head!r}; use plain, react or himplos")

    return logits_of


def _react_threshold(train: Features, head: Head, threshold: float, percentile: float | None) -> float:
    """ReAct's clipping threshold: the absolute ``threshold``, or the ``percentile`` of ID train activations."""
    return threshold if percentile is None else scorers.fit_react(train.penultimate, percentile=percentile)


def _builtin() -> None:
    register(Method("msp", "MSP", "Hendrycks & Gimpel, ICLR 2017",
                    score=lambda f, head, state: scorers.msp(f.logits)))
    register(Method("mls", "MaxLogit", "Hendrycks et al., ICML 2022",
                    score=lambda f, head, state: scorers.max_logit(f.logits)))
    register(Method("energy", "Energy", "Liu et al., NeurIPS 2020",
                    score=lambda f, head, state, temperature: scorers.energy(f.logits, temperature=temperature),
                    defaults={"temperature": 1.0}))
    register(Method("odin", "ODIN", "Liang et al., ICLR 2018 (T = 1000, eps = 0.0014 for DenseNet)",
                    network=_odin_network, defaults={"temperature": 1000.0, "epsilon": 0.0014}))
    register(Method("mahalanobis", "Mahalanobis", "Lee et al., NeurIPS 2018 (penultimate layer, no perturbation)",
                    fit=lambda train, head: scorers.fit_mahalanobis(train.penultimate, train.labels),
                    score=lambda f, head, state: scorers.mahalanobis(f.penultimate, state)))
    register(Method("knn", "KNN", "Sun et al., ICML 2022 (k = 50 for CIFAR)",
                    fit=lambda train, head, k: scorers.fit_knn(train.penultimate),
                    score=lambda f, head, bank, k: scorers.knn(f.penultimate, bank, k=k),
                    defaults={"k": 50}))
    # ReAct's recipe is the 90th percentile of ID activations (Sun et al. 2021), tuned on ImageNet
    # ResNet-50. This DenseNet's pooled features are sparse (mean 0.14), so that percentile is 0.41
    # and clips most of the signal away; the CIFAR DenseNet code bases use an absolute threshold
    # instead (1.6 in HIMPLoS' release, which also matches NAP Table 9's ReAct row). Passing
    # ``percentile`` restores the percentile recipe; chapter 0 shows both.
    register(Method("react", "ReAct", "Sun et al., NeurIPS 2021 (threshold 1.6 for CIFAR DenseNet)",
                    fit=_react_threshold,
                    score=lambda f, head, c, threshold, percentile: scorers.react(f.penultimate, head.weight,
                                                                                  head.bias, threshold=c),
                    logits=lambda f, head, c, threshold, percentile: scorers.linear_head(
                        f.penultimate.clamp(max=c), head.weight, head.bias),
                    defaults={"threshold": 1.6, "percentile": None}))
    register(Method("bfact", "BFAct", "Kong & Li, ICCSIP 2022 (cut-off as ReAct's, order 2)",
                    fit=lambda train, head, threshold, percentile, order: _react_threshold(train, head, threshold,
                                                                                           percentile),
                    score=lambda f, head, c, threshold, percentile, order: scorers.bfact(
                        f.penultimate, head.weight, head.bias, threshold=c, order=order),
                    logits=lambda f, head, c, threshold, percentile, order: scorers.linear_head(
                        scorers.shape_bfact(f.penultimate, c, order), head.weight, head.bias),
                    defaults={"threshold": 1.6, "percentile": None, "order": 2}))
    register(Method("dice", "DICE", "Sun & Li, ECCV 2022 (p = 90)",
                    fit=lambda train, head, sparsity: scorers.fit_dice(train.penultimate, head.weight,
                                                                       sparsity=sparsity),
                    score=lambda f, head, w, sparsity: scorers.dice(f.penultimate, w, head.bias),
                    logits=lambda f, head, w, sparsity: scorers.linear_head(f.penultimate, w, head.bias),
                    defaults={"sparsity": 90.0}))
    for name, fn, shape, title in [("ash_p", scorers.ash_p, scorers.shape_ash_p, "ASH-P"),
                                   ("ash_b", scorers.ash_b, scorers.shape_ash_b, "ASH-B"),
                                   ("ash_s", scorers.ash_s, scorers.shape_ash_s, "ASH-S")]:
        register(Method(name, title, "Djurisic et al., ICLR 2023 (p = 90)",
                        score=lambda f, head, state, percentile, fn=fn: fn(f.penultimate, head.weight, head.bias,
                                                                           percentile=percentile),
                        logits=lambda f, head, state, percentile, shape=shape: scorers.linear_head(
                            shape(f.penultimate, percentile), head.weight, head.bias),
                        defaults={"percentile": 90.0}))
    register(Method("scale", "SCALE", "Xu et al., ICLR 2024 (p = 85)",
                    score=lambda f, head, state, percentile: scorers.scale(f.penultimate, head.weight, head.bias,
                                                                           percentile=percentile),
                    logits=lambda f, head, state, percentile: scorers.linear_head(
                        scorers.shape_scale(f.penultimate, percentile), head.weight, head.bias),
                    defaults={"percentile": 85.0}))
    register(Method("lts", "LTS", "Djurisic et al., 2024 (logits * r^2; p = 85)",
                    score=lambda f, head, state, percentile: scorers.lts(f.penultimate, f.logits,
                                                                         percentile=percentile),
                    defaults={"percentile": 85.0}))


# --- NAP (chapter 1): Eq. 3 alone and Eq. 4 combined with six bases -----------------------------

NAP_BASES: dict[str, tuple[str, str]] = {
    "nap_e": ("energy", "NAP-E"), "nap_m": ("msp", "NAP-M"), "nap_r": ("react", "NAP-R"),
    "nap_a": ("ash_s", "NAP-A"), "nap_d": ("dice", "NAP-D"), "nap_k": ("knn", "NAP-K"),
}


def nap_score(features: Features, *, eps: float = scorers.NAP_EPS, layer: str = "final") -> torch.Tensor:
    """S_NAP of a cached tap (default: the map before global pooling, the only rectified tap)."""
    return scorers.nap(features[f"{layer}.max"], features[f"{layer}.mean"], eps=eps, post_relu=layer == "final")


def nap_base_transform(base_name: str) -> str:
    """MSP is a probability and enters Eq. 4 as is; every other base through softplus."""
    return "identity" if base_name == "msp" else "softplus"


@dataclass
class NapCombination:
    """What NAP-X learns: the base method's name and ID statistics, and the weight w (with its search trace)."""

    base: str
    base_state: Any
    w: float
    search: Any = None


def search_nap_w(clean: tuple[torch.Tensor, torch.Tensor], corrupted: tuple[torch.Tensor, torch.Tensor],
                 transform: str) -> Any:
    """The w of Eq. 4 maximising the AUROC of held-out ID images vs their corrupted copies (App. H).

    ``clean`` and ``corrupted`` are (base scores, S_NAP) of the same images; golden-section search on [0, 1]
    (the paper's "binary search" on a unimodal objective), to 0.01.
    """
    from .metrics import auroc
    from .tuning import golden_section_max

    def objective(weight: float) -> float:
        s_id, s_ood = (scorers.nap_combine(b, n, w=weight, transform=transform).numpy() for b, n in (clean, corrupted))
        return auroc(s_id, s_ood)

    return golden_section_max(objective, 0.0, 1.0, tol=0.01)


def _fit_nap_combination(base_name: str, train: Features, head: Head, w: float | None, eps: float) -> NapCombination:
    from .pseudo_ood import heldout_features

    base = get(base_name)
    base_params = base.params()
    state = fit_method(base, train, head, base_params)
    if w is not None:
        return NapCombination(base_name, state, float(w))
    clean, corrupted, _ = heldout_features(train)
    clean_parts, corrupted_parts = ((torch.from_numpy(score_features(base, f, head, state, base_params)),
                                     nap_score(f, eps=eps)) for f in (clean, corrupted))
    search = search_nap_w(clean_parts, corrupted_parts, nap_base_transform(base_name))
    return NapCombination(base_name, state, round(search.best, 3), search)


def _score_nap_combination(base_name: str, f: Features, head: Head, state: NapCombination, w, eps) -> torch.Tensor:
    base = get(base_name)
    base_scores = torch.from_numpy(score_features(base, f, head, state.base_state, base.params()))
    return scorers.nap_combine(base_scores, nap_score(f, eps=eps), w=state.w, transform=nap_base_transform(base_name))


def _register_nap_combination(name: str, base_name: str, title: str, reference: str) -> None:
    register(Method(name, title, reference, fit=partial(_fit_nap_combination, base_name),
                    score=partial(_score_nap_combination, base_name), defaults={"w": None, "eps": scorers.NAP_EPS}))


def _register_nap() -> None:
    register(Method("nap", "NAP", "NAP Eq. 3 (eps = 1.0; the map before global pooling)",
                    score=lambda f, head, state, eps, layer: nap_score(f, eps=eps, layer=layer),
                    defaults={"eps": scorers.NAP_EPS, "layer": "final"}))
    for name, (base_name, title) in NAP_BASES.items():
        _register_nap_combination(name, base_name, title, f"NAP Eq. 4 with {get(base_name).title}; w searched on "
                                                          "corrupted held-out ID images (App. H) unless given")


# --- Prototype Fusion (chapter 4) ---------------------------------------------------------------

# Taps of the released code for DenseNet-BC-100: dense block 2's output (300-d), dense block 3's
# output before the final BN (342-d) and the final BN+ReLU map (342-d), each global-average-pooled.
PROTOTYPE_LAYERS: tuple[str, ...] = ("block2", "block3", "final")


def _fit_prototype_fusion(train: Features, head: Head, layers, weights) -> dict[str, torch.Tensor]:
    return scorers.fit_prototypes(train.layers(layers), train.labels,
                                  num_classes=head.weight.shape[0])


def _register_prototype_fusion() -> None:
    register(Method("prototype_fusion", "Prototype Fusion",
                    "Gul et al., 2026 (block2, block3, final; uniform weights; calibration = the ID train subset)",
                    fit=_fit_prototype_fusion,
                    score=lambda f, head, protos, layers, weights: scorers.prototype_fusion(
                        f.layers(layers), protos, weights=weights),
                    defaults={"layers": PROTOTYPE_LAYERS, "weights": None}))


# --- HIMPLoS (chapter 3) -------------------------------------------------------------------------

HIMPLOS_DEFAULTS = {"percentile": scorers.HIMPLOS_PERCENTILE, "threshold": scorers.HIMPLOS_THRESHOLD, "mask": True,
                    "clip": True, "smooth": True, "enhance_alpha": None}


def _fit_class_means(train: Features, head: Head, **_) -> torch.Tensor:
    """HIMPLoS' prototypes (Eq. 6): class means of the raw penultimate train features."""
    return scorers.class_means(train.penultimate, train.labels, num_classes=head.weight.shape[0])


def _himplos_logits(f: Features, head: Head, protos: torch.Tensor, **options) -> torch.Tensor:
    return scorers.himplos_logits(f.penultimate, head.weight, head.bias, protos, **options)


def _profile_train(model_name: str) -> Features:
    """The current profile's ID train subset of ``model_name`` (what feature-based methods fit on),
    for network-based methods that need ID statistics."""
    from .config import current_profile
    from .data import role_size
    from .features import extract
    from .models import CHECKPOINTS

    profile = current_profile()
    key = f"{CHECKPOINTS[model_name].id_dataset}_train"
    return extract(model_name, key, n=role_size(profile, key), seed=profile.seed)


def _calibration_prototypes(model_name: str) -> torch.Tensor:
    """Class means of the current profile's train subset, for the network-based HIMPLoS-ODIN."""
    return _fit_class_means(_profile_train(model_name), Head.of(load_model(model_name)))


def smoothed_energy(method: Method, feats: Features, head: Head, state: Any, params: dict[str, Any],
                    prototypes: torch.Tensor) -> np.ndarray:
    """HIMPLoS' logit smoothing alone on top of another method (Table IV): energy of
    ``s(h, v_c) * f_method``, with ``c`` the network's own prediction."""
    logits = feats.logits if method.logits is None else method.logits(feats, head, state, **params)
    smoothed = scorers.smooth_logits(logits, feats.penultimate, prototypes, predicted=feats.logits.argmax(1))
    return scorers.energy(smoothed).double().numpy()


def _register_himplos() -> None:
    register(Method("dice_react", "DICE+ReAct", "Sun & Li, ECCV 2022 (p = 90, ReAct threshold 1.6; DICE's mask from "
                                                "unclipped train means)",
                    fit=lambda train, head, sparsity, threshold: scorers.fit_dice(train.penultimate, head.weight,
                                                                                  sparsity=sparsity),
                    score=lambda f, head, w, sparsity, threshold: scorers.dice(f.penultimate.clamp(max=threshold), w,
                                                                               head.bias),
                    logits=lambda f, head, w, sparsity, threshold: scorers.linear_head(
                        f.penultimate.clamp(max=threshold), w, head.bias),
                    defaults={"sparsity": 90.0, "threshold": 1.6}))
    register(Method("himplos", "HIMPLoS", "Sun et al., 2024, Eq. 10-11 (p = 60, lambda = 1.6 for CIFAR DenseNet)",
                    fit=_fit_class_means,
                    score=lambda f, head, protos, **o: scorers.energy(_himplos_logits(f, head, protos, **o)),
                    logits=_himplos_logits, defaults=dict(HIMPLOS_DEFAULTS)))
    register(Method("himplos_msp", "MSP+HIMPLoS", "Sun et al., 2024, Table IV (MSP of the HIMPLoS logits)",
                    fit=_fit_class_means,
                    score=lambda f, head, protos, **o: scorers.msp(_himplos_logits(f, head, protos, **o)),
                    logits=_himplos_logits, defaults=dict(HIMPLOS_DEFAULTS)))
    register(Method("react_msp", "MSP+ReAct", "Sun et al., 2024, Table IV (MSP of ReAct-clipped logits)",
                    score=lambda f, head, state, threshold: scorers.msp(scorers.linear_head(
                        f.penultimate.clamp(max=threshold), head.weight, head.bias)),
                    defaults={"threshold": 1.6}))
    register(Method("react_odin", "ODIN+ReAct", "Sun et al., 2024, Table IV (ODIN through ReAct-clipped logits)",
                    network=lambda model, dataset, n, seed, temperature, epsilon, threshold: _odin_network(
                        model, dataset, n, seed, temperature=temperature, epsilon=epsilon, head="react",
                        head_params={"threshold": threshold}),
                    defaults={"temperature": 1000.0, "epsilon": 0.0014, "threshold": 1.6}))
    register(Method("himplos_odin", "ODIN+HIMPLoS", "Sun et al., 2024, Table IV (ODIN through the HIMPLoS logits; "
                                                    "prototypes from the profile's train subset)",
                    network=lambda model, dataset, n, seed, temperature, epsilon, percentile, threshold: _odin_network(
                        model, dataset, n, seed, temperature=temperature, epsilon=epsilon, head="himplos",
                        head_params={"prototypes": _calibration_prototypes(model), "percentile": percentile,
                                     "threshold": threshold}),
                    defaults={"temperature": 1000.0, "epsilon": 0.0014, "percentile": scorers.HIMPLOS_PERCENTILE,
                              "threshold": scorers.HIMPLOS_THRESHOLD}))


# --- AdaSCALE (chapter 2) ------------------------------------------------------------------------


def _adascale_of_images(variant: str, model_name: str, images, seed: int, *, p_min, p_max, k1: float, k2,
                        lam: float, fraction: float, epsilon: float, n_val: int,
                        transform: dict | None = None) -> np.ndarray:
    """AdaSCALE scores of an :class:`~ood_nb_utils.data.ImageSet`; the eCDF comes from ``n_val`` held-out ID
    train images. ``p_min``/``p_max``/``k2`` default to the paper's DenseNet-101 values (Tables 12-13)."""
    from .models import CHECKPOINTS
    from .perturbation import PAPER_HYPERPARAMETERS, adascale_scores, perturbed_features
    from .pseudo_ood import heldout_images

    paper = PAPER_HYPERPARAMETERS[(variant, CHECKPOINTS[model_name].id_dataset)]
    p_min, p_max, k2 = (paper[i] if v is None else v for i, v in enumerate((p_min, p_max, k2)))
    kw = {"fraction": fraction, "epsilon": epsilon}
    reference = perturbed_features(model_name, heldout_images(_profile_train(model_name), n_val, seed), **kw)
    test = perturbed_features(model_name, images, transform=transform, **kw)
    model = load_model(model_name)
    return adascale_scores(test, reference, model.weight, model.bias, variant=variant, p_min=p_min, p_max=p_max,
                           k1=k1, k2=k2, lam=lam)


def _adascale_network(variant: str, model_name: str, dataset: str, n: int | None, seed: int,
                      **params) -> np.ndarray:
    """AdaSCALE scores of a seeded subset of ``dataset`` (see :func:`_adascale_of_images`)."""
    from .data import load

    return _adascale_of_images(variant, model_name, load(dataset, n=n, seed=seed), seed, **params)


ADASCALE_DEFAULTS = {"p_min": None, "p_max": None, "k1": 1.0, "k2": None, "lam": 10.0, "fraction": 0.05,
                     "epsilon": 0.5, "n_val": 1000}


def _register_adascale() -> None:
    defaults = ADASCALE_DEFAULTS
    for variant, title in [("a", "AdaSCALE-A"), ("l", "AdaSCALE-L")]:
        register(Method(f"adascale_{variant}", title,
                        "Regmi, 2025, Algorithm 1 (DenseNet-101 values of Tables 12-13 unless given; eCDF from "
                        "held-out ID train images)",
                        network=partial(_adascale_network, variant), defaults=dict(defaults)))


# --- Cross-paper combinations (chapter 5): what none of the four papers tried ---------------------

# NAP's Eq. 4 with another chapter's method as the base; w searched exactly as for NAP-X.
CROSS_PAPER: dict[str, tuple[str, str]] = {
    "nap_himplos": ("himplos", "NAP+HIMPLoS"), "nap_pf": ("prototype_fusion", "NAP+Prototype Fusion"),
}
NAP_ADASCALE_SEARCH_N = 200  # held-out images (and as many corrupted copies) for the w search


def _nap_adascale_w(model_name: str, seed: int, eps: float, n_search: int, ada: dict) -> float:
    """w of NAP+AdaSCALE-A searched on ``n_search`` held-out ID images vs their corrupted copies."""
    from .features import extract_images
    from .pseudo_ood import corrupted_copy, heldout_images

    clean = heldout_images(_profile_train(model_name), n_search, seed)
    corrupted, spec, _ = corrupted_copy(clean, seed)
    parts = [(torch.from_numpy(_adascale_of_images("a", model_name, images, seed, transform=t, **ada)),
              nap_score(extract_images(model_name, images, transform=t, progress=False), eps=eps))
             for images, t in ((clean, None), (corrupted, spec))]
    return round(search_nap_w(parts[0], parts[1], "softplus").best, 3)


def _nap_adascale_network(model_name: str, dataset: str, n: int | None, seed: int, *, w: float | None, eps: float,
                          n_search: int, **ada) -> np.ndarray:
    """NAP Eq. 4 with AdaSCALE-A as the base, on a seeded subset (both scores of the same images)."""
    from .data import load
    from .features import extract_images

    images = load(dataset, n=n, seed=seed)
    base = torch.from_numpy(_adascale_of_images("a", model_name, images, seed, **ada))
    nap = nap_score(extract_images(model_name, images, progress=False), eps=eps)
    w = _nap_adascale_w(model_name, seed, eps, n_search, ada) if w is None else w
    return scorers.nap_combine(base, nap, w=w, transform="softplus").numpy()


def _register_cross_paper() -> None:
    for name, (base_name, title) in CROSS_PAPER.items():
        _register_nap_combination(name, base_name, title, f"cross-paper: NAP Eq. 4 with {get(base_name).title} as "
                                                          "the base; w searched as for NAP-X (App. H)")
    register(Method("nap_adascale_a", "NAP+AdaSCALE-A",
                    "cross-paper: NAP Eq. 4 with AdaSCALE-A (paper hyperparameters) as the base; w searched on "
                    f"{NAP_ADASCALE_SEARCH_N} held-out ID images vs corrupted copies",
                    network=_nap_adascale_network,
                    defaults={"w": None, "eps": scorers.NAP_EPS, "n_search": NAP_ADASCALE_SEARCH_N,
                              **ADASCALE_DEFAULTS}))


BASELINES: tuple[str, ...] = ("msp", "mls", "energy", "odin", "mahalanobis", "knn", "react", "bfact", "dice",
                              "ash_p", "ash_b", "ash_s", "scale", "lts")

_builtin()
_register_nap()
_register_prototype_fusion()
_register_himplos()
_register_adascale()
_register_cross_paper()


def fit_method(method: Method, train: Features, head: Head, params: dict[str, Any]) -> Any:
    """Fit a method's ID statistics (None for methods that learn nothing from ID data)."""
    return None if method.fit is None else method.fit(train, head, **params)


def method_accuracy(method: Method, feats: Features, head: Head, state: Any, params: dict[str, Any]) -> float:
    """Top-1 accuracy of the logits the method classifies with (its shaped logits, else the network's)."""
    if isinstance(state, NapCombination):  # NAP-X classifies like its base
        base = get(state.base)
        return method_accuracy(base, feats, head, state.base_state, base.params())
    logits = feats.logits if method.logits is None else method.logits(feats, head, state, **params)
    return float((logits.argmax(1).numpy() == feats.labels).mean())


def score_features(method: Method, feats: Features, head: Head, state: Any, params: dict[str, Any]) -> np.ndarray:
    """Scores of a feature-based method as a float64 numpy array."""
    if method.score is None:
        raise ValueError(f"{method.name} needs the network; call its network scorer instead")
    return method.score(feats, head, state, **params).double().numpy()
