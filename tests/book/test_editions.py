"""The two editions from one source (ood_nb_utils.lectures.editions).

The chapters' exercise cells are checked on their sources (in ``make test``): well formed, one check per exercise,
at least two per paper chapter, and each stub runs up to its check and stops only with "not yet answered". After
``make book``, ``make student`` builds the student edition and runs the tests marked ``student``: no solution line
in its notebooks, pages, downloadable sources or search index; its outputs are the instructor build's, not
re-executed; every exercise has an executed, passing solution in the instructor edition.
"""

from __future__ import annotations

import ast
import builtins
import functools
import html
import json
import re
import time
from pathlib import Path
from unittest import mock

import jupytext
import nbformat
import pytest

from ood_nb_utils.lectures import editions, exercises
from ood_nb_utils.lectures.editions import EXERCISE, SOLUTION, STUB

from ..conftest import SCREENSHOTS, serve_folder

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"
STUDENT = BUILD / "student"
PAGES = editions.executed_pages(ROOT)
PAPER_CHAPTERS = ("01_nap", "02_adascale", "03_himplos", "04_prototype_fusion")
CHECK = re.compile(r"""exercises\.check\(\s*["']([\w-]+)["']""")


@functools.cache
def source_notebook(page: str):
    return jupytext.read(ROOT / f"{page}.py")


def cells_tagged(nb, tag: str) -> list:
    return [c for c in nb.cells if tag in editions.tags_of(c)]


def run_stub(source: str) -> None:
    """Execute an exercise cell's stub with every name it reads from the chapter replaced by a stand-in (the
    package's ``exercises`` stays real), so that it runs up to its check."""
    tree = ast.parse(source)
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    namespace = {name: mock.MagicMock(name=name) for name in read - assigned - set(dir(builtins))}
    namespace["exercises"] = exercises
    exec(compile(tree, "<stub>", "exec"), namespace)


def synthetic_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="kept\n")]),
        nbformat.v4.new_code_cell(f"y = x\n    {editions.BEGIN}\n    answer = secret_step(y)\n    {editions.END}\n"
                                  'exercises.check("nap-1", answer)', metadata={"tags": [EXERCISE, "hide-input"]},
                                  outputs=[nbformat.v4.new_output("stream", text="✓ right\n")]),
        nbformat.v4.new_code_cell("print(other_secret)", metadata={"tags": [SOLUTION, "hide-cell"]}),
        nbformat.v4.new_markdown_cell("The solution is 42.", metadata={"tags": [SOLUTION]}),
    ]
    return nb


def test_the_student_notebook_drops_solutions_and_keeps_everything_else():
    nb = synthetic_notebook()
    student = editions.student_notebook(nb)
    text = json.dumps([{k: v for k, v in c.items() if k != "id"} for c in student.cells])  # ids are random hex
    assert "secret_step" not in text and "other_secret" not in text and "42" not in text and "✓ right" not in text
    assert [c.source for c in student.cells[:2]] == ["# Title", "x = 1"]
    assert student.cells[1].outputs == nb.cells[1].outputs  # outputs of other cells are the instructor's
    stub = student.cells[2]
    assert stub.source == f'y = x\n    {STUB}\nexercises.check("nap-1", answer)'
    assert stub.outputs == [] and editions.tags_of(stub) == [EXERCISE]  # shown, no output
    assert len(student.cells) == 3
    assert "secret_step" in json.dumps(nb)  # the instructor notebook is left as it was


@pytest.mark.parametrize("source", ["answer = 1", f"{editions.END}\n{editions.BEGIN}\nanswer = 1",
                                    f"{editions.BEGIN}\nanswer = 1\n{editions.BEGIN}\n{editions.END}"])
def test_an_exercise_cell_without_one_balanced_pair_of_markers_is_an_error(source):
    with pytest.raises(ValueError, match="BEGIN SOLUTION"):
        editions.stub_source(source)


def test_every_exercise_cell_is_well_formed_and_every_exercise_is_used_once():
    used = []
    for page in PAGES:
        nb = source_notebook(page)
        for cell in cells_tagged(nb, EXERCISE):
            before, solution, after = editions.split_solution(cell.source)
            assert solution, f"{page}: an exercise cell with an empty solution"
            keys = CHECK.findall("\n".join(after))
            assert len(keys) == 1, f"{page}: an exercise cell must end with one exercises.check call:\n{cell.source}"
            assert exercises.EXERCISES[keys[0]].chapter == Path(page).name, f"{keys[0]} checked in {page}"
            assert "hide-input" in editions.tags_of(cell), f"{page}: {keys[0]}'s solution is not collapsed"
            used += keys
        for cell in cells_tagged(nb, SOLUTION):
            assert cell.cell_type == "markdown" or "hide-cell" in editions.tags_of(cell), f"{page}: open solution"
    assert sorted(used) == sorted(exercises.EXERCISES), "each exercise is checked once, in its own chapter"
    for chapter in PAPER_CHAPTERS:
        assert len(exercises.chapter_exercises(chapter)) >= 2, f"{chapter} has fewer than two checkable exercises"


@pytest.mark.parametrize("page", list(PAGES))
def test_each_stub_runs_up_to_its_check_and_fails_only_as_not_yet_answered(page):
    for cell in cells_tagged(source_notebook(page), EXERCISE):
        with pytest.raises(exercises.NotAnswered, match="not yet answered"):
            run_stub(editions.stub_source(cell.source))


# --- after `make book` and `make student` ------------------------------------------------------------------------


@functools.cache
def open_text() -> str:
    """What the student edition may show: the chapters without their solutions, the book's other pages and the
    package's source (the API page and its source links)."""
    parts = [json.dumps(editions.student_notebook(source_notebook(page)).cells) for page in PAGES]
    parts += [p.read_text(encoding="utf-8") for p in (ROOT / "book").iterdir() if p.suffix in (".md", ".rst")]
    parts += [p.read_text(encoding="utf-8") for p in (ROOT / "ood_nb_utils").rglob("*.py")]
    return "\n".join(parts)


@functools.cache
def solution_texts() -> tuple[str, ...]:
    """Every solution line of the book's sources that says something (12 characters or more) and that nothing the
    student edition may show contains (a generic line such as ``for ds in MODELS:`` is no leak)."""
    lines = {line.strip() for page in PAGES for line in editions.solution_lines(source_notebook(page))}
    shown = open_text()
    return tuple(sorted(line for line in lines if len(line) >= 12 and line not in shown))


def notebook_text(nb) -> str:
    """Every cell's source and every output's text (streams, plain text, HTML, markdown), whitespace collapsed."""
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") if isinstance(out.get("text", ""), str) else "".join(out["text"]))
            for mime in ("text/plain", "text/html", "text/markdown"):
                value = out.get("data", {}).get(mime, "")
                parts.append(value if isinstance(value, str) else "".join(value))
    return re.sub(r"\s+", " ", "\n".join(parts))


def visible_text(path: Path) -> str:
    """A built file's text as a reader or a search engine sees it: tags removed, entities decoded."""
    if path.suffix == ".ipynb":
        return notebook_text(nbformat.read(path, as_version=4))
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\s+", " ", html.unescape(text))


@pytest.fixture(scope="module")
def student_built():
    if not (STUDENT / "html" / "index.html").exists():
        pytest.fail(f"no student edition in {STUDENT}: run `make book` then `make student`")
    return STUDENT


@pytest.mark.student
def test_student_notebooks_hold_no_solution(student_built):
    texts = solution_texts()
    assert len(texts) > 20, "the sources hold almost no solution: is the marking broken?"
    for page in PAGES:
        nb = nbformat.read(student_built / f"{page}.ipynb", as_version=4)
        dumped = notebook_text(nb)
        assert not cells_tagged(nb, SOLUTION), f"{page}: a solution cell in the student notebook"
        for line in texts:
            assert re.sub(r"\s+", " ", line) not in dumped, f"{page}: solution line in the student notebook: {line}"
        for cell in cells_tagged(nb, EXERCISE):
            assert STUB in cell.source and not cell.outputs, f"{page}: exercise cell not reduced to its stub"
            with pytest.raises(exercises.NotAnswered):
                run_stub(cell.source)


@pytest.mark.student
def test_student_site_pages_and_downloads_hold_no_solution(student_built):
    texts = [re.sub(r"\s+", " ", t) for t in solution_texts()]
    files = [p for p in (student_built / "html").rglob("*") if p.suffix in (".html", ".ipynb", ".txt", ".js", ".py")
             and "_static" not in p.parts and "mathjax" not in p.parts and "reveal.js" not in p.parts]
    assert any(p.name == "searchindex.js" for p in files) and any(p.suffix == ".ipynb" for p in files)
    for path in files:
        text = visible_text(path)
        for line in texts:
            assert line not in text, f"{path.relative_to(student_built)} holds a solution line: {line}"


def index_terms(site: Path) -> set[str]:
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1:text.rindex(")")])
    return set(index["terms"]) | set(index["titleterms"])


@pytest.mark.student
def test_the_search_index_holds_no_word_that_only_a_solution_uses(student_built):
    """Words (as Sphinx's English search stems them) that appear in solutions and nowhere in the student
    edition's notebooks or pages: the instructor search index has many of them, the student index none."""
    from sphinx.search.en import SearchEnglish

    lang = SearchEnglish(options={})
    stems = lambda text: {lang.stem(w).lower() for w in lang.split(text) if lang.word_filter(w)}
    solution_words = stems(" ".join(solution_texts()))
    elsewhere = stems(open_text()) | set().union(*(stems(visible_text(student_built / f"{page}.ipynb"))
                                                   for page in PAGES))
    only_in_solutions = solution_words - elsewhere
    in_instructor = only_in_solutions & index_terms(BUILD / "html")
    assert len(in_instructor) >= 5, f"too few solution-only words to test with: {sorted(only_in_solutions)}"
    leaked = only_in_solutions & index_terms(student_built / "html")
    assert not leaked, f"the student search index holds words only solutions use: {sorted(leaked)}"


@pytest.mark.student
def test_the_student_edition_reuses_the_instructor_outputs(student_built):
    for page, executed in PAGES.items():
        instructor = nbformat.read(executed, as_version=4)
        student = nbformat.read(student_built / f"{page}.ipynb", as_version=4)
        kept = [c for c in instructor.cells if not {EXERCISE, SOLUTION} & set(editions.tags_of(c))]
        others = [c for c in student.cells if EXERCISE not in editions.tags_of(c)]
        assert [c.get("outputs") for c in others] == [c.get("outputs") for c in kept], f"{page}: outputs differ"
    assert (student_built / "html" / "notebooks" / "01_nap.html").exists()
    assert not list((student_built / "html").rglob("*.err.log")), "the student build executed something"


@pytest.mark.student
def test_every_exercise_has_an_executed_passing_solution_in_the_instructor_edition(student_built):
    checked = set()
    for page, executed in PAGES.items():
        nb = nbformat.read(executed, as_version=4)
        for cell in cells_tagged(nb, EXERCISE):
            key = CHECK.findall(cell.source)[0]
            out = "".join(o.get("text", "") for o in cell.outputs)
            assert f"✓ {key}: right" in out, f"{page}: {key}'s solution did not pass: {out[:300]}"
            checked.add(key)
        for cell in cells_tagged(nb, SOLUTION):
            assert cell.cell_type == "markdown" or cell.outputs, f"{page}: a solution cell was not executed"
    assert checked == set(exercises.EXERCISES)


@pytest.mark.student
def test_a_student_page_shows_the_stubs_and_no_check_result(student_built, browser):
    """The student site's chapter 1 in Chromium: the exercise cells show their stub, nothing says "right"; the
    screenshot is ``_build/screenshots/student/01_nap__exercises.png``."""
    with serve_folder(student_built / "html") as url:
        browser.get(f"{url}/notebooks/01_nap.html#exercises")
        time.sleep(1)
        cells = browser.execute_script("return Array.from(document.querySelectorAll('.tag_exercise'))"
                                       ".map(c => c.innerText);")
        out = SCREENSHOTS / "student"
        out.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(out / "01_nap__exercises.png"))
    assert len(cells) == len(exercises.chapter_exercises("01_nap"))
    assert all("answer = ..." in c and "right" not in c for c in cells), cells
