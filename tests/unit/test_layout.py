"""The package's layout holds: subpackages by concern, imports only downward, no import cycle.

The import graph is built from the source (``ast``), so the test sees every import a module can run, including
the ones inside functions; imports under ``if TYPE_CHECKING:`` are left out (they never run). An edge goes to the
module an import names: ``from .data import load`` to ``ood_nb_utils.data``, ``from . import cache`` to
``ood_nb_utils.cache``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import ood_nb_utils

PACKAGE = Path(ood_nb_utils.__file__).resolve().parent
NAME = "ood_nb_utils"
# Each concern may import from its own layer and the layers before it, never from a later one.
LAYERS: list[tuple[str, ...]] = [
    ("config",),
    ("cache", "metrics"),
    ("data",),
    ("models",),
    ("prepare", "scorers"),
    ("extraction",),
    ("detectors",),
    ("runs",),
    ("evaluation",),
    ("lectures",),
    ("__main__", ""),  # "" is the package's own __init__, the public API
]
MAX_TOP_LEVEL_FILES = 10


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([NAME, *parts])


def is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(path: Path) -> set[str]:
    """The package modules that ``path`` imports (at run time)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == NAME}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != NAME:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if is_module(sub) else target)
    out.discard(me)
    return out


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules, first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def layer_of(module: str) -> int:
    concern = module.split(".")[1] if "." in module else ""
    for i, members in enumerate(LAYERS):
        if concern in members:
            return i
    raise AssertionError(f"{module} belongs to no layer of tests/unit/test_layout.py: add its concern to LAYERS")


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 40 and any(graph.values()), "the import graph came out empty"
    unknown = {t for targets in graph.values() for t in targets if not is_module(t)}
    assert not unknown, f"imports of modules that do not exist: {sorted(unknown)}"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_only_go_down_the_layers():
    upward = [f"{m} ({LAYERS[layer_of(m)]}) imports {t} ({LAYERS[layer_of(t)]})"
              for m, targets in import_graph().items() for t in sorted(targets) if layer_of(t) > layer_of(m)]
    assert not upward, "\n".join(upward)


def test_detectors_need_nothing_of_the_book():
    book = ("runs", "evaluation", "lectures", "__main__")
    bad = [f"{m} imports {t}" for m, targets in import_graph().items() if m.startswith(f"{NAME}.detectors")
           for t in targets if t.split(".")[1:2] and t.split(".")[1] in book]
    assert not bad, bad


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_the_graph_resolves_relative_and_lazy_imports(tmp_path, monkeypatch):
    package = tmp_path / NAME
    (package / "sub").mkdir(parents=True)
    for f in ["__init__.py", "base.py", "sub/__init__.py", "sub/leaf.py"]:
        (package / f).write_text("")
    (package / "sub" / "leaf.py").write_text(
        "from typing import TYPE_CHECKING\nfrom .. import base\nfrom ..sub import leaf\n"
        "if TYPE_CHECKING:\n    from ood_nb_utils import sub\n"
        "def f():\n    from ood_nb_utils.base import x\n    import ood_nb_utils.sub\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    assert imports_of(package / "sub" / "leaf.py") == {f"{NAME}.base", f"{NAME}.sub"}


def test_the_top_level_is_small_and_the_subpackages_are_there():
    files = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(files) <= MAX_TOP_LEVEL_FILES, files
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert {"data", "models", "extraction", "scorers", "detectors", "runs", "lectures"} <= subpackages


def test_detectors_is_one_real_subpackage():
    from ood_nb_utils import detectors
    from ood_nb_utils.detectors import KNN, AdaScaleA, NapX, available, create

    assert detectors.__name__ == "ood_nb_utils.detectors" and detectors.__file__.endswith("detectors/__init__.py")
    assert isinstance(create("knn"), KNN) and {"adascale_a", "nap_e"} <= set(available())
    assert NapX.__module__ == "ood_nb_utils.detectors.nap" and AdaScaleA.__module__ == "ood_nb_utils.detectors.adascale"
    with pytest.raises(ModuleNotFoundError):
        __import__("ood_nb_utils.methods")


# an issue number, a development session, a speed ratio ("1.4x"), a timing ("~4 s", "about 15 s"), a core count
HISTORY_OR_TIMING = (r"[Ii]ssue [0-9#]|\bsession\b|\d(\.\d+)?x\b|~ ?\d[\d.]* ?(s|ms)\b"
                     r"|about [\d.\-]+ ?(s|ms|min|minutes|seconds)\b|\d+ (CPU )?cores")


def test_no_issue_numbers_or_machine_timings_in_the_package_comments():
    """Comments and docstrings say what a thing is and why; history and measured speeds go elsewhere."""
    import re

    bad = []
    for path in PACKAGE.rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(HISTORY_OR_TIMING, line):
                bad.append(f"{path.relative_to(PACKAGE)}:{i}: {line.strip()}")
    assert not bad, "\n".join(bad)
