"""Two architectures: their facts, the network defaults a detector gets, scorecards per architecture, the claims
compared across networks, and the paired bootstrap of a ranking."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from ood_nb_utils import metrics
from ood_nb_utils.detectors import HIMPLoS, NapX, PrototypeFusion, ReAct, create
from ood_nb_utils.evaluation import apply_network_defaults
from ood_nb_utils.lectures import arch_runs, chapter
from ood_nb_utils.lectures.claims import architectures as across
from ood_nb_utils.lectures.claims import leaderboard
from ood_nb_utils.lectures.scorecard import OTHER_NETWORK_REASON, Scorecard, read_scorecards, scorecard_path
from ood_nb_utils.metrics import Interval
from ood_nb_utils.models import ARCHITECTURES, CHECKPOINTS, DEFAULT_ARCH, models_of


def test_every_checkpoint_names_a_known_architecture_with_consistent_facts():
    assert models_of("densenet100") == {"cifar10": "densenet100-cifar10", "cifar100": "densenet100-cifar100"}
    assert models_of("resnet56") == {"cifar10": "resnet56-cifar10", "cifar100": "resnet56-cifar100"}
    with pytest.raises(KeyError, match="known: densenet100, resnet56"):
        models_of("resnet18")
    for name, ck in CHECKPOINTS.items():
        arch = ARCHITECTURES[ck.arch]
        assert ck.paper_setting == arch.adascale_rows[ck.id_dataset]
        assert arch.spatial_taps[-1] == "final" and arch.final_shape[0] == arch.final_channels
        assert set(arch.tap_notes) == set(arch.spatial_taps), name
    # the two ResNet-56s: two authors, two shortcut types, two normalisations
    a, b = CHECKPOINTS["resnet56-cifar10"], CHECKPOINTS["resnet56-cifar100"]
    assert (a.shortcut, b.shortcut) == ("A", "B") and a.mean != b.mean


def test_the_architecture_in_force_is_the_argument_then_the_environment_then_the_densenet(monkeypatch):
    monkeypatch.delenv("OOD_NB_ARCH", raising=False)
    assert chapter.architecture_in_force().key == DEFAULT_ARCH == "densenet100"
    monkeypatch.setenv("OOD_NB_ARCH", "resnet56")
    assert chapter.architecture_in_force().key == "resnet56"
    assert chapter.architecture_in_force("densenet100").key == "densenet100"
    with pytest.raises(KeyError, match="unknown architecture 'vgg'"):
        chapter.architecture_in_force("vgg")


def context_of(arch: str, clip: float, setting: str | None = "cifar10-wrn"):
    return SimpleNamespace(architecture=ARCHITECTURES[arch], clip_threshold=clip, paper_setting=setting)


def test_network_defaults_replace_densenet_values_left_at_their_default_and_keep_chosen_ones():
    ctx = context_of("resnet56", 1.88)
    react, chosen = apply_network_defaults(ReAct(), ctx), apply_network_defaults(ReAct(threshold=1.0), ctx)
    assert react.threshold == 1.88 and chosen.threshold == 1.0
    assert apply_network_defaults(HIMPLoS(), ctx).threshold == 1.88
    nested = apply_network_defaults(NapX(base=ReAct()), ctx)  # a detector inside another gets them too
    assert nested.base.threshold == 1.88
    assert apply_network_defaults(PrototypeFusion(), ctx).layers == ("layer1", "layer2", "final")
    assert apply_network_defaults(PrototypeFusion(layers=("final",)), ctx).layers == ("final",)
    assert apply_network_defaults(create("adascale_a"), ctx).setting == "cifar10-wrn"
    # on the DenseNet the detectors' defaults are already its values: only the AdaSCALE row is named
    dense = context_of("densenet100", 1.6, "cifar10-densenet")
    assert apply_network_defaults(ReAct(), dense).threshold == 1.6
    assert apply_network_defaults(PrototypeFusion(), dense).layers == ("block2", "block3", "final")
    assert apply_network_defaults(create("adascale_a"), dense).setting == "cifar10-densenet"


def test_a_scorecard_on_another_network_shows_numeric_claims_without_grading_them(tmp_path):
    card = Scorecard("01_nap", "NAP", "default", arch="resnet56")
    numeric = card.add("NAP-E AUROC (%)", "Table 9", 92.0, 80.0, tolerance=0.5, reason="complete test sets")
    directional = card.add_directional("NAP-E beats Energy", "Table 9", Interval(0.02, 0.01, 0.03))
    threshold = card.add("stable", "Fig. 6", None, None, holds=False, reason="range 2 pts")
    assert numeric.verdict == "not testable here" and numeric.ours == 80.0
    assert numeric.reason.startswith(OTHER_NETWORK_REASON.format(arch="ResNet-56"))
    assert numeric.reason.endswith("complete test sets")
    assert directional.verdict == "reproduced" and threshold.verdict == "not reproduced"
    same_on_densenet = Scorecard("01_nap", "NAP", "default").add("NAP-E AUROC (%)", "Table 9", 92.0, 80.0,
                                                                tolerance=0.5)
    assert same_on_densenet.verdict == "not reproduced"
    path = card.write(tmp_path)
    assert path == tmp_path / "resnet56" / "01_nap.json" == scorecard_path("01_nap", tmp_path, arch="resnet56")
    assert json.loads(path.read_text())["arch"] == "resnet56"
    Scorecard("01_nap", "NAP", "default").write(tmp_path)
    assert [c["arch"] for c in read_scorecards(tmp_path)] == ["densenet100"]
    assert [c["arch"] for c in read_scorecards(tmp_path, arch="resnet56")] == ["resnet56"]


def card_json(arch: str, claims: list[tuple]) -> dict:
    card = Scorecard("01_nap", "NAP", "default", arch=arch)
    for text, kind, value in claims:
        if kind == "directional":
            card.add_directional(text, "Table 6", Interval(value, value - 0.01, value + 0.01))
        elif kind == "threshold":
            card.add(text, "Fig. 1", None, None, holds=value, reason="stated test")
        else:
            card.add(text, "Table 9", value, value, tolerance=1.0)
    return card.to_json()


def test_claims_are_matched_across_networks_by_their_text_without_parenthesised_details():
    dense = card_json("densenet100", [("NAP-E beats the best other (Energy), cifar10", "directional", 0.02),
                                      ("the prior holds, cifar10", "threshold", True),
                                      ("NAP-E AUROC (%)", "numeric", 90.0)])
    res = card_json("resnet56", [("NAP-E beats the best other (ReAct), cifar10", "directional", -0.02),
                                 ("NAP-E AUROC (%)", "numeric", 85.0)])
    others = {ch: {**dense, "chapter": ch, "claims": []} for ch in across.PAPERS if ch != "01_nap"}
    pairs = across.paired_claims({"densenet100": {"01_nap": dense, **others},
                                  "resnet56": {"01_nap": res, **others}}, ("densenet100", "resnet56"))
    assert list(pairs.claim) == ["NAP-E beats the best other, cifar10", "the prior holds, cifar10"]  # no numbers
    assert list(pairs["verdict resnet56"]) == ["not reproduced", "missing"]
    assert list(pairs.differs) == [True, True]
    assert across.differing(pairs)[0].endswith("reproduced -> not reproduced")
    counts = across.verdict_counts({"resnet56": {"01_nap": res}})
    assert (counts.tested + counts.untested == counts.total).all() and int(counts.untested.iloc[0]) == 1


def test_mean_auroc_draws_resample_keys_on_the_same_images_alike():
    rng = np.random.default_rng(0)
    id_s, oods = rng.normal(1, 1, 300), [rng.normal(0, 1, 200), rng.normal(0.5, 1, 100)]
    draws = metrics.mean_auroc_draws({"a": (id_s, oods), "same": (id_s.copy(), [o.copy() for o in oods]),
                                      "monotone": (np.exp(id_s), [np.exp(o) for o in oods]),
                                      "other": (rng.normal(1, 1, 300), [rng.normal(0, 1, 200), rng.normal(0, 1, 100)])},
                                     n_boot=200, seed=0)
    np.testing.assert_array_equal(draws["a"], draws["same"])
    np.testing.assert_allclose(draws["a"], draws["monotone"])  # AUROC is rank-based: the same resample, same value
    assert not np.allclose(draws["a"], draws["other"])
    estimate = np.mean([metrics.auroc(id_s, o) for o in oods])
    assert np.quantile(draws["a"], 0.025) < estimate < np.quantile(draws["a"], 0.975)
    reference = metrics.bootstrap_mean_auroc(id_s, oods, n_boot=200, seed=0)  # another draw order, same spread
    assert abs(np.std(draws["a"]) - (reference.high - reference.low) / 3.92) < 0.01


def test_rank_agreement_of_a_network_with_itself_is_one_and_moves_no_rank():
    rng = np.random.default_rng(1)
    scores = {m: {"cifar10": rng.normal(shift, 1, 100), "cifar100": rng.normal(0, 1, 80), "mnist": rng.normal(0, 1, 60)}
              for m, shift in [("a", 0.2), ("b", 0.8), ("c", 1.5)]}
    run = SimpleNamespace(scores=scores)
    sets = {"cifar10": {"near": ["cifar100"], "far": ["mnist"]}}
    taus, ranks = leaderboard.rank_agreement({"x": {"cifar10": run}, "y": {"cifar10": run}}, sets, ["a", "b", "c"],
                                             n_boot=50, seed=0)
    assert (taus.tau == 1).all() and (taus.low == 1).all() and (taus.high == 1).all()
    assert (ranks["rank change"] == 0).all() and list(ranks[ranks.group == "far"]["rank x"]) == [3.0, 2.0, 1.0]


def test_a_chapter_on_another_network_reruns_when_its_code_changed(tmp_path, monkeypatch):
    assert arch_runs.source_digest("01_nap", "resnet56") != arch_runs.source_digest("01_nap", "densenet100")
    assert not arch_runs.is_current("01_nap", "resnet56", tmp_path)
    Scorecard("01_nap", "NAP", "default", arch="resnet56").write(tmp_path)
    assert not arch_runs.is_current("01_nap", "resnet56", tmp_path)  # no digest: written by unknown code
    (tmp_path / "resnet56" / "01_nap.digest").write_text(arch_runs.source_digest("01_nap", "resnet56"))
    assert arch_runs.is_current("01_nap", "resnet56", tmp_path)
    ran = []

    def execute(chapter, arch, directory=None):  # what a chapter does when it runs: write its scorecard
        ran.append((chapter, arch))
        Scorecard(chapter, "NAP", "default", arch=arch).write(directory)

    monkeypatch.setattr(arch_runs, "execute_chapter", execute)
    assert arch_runs.scorecards("resnet56", ("01_nap",), directory=tmp_path)["01_nap"]["arch"] == "resnet56"
    assert ran == []  # current: not run again
    (tmp_path / "resnet56" / "01_nap.digest").write_text("old")
    arch_runs.scorecards("resnet56", ("01_nap",), directory=tmp_path)
    assert ran == [("01_nap", "resnet56")]
    assert arch_runs.is_current("01_nap", "resnet56", tmp_path)  # the digest of the code that ran is kept
    monkeypatch.setattr(arch_runs, "execute_chapter", lambda *a, **k: None)  # a run that writes no scorecard
    with pytest.raises(FileNotFoundError, match="wrote no scorecard"):
        arch_runs.scorecards("resnet56", ("01_nap",), directory=tmp_path, rerun=True)


def test_paired_mean_gain_is_the_mean_of_per_set_differences_with_a_paired_interval():
    from ood_nb_utils.evaluation import paired_mean_gain

    rng = np.random.default_rng(2)
    a = {"id": rng.normal(1, 1, 200), "x": rng.normal(0, 1, 150), "y": rng.normal(0, 1, 50)}
    b = {k: v + rng.normal(0, 0.8, len(v)) for k, v in a.items()}  # a noisier copy of the same images
    iv = paired_mean_gain(a, b, "id", ["x", "y"], n_boot=300)
    expected = np.mean([metrics.auroc(a["id"], a[d]) - metrics.auroc(b["id"], b[d]) for d in ("x", "y")])
    assert iv.estimate == pytest.approx(expected) and iv.low < iv.estimate < iv.high and iv.low > 0
    same = paired_mean_gain(a, {k: 2 * v for k, v in a.items()}, "id", ["x", "y"], n_boot=100)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)  # the same ranking: a tie on every draw
    with pytest.raises(ValueError, match="no OOD sets"):
        paired_mean_gain(a, b, "id", [])
