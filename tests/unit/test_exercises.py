"""The self-checking exercises (ood_nb_utils.lectures.exercises): for every exercise, the reference answer passes,
each typical mistake fails with its own message, the stub says "not yet answered", and a wrong shape is named."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ood_nb_utils import scorers
from ood_nb_utils.lectures import exercises
from ood_nb_utils.lectures.exercises import EXERCISES, NotAnswered, WrongAnswer, check, diagnose

RNG = np.random.default_rng(0)
N, D, K = 60, 40, 4


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0).astype(np.float32)


def maxmean(n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    maps = relu(RNG.normal(shift, 1.0, (n, 12, 16)))
    return {"final.max": maps.max(2), "final.mean": maps.mean(2)}


def head() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(RNG.normal(0, 1, (K, D)), dtype=torch.float32), torch.as_tensor(RNG.normal(0, .1, K),
                                                                                          dtype=torch.float32)


def inputs_of(key: str) -> dict:
    """Synthetic inputs on which every mistake of ``key`` gives a different answer from the reference."""
    labels = np.arange(N) % K
    feats = torch.as_tensor(relu(RNG.gamma(1.0, 1.0, (N, D))))
    if key == "bench-1":
        return {"id_logits": torch.as_tensor(RNG.normal(0, 3, (N, K))), "ood_logits": torch.as_tensor(
            RNG.normal(0, 1, (N, K)))}
    if key == "bench-2":
        w, b = head()
        return {"id_features": feats, "ood_features": torch.as_tensor(relu(RNG.gamma(1.5, 1.2, (N, D)))),
                "weight": w, "bias": b}
    if key == "nap-1":
        return {"features": maxmean(N)}
    if key == "nap-2":
        return {"id_features": maxmean(N, 0.5), "ood_features": maxmean(N, -0.3)}
    if key == "adascale-1":
        a = relu(RNG.normal(0, 1, (N, 300)))
        return {"activations": a, "perturbed": (a + RNG.normal(0, 0.3, a.shape)).astype(np.float32)}
    if key == "adascale-2":
        return {"q_prime": RNG.normal(0, 1, N), "reference": RNG.normal(0, 1, 200), "p_min": 65.0, "p_max": 90.0}
    if key == "himplos-1":
        w, b = head()
        return {"features": feats * 1.5, "weight": w, "bias": b}
    if key == "himplos-2":
        w, b = head()
        return {"features": feats, "train_features": torch.as_tensor(relu(RNG.gamma(1.0, 1.0, (N, D)))),
                "train_labels": labels, "logits": feats @ w.T + b}
    if key == "pf-1":
        return {"features": feats * torch.as_tensor(RNG.uniform(0.2, 3.0, (N, 1)), dtype=torch.float32),
                "labels": labels}
    if key == "pf-2":
        layers = {"a": feats, "b": torch.as_tensor(relu(RNG.normal(0, 1, (N, 24))))}
        train = {"a": torch.as_tensor(relu(RNG.gamma(1.0, 1.0, (N, D)))),
                 "b": torch.as_tensor(relu(RNG.normal(0, 1, (N, 24))))}
        return {"layers": layers, "prototypes": scorers.fit_prototypes(train, labels)}
    raise KeyError(key)


def test_every_exercise_has_synthetic_inputs_here():
    for key in EXERCISES:
        assert set(inputs_of(key)) == set(EXERCISES[key].inputs), key


@pytest.mark.parametrize("key", list(EXERCISES))
def test_the_reference_answer_passes(key, capsys):
    x = inputs_of(key)
    check(key, EXERCISES[key].reference(**x), **x)
    assert capsys.readouterr().out.startswith(f"✓ {key}: right")


@pytest.mark.parametrize("key", list(EXERCISES))
def test_each_typical_mistake_fails_with_its_message(key):
    x, exercise = inputs_of(key), EXERCISES[key]
    assert exercise.mistakes, f"{key} lists no typical mistake"
    for mistake, message in exercise.mistakes:
        with pytest.raises(WrongAnswer) as err:
            check(key, mistake(**x), **x)
        assert message in str(err.value), f"{key}: {err.value}"


@pytest.mark.parametrize("key", list(EXERCISES))
def test_the_stub_is_not_yet_answered(key):
    for stub in (..., None):
        with pytest.raises(NotAnswered, match="not yet answered"):
            check(key, stub, **inputs_of(key))


def test_hand_computed_nap_score_and_a_wrong_shape():
    """Eq. 3 on one image of two channels, by hand: ((4 / (1 + 1))^2 + (3 / (0 + 1))^2) / 2 = (4 + 9) / 2."""
    features = {"final.max": np.array([[4.0, 3.0]]), "final.mean": np.array([[1.0, 0.0]])}
    check("nap-1", [6.5], features=features)
    with pytest.raises(WrongAnswer, match=r"expected shape \(1,\)"):
        check("nap-1", [[6.5, 6.5]], features=features)
    half = {"final.max": np.array([[4.0, 3.0]]), "final.mean": np.array([[1.0, 0.5]])}
    check("nap-1", [((4 / 2) ** 2 + (3 / 1.5) ** 2) / 2], features=half)  # = 4
    with pytest.raises(WrongAnswer, match="off by the eps of Eq. 3"):
        check("nap-1", [((4 / 1) ** 2 + (3 / 0.5) ** 2) / 2], features=half)  # eps = 0: 26


def test_an_unrecognised_answer_says_how_far_off_it_is_and_gives_the_hint():
    x = inputs_of("pf-2")
    message = diagnose(EXERCISES["pf-2"], exercises.as_array(EXERCISES["pf-2"].reference(**x)) + 0.1, x)
    assert "off by up to 0.1" in message and EXERCISES["pf-2"].hint in message


def test_a_missing_input_and_an_unknown_key_are_named():
    with pytest.raises(TypeError, match="needs the inputs features"):
        check("nap-1", [1.0])
    with pytest.raises(KeyError, match="no exercise 'nap-9'"):
        check("nap-9", [1.0])
