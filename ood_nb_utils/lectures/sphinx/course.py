"""A Sphinx extension for the course plan (listed in ``_config.yml``): the role ``{chapter-time}`notebooks/01_nap```
shows how long that page's cells ran in this build, summed from nbclient's per-cell timings
(:func:`~ood_nb_utils.lectures.sphinx.timing.notebook_seconds`) in ``_build/jupyter_execute``.

The role leaves a placeholder that is filled when the page is written (``doctree-resolved``), after every page has
been read and so executed; the course plan page is re-read whenever a chapter is (:mod:`.rebuild`). A page the build
did not time shows "not timed in this build" and the build warns.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.util import logging

from .timing import notebook_seconds

logger = logging.getLogger(__name__)


class chapter_time(nodes.inline):
    """Placeholder for a page's measured run time, replaced by text in :func:`fill_times`."""


def chapter_time_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    node = chapter_time(rawtext, "")
    node["page"] = text.strip()
    return [node], []


def as_duration(seconds: float | None) -> str:
    """``95.2`` -> ``"1.6 min"``, ``40`` -> ``"40 s"``; None -> ``"not timed in this build"``."""
    if seconds is None:
        return "not timed in this build"
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def fill_times(app, doctree, docname: str) -> None:
    """``doctree-resolved``: replace every placeholder by the page's summed cell times."""
    executed = Path(app.outdir).parent / "jupyter_execute"
    for node in list(doctree.findall(chapter_time)):
        seconds = notebook_seconds(executed / f"{node['page']}.ipynb")
        if seconds is None:
            logger.warning(f"{docname}: no cell timings for {node['page']} in {executed}", location=node)
        node.replace_self(nodes.Text(as_duration(seconds)))


def setup(app) -> dict:
    app.add_role("chapter-time", chapter_time_role)
    app.connect("doctree-resolved", fill_times)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
