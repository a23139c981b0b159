"""The detector API and the registry: hyperparameters, nesting, overrides, Eq. 4 through NapX, tuning."""

from pathlib import Path

import numpy as np
import pytest
import torch

from ood_nb_utils import scorers
from ood_nb_utils.detectors import (
    DICE,
    FAMILIES,
    KNN,
    MSP,
    Detector,
    Energy,
    Grid,
    HIMPLoS,
    Interval,
    NapX,
    PrototypeFusion,
    ReAct,
    create,
    registry,
)
from ood_nb_utils.detectors.tuning import tune
from ood_nb_utils.extraction.features import Features
from ood_nb_utils.lectures import costs
from ood_nb_utils.models import Head


def test_registry_is_names_to_classes_in_under_100_lines():
    assert len(Path(registry.__file__).read_text().splitlines()) < 100
    assert all(isinstance(cls, type) and issubclass(cls, Detector) for cls in registry.REGISTRY.values())
    assert "lambda" not in Path(registry.__file__).read_text()
    assert sorted(registry.available()) == sorted(m for ms in FAMILIES.values() for m in ms)


def test_every_method_has_a_source_and_paper_defaults():
    for name in registry.available():
        det = create(name)
        assert det.title and det.reference and det.name == name
    assert create("odin").needs.network and not create("react").needs.network
    assert create("react").get_params() == {"threshold": 1.6, "percentile": None}
    assert create("dice").get_params() == {"sparsity": 90.0}


def test_overrides_are_checked_and_reach_nested_detectors():
    assert create("react", percentile=95.0).get_params() == {"threshold": 1.6, "percentile": 95.0}
    with pytest.raises(KeyError, match="no hyperparameter 'clip'"):
        create("react", clip=1.0)
    nap_r = create("nap_r", **{"base.threshold": 1.0})
    assert isinstance(nap_r.base, ReAct) and nap_r.base.threshold == 1.0 and nap_r.w is None
    assert nap_r.get_params()["base.threshold"] == 1.0
    with pytest.raises(KeyError, match="not a detector"):
        create("nap_r", **{"w.x": 1})
    with pytest.raises(KeyError, match="available"):
        create("nap_zz")


def test_clone_is_unfitted_and_independent():
    knn = KNN(k=3)
    other = knn.clone(k=5)
    assert other.k == 5 and knn.k == 3 and not other.is_fitted
    combo = NapX(base=ReAct(threshold=1.0), w=0.2)
    copy = combo.clone()
    assert copy.base is not combo.base and copy.base.threshold == 1.0


def test_parse_setting_reads_numbers_tuples_and_none():
    assert registry.parse_setting("nap_r.base.threshold=1.0") == ("nap_r", "base.threshold", 1.0)
    assert registry.parse_setting("prototype_fusion.layers=block3,final") == ("prototype_fusion", "layers",
                                                                               ("block3", "final"))
    assert registry.parse_setting("nap_e.w=none") == ("nap_e", "w", None)
    assert registry.parse_setting("knn.k=7") == ("knn", "k", 7)
    with pytest.raises(ValueError, match="METHOD.PARAM=VALUE"):
        registry.parse_setting("knn=7")


def _synthetic_features(seed: int, n: int = 40) -> Features:
    rng = np.random.default_rng(seed)
    final_mean = rng.uniform(0.0, 0.5, (n, 6)).astype(np.float32)
    final_max = (final_mean + rng.uniform(0.0, 3.0, (n, 6))).astype(np.float32)
    arrays = {"final.mean": final_mean, "final.max": final_max, "penultimate": final_mean,
              "logits": rng.normal(3, 1, (n, 4)).astype(np.float32), "labels": np.arange(n) % 4,
              "indices": np.arange(n)}
    for tap in ("block2", "block3"):
        arrays[f"{tap}.mean"] = rng.uniform(0.0, 1.0, (n, 5)).astype(np.float32)
    return Features("m", "d", arrays)


HEAD = Head(torch.ones(4, 6), torch.zeros(4))


def test_react_threshold_is_absolute_or_a_train_percentile():
    train = Features("m", "d", {"penultimate": torch.arange(1.0, 101.0).reshape(10, 10).numpy(),
                                "labels": np.zeros(10, int)})
    head = Head(torch.ones(2, 10), torch.zeros(2))
    assert ReAct().fit(train, head).clip_ == 1.6
    assert ReAct(percentile=90.0).fit(train, head).clip_ == pytest.approx(90.1)


@pytest.mark.parametrize("base", [Energy(), MSP(), ReAct(threshold=1.0), KNN(k=3), DICE(), HIMPLoS(),
                                  PrototypeFusion()])
def test_nap_x_with_a_given_w_follows_eq4(base):
    f = _synthetic_features(0)
    combo = NapX(base=base, w=0.3).fit(f, HEAD)
    b = torch.from_numpy(base.clone().fit(f, HEAD).score(f))
    nap = scorers.nap(f["final.max"], f["final.mean"])
    transform = "identity" if isinstance(base, MSP) else "softplus"
    expected = scorers.nap_combine(b, nap, w=0.3, transform=transform).numpy()
    assert np.allclose(combo.score(f), expected)
    assert combo.accuracy(f) == combo.base.accuracy(f)  # NAP leaves the classifier alone


def test_nap_x_without_w_needs_held_out_data():
    with pytest.raises(ValueError, match="searches w on held-out"):
        NapX(base=Energy()).fit(_synthetic_features(0), HEAD)
    with pytest.raises(ValueError, match="w must be in"):
        NapX(base=Energy(), w=1.5)
    with pytest.raises(ValueError, match="needs a base"):
        NapX()


def test_cross_paper_combinations_hold_their_base_and_search_w():
    assert isinstance(create("nap_himplos").base, HIMPLoS) and create("nap_himplos").w is None
    assert isinstance(create("nap_pf").base, PrototypeFusion)
    assert create("nap_adascale_a").needs.network and create("nap_adascale_a").n_heldout == 200


def test_tune_golden_on_nap_w_matches_a_direct_search():
    """tune's golden section over NAP's w equals golden_section_max on the same objective."""
    from ood_nb_utils.detectors.tuning import golden_section_max
    from ood_nb_utils.metrics import auroc

    clean, corrupted = _synthetic_features(1), _synthetic_features(2)
    combo = NapX(base=Energy(), w=0.5).fit(clean, HEAD)
    result = tune(combo, {"w": Interval(0.0, 1.0, tol=0.01)}, (clean, corrupted), strategy="golden")
    direct = golden_section_max(lambda w: auroc(combo.with_params(w=w).score(clean),
                                                combo.with_params(w=w).score(corrupted)), tol=0.01)
    assert result.best["w"] == pytest.approx(direct.best) and result.value == pytest.approx(direct.value)
    assert [s["w"] for s, _ in result.trace] == [x for x, _ in direct.evaluations]


def test_nap_x_w_search_scores_the_base_once_per_set_and_matches_an_unmemoised_search():
    """The golden section over w combines base and NAP scores computed once per validation set (neither depends
    on w); the w it finds is that of a search that fits and scores a fresh detector at every point."""
    from ood_nb_utils.detectors.heldout import HeldOut, PseudoOOD
    from ood_nb_utils.detectors.tuning import golden_section_max
    from ood_nb_utils.metrics import auroc

    class CountingEnergy(Energy):
        calls = 0

        def _score(self, f):
            CountingEnergy.calls += 1
            return super()._score(f)

    train, clean, corrupted = _synthetic_features(3), _synthetic_features(4), _synthetic_features(5)

    class GivenPseudoOOD(HeldOut):  # held-out images whose pseudo-OOD features are given
        def __init__(self):
            self._pseudo = {}

        def pseudo_ood(self, n=None):
            return PseudoOOD(None, None, clean, corrupted, [])

    combo = NapX(base=CountingEnergy()).fit(train, HEAD, GivenPseudoOOD())
    assert CountingEnergy.calls == 2 and len(combo.search_.trace) > 10
    direct = golden_section_max(lambda w: auroc(NapX(base=Energy(), w=w).fit(train, HEAD).score(clean),
                                                NapX(base=Energy(), w=w).fit(train, HEAD).score(corrupted)),
                                tol=0.01)
    assert combo.w_ == round(direct.best, 3) and combo.search_.value == pytest.approx(direct.value, abs=1e-12)
    combo.score(clean)  # after the search nothing is memoised
    assert CountingEnergy.calls == 3 and combo._search_memo is None


def test_tune_grid_refits_when_a_setting_changes_the_fit():
    train, val_id, val_ood = _synthetic_features(3), _synthetic_features(4), _synthetic_features(5)
    pf = PrototypeFusion()
    result = tune(pf, {"layers": Grid((("final",), ("block2", "final")))}, (val_id, val_ood), train=train, head=HEAD)
    assert len(result.trace) == 2 and result.best["layers"] in (("final",), ("block2", "final"))
    best = result.detector
    assert best.layers == result.best["layers"] and set(best.prototypes_) == set(best.layers)
    assert result.value == pytest.approx(max(v for _, v in result.trace))
    with pytest.raises(ValueError, match="pass train= and head="):
        tune(PrototypeFusion(), None, (val_id, val_ood))
    knn = KNN(k=2).fit(train, HEAD)  # k only changes scoring: no refit needed, so no train is passed
    res = tune(knn, {"k": Grid((1, 2, 3))}, (val_id, val_ood), constraint=lambda s: s["k"] != 2)
    assert [s["k"] for s, _ in res.trace] == [1, 3]


def test_feature_method_cost_times_scoring_and_refuses_network_methods():
    f = _synthetic_features(1)
    cost = costs.feature_method_cost(Energy(), f, f, HEAD, repeats=2)
    assert cost["extra ms / 1,000 images"] > 0 and cost["fit (s, once)"] >= 0
    with pytest.raises(ValueError, match="needs the network"):
        costs.feature_method_cost(create("odin"), f, f, HEAD)


def test_only_the_command_line_and_chapter_start_read_the_profile_from_the_environment():
    """What a fit uses is passed in (a RunContext); no module below the CLI reads OOD_NB_PROFILE."""
    import ood_nb_utils

    package = Path(ood_nb_utils.__file__).parent
    readers = sorted(p.relative_to(package).as_posix() for p in package.rglob("*.py")
                     if "current_profile(" in p.read_text() and p.name != "config.py")
    assert readers == ["__main__.py", "lectures/chapter.py"]
