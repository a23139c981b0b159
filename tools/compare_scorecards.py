"""Compare two folders of scorecards claim by claim: what a refactor must leave unchanged.

    python tools/compare_scorecards.py BEFORE_DIR AFTER_DIR

Each folder holds the ``<chapter>.json`` files a book build writes (``_build/scorecards``). Claims are matched by
chapter and claim text (in order, for repeated texts); for each, the verdict, the paper's value, ours, the interval
and the reason must be equal (numbers to ``--tolerance``, default 0: bit for bit as JSON stores them). Prints every
difference and a per-chapter count; exits 1 if anything differs, was added or went missing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

FIELDS = ("verdict", "paper", "ours", "interval", "reason")


def load(folder: Path) -> dict[str, dict[tuple[str, int], dict]]:
    """chapter -> (claim text, occurrence) -> claim."""
    out = {}
    for path in sorted(folder.glob("*.json")):
        card = json.loads(path.read_text())
        seen: dict[str, int] = defaultdict(int)
        claims = {}
        for claim in card["claims"]:
            claims[(claim["claim"], seen[claim["claim"]])] = claim
            seen[claim["claim"]] += 1
        out[card["chapter"]] = claims
    return out


def same(a, b, tolerance: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (math.isfinite(a) and math.isfinite(b) and abs(a - b) <= tolerance)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, tolerance) for x, y in zip(a, b, strict=True))
    return a == b


def compare(before: dict, after: dict, tolerance: float = 0.0) -> list[str]:
    problems = []
    for chapter in sorted(set(before) | set(after)):
        a, b = before.get(chapter, {}), after.get(chapter, {})
        for key in sorted(set(a) | set(b)):
            if key not in b:
                problems.append(f"{chapter}: missing after: {key[0]!r}")
            elif key not in a:
                problems.append(f"{chapter}: new after: {key[0]!r}")
            else:
                for field in FIELDS:
                    if not same(a[key].get(field), b[key].get(field), tolerance):
                        problems.append(f"{chapter}: {key[0]!r}: {field} {a[key].get(field)!r} -> "
                                        f"{b[key].get(field)!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.0, help="largest difference between two numbers")
    args = parser.parse_args(argv)
    before, after = load(args.before), load(args.after)
    problems = compare(before, after, args.tolerance)
    for chapter in sorted(set(before) | set(after)):
        n = len(after.get(chapter, {}))
        bad = sum(p.startswith(f"{chapter}:") for p in problems)
        print(f"{chapter}: {n} claims, {bad} differences")
    for p in problems:
        print("  " + p)
    print("identical" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
