"""A Sphinx extension that keeps incremental book builds correct (listed in ``_config.yml``).

Sphinx re-reads (so MyST-NB re-executes) only the pages whose source changed. Two things it cannot see:

- the summary page (``notebooks/07_summary``) and the chapter "Across architectures" (``notebooks/05_architectures``)
  read the scorecards the chapters write, and the course plan (``book/course_plan``) their cell times, so whenever a
  chapter is re-executed all three are re-read too (:func:`summary_follows_chapters`, on ``env-get-outdated``);
- every executed page runs the ``ood_nb_utils`` package, so each records the package's ``.py`` files as
  dependencies (:func:`note_package_dependencies`): a change to the package re-executes every chapter.

``make book`` is therefore correct after any edit; ``make book-fresh`` (an empty ``_build``) is only needed
for changes outside the book and the package, such as new data files.
"""

from __future__ import annotations

from pathlib import Path

SUMMARY = "notebooks/07_summary"
ACROSS = "notebooks/05_architectures"  # reads chapters 1-4's scorecards, and runs them on ResNet-56 when they changed
FOLLOWERS = (ACROSS, SUMMARY, "book/course_plan")  # pages that read what the executed chapters leave behind
EXECUTED_PREFIXES = ("notebooks/", "book/own_model")
PACKAGE = Path(__file__).resolve().parents[2]  # ood_nb_utils/, this file being lectures/sphinx/rebuild.py


def summary_follows_chapters(app, env, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """The summary and course plan pages, when any other executed page is about to be re-read (and they are
    not already)."""
    touched = {d for d in (added | changed | removed) if d.startswith(EXECUTED_PREFIXES) and d not in FOLLOWERS}
    if not touched:
        return []
    return [d for d in FOLLOWERS if d in env.found_docs and d not in (added | changed)]


def package_files() -> list[str]:
    """Every source file of the package, as absolute paths."""
    return sorted(str(p) for p in PACKAGE.rglob("*.py"))


def note_package_dependencies(app, docname: str, source: list[str]) -> None:
    """Make an executed page depend on every file of the package (``source-read``)."""
    if docname.startswith(EXECUTED_PREFIXES):
        for path in package_files():
            app.env.note_dependency(path)


def setup(app) -> dict:
    app.connect("env-get-outdated", summary_follows_chapters)
    app.connect("source-read", note_package_dependencies)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
