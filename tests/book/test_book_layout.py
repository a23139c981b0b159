"""The book's configuration: chapters exist, are jupytext percent files, and a failing cell fails the build."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


def test_every_toc_entry_exists():
    for f in toc_files():
        matches = [p for p in ROOT.glob(f + ".*") if p.suffix in (".md", ".py", ".rst")]
        assert matches, f"_toc.yml names {f}, which has no .md, .py or .rst file"


AGGREGATE_PAGES = {"06_leaderboard", "07_summary"}  # gather the chapters' results; no claims of their own


def test_chapters_are_jupytext_percent_with_a_kernel_and_a_scorecard():
    chapters = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert chapters
    assert AGGREGATE_PAGES <= {p.stem for p in chapters}
    listed = set(toc_files())
    for path in chapters:
        text = path.read_text()
        assert "format_name: percent" in text and "name: python3" in text, path
        assert "# %% [markdown]" in text, path
        if path.stem not in AGGREGATE_PAGES:
            assert ".publish()" in text, f"{path.name} publishes no reproduction scorecard"
        assert f"notebooks/{path.stem}" in listed, f"{path.name} is not in _toc.yml"


def test_summary_runs_after_every_chapter_that_writes_a_scorecard():
    # Sphinx reads (and MyST-NB executes) documents in sorted order of their names, so the
    # summary page must sort after every chapter whose scorecard it gathers.
    docs = sorted(f for f in toc_files())
    writers = [f for f in docs if f.startswith("notebooks/") and ".publish()" in (ROOT / f"{f}.py").read_text()]
    assert writers and all(w < "notebooks/07_summary" for w in writers)
    assert docs[-1] == "notebooks/07_summary"


MAX_CHAPTER_LINES = 420  # a lecture with a caption and alt text for every figure; repeated logic lives in the package


def test_chapters_are_thin():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        lines = path.read_text().splitlines()
        assert len(lines) <= MAX_CHAPTER_LINES, f"{path.name} has {len(lines)} lines (at most {MAX_CHAPTER_LINES})"
        # no functions in a chapter (plotting helpers aside: their names start with plot_ or draw_)
        defs = [ln.strip() for ln in lines if ln.lstrip().startswith("def ")
                and not ln.lstrip()[4:].startswith(("plot_", "draw_"))]
        assert not defs, f"{path.name} defines {defs}: logic belongs in the package"


def test_every_chapter_installs_the_package_when_run_outside_the_repository():
    import jupytext

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        first_code = next(c for c in jupytext.read(path).cells if c.cell_type == "code")
        assert 'find_spec("ood_nb_utils") is None' in first_code.source, path.name


def test_launch_buttons_for_binder_and_colab():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"].startswith("https://github.com/")
    buttons = config["launch_buttons"]
    assert buttons["binderhub_url"] == "https://mybinder.org"
    assert buttons["colab_url"] == "https://colab.research.google.com"
    assert (ROOT / ".binder" / "environment.yml").exists()  # what Binder builds the environment from


def test_every_chapter_page_gets_a_notebook_that_colab_opens(tmp_path):
    """The build writes an .ipynb of each executed page into the site (the executed notebook, else
    jupytext's conversion), the download menu offers it and the Colab button opens it instead of the .py."""
    from types import SimpleNamespace

    import jupytext

    from ood_nb_utils.lectures.sphinx import notebooks as ext

    out = tmp_path / "_build" / "html"
    source = ROOT / "notebooks" / "01_nap.py"
    app = SimpleNamespace(outdir=str(out), env=SimpleNamespace(doc2path=lambda name: ROOT / f"{name}.py"),
                          config=SimpleNamespace(ood_nb_pages_branch="gh-pages"))
    colab = {"text": "Colab", "url": "https://colab.research.google.com/github/o/r/blob/main/notebooks/01_nap.py"}
    context = {"page_source_suffix": ".py", "header_buttons": [{"label": "launch-buttons", "buttons": [colab]}]}
    ext.add_notebook(app, "notebooks/01_nap", "page.html", context, None)  # not executed: jupytext's conversion
    written = out / "_sources" / "notebooks" / "01_nap.ipynb"
    assert context["ipynb_source"] == "notebooks/01_nap.ipynb"
    code = [c.source for c in jupytext.read(written).cells if c.cell_type == "code"]
    assert code == [c.source for c in jupytext.read(source).cells if c.cell_type == "code"] and len(code) > 10
    ext.colab_opens_the_notebook(app, "notebooks/01_nap", "page.html", context, None)
    assert colab["url"] == ("https://colab.research.google.com/github/o/r/blob/gh-pages/_sources/notebooks/"
                            "01_nap.ipynb")
    executed = tmp_path / "_build" / "jupyter_execute" / "notebooks" / "01_nap.ipynb"  # what MyST-NB leaves
    executed.parent.mkdir(parents=True)
    executed.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    ext.add_notebook(app, "notebooks/01_nap", "page.html", dict(context), None)
    assert written.read_text() == executed.read_text()
    other = {"page_source_suffix": ".md", "header_buttons": []}  # a prose page gets nothing
    ext.add_notebook(app, "book/glossary", "page.html", other, None)
    assert "ipynb_source" not in other and not (out / "_sources" / "book").exists()
    assert "ood_nb_utils.lectures.sphinx.notebooks" in (ROOT / "_config.yml").read_text()


def test_failing_cells_fail_the_build():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "force"
    sphinx = config["sphinx"]["config"]
    assert sphinx["nb_execution_raise_on_error"] is True
    assert sphinx["nb_custom_formats"][".py"][1] == {"fmt": "py:percent"}


def test_incremental_builds_re_execute_the_summary_and_follow_the_package():
    """A re-executed chapter drags the summary page (which reads its scorecard) along, and every
    executed page depends on the package's files (ood_nb_utils.lectures.sphinx.rebuild)."""
    from types import SimpleNamespace

    from ood_nb_utils.lectures.sphinx import rebuild as ext

    env = SimpleNamespace(found_docs={"book/intro", "notebooks/01_nap", ext.SUMMARY})
    assert ext.summary_follows_chapters(None, env, set(), {"notebooks/01_nap"}, set()) == [ext.SUMMARY]
    env.found_docs.add(ext.ACROSS)  # the chapter that reads chapters 1-4's scorecards follows them too
    assert ext.summary_follows_chapters(None, env, set(), {"notebooks/01_nap"}, set()) == [ext.ACROSS, ext.SUMMARY]
    env.found_docs.remove(ext.ACROSS)
    assert ext.summary_follows_chapters(None, env, set(), {"book/intro"}, set()) == []  # not an executed page
    assert ext.summary_follows_chapters(None, env, set(), set(), set()) == []  # nothing changed
    assert ext.summary_follows_chapters(None, env, set(), {ext.SUMMARY}, set()) == []  # already re-read
    noted = []
    app = SimpleNamespace(env=SimpleNamespace(note_dependency=noted.append))
    ext.note_package_dependencies(app, "notebooks/02_adascale", [""])
    assert any(p.endswith("ood_nb_utils/runs/context.py") for p in noted) and len(noted) == len(ext.package_files())
    assert any(p.endswith("ood_nb_utils/cache.py") for p in noted)  # the top level as well as the subpackages
    ext.note_package_dependencies(app, "book/glossary", [""])
    assert len(noted) == len(ext.package_files())  # pages that run no code do not depend on the package
    config = (ROOT / "_config.yml").read_text()
    assert "ood_nb_utils.lectures.sphinx.rebuild" in config


def test_the_book_build_records_how_long_each_cell_took(monkeypatch):
    """The build's executor records nbclient's per-cell times, which benchmarks/cell_times.py reads."""
    import nbformat
    from myst_nb.core.execute import direct

    from ood_nb_utils.lectures.sphinx import timing as sphinx_timing

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from cell_times import cell_seconds

    monkeypatch.setattr(direct, "single_nb_execution", direct.single_nb_execution)  # restored after the test
    sphinx_timing.record_cell_timings(None, None)
    sphinx_timing.record_cell_timings(None, None)  # a second config-inited does not wrap twice
    assert direct.single_nb_execution.records_timing
    assert not getattr(direct.single_nb_execution.__wrapped__, "records_timing", False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(0.3)"),
                                         nbformat.v4.new_markdown_cell("text"),
                                         nbformat.v4.new_code_cell("x = 1")])
    result = direct.single_nb_execution(nb, cwd=str(ROOT), timeout=120, allow_errors=False)
    assert result.err is None
    timed = cell_seconds(nb.cells)
    assert [i for i, _, _ in timed] == [0, 2]  # both code cells, not the markdown one
    assert timed[0][1] >= 0.3 and timed[0][2] == "import time; time.sleep(0.3)"
    assert "ood_nb_utils.lectures.sphinx.timing" in (ROOT / "_config.yml").read_text()


def test_servers_the_book_tests_start_get_the_readers_environment(session_cache):
    """The suite extracts eagerly into its own cache; a JupyterLab kernel the lab test starts must not inherit that,
    or a chapter would miss the book's cache and extract everything again."""
    import os

    from ..conftest import READER_ENV, reader_env

    env = reader_env(OOD_NB_SCORECARD_DIR="x")
    assert os.environ["OOD_NB_BACKEND"] == "eager" and os.environ["OOD_NB_CACHE_DIR"] == str(session_cache)
    assert env.get("OOD_NB_BACKEND") == READER_ENV.get("OOD_NB_BACKEND")
    assert env.get("OOD_NB_CACHE_DIR") == READER_ENV.get("OOD_NB_CACHE_DIR") != str(session_cache)
    assert env["OOD_NB_SCORECARD_DIR"] == "x"
    assert "reader_env(" in (ROOT / "tests" / "book" / "test_lab.py").read_text()  # the lab server is started so
