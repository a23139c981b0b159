"""The built book as a reader sees it: every page rendered in headless Chromium.

Run after ``make book`` with ``make pagetest`` (which installs Debian's chromium and
chromium-driver when they are missing). Marked ``pages`` and so not part of ``make test``:
it checks a build, not the package. Screenshots go to ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import urllib.request
from pathlib import Path

import pytest
import yaml

from ..conftest import PAPERS, SCREENSHOTS

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
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


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
    text = open_page(browser, server, "notebooks/06_summary")["text"]
    for paper in PAPERS:
        assert paper in text, f"the summary page does not list {paper}"
    for verdict in ("reproduced", "partly", "inconclusive", "not reproduced", "not testable here"):
        assert verdict in text, f"the summary page lacks the verdict {verdict!r}"


def test_hidden_exercise_solutions_are_executed_and_collapsed(browser, server):
    for page in CHAPTERS[:-2]:  # the paper chapters; the leaderboard and summary are checked above
        info = open_page(browser, server, page, live=True)
        hidden = browser.execute_script(
            "return Array.from(document.querySelectorAll('.tag_hide-cell')).map("
            "c => ({open: c.querySelector('details') ? c.querySelector('details').open : null,"
            " out: c.querySelectorAll('.cell_output').length}))")
        assert hidden, f"{page}: no hidden exercise solution"
        assert all(h["open"] is False for h in hidden), f"{page}: a solution is not collapsed"
        assert all(h["out"] > 0 for h in hidden), f"{page}: a hidden solution has no output (not executed?)"
        assert "Exercises" in info["text"]


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
