"""The book's configuration: chapters exist, are jupytext percent files, and a failing cell fails the build."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


def test_every_toc_entry_exists():
    for f in toc_files():
        matches = [p for p in ROOT.glob(f + ".*") if p.suffix in (".md", ".py")]
        assert matches, f"_toc.yml names {f}, which has no .md or .py file"


def test_chapters_are_jupytext_percent_with_a_kernel_and_a_scorecard():
    chapters = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert chapters
    listed = set(toc_files())
    for path in chapters:
        text = path.read_text()
        assert "format_name: percent" in text and "name: python3" in text, path
        assert "# %% [markdown]" in text, path
        assert "Scorecard(" in text, f"{path.name} has no reproduction scorecard"
        assert f"notebooks/{path.stem}" in listed, f"{path.name} is not in _toc.yml"


def test_failing_cells_fail_the_build():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "force"
    sphinx = config["sphinx"]["config"]
    assert sphinx["nb_execution_raise_on_error"] is True
    assert sphinx["nb_custom_formats"][".py"][1] == {"fmt": "py:percent"}
