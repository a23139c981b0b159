"""Exercises that check themselves: ``exercises.check(key, answer, **inputs)`` in a chapter's exercise cell.

Each exercise asks for something the package computes (a score per image, a percentile, an AUROC). Its check
recomputes the reference from the same ``inputs`` with the package's own kernel and compares at a stated
tolerance. A wrong answer is compared with the typical mistakes of that exercise first, so the student reads what
is wrong ("your AUROC is for OOD as positive", "off by the eps of Eq. 3") rather than only "wrong".

An exercise cell of a chapter keeps its solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION``; the
student edition (:mod:`ood_nb_utils.lectures.editions`) replaces those lines by ``answer = ...``, for which
:func:`check` raises :class:`NotAnswered`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import metrics, scorers

UNANSWERED = (None, Ellipsis)


class ExerciseError(AssertionError):
    """A checked answer that is not (yet) right; the message says what to do."""


class NotAnswered(ExerciseError):
    """The exercise cell still holds its stub (``answer = ...``)."""


class WrongAnswer(ExerciseError):
    """The answer differs from the package's computation beyond the exercise's tolerance."""


@dataclass(frozen=True)
class Exercise:
    """One checkable exercise: what to compute, the reference, and the typical mistakes with their messages.

    ``reference`` and each mistake take the check's ``inputs`` as keyword arguments and return the value that
    computation gives. Answers are compared with ``numpy.allclose(answer, value, rtol, atol)``.
    """

    key: str
    chapter: str
    task: str
    reference: Callable[..., Any]
    mistakes: tuple[tuple[Callable[..., Any], str], ...] = ()
    hint: str = ""
    rtol: float = 1e-4
    atol: float = 1e-6
    inputs: tuple[str, ...] = field(default=())


def as_array(value: Any, name: str = "answer") -> np.ndarray:
    """``value`` (a number, a list, a NumPy array or a torch tensor) as a float64 array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise WrongAnswer(f"{name} must be a number or an array of numbers, got {type(value).__name__}") from err


def _close(answer: np.ndarray, value: Any, exercise: Exercise) -> bool:
    value = as_array(value, "reference")
    return answer.shape == value.shape and bool(np.allclose(answer, value, rtol=exercise.rtol, atol=exercise.atol))


def diagnose(exercise: Exercise, answer: Any, inputs: Mapping[str, Any]) -> str | None:
    """None when ``answer`` matches the reference, else the message that says what is wrong."""
    if answer is None or answer is Ellipsis:
        raise NotAnswered(f"{exercise.key} is not yet answered: replace `...` in `answer = ...` by your computation "
                          f"of {exercise.task}, then run the cell again.")
    missing = [name for name in exercise.inputs if name not in inputs]
    if missing:
        raise TypeError(f"check({exercise.key!r}, ...) needs the inputs {', '.join(missing)}")
    got = as_array(answer)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = as_array(exercise.reference(**inputs), "reference")
        if _close(got, expected, exercise):
            return None
        for mistake, message in exercise.mistakes:
            if _close(got, mistake(**inputs), exercise):
                return message
    if not np.isfinite(got).all():
        return "your answer holds inf or NaN: a division by zero, or a logarithm of zero, somewhere"
    if got.shape != expected.shape:
        return f"expected shape {expected.shape} ({exercise.task}), got shape {got.shape}"
    worst = float(np.max(np.abs(got - expected)))
    return (f"not within the tolerance (rtol {exercise.rtol:g}, atol {exercise.atol:g}) of the package's "
            f"computation; your answer is off by up to {worst:.4g}" + (f". Hint: {exercise.hint}" if exercise.hint
                                                                       else ""))


def check(key: str, answer: Any, **inputs: Any) -> None:
    """Check ``answer`` to exercise ``key`` against the package's computation from ``inputs``: prints one line when
    it is right; raises :class:`NotAnswered` for the stub and :class:`WrongAnswer`, saying what is wrong,
    otherwise."""
    __tracebackhide__ = True  # IPython shows the message, not this function's frames
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; the exercises are {', '.join(EXERCISES)}")
    exercise = EXERCISES[key]
    message = diagnose(exercise, answer, inputs)
    if message is not None:
        raise WrongAnswer(f"{key}: {message}")
    print(f"✓ {key}: right (to a relative tolerance of {exercise.rtol:g}).")


# --- the exercises, by chapter ---------------------------------------------------------------------------------


def _t(x: Any) -> torch.Tensor:
    """``x`` as a tensor of its own float precision: the reference computes as the package does on these inputs
    (upcasting float32 would break the ties that saturated softmax probabilities make)."""
    return x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))


def _head(weight: Any, bias: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    return _t(weight), None if bias is None else _t(bias)


def _class_means(features: Any, labels: Any, normalize: bool = False) -> torch.Tensor:
    """Class means of ``features`` in float64 (``normalize``: of the unit-length features)."""
    return scorers.class_means(_t(features), np.asarray(labels), normalize=normalize).double()


def _maxmean(features: Any, tap: str = "final") -> tuple[torch.Tensor, torch.Tensor]:
    arrays = getattr(features, "arrays", features)
    return _t(arrays[f"{tap}.max"]), _t(arrays[f"{tap}.mean"])


def _ratio(features: Any, eps: float = 1.0) -> torch.Tensor:
    mx, mean = _maxmean(features)
    return mx / (mean + eps)


def _fprs(id_logits: Any, ood_logits: Any) -> np.ndarray:
    id_s, ood_s = scorers.msp(_t(id_logits)).numpy(), scorers.msp(_t(ood_logits)).numpy()
    return np.array([metrics.fpr_at_95_tpr(id_s, ood_s, positive=p) for p in ("id", "ood")])


def _react_auroc(id_features: Any, ood_features: Any, weight: Any, bias: Any, threshold: float = 1.0,
                 shape: Callable[[torch.Tensor], torch.Tensor] | None = None) -> float:
    w, b = _head(weight, bias)
    shape = shape or (lambda h: h.clamp(max=threshold))
    score = lambda h: scorers.energy(scorers.linear_head(shape(_t(h)), w, b)).numpy()
    return metrics.auroc(score(id_features), score(ood_features))


def _nap(features: Any) -> torch.Tensor:
    return scorers.nap(*_maxmean(features))


def _nap_auroc(id_features: Any, ood_features: Any) -> float:
    return metrics.auroc(_nap(id_features).numpy(), _nap(ood_features).numpy())


def _shift(activations: Any, perturbed: Any, **options: Any) -> torch.Tensor:
    return scorers.shift_statistics(_t(activations), _t(perturbed), **options)["Q_prime"]


def _q_prime_top_by_perturbed(activations: Any, perturbed: Any) -> torch.Tensor:
    """Eq. 6-8 with the top activations picked from a_eps instead of a."""
    return _shift(perturbed, activations)


def _q_prime_signed(activations: Any, perturbed: Any) -> torch.Tensor:
    """Eq. 6-8 with signed shifts in Q (the kernel's C_o is right)."""
    a, a_eps = _t(activations), _t(perturbed)
    top = a.argsort(dim=1, descending=True)[:, :scorers.top_count(a.shape[1], 1.0)]
    return 10.0 * (a_eps - a).gather(1, top).sum(1) + scorers.shift_statistics(a, a_eps)["C_o"]


def _c_o_of_original(activations: Any, perturbed: Any) -> torch.Tensor:
    s = scorers.shift_statistics(_t(activations), _t(perturbed))
    unperturbed = scorers.shift_statistics(_t(activations), _t(activations))
    return 10.0 * s["Q"] + unperturbed["C_o"]


def _percentile(q_prime: Any, reference: Any, p_min: float, p_max: float) -> torch.Tensor:
    return scorers.adaptive_percentile(_t(q_prime), _t(reference), p_min=p_min, p_max=p_max)


def _himplos_energy(features: Any, weight: Any, bias: Any, **options: Any) -> torch.Tensor:
    return scorers.himplos(_t(features), *_head(weight, bias), None, smooth=False, **options)


def _masked_by_bottom(features: Any, weight: Any, bias: Any) -> torch.Tensor:
    """Eq. 3 read backwards: the class's smallest 60% of weights kept instead of its largest 40%."""
    h, (w, b) = _t(features), _head(weight, bias)
    predicted = scorers.linear_head(h, w, b).argmax(1)
    keep = ~scorers.class_masks(w, percentile=40.0)[predicted]
    return scorers.energy(scorers.linear_head((h * keep).clamp(max=scorers.HIMPLOS_THRESHOLD), w, b))


def _max_cosine(features: Any, train_features: Any, train_labels: Any) -> torch.Tensor:
    """Each image's largest cosine over the class means (Prototype Fusion's rule, not Eq. 7's)."""
    return scorers.cosine_matrix(_t(features), _class_means(train_features, train_labels)).amax(1)


def _prototype_cosine(features: Any, train_features: Any, train_labels: Any, logits: Any,
                      normalize: bool = False) -> torch.Tensor:
    protos = _class_means(train_features, train_labels, normalize=normalize)
    return scorers.prototype_cosine(_t(features), protos, _t(logits).argmax(1))


def _dot_with_prototype(features: Any, train_features: Any, train_labels: Any, logits: Any) -> torch.Tensor:
    protos = _class_means(train_features, train_labels)
    return (_t(features) * protos[_t(logits).argmax(1)]).sum(1)


def _prototypes(features: Any, labels: Any, per_image: bool = True, unit: bool = True) -> torch.Tensor:
    means = _class_means(features, labels, normalize=per_image)
    return torch.nn.functional.normalize(means, dim=1) if unit else means


def _fusion(layers: Mapping[str, Any], prototypes: Mapping[str, Any], reduce: str = "mean",
            over_classes: str = "max") -> torch.Tensor:
    sims = scorers.layer_similarities({k: _t(v) for k, v in layers.items()},
                                      {k: _t(v) for k, v in prototypes.items()})
    per_layer = torch.stack([s.amax(1) if over_classes == "max" else s.mean(1) for s in sims.values()], dim=1)
    return per_layer.sum(1) if reduce == "sum" else per_layer.mean(1)


def _fusion_reference(layers: Mapping[str, Any], prototypes: Mapping[str, Any]) -> torch.Tensor:
    return scorers.prototype_fusion({k: _t(v) for k, v in layers.items()}, {k: _t(v) for k, v in prototypes.items()})


OOD_POSITIVE = ("your AUROC is for OOD as positive (1 - AUROC): the book's scores are higher for ID, and "
                "metrics.auroc(id_scores, ood_scores) takes the ID scores first")
PERCENT = "give the AUROC as a fraction in [0, 1], not in percent"


def auroc_mistakes(auroc: Callable[..., float]) -> tuple[tuple[Callable[..., Any], str], ...]:
    """The usual mistakes of any AUROC answer: the convention reversed, percent, or both."""
    return ((lambda **x: 1 - auroc(**x), OOD_POSITIVE), (lambda **x: 100 * auroc(**x), PERCENT),
            (lambda **x: 100 * (1 - auroc(**x)), f"{OOD_POSITIVE}; and {PERCENT}"))

_LIST = [
    Exercise(
        "bench-1", "00_benchmark", "MSP's FPR@95 as [ID-positive, OOD-positive] fractions",
        _fprs,
        mistakes=(
            (lambda id_logits, ood_logits: _fprs(id_logits, ood_logits)[::-1], "the two conventions are in the "
             "other order: first ID-positive (OOD accepted at 95% ID recall), then OOD-positive (ID rejected at 95% "
             "OOD recall)"),
            (lambda id_logits, ood_logits: 100 * _fprs(id_logits, ood_logits), "give fractions in [0, 1], not "
             "percent"),
        ),
        hint="metrics.fpr_at_95_tpr(id, ood, positive='id'), then positive='ood'", inputs=("id_logits", "ood_logits")),
    Exercise(
        "bench-2", "00_benchmark", "the AUROC of ReAct clipped at c = 1.0 (ID as positive, a fraction)",
        _react_auroc,
        mistakes=(
            (lambda **x: _react_auroc(**x, threshold=1.6), "that is ReAct at its default c = 1.6; clip at 1.0"),
            (lambda **x: _react_auroc(**x, threshold=float("inf")), "nothing was clipped: that is Energy"),
            (lambda **x: _react_auroc(**x, shape=lambda h: h.clamp(min=1.0)), "you clipped from below, max(h, c); "
             "ReAct clips from above, min(h, c)"),
            *auroc_mistakes(_react_auroc),
        ),
        hint="energy of the head applied to min(h, 1.0), for both sets; then metrics.auroc(id, ood)",
        inputs=("id_features", "ood_features", "weight", "bias")),
    Exercise(
        "nap-1", "01_nap", "S_NAP of Eq. 3 for every image (one value per image, eps = 1)",
        lambda features: _nap(features),
        mistakes=(
            (lambda features: _ratio(features).mean(1), "you did not square each channel's ratio: Eq. 3 averages "
             "(Max(A_j) / (Mean(A_j) + eps))^2"),
            (lambda features: (_ratio(features) ** 2).sum(1), "Eq. 3 averages over the C channels (1/C times the "
             "sum): you summed them, so your score is C times too large"),
            (lambda features: _ratio(features).mean(1) ** 2, "you squared the mean ratio; Eq. 3 squares each "
             "channel's ratio first, then averages"),
            (lambda features: (_ratio(features, eps=0.0) ** 2).mean(1), "off by the eps of Eq. 3: the "
             "denominator is Mean(A_j) + eps with eps = 1"),
            (lambda features: ((_maxmean(features)[1] / (_maxmean(features)[0] + 1.0)) ** 2).mean(1),
             "the ratio is upside down: Eq. 3 divides the channel's max by its mean + eps"),
        ),
        hint="square Max / (Mean + 1) per channel, then average over channels", inputs=("features",)),
    Exercise(
        "nap-2", "01_nap", "the AUROC of S_NAP, ID test vs OOD, as a fraction with ID as positive",
        _nap_auroc,
        mistakes=auroc_mistakes(_nap_auroc),
        hint="score both sets with your S_NAP, then metrics.auroc(id, ood)", inputs=("id_features", "ood_features")),
    Exercise(
        "adascale-1", "02_adascale", "Q' = lambda Q + C_o of Eq. 6-8 per image (k1 = 1%, k2 = 5%, lambda = 10)",
        lambda activations, perturbed: _shift(activations, perturbed),
        mistakes=(
            (lambda activations, perturbed: _shift(activations, perturbed, lam=1.0), "off by the lambda of Eq. 8: "
             "Q' = lambda Q + C_o with lambda = 10"),
            (_q_prime_signed, "Eq. 6 sums the absolute shifts |a_eps - a|; you summed signed differences"),
            (_q_prime_top_by_perturbed, "Eq. 6-7 take the top-k positions by the *unperturbed* activation a, "
             "and sum the shift there and a_eps (Eq. 7); you ranked by a_eps or swapped a and a_eps"),
            (_c_o_of_original, "Eq. 7's C_o sums the *perturbed* activations a_eps at the top-k2 positions, not a"),
            (lambda activations, perturbed: _shift(activations, perturbed, k1_percent=5.0, k2_percent=1.0),
             "k1 and k2 swapped: Q uses the top k1 = 1% and C_o the top k2 = 5%"),
        ),
        hint="rank each row of a in decreasing order; Q sums |a_eps - a| over the first 1%, C_o sums a_eps over "
             "the first 5%", inputs=("activations", "perturbed")),
    Exercise(
        "adascale-2", "02_adascale", "the adaptive percentile p of Eq. 11 per test image",
        _percentile,
        mistakes=(
            (lambda q_prime, reference, p_min, p_max: p_min + scorers.ecdf(_t(q_prime), _t(reference))
             * (p_max - p_min), "a large Q' (a large shift: likely OOD) must get the *low* percentile: "
             "Eq. 11 uses 1 - F(Q'), not F(Q') (or p_min and p_max are swapped, which is the same mistake)"),
            (lambda q_prime, reference, p_min, p_max: _percentile(q_prime, q_prime, p_min, p_max),
             "F is the eCDF of the held-out ID images' Q' (Eq. 9), not of the test images' own Q'"),
        ),
        hint="F(v) = share of reference values <= v", inputs=("q_prime", "reference", "p_min", "p_max")),
    Exercise(
        "himplos-1", "03_himplos", "the energy of the masked and clipped logits (Eq. 3-5, p = 60, lambda = 1.6, "
        "no smoothing)",
        lambda features, weight, bias: _himplos_energy(features, weight, bias),
        mistakes=(
            (lambda features, weight, bias: _himplos_energy(features, weight, bias, clip=False),
             "the features are not clipped: ReAct's threshold lambda = 1.6 applies after masking"),
            (lambda features, weight, bias: _himplos_energy(features, weight, bias, mask=False),
             "no mask: keep only the predicted class's largest 40% of head weights (p = 60) before clipping"),
            (_masked_by_bottom, "the mask is reversed: p = 60 masks the 60% *smallest* weights of the predicted "
             "class and keeps its largest 40%"),
            (lambda features, weight, bias: -_himplos_energy(features, weight, bias),
             "the sign is flipped: the energy score is +logsumexp(logits), higher for ID"),
        ),
        hint="class_masks(weight, percentile=60)[predicted class] * features, clamp at 1.6, linear head, energy",
        inputs=("features", "weight", "bias")),
    Exercise(
        "himplos-2", "03_himplos", "s(h, v_c) of Eq. 7: each image's cosine with its predicted class's prototype",
        _prototype_cosine,
        mistakes=(
            (lambda features, train_features, train_labels, logits: _max_cosine(features, train_features,
                                                                                 train_labels),
             "that is the largest cosine over all classes (Prototype Fusion's score); Eq. 7 takes the prototype of "
             "the *predicted* class (the argmax of the logits)"),
            (_dot_with_prototype, "a dot product, not a cosine: divide by both lengths"),
            (lambda features, train_features, train_labels, logits: _prototype_cosine(
                features, train_features, train_labels, logits, normalize=True),
             "HIMPLoS' prototype is the plain class mean of the train features; you averaged unit-length features "
             "(Prototype Fusion's prototype)"),
        ),
        rtol=1e-4, atol=1e-5, hint="prototypes = class means of the train features; cosine_matrix, then pick the "
        "column of the logits' argmax", inputs=("features", "train_features", "train_labels", "logits")),
    Exercise(
        "pf-1", "04_prototype_fusion", "the K x D class prototypes of one layer (Fig. 1)",
        lambda features, labels: _prototypes(features, labels),
        mistakes=(
            (lambda features, labels: _prototypes(features, labels, per_image=False),
             "normalise each image's feature to unit length *before* taking the class mean"),
            (lambda features, labels: _prototypes(features, labels, unit=False),
             "re-normalise each class mean to unit length: a prototype is a direction"),
            (lambda features, labels: _prototypes(features, labels, per_image=False, unit=False),
             "these are raw class means: normalise each feature, average per class, then normalise the mean"),
        ),
        hint="F.normalize(features) -> class means -> F.normalize", inputs=("features", "labels")),
    Exercise(
        "pf-2", "04_prototype_fusion", "the Prototype Fusion score per image (uniform weights over the layers)",
        _fusion_reference,
        mistakes=(
            (lambda layers, prototypes: _fusion(layers, prototypes, reduce="sum"),
             "uniform weights sum to 1: average the layers' maxima, do not add them"),
            (lambda layers, prototypes: _fusion(layers, prototypes, over_classes="mean"),
             "per layer take the *largest* cosine over the class prototypes, not their mean"),
        ),
        rtol=1e-4, atol=1e-6, hint="per layer: cosine to every prototype, max over classes; then the mean over layers",
        inputs=("layers", "prototypes")),
]
EXERCISES: dict[str, Exercise] = {e.key: e for e in _LIST}


def chapter_exercises(chapter: str) -> list[Exercise]:
    """The checkable exercises of a chapter (its file stem, e.g. ``"01_nap"``)."""
    return [e for e in EXERCISES.values() if e.chapter == chapter]
