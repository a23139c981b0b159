"""The built book as a reader sees it: every page rendered in headless Chromium.

Run after ``make book`` with ``make pagetest`` (which installs Debian's chromium and
chromium-driver when they are missing). Marked ``pages`` and so not part of ``make test``:
it checks a build, not the package. Screenshots go to ``_build/screenshots/``.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
import yaml

from ..conftest import PAPERS, SCREENSHOTS, serve_folder

pytestmark = pytest.mark.pages

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *(c["file"] for part in toc["parts"] for c in part["chapters"])]


CHAPTERS = [p for p in toc_pages() if p.startswith("notebooks/")]


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built book in {HTML}: run `make book` first")
    with serve_folder(HTML) as url:
        yield url


_READ: dict[str, dict] = {}  # what each page showed, for checks that need no live page (one load per page)


def open_page(browser, server: str, page: str, *, live: bool = False) -> dict:
    """Load a page, save its screenshot, and return what the checks need, read by the browser itself. A check
    that then queries the page itself passes ``live=True``; the others reuse the first reading of the page."""
    if not live and page in _READ:
        return _READ[page]
    browser.get(f"{server}/{page}.html")
    browser.save_screenshot(str(SCREENSHOTS / f"{page.replace('/', '__')}.png"))
    info = browser.execute_script("""
        const main = document.querySelector('main') || document.body;
        return {
          title: document.title,
          h1: Array.from(main.querySelectorAll('h1')).map(h => h.textContent.trim()),
          text: main.innerText,
          images: Array.from(main.querySelectorAll('img')).map(
              i => ({src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth})),
          outputs: Array.from(document.querySelectorAll('.cell_output')).map(o => o.innerText),
          tracebacks: document.querySelectorAll('.output.traceback, .highlight-ipythontb').length,
          launch: Array.from(document.querySelectorAll('a')).map(a => a.href)
              .filter(h => h.includes('mybinder.org') || h.includes('colab.research.google.com')),
          downloads: Array.from(document.querySelectorAll('a')).map(a => a.href).filter(h => h.endsWith('.ipynb')),
        };""")
    _READ[page] = info
    return info


@pytest.mark.parametrize("page", toc_pages())
def test_page_loads_with_a_heading(browser, server, page):
    info = open_page(browser, server, page)
    assert info["h1"], f"{page}: no heading (did the page render?)"
    assert "404" not in info["title"], f"{page}: {info['title']}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_figures_resolve_and_outputs_have_no_traceback(browser, server, page):
    info = open_page(browser, server, page)
    figures = [i for i in info["images"] if "/_images/" in i["src"] or i["src"].startswith("data:")]
    assert figures, f"{page}: no figure"
    for image in info["images"]:
        assert image["complete"] and image["width"] > 0, f"{page}: image {image['src']} did not load"
        if image["src"].startswith("http"):
            with urllib.request.urlopen(image["src"]) as response:
                assert len(response.read()) > 0, f"{page}: {image['src']} is empty"
    assert info["outputs"], f"{page}: no cell output at all"
    assert info["tracebacks"] == 0, f"{page}: a cell output is rendered as a traceback"
    for output in info["outputs"]:
        assert "Traceback (most recent call last)" not in output, f"{page}: {output[:500]}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_has_binder_and_colab_launch_buttons(browser, server, page):
    links = open_page(browser, server, page)["launch"]
    assert any("mybinder.org" in h for h in links), f"{page}: no Binder launch button"
    assert any("colab.research.google.com" in h for h in links), f"{page}: no Colab launch button"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_offers_its_notebook_and_colab_opens_it(browser, server, page):
    """The download menu offers the chapter's .ipynb (served by the site, with the source's code
    cells), and the Colab button opens that notebook from the published site, not the .py."""
    import jupytext

    info = open_page(browser, server, page)
    local = [h for h in info["downloads"] if h.startswith(server)]
    assert local == [f"{server}/_sources/{page}.ipynb"], f"{page}: download links {info['downloads']}"
    with urllib.request.urlopen(local[0]) as response:
        served = jupytext.reads(response.read().decode(), fmt="ipynb")
    source = jupytext.read(ROOT / f"{page}.py")
    assert [c.source for c in served.cells if c.cell_type == "code"] == [
        c.source for c in source.cells if c.cell_type == "code"], f"{page}: the notebook's code differs from the .py"
    assert any(c.get("outputs") for c in served.cells if c.cell_type == "code"), f"{page}: notebook not executed"
    colab = [h for h in info["launch"] if "colab.research.google.com" in h]
    assert colab and all(h.endswith(f"/_sources/{page}.ipynb") for h in colab), f"{page}: Colab opens {colab}"


def test_summary_lists_all_four_papers_with_verdicts(browser, server):
    text = open_page(browser, server, "notebooks/07_summary")["text"]
    for paper in PAPERS:
        assert paper in text, f"the summary page does not list {paper}"
    for verdict in ("reproduced", "partly", "inconclusive", "not reproduced", "not testable here"):
        assert verdict in text, f"the summary page lacks the verdict {verdict!r}"


def test_exercise_solutions_are_executed_passing_and_collapsed(browser, server):
    """The instructor edition: every exercise cell's code (its solution) is collapsed and its check printed a
    pass; the open questions' solutions are collapsed whole and executed."""
    from ood_nb_utils.lectures.exercises import chapter_exercises

    for page in CHAPTERS[:-1]:
        info = open_page(browser, server, page, live=True)
        cells = browser.execute_script("""return Array.from(document.querySelectorAll('.tag_exercise, .tag_solution'))
            .map(c => ({exercise: c.classList.contains('tag_exercise'), out: c.innerText,
                        open: Array.from(c.querySelectorAll('details')).map(d => d.open)}));""")
        keys = [e.key for e in chapter_exercises(page.split("/")[-1])]
        exercise_cells = [c for c in cells if c["exercise"]]
        assert len(exercise_cells) == len(keys), f"{page}: {len(exercise_cells)} exercise cells for {keys}"
        for key in keys:
            assert any(f"✓ {key}: right" in c["out"] for c in exercise_cells), f"{page}: {key} did not pass"
        assert all(c["open"] and not any(c["open"]) for c in cells), f"{page}: a solution is not collapsed"
        assert "Exercises" in info["text"]


KERNELS = {"notebooks/01_nap": ["nap_channel_ratio", "nap"],
           "notebooks/02_adascale": ["perturb_from_gradient", "shift_statistics", "adaptive_percentile"],
           "notebooks/03_himplos": ["class_masks", "himplos_logits"],
           "notebooks/04_prototype_fusion": ["fit_prototypes", "prototype_fusion"]}


@pytest.mark.parametrize("page", list(KERNELS))
def test_each_paper_chapter_shows_its_kernel_source_and_links_its_api_entry(browser, server, page):
    import inspect

    from ood_nb_utils import scorers

    open_page(browser, server, page, live=True)
    code = browser.execute_script("return Array.from(document.querySelectorAll('.cell_output .highlight pre'))"
                                  ".map(p => p.innerText);")
    links = browser.execute_script("return Array.from(document.querySelectorAll('a.reference.internal'))"
                                   ".map(a => a.getAttribute('href'));")
    for name in KERNELS[page]:
        source = inspect.getsource(getattr(scorers, name)).strip()
        assert any(source in c for c in code), f"{page}: the source of scorers.{name} is not shown as it runs"
    assert any(f"api.html#ood_nb_utils.scorers.{KERNELS[page][-1]}" in (h or "") for h in links), (
        f"{page}: no link to the API entry of scorers.{KERNELS[page][-1]}")


def public_api() -> list[str]:
    """Every public name the API page must document, fully qualified."""
    from ood_nb_utils import detectors, metrics, models, scorers

    top = ["ModelAdapter", "Head", "extract", "Features", "HeldOut", "evaluate_model"]
    names = [f"ood_nb_utils.{n}" for n in top]
    names += [f"ood_nb_utils.detectors.{n}" for n in detectors.__all__ if n != "HeldOut"]
    names += [f"ood_nb_utils.scorers.{n}" for n in scorers.__all__]
    names += [f"ood_nb_utils.models.{n}" for n in models.__all__ if n not in top]
    names += [f"ood_nb_utils.metrics.{n}" for n, obj in vars(metrics).items()
              if not n.startswith("_") and callable(obj) and getattr(obj, "__module__", "") == metrics.__name__]
    names += [f"ood_nb_utils.lectures.exercises.{n}" for n in ("check", "NotAnswered", "WrongAnswer")]
    return names


def test_the_api_page_documents_every_public_name_with_its_source(browser, server):
    open_page(browser, server, "book/api", live=True)
    ids = set(browser.execute_script("return Array.from(document.querySelectorAll('[id]')).map(e => e.id);"))
    missing = [n for n in public_api() if n not in ids]
    assert not missing, f"the API page has no entry for {missing}"
    sources = browser.execute_script("return Array.from(document.querySelectorAll('a .viewcode-link')).length;")
    assert sources > 50, f"only {sources} [source] links on the API page"


def test_the_course_plan_names_every_chapter_and_exercise_and_every_link_resolves(browser, server):
    from ood_nb_utils.lectures.exercises import EXERCISES

    open_page(browser, server, "book/course_plan", live=True)
    links = browser.execute_script("return Array.from(document.querySelectorAll('main a[href]')).map(a => a.href);")
    text = browser.execute_script("return document.querySelector('main').innerText;")
    for page in toc_pages():
        if page.startswith(("notebooks/", "book/own_model", "book/imagenet")):
            assert any(h.split("#")[0].endswith(f"/{page}.html") for h in links), f"the course plan omits {page}"
    assert "Four sessions" in text and "Two sessions" in text
    assert not [k for k in EXERCISES if k not in text], "the course plan omits an exercise"
    assert "not timed" not in text and re.search(r"\d+(\.\d)? (s|min)", text), "run times missing"
    for href in {h for h in links if h.startswith(server)}:
        target, _, anchor = href.partition("#")
        with urllib.request.urlopen(target) as response:
            body = response.read().decode("utf-8", errors="replace")
        assert response.status == 200, href
        if anchor:
            assert f'id="{anchor}"' in body, f"{href}: no element with id {anchor}"


FIGURE_PAGES = [*CHAPTERS, "book/imagenet"]
PROGRESS = re.compile(r"\d+/\d+ \[[^\]]*(it|img|B)/s\]|\d+%\|")
LONG_FLOAT = re.compile(r"(?<![\w.])-?(\d+\.\d+)(?:e[-+]?\d+)?(?![\w.])")


def significant_digits(number: str) -> int:
    return len(number.replace(".", "").lstrip("0"))


@pytest.mark.parametrize("page", FIGURE_PAGES)
def test_every_figure_has_a_caption_and_alt_text_at_a_readable_size(browser, server, page):
    """Each figure is a <figure> with a caption and an alt text of its own (not a file name), shown at no less than
    3/4 of its natural size (so 8-pt text stays about 8 px or more); each is saved as it appears in the column,
    in _build/screenshots/figures/."""
    from selenium.webdriver.common.by import By

    open_page(browser, server, page, live=True)
    figures = browser.execute_script("""
        return Array.from(document.querySelectorAll('main .cell_output img')).map(i => {
          const f = i.closest('figure'), c = f && f.querySelector('figcaption');
          return {alt: i.getAttribute('alt') || '', caption: c ? c.innerText.trim() : '',
                  shown: i.getBoundingClientRect().width, width: Number(i.getAttribute('width') || i.naturalWidth)};
        });""")
    assert figures, f"{page}: no figure"
    for k, f in enumerate(figures, 1):
        assert len(f["caption"]) > 40, f"{page}, figure {k}: no caption ({f['caption']!r})"
        assert len(f["alt"]) > 20 and " " in f["alt"] and not re.search(r"\.(png|jpg|svg)\b", f["alt"]), \
            f"{page}, figure {k}: alt text {f['alt']!r}"
        assert f["shown"] >= 0.75 * f["width"], f"{page}, figure {k}: drawn {f['width']} px wide, shown {f['shown']}"
    out = SCREENSHOTS / "figures"
    out.mkdir(parents=True, exist_ok=True)
    for k, element in enumerate(browser.find_elements(By.CSS_SELECTOR, "main .cell_output figure"), 1):
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", element)
        element.screenshot(str(out / f"{page.replace('/', '__')}__{k:02d}.png"))


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_outputs_show_no_progress_bar_and_no_unrounded_float(browser, server, page):
    info = open_page(browser, server, page)
    for output in info["outputs"]:
        assert not PROGRESS.search(output), f"{page}: a progress bar in an output: {output[:300]}"
        assert "TqdmWarning" not in output, f"{page}: {output[:300]}"
        long = [m.group(0) for m in LONG_FLOAT.finditer(output) if significant_digits(m.group(1)) > 6]
        assert not long, f"{page}: unrounded numbers {long[:5]} in: {output[:300]}"
        assert not re.search(r"\b(nan|NaN)\b", output), f"{page}: a raw NaN in: {output[:300]}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_the_first_screen_of_a_chapter_shows_no_plumbing(browser, server, page):
    """Before the chapter's first section heading, no code is visible: the install and import cells are removed
    or collapsed in the page (they stay in the notebook)."""
    open_page(browser, server, page, live=True)
    plumbing_first = browser.execute_script("""
        const visible = Array.from(document.querySelectorAll('main .cell_input'))
            .filter(e => e.offsetParent !== null);
        const h2 = document.querySelector('main h2');
        if (!visible.length || !h2) return false;
        return !!(visible[0].compareDocumentPosition(h2) & Node.DOCUMENT_POSITION_FOLLOWING);""")
    assert not plumbing_first, f"{page}: code is visible before the first section"


def test_equations_render_with_no_network_and_nothing_loads_from_elsewhere(browser, server):
    """The browser resolves no host but the local server's; MathJax comes from the site itself, typesets every
    equation, and no script, stylesheet, image or font of the page comes from another origin."""
    page = "notebooks/01_nap"
    info = open_page(browser, server, page, live=True)
    browser.set_script_timeout(60)
    typeset = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        if (!window.MathJax || !MathJax.startup) { done({error: 'MathJax did not load'}); return; }
        MathJax.startup.promise.then(() => done({
            rendered: document.querySelectorAll('main mjx-container').length,
            sources: document.querySelectorAll('main .math').length,
            errors: document.querySelectorAll('main mjx-merror').length,
        })).catch(e => done({error: String(e)}));""")
    assert "error" not in typeset, f"{page}: {typeset}"
    assert typeset["sources"] > 0 and typeset["rendered"] >= typeset["sources"], typeset
    assert typeset["errors"] == 0, typeset
    assert "\\frac" not in info["text"] and "$$" not in info["text"], f"{page}: raw TeX in the page"
    remote = browser.execute_script("""
        const urls = [
          ...Array.from(document.querySelectorAll('script[src]')).map(e => e.src),
          ...Array.from(document.querySelectorAll('link[rel=stylesheet], link[rel=preload]')).map(e => e.href),
          ...Array.from(document.querySelectorAll('img')).map(e => e.currentSrc || e.src),
          ...performance.getEntriesByType('resource').map(e => e.name)];
        return urls.filter(u => !u.startsWith(location.origin) && !u.startsWith('data:'));""")
    assert not remote, f"{page} loads from elsewhere: {remote}"
    browser.save_screenshot(str(SCREENSHOTS / "equations_offline.png"))
