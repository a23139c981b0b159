"""``make slides``: a reveal.js deck per chapter from its executed notebook, working offline.

A chapter chooses its slides with cell tags: ``slide`` starts a new slide with the cell, ``slide-more`` adds the
cell to the slide before it; every other cell is left out. A deck shows the claim with its equation, the mechanism
(the kernel's source and figure), the main table and "what we saw": outputs only, never the code that made them.

nbconvert's slides exporter writes the decks with the template ``templates/offline_reveal``, which loads reveal.js
and MathJax from beside the deck (``slides/reveal.js``, ``slides/mathjax``; both installed from the npm registry by
``make mathjax``), never from a CDN. The decks go to ``_build/html/slides/<chapter>.slides.html``, so the built site
serves them (the course plan links to them).
"""

from __future__ import annotations

import copy
import re
import shutil
import sys
from pathlib import Path

import nbformat

from .editions import executed_notebooks, student_notebook, tags_of

TEMPLATES = Path(__file__).with_name("templates")
SLIDE, MORE = "slide", "slide-more"
REVEAL_PARTS = ("dist", "plugin/notes")  # what a deck loads from the reveal.js package

_DIRECTIVE = re.compile(r"^```\{[^}]+\}.*?^```[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
_REMOTE = re.compile(r"""<(?:script|img|iframe|source)[^>]*\ssrc=["'](?:https?:)?//[^"']*|"""
                     r"""<link[^>]*\shref=["'](?:https?:)?//[^"']*""")
_TARGET = re.compile(r"^\([\w-]+\)=\s*$\n?", re.MULTILINE)


def plain_markdown(text: str) -> str:
    """MyST markdown as plain markdown for a deck: directive blocks (admonitions, dropdowns) dropped, roles
    reduced to their text (``{term}`AUROC <Area>``` -> ``AUROC``, ``{cite}`nap2024``` -> ``[nap2024]``,
    ``{py:func}`x.y``` -> ```x.y```), label lines dropped."""
    def role(match: re.Match) -> str:
        name, content = match.groups()
        text = re.sub(r"\s*<[^>]*>$", "", content).strip()
        if name.startswith("cite"):
            return f"[{text}]"
        if name.startswith("py:") or name in ("func", "class", "mod", "meth"):
            return f"`{text.lstrip('~')}`"
        return text

    return _ROLE.sub(role, _TARGET.sub("", _DIRECTIVE.sub("", text))).strip()


def slide_type(cell) -> str:
    """reveal's slide type of a cell from its tags: ``"slide"``, ``"-"`` (the same slide) or ``"skip"``."""
    tags = tags_of(cell)
    return "slide" if SLIDE in tags else "-" if MORE in tags else "skip"


def deck_notebook(nb):
    """The cells of a chapter's deck, with reveal's slide types set from the tags (a student notebook: no
    solution reaches a slide) and MyST markup reduced to plain markdown. A code cell that starts a slide gets the
    heading of its section as the slide's title."""
    nb = student_notebook(copy.deepcopy(nb))
    cells, heading = [], None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = re.findall(r"^#{1,3} +(.+)$", cell.source, flags=re.MULTILINE)
            heading = found[-1] if found else heading
        kind = slide_type(cell)
        if kind == "skip":
            continue
        if cell.cell_type == "code" and kind == "slide" and heading:
            cells.append(nbformat.v4.new_markdown_cell(f"## {heading}", metadata={"tags": [SLIDE]}))
            cell.metadata["tags"] = [t for t in tags_of(cell) if t != SLIDE] + [MORE]
        cells.append(cell)
    if not cells or slide_type(cells[0]) != "slide":
        raise ValueError("a deck must start with a cell tagged 'slide'")
    for cell in cells:
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
        if cell.cell_type == "markdown":
            cell.source = plain_markdown(cell.source)
    nb.cells = cells
    return nb


def slide_count(nb) -> int:
    """How many slides the deck of ``nb`` has (cells tagged ``slide``)."""
    return sum(slide_type(c) == "slide" for c in nb.cells)


def write_deck(nb, target: Path, *, reveal: str = "reveal.js", mathjax: str = "mathjax/tex-mml-chtml.js") -> Path:
    """Write the deck of an executed chapter notebook to ``target`` (HTML, atomically); ``reveal`` and ``mathjax``
    are the URLs of the local copies, relative to the deck."""
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(template_name="offline_reveal", extra_template_basedirs=[str(TEMPLATES)],
                              reveal_url_prefix=reveal, mathjax_url=mathjax, exclude_input=True,
                              exclude_input_prompt=True, exclude_output_prompt=True, reveal_theme="white")
    body, _ = exporter.from_notebook_node(deck_notebook(nb))
    remote = _REMOTE.search(body)
    if remote:
        raise ValueError(f"the deck {target.name} would load a remote file: {remote.group(0)}")
    part = target.with_suffix(".part")
    part.write_text(body, encoding="utf-8")
    part.replace(target)
    return target


def vendor(out: Path, root: Path) -> None:
    """Copy reveal.js (from ``tools/js/node_modules``) and MathJax (``_build/vendor/mathjax``) beside the decks."""
    reveal, mathjax = root / "tools" / "js" / "node_modules" / "reveal.js", root / "_build" / "vendor" / "mathjax"
    for source in (reveal, mathjax):
        if not source.exists():
            raise FileNotFoundError(f"{source} is missing: run `make mathjax` (npm ci in tools/js)")
    shutil.rmtree(out / "reveal.js", ignore_errors=True)
    for part in REVEAL_PARTS:
        shutil.copytree(reveal / part, out / "reveal.js" / part)
    shutil.rmtree(out / "mathjax", ignore_errors=True)
    shutil.copytree(mathjax, out / "mathjax")


def build(root: Path) -> list[Path]:
    """Every chapter's deck in ``_build/html/slides`` (chapters without slide tags have none)."""
    out = root / "_build" / "html" / "slides"
    out.mkdir(parents=True, exist_ok=True)
    vendor(out, root)
    decks = []
    for page, nb in executed_notebooks(root):
        if slide_count(nb):
            decks.append(write_deck(nb, out / f"{Path(page).name}.slides.html"))
    return decks


if __name__ == "__main__":
    for deck in build(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()):
        print(f"deck: {deck}")
