import json

import pytest

from ood_nb_utils.scorecard import Claim, Scorecard, read_scorecards, verdict


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
    assert loaded["counts"] == {"reproduced": 1, "partly": 0, "not reproduced": 0, "not testable here": 1}
    assert read_scorecards(tmp_path)[0]["chapter"] == "00_benchmark"
    assert list(card.to_frame().columns) == ["claim", "where", "paper", "ours", "difference", "verdict", "reason"]


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
