import numpy as np
import pytest

from ood_nb_utils import registry


def test_every_baseline_is_registered_with_documented_source():
    for name in registry.BASELINES:
        m = registry.get(name)
        assert m.reference and m.title
    assert registry.get("odin").needs_network
    assert registry.get("react").defaults == {"threshold": 1.6, "percentile": None}
    assert registry.get("dice").defaults == {"sparsity": 90.0}


def test_params_overrides_are_checked():
    m = registry.get("react")
    assert m.params({"percentile": 95.0}) == {"threshold": 1.6, "percentile": 95.0}
    with pytest.raises(KeyError, match="no hyperparameter"):
        m.params({"clip": 1.0})


def test_unknown_method_lists_available():
    with pytest.raises(KeyError, match="available"):
        registry.get("nap_zz")


def test_react_threshold_is_absolute_or_a_train_percentile():
    import torch

    from ood_nb_utils.features import Features

    train = Features("m", "d", {"penultimate": torch.arange(1.0, 101.0).reshape(10, 10).numpy(),
                                "labels": torch.zeros(10).numpy()})
    m = registry.get("react")
    assert registry.fit_method(m, train, None, m.params()) == 1.6
    assert registry.fit_method(m, train, None, m.params({"percentile": 90.0})) == pytest.approx(90.1)


def _synthetic_features(seed: int, n: int = 40):
    from ood_nb_utils.features import Features

    rng = np.random.default_rng(seed)
    final_mean = rng.uniform(0.0, 0.5, (n, 6)).astype(np.float32)
    final_max = (final_mean + rng.uniform(0.0, 3.0, (n, 6))).astype(np.float32)
    return Features("m", "d", {"final.mean": final_mean, "final.max": final_max, "penultimate": final_mean,
                               "logits": rng.normal(3, 1, (n, 4)).astype(np.float32),
                               "labels": rng.integers(0, 4, n), "indices": np.arange(n)})


def test_nap_combinations_with_given_w_follow_eq4():
    import torch

    from ood_nb_utils import scorers

    f = _synthetic_features(0)
    head = registry.Head(torch.ones(4, 6), torch.zeros(4))
    combinations = {**registry.NAP_BASES, "nap_himplos": registry.CROSS_PAPER["nap_himplos"]}
    for name, (base_name, _) in combinations.items():
        if base_name in ("knn", "dice"):
            continue  # need ID train statistics; covered by the chapter on real features
        m = registry.get(name)
        p = m.params({"w": 0.3})
        state = registry.fit_method(m, f, head, p)
        got = registry.score_features(m, f, head, state, p)
        base = registry.get(base_name)
        b = torch.from_numpy(registry.score_features(base, f, head, state.base_state, base.params()))
        nap = scorers.nap(f["final.max"], f["final.mean"])
        expected = scorers.nap_combine(b, nap, w=0.3, transform=registry.nap_base_transform(base_name)).numpy()
        assert np.allclose(got, expected), name
        assert registry.method_accuracy(m, f, head, state, p) == registry.method_accuracy(
            base, f, head, state.base_state, base.params())



def test_every_cross_paper_combination_is_registered_after_its_base():
    names = list(registry.METHODS)
    for name, (base_name, _) in registry.CROSS_PAPER.items():
        assert names.index(base_name) < names.index(name)
        assert registry.get(name).defaults["w"] is None  # searched unless given
    assert registry.get("nap_adascale_a").needs_network


def test_feature_method_cost_times_scoring_and_refuses_network_methods():
    import torch

    from ood_nb_utils import costs

    f = _synthetic_features(1)
    head = registry.Head(torch.ones(4, 6), torch.zeros(4))
    cost = costs.feature_method_cost("energy", f, f, head, repeats=2)
    assert cost["extra ms / 1,000 images"] > 0 and cost["fit (s, once)"] >= 0
    with pytest.raises(ValueError, match="needs the network"):
        costs.feature_method_cost("odin", f, f, head)
    with pytest.raises(ValueError, match="kind must be one of"):
        costs.network_pass_seconds("backward", "densenet100-cifar10", np.zeros((1, 32, 32, 3), np.uint8))
