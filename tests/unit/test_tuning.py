import pytest

from ood_nb_utils.detectors.tuning import golden_section_max


@pytest.mark.parametrize("peak", [0.0, 0.13, 0.4, 0.77, 1.0])
def test_finds_the_peak_of_a_unimodal_function(peak):
    res = golden_section_max(lambda x: -(x - peak) ** 2, tol=0.005)
    assert res.best == pytest.approx(peak, abs=0.01)
    assert len(res.evaluations) < 25


def test_monotone_objective_returns_the_end():
    assert golden_section_max(lambda x: x).best == 1.0
    assert golden_section_max(lambda x: -x).best == 0.0


def test_rejects_bad_interval():
    with pytest.raises(ValueError):
        golden_section_max(lambda x: x, 1.0, 0.0)
