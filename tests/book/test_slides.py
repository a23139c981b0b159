"""The chapters' reveal.js decks (ood_nb_utils.lectures.slides).

The deck content rules are checked on the sources (in ``make test``). After ``make book``, ``make pagetest`` builds
the decks (``make slides``) and opens one in headless Chromium with every host but the local server unreachable:
it must be ready, have one slide per ``slide`` tag, render its equations, and load nothing from elsewhere.
Screenshots of its first slides go to ``_build/screenshots/slides/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import jupytext
import nbformat
import pytest

from ood_nb_utils.lectures import editions, slides

from ..conftest import SCREENSHOTS
from .test_rendered_book import HTML, server  # noqa: F401  (the fixture serving the built site)

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = [p for p in editions.executed_pages(ROOT) if p.startswith("notebooks/") and "summary" not in p]
DECK = "notebooks/01_nap"


def test_myst_markup_becomes_plain_markdown_on_a_slide():
    text = ("(label)=\n**The claim** {cite}`nap2024`: a {term}`score <Energy score>` from {py:func}`~x.nap`.\n"
            "```{admonition} Needs\n:class: note\n- data\n```\nEnd $S_{NAP}$.")
    assert slides.plain_markdown(text) == "**The claim** [nap2024]: a score from `x.nap`.\nEnd $S_{NAP}$."


@pytest.mark.parametrize("page", CHAPTERS)
def test_each_chapter_deck_starts_with_its_claim_and_ends_with_what_we_saw(page):
    nb = jupytext.read(ROOT / f"{page}.py")
    deck = slides.deck_notebook(nb)
    assert slides.slide_count(deck) >= 3, f"{page}: fewer than three slides"
    first = deck.cells[0]
    assert first.cell_type == "markdown" and "Learning objectives" in first.source, f"{page}: first slide"
    assert any(c.cell_type == "markdown" and c.source.startswith("## What we saw") for c in deck.cells), page
    assert not any({editions.EXERCISE, editions.SOLUTION} & set(editions.tags_of(c)) for c in deck.cells)
    assert not any("{term}" in c.source or "```{" in c.source for c in deck.cells if c.cell_type == "markdown")
    if page != "notebooks/06_leaderboard":  # the paper chapters and the benchmark: an equation or a figure
        assert any(c.cell_type == "code" for c in deck.cells), f"{page}: no figure or table on a slide"


def test_a_deck_never_loads_a_remote_file(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A\n![x](https://example.org/x.png)", metadata={"tags": ["slide"]})]
    with pytest.raises(ValueError, match="remote file"):
        slides.write_deck(nb, tmp_path / "a.slides.html")


@pytest.mark.pages
def test_a_deck_renders_offline_with_its_equations(browser, server):  # noqa: F811
    deck = HTML / "slides" / f"{Path(DECK).name}.slides.html"
    if not deck.exists():
        pytest.fail(f"no deck {deck}: run `make slides` after `make book`")
    expected = slides.slide_count(nbformat.read(ROOT / "_build" / "jupyter_execute" / f"{DECK}.ipynb", as_version=4))
    browser.get(f"{server}/slides/{deck.name}")
    deadline = time.time() + 60
    while not browser.execute_script("return typeof Reveal !== 'undefined' && Reveal.isReady()"):
        assert time.time() < deadline, "the deck never became ready (reveal.js not loaded?)"
        time.sleep(0.5)
    browser.execute_async_script("const done = arguments[arguments.length - 1];"
                                 "MathJax.startup.promise.then(() => done(true));")
    info = browser.execute_script("""return {
        slides: Reveal.getTotalSlides(),
        math: document.querySelectorAll('mjx-container').length,
        errors: document.querySelectorAll('mjx-merror').length,
        raw: document.body.innerText.includes('$$'),
        resources: performance.getEntriesByType('resource').map(e => e.name),
        figures: document.querySelectorAll('.reveal figure img').length};""")
    assert info["slides"] == expected, f"{info['slides']} slides, expected {expected} (one per 'slide' tag)"
    assert info["math"] > 0 and info["errors"] == 0 and not info["raw"], "equations did not render"
    assert info["figures"] > 0, "no figure on any slide"
    remote = [r for r in info["resources"] if not r.startswith(server)]
    assert not remote, f"the deck loaded files from elsewhere: {remote}"
    out = SCREENSHOTS / "slides"
    out.mkdir(parents=True, exist_ok=True)
    for i in range(min(3, expected)):
        browser.execute_script(f"Reveal.slide({i})")
        time.sleep(0.5)
        browser.save_screenshot(str(out / f"{Path(DECK).name}__{i}.png"))
