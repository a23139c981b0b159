"""The book's two editions from one source: the instructor edition (``make book``, solutions executed and
collapsed) and the student edition (``make student``), which holds no solution.

The chapters mark their exercises with cell tags:

- ``exercise``: a cell whose solution lines sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, followed by
  an :func:`ood_nb_utils.lectures.exercises.check` call. The student edition replaces the solution lines by
  ``answer = ...`` (the stub), clears the cell's output and shows its code;
- ``solution``: a cell (code or markdown) that is a solution as a whole; the student edition drops it.

The student edition reuses the instructor build's executed notebooks (``_build/jupyter_execute``): it executes
nothing again. :func:`student_notebook` transforms one notebook; :func:`build` writes every chapter's notebook to
``_build/student/notebooks`` and builds the student site in ``_build/student/html`` (Sphinx with execution off).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "answer = ...  # your answer: replace ... by your computation"
EXERCISE, SOLUTION = "exercise", "solution"
HIDING_TAGS = ("hide-input", "hide-cell", "hide-output", "remove-input", "remove-output")


def tags_of(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def split_solution(source: str) -> tuple[list[str], list[str], list[str]]:
    """An exercise cell's lines before ``### BEGIN SOLUTION``, between the markers, and after ``### END
    SOLUTION``; a cell without exactly one balanced pair of markers is an error that names them."""
    lines = source.splitlines()
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ValueError(f"an exercise cell needs one '{BEGIN}' line followed by one '{END}' line:\n{source}")
    return lines[:begins[0]], lines[begins[0] + 1:ends[0]], lines[ends[0] + 1:]


def stub_source(source: str) -> str:
    """The student's version of an exercise cell: the solution lines replaced by :data:`STUB`."""
    before, solution, after = split_solution(source)
    indent = re.match(r"\s*", solution[0] if solution else "").group(0)
    return "\n".join([*before, indent + STUB, *after])


def solution_lines(nb) -> list[str]:
    """Every solution line of a notebook: inside the markers of ``exercise`` cells, and whole ``solution`` cells."""
    out: list[str] = []
    for cell in nb.cells:
        if EXERCISE in tags_of(cell):
            out += split_solution(cell.source)[1]
        elif SOLUTION in tags_of(cell):
            out += cell.source.splitlines()
    return out


def student_notebook(nb):
    """A copy of ``nb`` without solutions: ``solution`` cells dropped, ``exercise`` cells reduced to their stub,
    shown (hiding tags removed) and without output; other cells and their outputs unchanged."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = tags_of(cell)
        if SOLUTION in tags:
            continue
        if EXERCISE in tags:
            cell.source = stub_source(cell.source)
            cell.metadata["tags"] = [t for t in tags if t not in HIDING_TAGS]
            cell.metadata.pop("execution", None)
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    return nb


def executed_pages(root: Path) -> dict[str, Path]:
    """Every page of the table of contents that the instructor build executed: page -> executed notebook."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    executed = root / "_build" / "jupyter_execute"
    return {p: executed / f"{p}.ipynb" for p in pages if (root / f"{p}.py").exists()}


def executed_notebooks(root: Path):
    """``(page, notebook)`` for every executed page, as the instructor build left it; fails, naming the file, when
    that build has not executed the page yet."""
    for page, executed in executed_pages(root).items():
        if not executed.exists():
            raise FileNotFoundError(f"{executed} is missing: run `make book` (the instructor edition) first")
        yield page, nbformat.read(executed, as_version=4)


def write_notebooks(root: Path, out: Path) -> list[Path]:
    """The student notebook of every executed page, under ``out`` (same relative paths), written atomically."""
    written = []
    for page, nb in executed_notebooks(root):
        target = out / f"{page}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_suffix(".part")
        nbformat.write(student_notebook(nb), part)
        part.replace(target)
        written.append(target)
    return written


def student_config(config: dict) -> dict:
    """The book's ``_config.yml`` for the student site: nothing executed, titled as the student edition, and no
    launch or repository button (they would open the instructor's sources)."""
    config = copy.deepcopy(config)
    config["title"] = f"{config['title']} (student edition)"
    config["execute"] = {**config.get("execute", {}), "execute_notebooks": "off"}
    config.pop("launch_buttons", None)
    config.setdefault("html", {})["use_repository_button"] = False
    return config


def build(root: Path) -> Path:
    """``make student``: student notebooks in ``_build/student/notebooks`` (and ``.../book``) and the student site
    in ``_build/student/html``, built by Jupyter Book with execution off from a temporary source tree of those
    notebooks and the book's pages. Returns ``_build/student``."""
    student = root / "_build" / "student"
    source = student / "source"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for notebook in write_notebooks(root, source):
        target = student / notebook.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, target)
    shutil.copyfile(root / "_toc.yml", source / "_toc.yml")
    config = student_config(yaml.safe_load((root / "_config.yml").read_text()))
    (source / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (source / "book").mkdir(exist_ok=True)
    for path in (root / "book").iterdir():  # the markdown pages, the bibliography and the glossary
        if path.suffix in (".md", ".bib", ".rst"):
            shutil.copyfile(path, source / "book" / path.name)
    vendor = root / "_build" / "vendor"
    if vendor.exists():  # the site's own MathJax (ood_nb_utils.lectures.sphinx.mathjax)
        (source / "_build").mkdir(exist_ok=True)
        (source / "_build" / "vendor").symlink_to(vendor.resolve(), target_is_directory=True)
    shutil.rmtree(student / "html", ignore_errors=True)
    subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(source), "--path-output",
                    str(student / "site"), "--quiet"], check=True)
    shutil.move(student / "site" / "_build" / "html", student / "html")
    for scratch in (student / "site", source):  # Sphinx's state and the source tree it read
        shutil.rmtree(scratch)
    return student


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    out = build(root)
    print(f"student edition: notebooks in {out}/notebooks, site in {out}/html")
