"""Command line: ``python -m ood_nb_utils {data status, data prepare, evaluate, methods}``."""

from __future__ import annotations

import argparse
import json
import sys
import time

import pandas as pd


def _data_status(args: argparse.Namespace) -> int:
    from .config import data_dir
    from .data import availability

    rows = pd.DataFrame(availability())
    print(f"data directory: {data_dir()}  (set OOD_NB_DATA_DIR to change)")
    print(rows[["key", "dataset", "role", "kind", "available", "n", "file", "note"]].to_string(index=False))
    return 0


def _data_prepare(args: argparse.Namespace) -> int:
    from .prepare import prepare

    prepare(args.only.split(",") if args.only else None)
    return 0


def _methods(args: argparse.Namespace) -> int:
    from .registry import METHODS

    for m in METHODS.values():
        print(f"{m.name:14s} {m.title:14s} {m.defaults}  [{m.reference}]")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .config import PROFILES
    from .evaluation import evaluate

    start = time.perf_counter()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    ood = [d.strip() for d in args.ood.split(",")] if args.ood else None
    result = evaluate(args.model, methods, ood, profile=PROFILES[args.profile], progress=not args.json)
    result.timing["total_seconds"] = round(time.perf_counter() - start, 2)
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
        return 0
    print(f"model {result.model} | ID {result.id_dataset} | {result.profile.describe()}")
    print(f"ID accuracy: {100 * result.id_accuracy:.2f}%")
    if result.missing:
        print(f"OOD sets not available (skipped, see `data status`): {', '.join(result.missing)}")
    table = result.table.copy()
    for col in ("auroc", "fpr95_id_positive", "fpr95_ood_positive", "aupr_in", "aupr_out"):
        table[col] = (100 * table[col]).round(2)
    print(table[["method", "ood_name", "n_id", "n_ood", "auroc", "fpr95_id_positive", "fpr95_ood_positive",
                 "aupr_in", "aupr_out"]].to_string(index=False))
    if result.fitted_w():
        print(f"NAP weights w used: {result.fitted_w()}")
    print(f"timing: {json.dumps(result.timing)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .config import PROFILES
    from .models import CHECKPOINTS

    parser = argparse.ArgumentParser(prog="python -m ood_nb_utils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="benchmark sets").add_subparsers(dest="action", required=True)
    data.add_parser("status", help="which sets are present, N each, real or substitute").set_defaults(fn=_data_status)
    prep = data.add_parser("prepare", help="download and convert the official originals (needs internet)")
    prep.add_argument("--only", help="comma-separated set keys (or 'weights'); default: all")
    prep.set_defaults(fn=_data_prepare)
    sub.add_parser("methods", help="list every registered method and its defaults").set_defaults(fn=_methods)
    ev = sub.add_parser("evaluate", help="score methods on ID vs OOD sets")
    ev.add_argument("--model", required=True, choices=sorted(CHECKPOINTS))
    ev.add_argument("--methods", required=True, help="comma-separated method names (see `methods`)")
    ev.add_argument("--ood", help="comma-separated OOD sets (default: all registered for the ID set)")
    ev.add_argument("--profile", default="default", choices=sorted(PROFILES))
    ev.add_argument("--json", action="store_true", help="print one JSON object (metrics as fractions)")
    ev.set_defaults(fn=_evaluate)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except (KeyError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
