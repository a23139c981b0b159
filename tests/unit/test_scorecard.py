import json

import numpy as np
import pytest

from ood_nb_utils.evaluation import groups_of, near_far, paired_gain
from ood_nb_utils.lectures.scorecard import (
    Claim,
    Scorecard,
    directional_verdict,
    every_case_verdict,
    read_scorecards,
    verdict,
)


def test_verdict_rules():
    assert verdict(50.74, 50.80, tolerance=0.1) == "reproduced"
    assert verdict(50.74, 51.0, tolerance=0.1) == "partly"
    assert verdict(50.74, 52.0, tolerance=0.1) == "not reproduced"
    assert verdict(50.74, 51.5, tolerance=0.1, partial_tolerance=1.0) == "partly"
    assert verdict(50.74, None, tolerance=0.1) == "not testable here"
    assert verdict(None, 3.0, tolerance=0.1) == "not testable here"
    assert verdict(1.0, 100.0, tolerance=0.1, holds=True) == "reproduced"
    assert verdict(None, None, tolerance=0.1, holds=False) == "not reproduced"


def test_override_needs_a_reason():
    with pytest.raises(ValueError, match="reason"):
        Claim("x", "Table 1", 1.0, 2.0, override="partly")
    c = Claim("x", "Table 1", 1.0, 2.0, override="partly", reason="different OOD set")
    assert c.verdict == "partly" and c.difference == 1.0


def test_writer_roundtrip(tmp_path):
    card = Scorecard("00_benchmark", "harness", "default")
    card.add("Energy FPR@95", "NAP Table 9", 50.74, 50.74, tolerance=0.1)
    card.add("SVHN row", "Table 6", 40.57, None)
    path = card.write(tmp_path)
    assert path.name == "00_benchmark.json"
    loaded = json.loads(path.read_text())
    assert set(loaded) >= {"chapter", "paper", "profile", "claims"}
    assert loaded["counts"] == {"reproduced": 1, "partly": 0, "inconclusive": 0, "not reproduced": 0,
                                "not testable here": 1}
    assert read_scorecards(tmp_path)[0]["chapter"] == "00_benchmark"
    assert list(card.to_frame().columns) == ["claim", "where", "paper", "ours", "difference", "95% interval",
                                            "verdict", "reason"]


def test_add_unavailable_marks_only_missing_sets_as_not_testable(monkeypatch):
    from ood_nb_utils import data

    monkeypatch.setattr(data, "is_available", lambda key: key == "textures")
    card = Scorecard("01_nap", "NAP", "default")
    card.add_unavailable(["textures", "svhn"], "NAP-E beats Energy on {title}", "Tables 6-7", note=" (note)")
    assert [c.claim for c in card.claims] == [f"NAP-E beats Energy on {data.DATASETS['svhn'].title}"]
    assert card.claims[0].verdict == "not testable here"
    assert card.claims[0].reason == f"{data.DATASETS['svhn'].title} is not available in this build (note)"


def test_publish_writes_shows_and_reports_counts(tmp_path, capsys):
    card = Scorecard("00_benchmark", "harness", "default")
    card.add("Energy FPR@95", "NAP Table 9", 50.74, 50.74, tolerance=0.1)
    path = card.publish(tmp_path)
    assert json.loads(path.read_text())["counts"]["reproduced"] == 1
    out = capsys.readouterr().out
    assert f"scorecard written to {path}" in out and "'reproduced': 1" in out


def test_directional_rule_by_hand():
    # the paper's direction is positive: the whole interval above 0, wholly below 0, or containing 0
    assert directional_verdict(2.0, (0.5, 3.5)) == "reproduced"
    assert directional_verdict(-2.0, (-3.0, -1.0)) == "not reproduced"
    assert directional_verdict(1.0, (-0.5, 3.0)) == "inconclusive"
    assert directional_verdict(-0.2, (-1.0, 0.5)) == "inconclusive"
    # an interval that touches 0 contains it
    assert directional_verdict(0.3, (0.0, 0.6)) == "inconclusive"
    assert directional_verdict(-0.3, (-0.6, 0.0)) == "inconclusive"
    assert directional_verdict(0.0, (0.0, 0.0)) == "not reproduced"  # a tie does not beat anything
    assert directional_verdict(float("nan"), (0.0, 1.0)) == "not testable here"
    with pytest.raises(ValueError, match="low <= high"):
        directional_verdict(1.0, (2.0, 1.0))


@pytest.mark.parametrize("interval", [(-0.5, 3.0), (-3.0, 0.5), (-1e-9, 1e-9), (-2.0, 2.0)])
def test_an_interval_containing_zero_gets_one_verdict_whatever_the_estimate(interval):
    low, high = interval
    estimates = np.linspace(low, high, 11)
    assert {directional_verdict(float(e), interval) for e in estimates} == {"inconclusive"}


def test_a_tie_is_not_reproduced_and_says_so():
    tie = Claim("NAP-M beats MSP", "Table 6", None, 0.0, interval=(0.0, 0.0), reason="w = 1")
    assert tie.verdict == "not reproduced" and tie.reason.startswith("w = 1; ") and "a tie" in tie.reason
    near_tie = Claim("NAP-M beats MSP", "Table 6", None, 0.0, interval=(-0.01, 0.01))
    assert near_tie.verdict == "inconclusive" and "a tie" not in near_tie.reason


def test_every_case_rule_by_hand():
    assert every_case_verdict(["reproduced", "reproduced"]) == "reproduced"
    assert every_case_verdict(["reproduced", "inconclusive"]) == "inconclusive"
    assert every_case_verdict(["inconclusive", "not reproduced", "reproduced"]) == "not reproduced"
    assert every_case_verdict(["reproduced", "not testable here"]) == "not testable here"
    with pytest.raises(ValueError, match="no cases"):
        every_case_verdict([])


def test_directional_claims_are_decided_by_the_paired_interval(tmp_path):
    rng = np.random.default_rng(0)
    ids, ood = rng.normal(1.0, 1.0, 400), rng.normal(0.0, 1.0, 400)
    noise = rng.normal(0.0, 0.05, 400)
    good = {"id": ids, "ood": ood}  # AUROC about 0.76
    blurred = {"id": ids + rng.normal(0, 1.5, 400), "ood": ood + rng.normal(0, 1.5, 400)}  # much worse
    nearly = {"id": ids + noise, "ood": ood + noise}  # the same ranking up to noise
    card = Scorecard("99_test", "test", "tiny")
    clear = card.add_directional("good beats blurred", "Table 1", paired_gain(good, blurred, "id", "ood", n_boot=300))
    wrong = card.add_directional("blurred beats good", "Table 1", paired_gain(blurred, good, "id", "ood", n_boot=300))
    tie = card.add_directional("good beats nearly", "Table 1", paired_gain(good, nearly, "id", "ood", n_boot=300))
    assert clear.verdict == "reproduced" and clear.interval[0] > 0
    assert wrong.verdict == "not reproduced" and wrong.interval[1] < 0
    assert tie.interval[0] <= 0 <= tie.interval[1] and tie.verdict == "inconclusive"
    assert "paired bootstrap" in clear.reason and clear.ours == pytest.approx(100 * (
        paired_gain(good, blurred, "id", "ood", n_boot=300).estimate))
    saved = json.loads(card.write(tmp_path).read_text())["claims"]
    assert saved[0]["interval"] == list(clear.interval) and saved[0]["paper"] is None


def test_a_directional_claim_cannot_also_be_graded_by_holds():
    with pytest.raises(ValueError, match="directional"):
        Claim("x", "Table 1", None, 1.0, holds=True, interval=(0.5, 1.5))


def test_untestable_claims_need_a_reason_and_are_listed():
    card = Scorecard("99_test", "test", "tiny")
    card.add("Energy FPR@95", "Table 9", 50.74, 50.70, tolerance=0.1)
    assert "nothing" in card.untested_markdown()
    with pytest.raises(ValueError, match="reason"):
        card.add_untestable([("ImageNet rows", "Table 2", "")])
    card.add_untestable([("ImageNet rows", "Table 2", "ImageNet is not available offline")])
    assert card.counts()["not testable here"] == 1
    text = card.untested_markdown()
    assert "1 of 2 claims" in text and "- ImageNet rows (Table 2): ImageNet is not available offline" in text


def test_near_far_keeps_the_order_and_drops_substitutes():
    sets = ["textures", "gtsrb", "cifar100", "mnist", "tin"]
    assert groups_of("cifar10", sets) == {"far": ["textures", "mnist"], "substitute": ["gtsrb"],
                                          "near": ["cifar100", "tin"]}
    assert near_far("cifar10", sets) == {"near": ["cifar100", "tin"], "far": ["textures", "mnist"]}
    assert near_far("cifar10", ["gtsrb"]) == {"near": [], "far": []}


def test_every_case_must_hold_for_a_conjunctive_claim():
    from ood_nb_utils.metrics import Interval

    card = Scorecard("x", "X", "default")
    all_up = card.add_every_directional("A > B on every set", "Fig. 1", {"s1": Interval(0.02, 0.01, 0.03),
                                                                        "s2": Interval(0.05, 0.001, 0.09)})
    assert all_up.verdict == "reproduced" and all_up.interval == pytest.approx((0.1, 9.0))  # weakest case, in pts
    one_unsure = card.add_every_directional("A > B", "Fig. 1", {"s1": Interval(0.02, 0.01, 0.03),
                                                                 "s2": Interval(0.01, -0.01, 0.03)})
    assert one_unsure.verdict == "inconclusive" and one_unsure.interval == pytest.approx((-1.0, 3.0))
    one_against = card.add_every_directional("A > B", "Fig. 1", {"s1": Interval(0.02, 0.01, 0.03),
                                                                  "s2": Interval(-0.02, -0.03, -0.01),
                                                                  "s3": Interval(0.01, -0.01, 0.03)})
    assert one_against.verdict == "not reproduced" and "s2 -2.00 [-3.00, -1.00]" in one_against.reason
    with_tie = card.add_every_directional("A > B", "Fig. 1", {"s1": Interval(0.02, 0.01, 0.03),
                                                               "s2": Interval(0.0, 0.0, 0.0)})
    assert with_tie.verdict == "not reproduced" and "s2 +0.00 [+0.00, +0.00] (a tie)" in with_tie.reason
    with pytest.raises(ValueError, match="no cases"):
        card.add_every_directional("A > B", "Fig. 1", {})


def test_a_numeric_claim_whose_interval_crosses_a_tolerance_edge_is_inconclusive():
    """By hand: paper 10, tolerance 1 (partly within 3). The point estimate alone would decide these claims; the
    interval of our value decides them as a whole."""
    from ood_nb_utils.lectures.scorecard import interval_verdict

    assert interval_verdict(10.0, (9.5, 10.8), tolerance=1.0) == "reproduced"  # wholly within 1
    assert interval_verdict(10.0, (9.5, 11.2), tolerance=1.0) == "inconclusive"  # 11.2 is 1.2 away: crosses 1
    assert interval_verdict(10.0, (11.5, 12.5), tolerance=1.0) == "partly"  # wholly between 1 and 3
    assert interval_verdict(10.0, (12.5, 13.5), tolerance=1.0) == "inconclusive"  # crosses 3
    assert interval_verdict(10.0, (14.0, 20.0), tolerance=1.0) == "not reproduced"
    assert interval_verdict(10.0, (4.0, 16.0), tolerance=1.0) == "inconclusive"  # contains the paper, reaches 6 away
    c = Claim("x", "Table 9", 10.0, 10.01, tolerance=1.0, ours_interval=(8.0, 12.0))
    assert c.verdict == "inconclusive" and "[8.00, 12.00]" in c.reason
    assert Claim("x", "Table 9", 10.0, 10.01, tolerance=1.0).verdict == "reproduced"  # the point rule, for contrast
    with pytest.raises(ValueError, match="low <= high"):
        interval_verdict(10.0, (12.0, 8.0), tolerance=1.0)


def test_a_claim_graded_on_groups_of_sets_is_partly_where_the_groups_disagree():
    """Each group gets the every-case verdict of its own intervals; the claim is their common verdict, or partly."""
    from ood_nb_utils.lectures.scorecard import grouped_verdict
    from ood_nb_utils.metrics import Interval

    assert grouped_verdict({"far": "reproduced", "substitute": "reproduced"}) == "reproduced"
    assert grouped_verdict({"far": "reproduced", "substitute": "inconclusive"}) == "partly"
    assert grouped_verdict({"far": "not reproduced", "substitute": "not reproduced"}) == "not reproduced"
    with pytest.raises(ValueError, match="no groups"):
        grouped_verdict({})
    card = Scorecard("x", "p", "default")
    above, across = Interval(0.05, 0.02, 0.08), Interval(-0.01, -0.03, 0.01)
    c = card.add_grouped_directional("A beats B", "Table III", {"far": {"vs B": above, "vs C": above},
                                                              "substitute": {"vs B": above, "vs C": across}})
    assert c.verdict == "partly" and c.interval == (2.0, 8.0)  # the first group's weakest case, in points
    assert "far: reproduced" in c.reason and "substitute: inconclusive" in c.reason
    c = card.add_grouped_directional("A beats B", "Table III", {"far": {"": above}, "substitute": {"": above}})
    assert c.verdict == "reproduced"
