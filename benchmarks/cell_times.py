"""Where a chapter spends its time: execute chapters and print their slowest cells.

Run: ``.venv/bin/python benchmarks/cell_times.py notebooks/00_benchmark.py notebooks/02_adascale.py [--top N]``.
MyST-NB does not record per-cell times, so this executes each chapter itself (jupytext + nbclient with
``record_timing``, the kernel in the chapter's folder, as the build does), writes the executed notebook to
``--out`` (default ``_build/cell_times``) and prints the chapter's total and its ``--top`` slowest cells with
their first code line. It reads and fills the same activation cache as the book, so run it on a cold cache
(``OOD_NB_CACHE_DIR`` pointing at an empty folder) to see what a clean clone pays. An ``.ipynb`` argument is
read, not executed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ood_nb_utils.lectures.sphinx.timing import cell_seconds


def execute(chapter: Path, out: Path) -> Path:
    """Run a jupytext chapter with nbclient (timings recorded) and write the executed notebook under ``out``."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(chapter)
    NotebookClient(nb, timeout=3600, kernel_name="python3", record_timing=True,
                   resources={"metadata": {"path": str(chapter.parent)}}).execute()
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{chapter.stem}.ipynb"
    nbformat.write(nb, target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="+", type=Path, help="chapter .py files to run, or executed .ipynb files")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("_build/cell_times"))
    args = parser.parse_args()
    for chapter in args.chapters:
        start = time.perf_counter()
        notebook = chapter if chapter.suffix == ".ipynb" else execute(chapter, args.out)
        wall = time.perf_counter() - start
        cells = cell_seconds(json.loads(notebook.read_text())["cells"])
        total = sum(s for _, s, _ in cells)
        ran = f", {wall:.1f} s wall with kernel start" if chapter.suffix != ".ipynb" else ""
        print(f"{chapter}: {total:.1f} s in {len(cells)} code cells{ran}")
        for i, seconds, first in sorted(cells, key=lambda c: -c[1])[:args.top]:
            print(f"  cell {i:>3}: {seconds:7.1f} s  {100 * seconds / max(total, 1e-9):5.1f}%  {first}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
