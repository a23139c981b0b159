"""A Sphinx extension that records how long every executed cell of the book took (listed in ``_config.yml``).

MyST-NB executes a chapter through jupyter-cache's ``single_nb_execution``, which can ask nbclient to record
each cell's start and end in the cell's metadata (``execution``) but does not. This extension turns that on,
so the executed notebooks under ``_build/jupyter_execute`` (and the ``.ipynb`` the site offers for download)
carry per-cell times (:func:`cell_seconds`). ``benchmarks/cell_times.py _build/jupyter_execute/*/*.ipynb`` prints each
chapter's slowest cells from them; ``.ci/run`` does so after the book stage. The outputs are unchanged.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

LOG = logging.getLogger(__name__)


def with_timing(execute: Callable) -> Callable:
    """``execute`` (jupyter-cache's ``single_nb_execution``) with ``record_timing=True`` unless a caller says
    otherwise; wrapping twice is a no-op."""
    if getattr(execute, "records_timing", False):
        return execute

    @functools.wraps(execute)
    def timed(*args, **kwargs):
        kwargs.setdefault("record_timing", True)
        return execute(*args, **kwargs)

    timed.records_timing = True
    return timed


def cell_seconds(cells: list[dict]) -> list[tuple[int, float, str]]:
    """(cell index, seconds, first code line) of every executed code cell (nbclient's timing metadata)."""
    out = []
    for i, cell in enumerate(cells):
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if cell["cell_type"] != "code" or not (start and end):
            continue
        seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                   - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        first = next((line.strip() for line in source.splitlines() if line.strip() and not line.startswith("#")), "")
        out.append((i, seconds, first[:90]))
    return out


def notebook_seconds(path: str | Path) -> float | None:
    """The summed execution time of an executed notebook's code cells (None: no timings recorded)."""
    path = Path(path)
    if not path.exists():
        return None
    times = cell_seconds(json.loads(path.read_text(encoding="utf-8"))["cells"])
    return sum(t for _, t, _ in times) if times else None


def record_cell_timings(app, config) -> None:
    """``config-inited``: make MyST-NB's direct executor record per-cell times."""
    try:
        from myst_nb.core.execute import direct
    except ImportError:  # a MyST-NB without this module: the book still builds, without cell times
        LOG.warning("ood_nb_utils.lectures.sphinx.timing: myst_nb.core.execute.direct not found; cells are not timed")
        return
    direct.single_nb_execution = with_timing(direct.single_nb_execution)


def setup(app) -> dict:
    app.connect("config-inited", record_cell_timings)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
