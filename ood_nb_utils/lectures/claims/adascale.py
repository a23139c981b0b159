"""AdaSCALE (Regmi, 2025): the perturbed activations chapter 2 studies, its tables with the paper's numbers
beside ours, and the scorecard.

FPR@95 is OOD-positive throughout (the paper follows OpenOOD: ID rejected at 95% OOD recall).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ... import data, metrics, scorers
from ...config import Profile
from ...detectors import HELDOUT_N, create, get_class
from ...detectors.adascale import P_GRID, PAPER_SETTINGS, AdaScale
from ...detectors.tuning import TuneResult
from ...evaluation import fit_in, group_metrics, groups_of, near_far, paired_gain
from ...extraction.features import Features
from ...extraction.perturbation import cached_shift_statistics, perturbed_features
from ...models import DEFAULT_ARCH
from ...runs.context import RunContext
from ..paper_values import ADASCALE_FAR_SETS, ADASCALE_TABLE16_FAR, ADASCALE_TABLE17_NEAR
from ..scorecard import Scorecard, percent_interval

NO_IMAGENET = "ImageNet-1k, its OOD sets and its networks are not available offline"
ROW_NETWORK = {"densenet": "DenseNet-101", "wrn": "WRN-28-10", "resnet50": "ResNet-50"}  # Tables 12-13
UNTESTABLE = [  # (claim, where, why not here)
    ("AdaSCALE-A/-L beat every other post-hoc method on ImageNet-1k across eight architectures", "Table 1",
     NO_IMAGENET),
    ("AdaSCALE leads in full-spectrum OOD detection (covariate-shifted ID)", "Table 3", NO_IMAGENET),
    ("AdaSCALE keeps its lead with ISH-regularised networks", "Table 4", NO_IMAGENET),
    ("AdaSCALE's CIFAR averages over WRN-28-10 and DenseNet-101", "Table 5",
     "the averages include WRN-28-10, for which we have no checkpoint; the DenseNet-101 half is graded per set "
     "(Tables 16-17) against our DICE DenseNet-BC-100, labelled as a different DenseNet"),
    ("AdaSCALE-A with restricted ID data on ResNet-50", "Table 7",
     NO_IMAGENET + "; our n_val study above is the CIFAR analogue, graded separately"),
    ("per-set WRN-28-10 results on CIFAR", "Tables 14-15", "no WRN-28-10 checkpoint"),
    ("per-architecture ImageNet near- and far-OOD results", "Tables 18-33", NO_IMAGENET),
    ("per-architecture ImageNet full-spectrum (covariate-shifted ID) results", "Tables 34-48", NO_IMAGENET),
    ("AdaSCALE beats OptFS, the best-generalising rival (by 14.94% near / 21.67% far FPR@95 on ImageNet; in the "
     "CIFAR rows of Tables 5 and 16-17)", "Abstract, Sec. 5, Tables 1 and 16-17",
     "OptFS (Zhao et al., 2024, piecewise-constant activation shaping fitted on ID data) is not implemented in this "
     "package; its CIFAR rows are transcribed nowhere here, so no comparison is graded"),
    ("the other perturbation rows (random and trivial regions at o = 1% and 50%, significant at 1%, 10% and 50%)",
     "Table 9 (ImageNet in the paper)", "each row needs its own gradient pass over every set; the book runs the four "
     "CIFAR-10 rows graded below within its build time"),
]
TABLE5_BASELINES = ["msp", "mls", "energy", "react", "ash_s", "scale", "bfact", "lts"]  # Table 5's rows we have


@dataclass
class Study:
    """One model's cached perturbed activations (:func:`prepare`): the test subsets of every set, the 1,000-image
    held-out pool split by a seeded permutation into the eCDF half (``reference``) and the ID validation half,
    and TinyImageNet validation images (disjoint from TIN's test rows) as the OOD side of the validation split."""

    context: RunContext
    ood: list[str]
    test: dict[str, Features]
    pool: Features
    perm: np.ndarray
    val_ood: Features

    @property
    def id_dataset(self) -> str:
        return self.context.id_dataset

    @property
    def groups(self) -> dict[str, list[str]]:
        return groups_of(self.id_dataset, self.ood)

    @property
    def near_far(self) -> dict[str, list[str]]:
        return near_far(self.id_dataset, self.ood)

    @property
    def real(self) -> list[str]:
        """The near and far sets (no substitutes)."""
        return self.near_far["near"] + self.near_far["far"]

    @property
    def reference(self) -> Features:
        return self.pool.subset(self.perm[:500], "eCDF half")

    @property
    def val_id(self) -> Features:
        return self.pool.subset(self.perm[500:], "ID val")

    @property
    def seconds_per_image(self) -> float:
        """Gradient plus perturbed forward pass, measured when the cache was filled."""
        return float(self.pool.arrays["seconds_per_image"][0])

    def scores(self, detector: AdaScale, sets: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """``detector`` on the cached test subsets (ID first), default every near and far set."""
        return {d: detector.score(self.test[d]) for d in [self.id_dataset, *(self.real if sets is None else sets)]}

    def near_far_metrics(self, detector: AdaScale) -> dict[str, dict[str, float]]:
        """Near and far averages (in %) of ``detector`` on the test subsets."""
        return group_metrics(self.scores(detector), self.id_dataset, self.near_far)


def prepare(context: RunContext, ood: Sequence[str], profile: Profile) -> Study:
    """Perturbed activations (cached) of the profile's gradient subset of the ID set and of every ``ood`` set,
    of 1,000 held-out ID images and of ``gradient_per_set`` TinyImageNet validation images."""
    ds = context.id_dataset
    test = {d: perturbed_features(context.adapter, context.gradient_images(d)) for d in [ds, *ood]}
    pool = perturbed_features(context.adapter, context.heldout_images(HELDOUT_N))
    val_ood = perturbed_features(context.adapter, data.load_heldout("tin", test["tin"].arrays["indices"],
                                                                    profile.gradient_per_set, profile.seed))
    perm = np.random.default_rng(profile.seed).permutation(len(pool))
    return Study(context, list(ood), test, pool, perm, val_ood)


def fit_adascale(study: Study, variant: str, reference: Features | None = None, **params) -> AdaScale:
    """AdaSCALE-A or -L (``variant`` "a"/"l") with its eCDF fitted on ``reference`` (default the eCDF half)."""
    det = create(f"adascale_{variant}", **{"setting": study.context.paper_setting, **params})
    return det.fit_reference(study.reference if reference is None else reference, study.context.head,
                             adapter=study.context.adapter)


def q_ratios(studies: Mapping[str, Study]) -> pd.DataFrame:
    """Fig. 4: per OOD set, the ratio of mean Q, C_o and Q' to their ID means, and -Q, -Q' as detectors."""
    rows = []
    for ds, st in studies.items():
        s_id = cached_shift_statistics(st.test[ds])
        for d in st.ood:
            s = cached_shift_statistics(st.test[d])
            rows.append({"ID": ds, "OOD": data.DATASETS[d].display_name, "group": data.ood_group(ds, d),
                         **{f"{k}_OOD / {k}_ID": (s[k].mean() / s_id[k].mean()).item()
                            for k in ("Q", "C_o", "Q_prime")},
                         **{f"AUROC of -{k} (%)": 100 * metrics.auroc(-s_id[k].numpy(), -s[k].numpy())
                            for k in ("Q", "Q_prime")}})
    return pd.DataFrame(rows)


def search_summary(searches: Mapping[tuple[str, str], TuneResult]) -> tuple[pd.DataFrame, dict]:
    """Every evaluated setting (validation AUROC in %) and, per (ID, variant), the best setting and the best
    setting on the diagonal p_min = p_max (which is SCALE for A and LTS for L)."""
    search = pd.concat([r.table().assign(ID=ds, variant=v) for (ds, v), r in searches.items()]).rename(
        columns={"auroc": "val AUROC"})
    search["val AUROC"] *= 100
    best = {}
    for (ds, v), g in search.groupby(["ID", "variant"]):
        top, fixed = g.loc[g["val AUROC"].idxmax()], g[g.p_min == g.p_max].sort_values("val AUROC").iloc[-1]
        best[(ds, v)] = {"p_min": top.p_min, "p_max": top.p_max, "k2": top.k2, "val": top["val AUROC"],
                         "fixed_p": fixed.p_min, "fixed_val": fixed["val AUROC"]}
    return search, best


def adaptive_vs_fixed(study: Study, detector: AdaScale, *, seed: int = 0):
    """Fig. 7's question with one rule for both sides and an honest split: every fixed percentile of the grid (the
    diagonal p_min = p_max, which is SCALE or LTS) against every adaptive setting of the grid (p_min < p_max, any k2),
    each side's best chosen by AUROC on one half of the validation split (ID half vs TIN validation) and the two
    compared on the other half (Fig. 7 likewise shows the whole grid).
    Returns (chosen fixed setting, chosen adaptive setting, paired-bootstrap interval of AUROC(adaptive) -
    AUROC(fixed) on the second half)."""
    rng = np.random.default_rng(seed)
    id_perm, ood_perm = rng.permutation(len(study.val_id)), rng.permutation(len(study.val_ood))
    halves = [(study.val_id.subset(i), study.val_ood.subset(o)) for i, o in
              [(id_perm[: len(id_perm) // 2], ood_perm[: len(ood_perm) // 2]),
               (id_perm[len(id_perm) // 2:], ood_perm[len(ood_perm) // 2:])]]
    k2s = tuple(AdaScale.search_space["k2"].values)
    adaptive = [(lo, hi, k2) for lo in P_GRID for hi in P_GRID for k2 in k2s if lo < hi]
    candidates = {"fixed": [(p, p, detector.resolved()[2]) for p in P_GRID], "adaptive": adaptive}

    def scores_on(setting, half) -> dict[str, np.ndarray]:
        det = detector.with_params(p_min=setting[0], p_max=setting[1], k2=setting[2])
        return {"id": det.score(half[0]), "ood": det.score(half[1])}

    def auroc_on(setting, half) -> float:
        s = scores_on(setting, half)
        return metrics.auroc(s["id"], s["ood"])

    chosen = {kind: max(settings, key=lambda st: auroc_on(st, halves[0])) for kind, settings in candidates.items()}
    scores = {kind: scores_on(c, halves[1]) for kind, c in chosen.items()}
    return chosen["fixed"], chosen["adaptive"], paired_gain(scores["adaptive"], scores["fixed"], "id", "ood",
                                                             n_boot=500, seed=seed)


def chosen_table(best: Mapping, settings: Mapping[str, str]) -> pd.DataFrame:
    """The chosen hyperparameters beside the paper's for this network (Tables 12-13: the row of ``settings``,
    ID dataset -> row name, e.g. ``"cifar10-densenet"``, the DenseNet-101 row)."""
    return pd.DataFrame([{"ID": ds, "variant": f"AdaSCALE-{v.upper()}", "p_min": c["p_min"], "p_max": c["p_max"],
                          "k2 (%)": c["k2"], "val AUROC": c["val"],
                          f"paper ({ROW_NETWORK[settings[ds].split('-')[1]]}) p_min, p_max, k2":
                              PAPER_SETTINGS[settings[ds]][v],
                          f"best fixed p ({'SCALE' if v == 'a' else 'LTS'})": c["fixed_p"],
                          "its val AUROC": c["fixed_val"]} for (ds, v), c in best.items()])


def test_grid(study: Study, detector: AdaScale) -> pd.DataFrame:
    """Fig. 7, bottom: mean test AUROC (%) over the near and far sets for every p_min <= p_max of the grid."""
    grid = pd.DataFrame(np.nan, index=pd.Index(P_GRID, name="p_min"), columns=pd.Index(P_GRID, name="p_max"))
    for lo, hi in [(lo, hi) for lo in P_GRID for hi in P_GRID if lo <= hi]:
        sc = study.scores(detector.with_params(p_min=lo, p_max=hi))
        grid.loc[lo, hi] = group_metrics(sc, study.id_dataset, {"all": study.real})["all"]["auroc"]
    return grid


def k_grid(study: Study, detector: AdaScale, k1_grid: Sequence[float], k2_grid: Sequence[float]) -> np.ndarray:
    """Fig. 6a: validation AUROC (%) for each (k1, k2), rows k1."""
    return np.array([[100 * metrics.auroc(det.score(study.val_id), det.score(study.val_ood))
                      for det in [detector.with_params(k1=k1, k2=k2) for k2 in k2_grid]] for k1 in k1_grid])


def lambda_table(studies: Mapping[str, Study], tuned: Mapping, lambdas: Sequence[float]) -> pd.DataFrame:
    """Fig. 6b: near and far mean FPR@95 (OOD-positive, %) of AdaSCALE-A for each lambda."""
    return pd.DataFrame([{"ID": ds, "lambda": lam, "group": g, "FPR@95": m["fpr95_ood_positive"]}
                         for ds, st in studies.items() for lam in lambdas
                         for g, m in st.near_far_metrics(tuned[(ds, "a")].with_params(lam=float(lam))).items()])


def main_results(studies: Mapping[str, Study], tuned: Mapping, best: Mapping, paper: Mapping):
    """Table 5 style: the baselines at their defaults, SCALE and LTS at the validated fixed percentile, the
    tuned AdaSCALE-A/-L and AdaSCALE-A/-L at the paper's Tables 12-13 setting (``paper``) on the same images.
    Returns the scores (ID -> title -> set -> scores) and the group averages (rows (ID, title), columns (metric,
    group), in %)."""
    main_scores = {}
    for ds, st in studies.items():
        ctx = st.context
        methods = {get_class(n).title: fit_in(ctx, create(n)) for n in TABLE5_BASELINES}
        for v, base in [("a", "scale"), ("l", "lts")]:
            methods[tuned_title(base, best[(ds, v)])] = create(base, percentile=float(best[(ds, v)]["fixed_p"])).fit(
                None, ctx.head)
            methods[f"AdaSCALE-{v.upper()}"] = tuned[(ds, v)]
            methods[paper_title(v)] = paper[(ds, v)]
        main_scores[ds] = {t: {d: det.score(st.test[d]) for d in [ds, *st.ood]} for t, det in methods.items()}
    main_avg = pd.DataFrame([{"ID": ds, "method": t, "group": g, "FPR@95": m["fpr95_ood_positive"], "AUROC": m["auroc"]}
                             for ds, per in main_scores.items() for t, sc in per.items()
                             for g, m in group_metrics(sc, ds, studies[ds].groups).items()]).pivot_table(
        index=["ID", "method"], columns="group", values=["FPR@95", "AUROC"], sort=False)
    return main_scores, main_avg


def paper_title(variant: str) -> str:
    """The row title of AdaSCALE at the paper's Tables 12-13 setting."""
    return f"AdaSCALE-{variant.upper()} (paper setting)"


def is_degenerate(chosen: Mapping) -> bool:
    """Whether the search chose p_min = p_max, where AdaSCALE-A/-L are SCALE/LTS at that percentile and the
    eCDF no longer enters Eq. 11."""
    return chosen["p_min"] == chosen["p_max"]


def tuned_title(base: str, chosen: Mapping) -> str:
    """The row title of SCALE/LTS at the validated fixed percentile, e.g. "SCALE (p = 85, tuned)"."""
    return f"{get_class(base).title} (p = {chosen['fixed_p']:g}, tuned)"


def main_table(main_avg: pd.DataFrame, study: Study) -> pd.DataFrame:
    """One model's rows of :func:`main_results` with the paper's near and far averages (Tables 16-17, over the
    sets we have) beside them."""
    ds, far_here = study.id_dataset, study.groups.get("far", [])
    key_of = ({get_class(n).title: n for n in TABLE5_BASELINES}
              | {"AdaSCALE-A": "adascale_a", "AdaSCALE-L": "adascale_l"}
              | {paper_title(v): f"adascale_{v}" for v in "al"})
    t = main_avg.loc[ds].copy()
    for title, key in ((t_, key_of[t_]) for t_ in t.index if t_ in key_of):
        far = [v for d, v in zip(ADASCALE_FAR_SETS, ADASCALE_TABLE16_FAR[ds][key], strict=True) if d in far_here]
        for (metric, col), paper in itertools.product([("paper FPR@95", 0), ("paper AUROC", 1)],
                                                      [("near", ADASCALE_TABLE17_NEAR[ds][key]),
                                                       ("far (MNIST, Textures)", far)]):
            t.loc[title, (metric, paper[0])] = np.mean([x[col] for x in paper[1]])
    return t


def _near_far_columns(g: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    columns = [("FPR@95", "fpr95_ood_positive"), ("AUROC", "auroc")]
    return {f"{grp} {k}": m[c] for grp, m in g.items() for k, c in columns}


def n_val_table(studies: Mapping[str, Study], detectors: Mapping[str, AdaScale],
                sizes: Sequence[int] = (10, 100, 1000)) -> pd.DataFrame:
    """Table 7: each model's AdaSCALE-A (``detectors``, ID dataset -> detector) with its eCDF built from the first
    ``n`` images of the held-out pool's seeded order."""
    rows = []
    for ds, st in studies.items():
        for n in sizes:
            det = detectors[ds].clone().fit_reference(st.pool.subset(st.perm[:n]), st.context.head,
                                                      adapter=st.context.adapter)
            rows.append({"ID": ds, "n_val": n, **_near_far_columns(st.near_far_metrics(det))})
    return pd.DataFrame(rows)


def reference_source_effect(studies: Mapping[str, Study], n: int = 500) -> pd.DataFrame:
    """How much the source of the eCDF's ID images moves AdaSCALE: AdaSCALE-A and -L at the paper's CIFAR
    hyperparameters (``PAPER_SETTINGS``, DenseNet-101 rows: an adaptive range, so the eCDF matters; a tuned
    p_min = p_max would make it irrelevant) with the eCDF built from ``n`` images of the ID test set's validation
    split (the chapter's choice, the eCDF half) and from ``n`` train-file images outside the fit subset (which the DICE
    checkpoints were trained on), scored on the same test subsets; near and far averages in %."""
    rows = []
    for ds, st in studies.items():
        ctx = st.context
        for v in "al":
            det = create(f"adascale_{v}", setting=ctx.paper_setting)
            refs = {"ID test validation split": st.reference.subset(np.arange(min(n, len(st.reference)))),
                    "train images": perturbed_features(ctx.adapter, ctx.heldout_images(n, source="train"),
                                                       progress=ctx.progress, **det.perturbation)}
            for label, ref in refs.items():
                fitted = det.clone().fit_reference(ref, ctx.head, adapter=ctx.adapter)
                rows.append({"ID": ds, "method": det.title, "eCDF images": f"{label} ({len(ref)})",
                             **_near_far_columns(st.near_far_metrics(fitted))})
    return pd.DataFrame(rows)


def perturbation_table(study: Study, variants: Sequence[tuple[str, float, float]], *, n: int,
                       seed: int) -> tuple[pd.DataFrame, dict]:
    """Tables 9-10: AdaSCALE-A at the paper's CIFAR hyperparameters (an adaptive range; with p_min = p_max the
    perturbation would not matter) with each (region, o, eps), its eCDF
    refitted on ``n`` ID validation-split images perturbed the same way, on ``n`` images per near/far set.
    Returns the table and each variant's scores ((region, o in %, eps) -> set -> scores) for paired intervals."""
    ctx = study.context
    small = {d: ctx.images(d, n, seed) for d in [study.id_dataset, *study.real]}
    small_ref = ctx.heldout_images(n, seed=seed + 1)
    rows, scores = [], {}
    for region, frac, eps in variants:
        det = create("adascale_a", region=region, fraction=frac, epsilon=eps, setting=ctx.paper_setting).fit_reference(
            perturbed_features(ctx.adapter, small_ref, progress=False, region=region, fraction=frac, epsilon=eps),
            ctx.head, adapter=ctx.adapter)
        sc = scores[(region, 100 * frac, eps)] = {d: det.score(x) for d, x in small.items()}
        rows.append({"region": region, "o (%)": 100 * frac, "eps": eps,
                     **_near_far_columns(group_metrics(sc, study.id_dataset, study.near_far))})
    return pd.DataFrame(rows), scores


def scaling_latency(dims: Sequence[int] = (128, 512, 1024, 2048, 3024), *, repeats: int = 2000) -> pd.DataFrame:
    """Table 11: microseconds per call of the scaling step for one sample with a fixed percentile (SCALE) and
    with a per-sample one (AdaSCALE), for each feature dimension D."""
    rows, gen = [], torch.Generator().manual_seed(0)
    for dim in dims:
        a, times = torch.rand(1, dim, generator=gen), {}
        for label, pct in [("fixed", 85.0), ("variable", torch.tensor([85.0]))]:
            for _ in range(50):
                scorers.scaling_factor(a, pct)
            start = time.perf_counter()
            for _ in range(repeats):
                scorers.scaling_factor(a, pct)
            times[label] = (time.perf_counter() - start) / repeats * 1e6
        rows.append({"D": dim, "fixed percentile (SCALE), us": times["fixed"],
                     "variable percentile (AdaSCALE), us": times["variable"],
                     "ratio": times["variable"] / times["fixed"]})
    return pd.DataFrame(rows)


def ablation_scores(study: Study, detector: AdaScale) -> dict[str, dict[str, np.ndarray]]:
    """Table 6's other rows from the cached statistics: ``detector`` (Q' = lambda Q + C_o) with C_o alone
    (lambda = 0) and with Q alone (lambda = 10^6, where C_o only breaks ties), each with its eCDF refitted."""
    return {"C_o alone": study.scores(detector.with_params(lam=0.0)),
            "Q alone": study.scores(detector.with_params(lam=1e6))}


def graded_setting(best: Mapping, tuned: Mapping, paper: Mapping, ds: str, v: str) -> tuple[AdaScale, str]:
    """The AdaSCALE detector a claim about the method grades: the searched one, or the paper's setting where the
    search chose p_min = p_max (:func:`is_degenerate`); with a label for the reason."""
    c = best[(ds, v)]
    if is_degenerate(c):
        return paper[(ds, v)], (f"at the paper's Tables 12-13 setting, row {paper[(ds, v)].setting} (our search "
                                f"chose p_min = p_max = {c['p_min']:g}, where AdaSCALE-{v.upper()} is "
                                f"{'SCALE' if v == 'a' else 'LTS'})")
    return tuned[(ds, v)], "at the searched setting"


def scorecard(profile: str, studies: Mapping[str, Study], *, best: Mapping, tuned: Mapping, paper: Mapping,
              main_scores: Mapping, nval: pd.DataFrame, pert_scores: Mapping, latency: pd.DataFrame,
              k_grids: Mapping[str, np.ndarray], lam_table: pd.DataFrame, search: pd.DataFrame, n_boot: int = 500,
              arch: str = DEFAULT_ARCH) -> Scorecard:
    """The AdaSCALE scorecard from chapter 2's results. Per-set values are graded at the paper's own setting with a
    wide tolerance and their bootstrap interval (a different DenseNet, 300 images per set); orderings are graded as
    claims about this network. A claim about AdaSCALE on a search that chose p_min = p_max (AdaSCALE is then SCALE or
    LTS) is listed as not testable, and graded at the paper's setting beside it."""
    card = Scorecard("02_adascale", "AdaSCALE", profile, arch=arch)
    fpr = (lambda i, o: metrics.fpr_at_95_tpr(i, o, positive="ood"))  # noqa: E731
    for ds, st in studies.items():
        shift = {d: cached_shift_statistics(st.test[d]) for d in [ds, *st.real]}
        for k, larger, where in [("Q", "OOD", "Fig. 4"), ("Q_prime", "OOD", "Fig. 4"), ("C_o", "ID", "Fig. 5")]:
            def rel(i, o, larger=larger):  # how much larger the paper's larger side's mean is, relative
                return o.mean() / i.mean() - 1 if larger == "OOD" else i.mean() / o.mean() - 1
            name = "Q'" if k == "Q_prime" else k
            card.add_every_directional(
                f"{name} is larger for {larger} images than for {'ID' if larger == 'OOD' else 'OOD'} images on every "
                f"near/far set, {ds}", where,
                {data.DATASETS[d].title: metrics.bootstrap_interval(rel, shift[ds][k].numpy(), shift[d][k].numpy(),
                                                                    n_boot=n_boot) for d in st.real},
                reason=f"relative difference of the mean {name} (%), bootstrap over both samples; 300 images per set; "
                       "not reproduced if any set's interval lies on the other side of 0")
        fixed, adaptive, iv = adaptive_vs_fixed(st, tuned[(ds, "a")])
        card.add_directional(f"an adaptive percentile beats a fixed one (AdaSCALE-A vs SCALE), {ds}", "Fig. 7", iv,
                             reason=f"each side's whole grid ({len(P_GRID)} fixed, every p_min < p_max x k2 "
                                    f"adaptive), its best chosen on one half of the validation split (SCALE p = "
                                    f"{fixed[0]:g}; AdaSCALE-A p_min {adaptive[0]:g}, p_max {adaptive[1]:g}, k2 "
                                    f"{adaptive[2]:g}%), AUROC compared on the other half")
        _beats_scale(card, ds, st, best, main_scores, n_boot=n_boot)
        graded = {v: graded_setting(best, tuned, paper, ds, v) for v in "al"}
        graded_scores = {v: st.scores(det, st.ood) for v, (det, _) in graded.items()}
        (det_a, how_a), rows_a = graded["a"], graded_scores["a"]
        for v, (_, how) in graded.items():
            title, rows = f"AdaSCALE-{v.upper()}", graded_scores[v]
            for table, sets, pv in [("Table 16", ADASCALE_FAR_SETS, ADASCALE_TABLE16_FAR[ds][f"adascale_{v}"]),
                                    ("Table 17", st.groups["near"], ADASCALE_TABLE17_NEAR[ds][f"adascale_{v}"])]:
                for d, (paper_fpr, _) in ((d, x) for d, x in zip(sets, pv, strict=True) if d in st.ood):
                    ours, ours_iv = percent_interval(fpr, rows[ds], rows[d], n_boot=n_boot)
                    card.add(f"{title} FPR@95 on {data.DATASETS[d].title}, {ds} (%)", table, paper_fpr, ours,
                             tolerance=3.0, partial_tolerance=10.0, ours_interval=ours_iv,
                             reason=f"{how}; different DenseNet (OpenOOD DenseNet-101, 3 runs); 300 images"
                             + ("; Textures 10/47 classes" if d == "textures" else ""))
        nv = nval[nval.ID == ds].set_index("n_val")
        gap = sum(abs(nv.loc[10, f"{g} AUROC"] - nv.loc[1000, f"{g} AUROC"]) for g in ("near", "far"))
        card.add(f"10 ID samples suffice for the eCDF (near + far AUROC within 1 pt in total of n_val = 1000), {ds}",
                 "Table 7 (ImageNet in the paper)", None, None, holds=bool(gap <= 1.0),
                 reason=f"AdaSCALE-A {how_a}; total gap {gap:.2f} pts; not reproduced if it exceeds 1 pt")
        abl = ablation_scores(st, det_a)
        card.add_every_directional(f"Q' = lambda Q + C_o beats Q alone and C_o alone, {ds}", "Table 6",
                                   {f"vs {k}": paired_gain(rows_a, sc, ds, st.real, n_boot=n_boot)
                                    for k, sc in abl.items()},
                                   reason=f"AdaSCALE-A {how_a}; AUROC of the near and far sets pooled")
        card.add_directional(f"Q is the more critical part of Q' (Q alone beats C_o alone), {ds}", "Table 6",
                             paired_gain(abl["Q alone"], abl["C_o alone"], ds, st.real, n_boot=n_boot),
                             reason=f"AdaSCALE-A {how_a}; AUROC of the near and far sets pooled")
        others = {t: sc for t, sc in main_scores[ds].items() if not t.startswith("AdaSCALE")}
        card.add_every_directional(
            f"AdaSCALE-A outperforms every other method in near- and far-OOD AUROC, {ds}", "Table 5, Sec. 5.3",
            {f"{g} vs {t}": paired_gain(rows_a, sc, ds, st.groups[g], n_boot=n_boot)
             for t, sc in others.items() for g in ("near", "far")},
            reason=f"AdaSCALE-A {how_a}; the Table 5 baselines we have (OptFS is not implemented), AUROC of each "
                   "group's sets pooled")
        grid = k_grids[ds]
        k1_span = float(np.mean(np.nanmax(grid, 0) - np.nanmin(grid, 0)))
        k2_span = float(np.mean(np.nanmax(grid, 1) - np.nanmin(grid, 1)))
        card.add(f"k1 matters more than k2 (validation AUROC moves more along k1 than along k2), {ds}",
                 "Fig. 6a (ImageNet in the paper)", None, None, holds=k1_span > k2_span,
                 reason=f"AdaSCALE-A {how_a}; mean range over k1 {k1_span:.2f} pts, over k2 {k2_span:.2f} pts "
                        "(validation split); not reproduced if k2's range is the larger")
        lam = lam_table[lam_table.ID == ds]
        lam_gap = max(float(g.set_index("lambda").loc[10, "FPR@95"] - g["FPR@95"].min())
                      for _, g in lam.groupby("group"))
        card.add(f"lambda around 10 works (its mean FPR@95 within 2 pts of the best lambda's, near and far), {ds}",
                 "Fig. 6b (ImageNet in the paper)", None, None, holds=lam_gap <= 2.0,
                 reason=f"largest gap {lam_gap:.2f} pts (test sets, AdaSCALE-A {how_a}); not reproduced above "
                        "2 pts")
        for v in "al":
            g = search[(search.ID == ds) & (search.variant == v)]
            pp = PAPER_SETTINGS[st.context.paper_setting][v] if st.context.paper_setting else None
            at = g[(g.p_min == pp[0]) & (g.p_max == pp[1]) & (g.k2 == pp[2])]["val AUROC"] if pp else pd.Series()
            card.add(f"the paper's AdaSCALE-{v.upper()} setting is near-optimal here (validation AUROC within 1 pt "
                     f"of the search's best), {ds}", "Tables 12-13", None, None,
                     holds=bool(len(at)) and bool(g["val AUROC"].max() - at.iloc[0] <= 1.0),
                     override=None if len(at) else "not testable here",
                     reason=(f"paper setting {pp}: {at.iloc[0]:.2f}, best {g['val AUROC'].max():.2f} (chosen on the "
                             "same split, so the gap is an upper bound); not reproduced above 1 pt") if len(at)
                     else "the paper's setting is not on our grid")
    c10 = studies["cifar10"]
    real = c10.real

    def vs(a, b):  # paired AUROC difference of two perturbation variants, near and far sets pooled
        return paired_gain(pert_scores[a], pert_scores[b], "cifar10", real, n_boot=n_boot)

    card.add_directional("perturbing trivial (small-gradient) elements beats significant ones (CIFAR-10, o = 5%)",
                         "Table 9 (ImageNet in the paper)", vs(("trivial", 5.0, 0.5), ("significant", 5.0, 0.5)),
                         reason="AUROC of the near and far sets pooled, 100 images per set")
    card.add_every_directional("trivial o = 5% beats o = 10%, random 5% and every pixel (CIFAR-10)",
                               "Table 9 (ImageNet in the paper)",
                               {f"vs {r} {o:g}%": vs(("trivial", 5.0, 0.5), (r, o, 0.5))
                                for r, o in [("trivial", 10.0), ("random", 5.0), ("all", 100.0)]},
                               reason="AUROC of the near and far sets pooled, 100 images per set")
    card.add_every_directional("eps = 0.5 beats eps = 0.1 and eps = 1.0 (CIFAR-10, trivial 5%)",
                               "Table 10 (ImageNet in the paper)",
                               {f"vs eps {e}": vs(("trivial", 5.0, 0.5), ("trivial", 5.0, e)) for e in (0.1, 1.0)},
                               reason="AUROC of the near and far sets pooled, 100 images per set")
    card.add("a variable percentile costs more than a fixed one, less so as D grows", "Table 11", None, None,
             reason="not testable with our kernel: it takes a per-row top-k whether the percentile is fixed or per "
                    "sample, so both timed paths run the same code (ratios " + ", ".join(
                        f"{x:.2f}" for x in latency.ratio) + " are timer noise; the paper: 4.66 ... 3.02 on a GPU)")
    card.add_unavailable(["svhn", "places365"], "Table 16 rows on {title}", "Table 16")
    card.add_untestable(UNTESTABLE)
    return card


def _beats_scale(card: Scorecard, ds: str, st: Study, best: Mapping, main_scores: Mapping, *, n_boot: int) -> None:
    """Tables 16-17's "AdaSCALE beats SCALE/LTS": AdaSCALE as searched (listed as not testable where the search chose
    p_min = p_max) and at the paper's setting, each against the baseline at the percentile tuned on the same split and
    at its default p = 85, the setting the paper's tables ran it with."""
    for v, base in [("A", "scale"), ("L", "lts")]:
        c = best[(ds, v.lower())]
        base_title = get_class(base).title
        for which, row in [("", f"AdaSCALE-{v}"), (" at the paper's setting", paper_title(v.lower()))]:
            for baseline, label in [(tuned_title(base, c), f"{base_title} (tuned p = {c['fixed_p']:g})"),
                                    (base_title, f"{base_title} (p = 85, its default)")]:
                for group in ("near", "far"):
                    claim = f"AdaSCALE-{v}{which} beats {label} in {group}-OOD AUROC, {ds}"
                    if not which and is_degenerate(c):
                        card.add(claim, "Tables 16-17", None, None, override="not testable here",
                                 reason=f"the validation search chose p_min = p_max = {c['p_min']:g}, so AdaSCALE-{v} "
                                        f"is {base_title} at that percentile: the claim cannot test adaptivity; see "
                                        "the claim at the paper's setting")
                        continue
                    card.add_directional(claim, "Tables 16-17",
                                         paired_gain(main_scores[ds][row], main_scores[ds][baseline], ds,
                                                     st.groups[group], n_boot=n_boot),
                                         reason=f"AUROC of the {group}-OOD sets pooled, 300 images per set"
                                         + (f"; the paper's setting: Tables 12-13 row {st.context.paper_setting}"
                                            if which else ""))
