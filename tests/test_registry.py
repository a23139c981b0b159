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
