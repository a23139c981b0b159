"""Command line: ``python -m ood_nb_utils {data status, data prepare, methods, evaluate}``.

``evaluate --model`` takes a registered checkpoint, or ``package.module:factory`` where ``factory()`` returns a
:class:`~ood_nb_utils.models.ModelAdapter` of your own network; with the latter, the data are image folders
(``--id-folder``, ``--train-folder``, ``--ood-folder NAME=DIR``), read with ``Resize(--resize)`` +
``CenterCrop(--crop)``, and ``--device`` picks where the network runs.

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


def _in_percent(table, columns):
    """A copy of ``table`` with ``columns`` (fractions) in % to two decimals, for printing."""
    return table.assign(**{c: (100 * table[c]).round(2) for c in columns})


def _load_factory(spec: str):
    """``package.module:factory`` -> the ModelAdapter that ``factory()`` returns."""
    import importlib

    from .models import ModelAdapter

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"--model {spec!r}: write package.module:factory, where factory() returns a ModelAdapter")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"--model {spec!r}: cannot load {attr} from {module_name} ({err}); is the module on "
                         "PYTHONPATH?") from err
    adapter = factory()
    if not isinstance(adapter, ModelAdapter):
        raise TypeError(f"--model {spec!r}: {attr}() returned a {type(adapter).__name__}, not a ModelAdapter "
                        "(build one with ModelAdapter.from_module)")
    return adapter


def _folder_sets(args: argparse.Namespace) -> dict:
    from .data import ImageFolderSet

    def folder(path: str, name: str | None = None) -> ImageFolderSet:
        return ImageFolderSet(path, resize=args.resize or None, crop=args.crop or None, name=name)

    missing = [flag for flag, value in [("--id-folder", args.id_folder), ("--train-folder", args.train_folder),
                                        ("--ood-folder", args.ood_folder)] if not value]
    if missing:
        raise ValueError(f"--model package.module:factory needs {', '.join(missing)} (image folders "
                         "root/<class>/<image>)")
    ood = {}
    for text in args.ood_folder:
        name, sep, path = text.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--ood-folder {text!r}: write NAME=DIR")
        ood[name] = folder(path, name)
    return {"id": folder(args.id_folder, "id"), "train": folder(args.train_folder, "train"), "ood": ood,
            "heldout": folder(args.heldout_folder, "heldout") if args.heldout_folder else None}


def _evaluate_user_model(args: argparse.Namespace) -> int:
    """``evaluate`` of a user's network (``--model package.module:factory``) on image folders."""
    from .evaluation import evaluate_model

    start = time.perf_counter()
    if args.profile or args.tune or args.ood:
        raise ValueError("--profile, --tune and --ood apply to the registered checkpoints; with your own network "
                         "give the data as --id-folder, --train-folder and --ood-folder NAME=DIR")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    overrides = _overrides(args.set or [], methods)
    sets = _folder_sets(args)  # every folder opened and verified before the network is built
    adapter = _load_factory(args.model).to(args.device)
    table = evaluate_model(adapter, methods=methods, params=overrides, progress=not args.json, **sets)
    seconds = round(time.perf_counter() - start, 2)
    if args.json:
        summary = {k: v for k, v in table.attrs.items() if k != "scores"}
        print(json.dumps({"model": adapter.name, "device": str(adapter.device), **summary,
                          "results": table.to_dict(orient="records"), "total_seconds": seconds}, indent=1,
                         default=str))
        return 0
    print(f"model {adapter.name} on {adapter.device} | ID accuracy {100 * table.attrs['id_accuracy']:.2f}% | "
          f"fitted on {table.attrs['n_train']} train images")
    shown = _in_percent(table, ("auroc", "auroc_low", "auroc_high", "fpr95_id_positive", "fpr95_ood_positive"))
    print(shown[["method", "ood", "n_id", "n_ood", "auroc", "auroc_low", "auroc_high", "fpr95_id_positive",
                 "fpr95_ood_positive"]].to_string(index=False))
    if table.attrs["fitted"]:
        print(f"chosen while fitting: {table.attrs['fitted']}")
    print(f"total {seconds} s")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .config import PROFILES, current_profile
    from .models import CHECKPOINTS

    if ":" in args.model:
        return _evaluate_user_model(args)
    if args.model not in CHECKPOINTS:
        raise ValueError(f"--model {args.model!r} is neither a registered checkpoint ({', '.join(CHECKPOINTS)}) nor "
                         "package.module:factory")
    if args.id_folder or args.train_folder or args.ood_folder or args.heldout_folder:
        raise ValueError("--id-folder, --train-folder, --ood-folder and --heldout-folder go with "
                         "--model package.module:factory; a registered checkpoint reads its registered sets")
    from .detectors.heldout import HELDOUT_N
    from .detectors.registry import create
    from .detectors.tuning import tune_on_heldout
    from .evaluation import apply_network_defaults, evaluate
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
        det = apply_network_defaults(detectors[m], context)
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
    table = _in_percent(result.table, ("auroc", "fpr95_id_positive", "fpr95_ood_positive", "aupr_in", "aupr_out"))
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
    ev.add_argument("--model", required=True, metavar="NAME|package.module:factory",
                    help=f"a registered checkpoint ({', '.join(sorted(CHECKPOINTS))}) or your own network: "
                         "package.module:factory, where factory() returns a ModelAdapter")
    ev.add_argument("--id-folder", metavar="DIR", help="with your own network: ID test images (root/<class>/<image>)")
    ev.add_argument("--train-folder", metavar="DIR", help="with your own network: ID images the methods fit on")
    ev.add_argument("--ood-folder", action="append", default=[], metavar="NAME=DIR",
                    help="with your own network: an OOD image folder (repeatable)")
    ev.add_argument("--heldout-folder", metavar="DIR",
                    help="with your own network: ID images searches use (never fitted on or scored)")
    ev.add_argument("--resize", type=int, default=256, help="short side before the centre crop (0: none)")
    ev.add_argument("--crop", type=int, default=224, help="centre crop size (0: none)")
    ev.add_argument("--device", help="where your network runs: cpu, cuda, cuda:N (default: CUDA when available)")
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
