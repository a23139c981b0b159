"""Command line: ``python -m ood_nb_utils {data status, data prepare, methods, evaluate}``.

``evaluate --set METHOD.PARAM=VALUE`` overrides a hyperparameter (dotted names reach a nested detector:
``--set nap_r.base.threshold=1.0``); ``--tune METHOD`` searches the method's search space on held-out ID
images vs their corrupted copies (never on test data) and evaluates it at the best setting.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _data_status(args: argparse.Namespace) -> int:
    import pandas as pd

    from .config import data_dir
    from .data import availability

    rows = pd.DataFrame(availability())
    print(f"data directory: {data_dir()}  (set OOD_NB_DATA_DIR to change)")
    print(rows[["key", "dataset", "role", "kind", "status", "n", "file", "note"]].to_string(index=False))
    return 0


def _data_prepare(args: argparse.Namespace) -> int:
    from .prepare import prepare

    prepare(args.only.split(",") if args.only else None)
    return 0


def _methods(args: argparse.Namespace) -> int:
    from .detectors.registry import available, create

    for name in available():
        det = create(name)
        params = {k: v for k, v in det.get_params().items() if not hasattr(v, "get_params")}
        print(f"{name:16s} {det.title:22s} needs: {det.needs.describe():45s} {params}  [{det.reference}]")
    return 0


def _overrides(settings: list[str], methods: list[str]) -> dict[str, dict]:
    from .detectors.registry import parse_setting

    out: dict[str, dict] = {}
    for text in settings:
        method, param, value = parse_setting(text)
        if method not in methods:
            raise KeyError(f"--set {text}: {method!r} is not among --methods ({', '.join(methods)})")
        out.setdefault(method, {})[param] = value
    return out


def _check_data(model: str, ood: list[str] | None) -> None:
    """Fail at once, naming the set, where it was looked for and how to get it, when the model's ID test or train
    file or an explicitly requested OOD set is missing or corrupt (unrequested missing sets are only reported)."""
    from .data import find_file
    from .evaluation import check_sets
    from .models import CHECKPOINTS

    id_dataset = CHECKPOINTS[model].id_dataset
    _, missing = check_sets(id_dataset, ood)  # unknown names fail here
    for key in [id_dataset, f"{id_dataset}_train", *(missing if ood is not None else [])]:
        find_file(key)  # raises DatasetUnavailableError / DatasetCorruptError with the how-to


def _evaluate(args: argparse.Namespace) -> int:
    from .config import PROFILES, current_profile
    from .detectors.heldout import HELDOUT_N
    from .detectors.registry import create
    from .detectors.tuning import tune_on_heldout
    from .evaluation import apply_paper_setting, evaluate
    from .runs.context import RunContext

    start = time.perf_counter()
    profile = PROFILES[args.profile] if args.profile else current_profile()  # the CLI is where the profile is read
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    tuned = [m.strip() for m in (args.tune or "").split(",") if m.strip()]
    for m in tuned:
        if m not in methods:
            methods.append(m)
    overrides = _overrides(args.set or [], methods)
    detectors = {m: create(m, **overrides.get(m, {})) for m in methods}  # every name and value checked first
    ood = [d.strip() for d in args.ood.split(",")] if args.ood else None
    split = args.validation_split
    if split < 0:
        raise ValueError(f"--validation-split must be >= 0, got {split}")
    if args.tune_n is not None and args.tune_n < 2:
        raise ValueError(f"--tune-n must be at least 2 (held-out images, and as many corrupted copies), got "
                         f"{args.tune_n}")
    _check_data(args.model, ood)  # every requested set present and intact, before any work
    context = RunContext.for_model(args.model, profile, progress=not args.json, validation_n=split,
                                   heldout_from="test" if split else "train")
    searches = {}
    for m in tuned:
        det = apply_paper_setting(detectors[m], context.paper_setting)
        result = tune_on_heldout(det, context.held_out(), train=context.train if det.needs.train else None,
                                 n=args.tune_n)
        detectors[m] = result.detector
        searches[m] = {"best": result.best, "value": result.value, "metric": result.metric,
                       "n_heldout": HELDOUT_N if args.tune_n is None else args.tune_n,
                       "trace": [{**s, result.metric: v} for s, v in result.trace]}
    result = evaluate(context, detectors, ood)
    result.timing["total_seconds"] = round(time.perf_counter() - start, 2)
    if args.json:
        out = result.to_json()
        out["tuned"] = searches
        print(json.dumps(out, indent=1, default=str))
        return 0
    print(f"model {result.model} | ID {result.id_dataset} | {result.profile.describe()}")
    print(f"ID images scored: {len(context.id_test)}" + (
        f" (the test set minus a fixed {split}-image validation split that searches use)" if split else
        " (every ID test image; searches hold out train-file images)"))
    print(f"ID accuracy: {100 * result.id_accuracy:.2f}%")
    if result.missing:
        print(f"OOD sets not available (skipped, see `data status`): {', '.join(result.missing)}")
    for m, s in searches.items():
        print(f"tuned {m} on held-out ID vs corrupted copies ({s['metric']}): best {s['best']} "
              f"({s['value']:.4f}) over {len(s['trace'])} settings")
    table = result.table.copy()
    for col in ("auroc", "fpr95_id_positive", "fpr95_ood_positive", "aupr_in", "aupr_out"):
        table[col] = (100 * table[col]).round(2)
    print(table[["method", "ood_name", "n_id", "n_ood", "auroc", "fpr95_id_positive", "fpr95_ood_positive",
                 "aupr_in", "aupr_out"]].to_string(index=False))
    if result.fitted():
        print(f"chosen while fitting: {result.fitted()}")
    print(f"fit sets: {result.fit_sizes()}")
    print(f"timing: {json.dumps(result.timing)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .config import PROFILES
    from .data import ID_VALIDATION_N
    from .detectors.heldout import HELDOUT_N
    from .models import CHECKPOINTS

    parser = argparse.ArgumentParser(prog="python -m ood_nb_utils", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="benchmark sets").add_subparsers(dest="action", required=True)
    data.add_parser("status", help="which sets are present, N each, real or substitute").set_defaults(fn=_data_status)
    prep = data.add_parser("prepare", help="download and convert the official originals (needs internet)")
    prep.add_argument("--only", help="comma-separated set keys (or 'weights'); default: all")
    prep.set_defaults(fn=_data_prepare)
    sub.add_parser("methods", help="list every registered method, what it needs and its defaults").set_defaults(
        fn=_methods)
    ev = sub.add_parser("evaluate", help="score methods on ID vs OOD sets")
    ev.add_argument("--model", required=True, choices=sorted(CHECKPOINTS))
    ev.add_argument("--methods", required=True, help="comma-separated method names (see `methods`)")
    ev.add_argument("--ood", help="comma-separated OOD sets (default: all registered for the ID set)")
    ev.add_argument("--profile", choices=sorted(PROFILES),
                    help="default: OOD_NB_PROFILE, else 'default'; the profile decides every fit set")
    ev.add_argument("--set", action="append", metavar="METHOD.PARAM=VALUE",
                    help="override a hyperparameter (repeatable), e.g. nap_r.base.threshold=1.0")
    ev.add_argument("--tune", metavar="METHOD[,METHOD]",
                    help="search these methods' hyperparameters on held-out ID vs corrupted copies first")
    ev.add_argument("--tune-n", type=int, metavar="N",
                    help=f"held-out ID images (and as many corrupted copies) --tune searches on (default "
                         f"{HELDOUT_N}, NAP App. H)")
    ev.add_argument("--validation-split", type=int, default=ID_VALIDATION_N, metavar="N",
                    help="ID test images set aside for searches and eCDF references and never scored (default "
                         f"{ID_VALIDATION_N}); 0 scores every ID test image (as the papers' tables do) and holds "
                         "searches out of the train file instead, which the DICE checkpoints were trained on")
    ev.add_argument("--json", action="store_true", help="print one JSON object (metrics as fractions)")
    ev.set_defaults(fn=_evaluate)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except (KeyError, FileNotFoundError, ValueError, TypeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
