"""The built book as a reader sees it: every page rendered in headless Chromium.

Run after ``make book`` with ``make pagetest`` (which installs Debian's chromium and
chromium-driver when they are missing). Marked ``pages`` and so not part of ``make test``:
it checks a build, not the package. Screenshots go to ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
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


def open_page(browser, server: str, page: str) -> dict:
    """Load a page, save its screenshot, and return what the checks need, read by the browser itself."""
    browser.get(f"{server}/{page}.html")
    browser.save_screenshot(str(SCREENSHOTS / f"{page.replace('/', '__')}.png"))
    return browser.execute_script("""
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
        info = open_page(browser, server, page)
        hidden = browser.execute_script(
            "return Array.from(document.querySelectorAll('.tag_hide-cell')).map("
            "c => ({open: c.querySelector('details') ? c.querySelector('details').open : null,"
            " out: c.querySelectorAll('.cell_output').length}))")
        assert hidden, f"{page}: no hidden exercise solution"
        assert all(h["open"] is False for h in hidden), f"{page}: a solution is not collapsed"
        assert all(h["out"] > 0 for h in hidden), f"{page}: a hidden solution has no output (not executed?)"
        assert "Exercises" in info["text"]
