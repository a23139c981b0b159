"""A Sphinx extension that gives every chapter page a real notebook (listed in ``_config.yml``).

The chapters are jupytext ``.py`` files, which Colab cannot open and which the page's download menu offers as
text. For each executed page this writes ``_build/html/_sources/<page>.ipynb`` (:func:`write_notebook`): the
notebook MyST-NB executed, outputs included, or, when the build did not execute the page, jupytext's
conversion of its source. The download menu then offers that ``.ipynb``, and the Colab button opens the same
file from the published site (:func:`colab_opens_the_notebook`): the built ``_build/html`` on the branch
``ood_nb_pages_branch`` (default ``gh-pages``, where ``ghp-import -n -p -f _build/html`` puts it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .rebuild import EXECUTED_PREFIXES


def notebook_target(outdir: Path, pagename: str) -> Path:
    """Where the page's notebook goes in the built site (the theme's download menu looks in ``_sources``)."""
    return Path(outdir) / "_sources" / f"{pagename}.ipynb"


def write_notebook(source: Path, executed: Path, target: Path) -> Path:
    """Copy the executed notebook to ``target`` if the build made one, else write jupytext's conversion of
    ``source``; atomically (a temporary file renamed), so a reader never downloads half a notebook."""
    import jupytext

    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(".ipynb.part")
    if executed.exists():
        shutil.copyfile(executed, part)
    else:
        part.write_text(jupytext.writes(jupytext.read(source), fmt="ipynb"))
    part.replace(target)
    return target


def add_notebook(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """``html-page-context``, before the theme's buttons: write the notebook and point the download menu at it."""
    if not pagename.startswith(EXECUTED_PREFIXES) or context.get("page_source_suffix") != ".py":
        return
    outdir = Path(app.outdir)
    executed = outdir.parent / "jupyter_execute" / f"{pagename}.ipynb"
    write_notebook(Path(app.env.doc2path(pagename)), executed, notebook_target(outdir, pagename))
    context["ipynb_source"] = f"{pagename}.ipynb"


def colab_opens_the_notebook(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """``html-page-context``, after the theme's buttons: the Colab link opens the page's ``.ipynb`` on the
    published site's branch instead of the ``.py`` source (which Colab cannot read)."""
    if context.get("ipynb_source") != f"{pagename}.ipynb":
        return
    launch = [g for g in context.get("header_buttons", []) if g.get("label") == "launch-buttons"]
    for button in (b for group in launch for b in group.get("buttons", [])):
        if button.get("text") == "Colab" and "/blob/" in button["url"]:
            prefix = button["url"].split("/blob/", 1)[0]
            button["url"] = f"{prefix}/blob/{app.config.ood_nb_pages_branch}/_sources/{pagename}.ipynb"


def setup(app) -> dict:
    app.add_config_value("ood_nb_pages_branch", "gh-pages", "html")
    app.connect("html-page-context", add_notebook, priority=400)
    app.connect("html-page-context", colab_opens_the_notebook, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
