"""The paper chapters on another architecture: each chapter run as it is, with ``OOD_NB_ARCH`` set for its kernel
(:func:`~ood_nb_utils.lectures.chapter.begin` reads it), its executed notebook kept and its scorecard written beside
the book's (``_build/scorecards/<arch>/<chapter>.json``).

:func:`scorecards` is what the chapter "Across architectures" calls: it returns every paper chapter's scorecard on an
architecture, running the chapters whose scorecard is missing or was written by other code than the checkout's (a
digest of the chapter's source and the package's files, kept beside the scorecard).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from ..config import REPO_ROOT
from ..models import DEFAULT_ARCH, architecture
from .scorecard import scorecard_dir, scorecard_path

PAPER_CHAPTERS: tuple[str, ...] = ("01_nap", "02_adascale", "03_himplos", "04_prototype_fusion")
NOTEBOOKS = REPO_ROOT / "notebooks"
PACKAGE = Path(__file__).resolve().parents[1]


def runs_dir(arch: str) -> Path:
    """Where the executed notebooks of chapters run on ``arch`` go: ``_build/arch/<arch>/``."""
    return REPO_ROOT / "_build" / "arch" / arch


def source_digest(chapter: str, arch: str) -> str:
    """sha256 of what decides a chapter's results on ``arch``: its source, every file of the package, the arch."""
    digest = hashlib.sha256(f"{chapter}|{arch}|".encode())
    for path in [NOTEBOOKS / f"{chapter}.py", *sorted(PACKAGE.rglob("*.py"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _digest_path(chapter: str, arch: str, directory: Path | None) -> Path:
    return scorecard_path(chapter, directory, arch=arch).with_suffix(".digest")


def is_current(chapter: str, arch: str, directory: Path | None = None) -> bool:
    """Whether ``chapter``'s scorecard on ``arch`` exists and was written by the code of this checkout."""
    card, digest = scorecard_path(chapter, directory, arch=arch), _digest_path(chapter, arch, directory)
    return card.is_file() and digest.is_file() and digest.read_text() == source_digest(chapter, arch)


def execute_chapter(chapter: str, arch: str, *, directory: Path | None = None, timeout: int = 3600) -> Path:
    """Run ``notebooks/<chapter>.py`` with ``OOD_NB_ARCH=arch`` in a fresh kernel (the chapter's folder as working
    directory, as the build runs it); write the executed notebook to :func:`runs_dir` and return its path. The
    chapter writes its own scorecard; a cell that fails raises here with the cell's error."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    architecture(arch)  # an unknown name fails here, not in the kernel
    source = NOTEBOOKS / f"{chapter}.py"
    if not source.is_file():
        raise FileNotFoundError(f"no chapter {chapter!r} at {source}; chapters: {', '.join(PAPER_CHAPTERS)}")
    nb = jupytext.read(source)
    env = {**os.environ, "OOD_NB_ARCH": arch, "OOD_NB_SCORECARD_DIR": str(directory or scorecard_dir())}
    out = runs_dir(arch) / f"{chapter}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    # the kernel process's own messages (its start-up warnings) go to a log beside the notebook, not to the page of
    # the chapter that runs it; a cell's error still comes back through the kernel's messages and raises here
    with open(out.with_suffix(".kernel.log"), "w") as log:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(env=env, stderr=log, stdout=log)
    tmp = out.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, out)
    return out


def scorecards(arch: str, chapters: tuple[str, ...] = PAPER_CHAPTERS, *, directory: Path | None = None,
               rerun: bool = False) -> dict[str, dict]:
    """Each of ``chapters``' scorecard on ``arch`` (chapter -> its JSON). A chapter whose scorecard is missing, or on a
    non-default architecture was written by other code (:func:`is_current`), or every chapter with ``rerun``, is run
    first (:func:`execute_chapter`, minutes each); the book's own DenseNet scorecards, which the build's chapters
    write, are run only when missing."""
    directory = directory or scorecard_dir()
    out = {}
    for chapter in chapters:
        path = scorecard_path(chapter, directory, arch=arch)
        stale = not path.is_file() if arch == DEFAULT_ARCH else not is_current(chapter, arch, directory)
        if rerun or stale:
            start, digest = time.perf_counter(), source_digest(chapter, arch)  # of the code that is about to run
            print(f"running {chapter} on {architecture(arch).title} ...", flush=True)
            path.unlink(missing_ok=True)
            execute_chapter(chapter, arch, directory=directory)
            if not path.is_file():
                raise FileNotFoundError(f"{chapter} ran on {arch} but wrote no scorecard at {path}")
            _digest_path(chapter, arch, directory).write_text(digest)
            print(f"  {chapter} on {arch}: {time.perf_counter() - start:.0f} s", flush=True)
        out[chapter] = json.loads(path.read_text())
    return out
