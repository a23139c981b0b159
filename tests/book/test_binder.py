"""Binder's set-up (`.binder/`) agrees with pyproject.toml and can build before the repository is copied."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / ".binder"


def requirement(line: str) -> tuple[str, str]:
    """'torch==2.14.1' -> ('torch', '==2.14.1'); a local version label (+cpu) is dropped."""
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", line).groups()
    return name.lower().replace("_", "-"), re.sub(r"\+[a-z0-9]+", "", spec.replace(" ", ""))


def pip_lines(env_file: Path) -> list[str]:
    deps = yaml.safe_load(env_file.read_text())["dependencies"]
    return next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)


def constraints() -> dict[str, str]:
    """The book's exact pins (book-constraints.txt)."""
    lines = (ROOT / "book-constraints.txt").read_text().splitlines()
    return dict(requirement(r) for r in lines if r.strip() and not r.startswith("#"))


def test_binder_environment_has_every_dependency_at_the_books_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["book"]])
    wanted.update(constraints())
    lines = pip_lines(BINDER / "environment.yml")
    got = dict(requirement(r) for r in lines if not r.startswith("-"))
    assert got == wanted, {k: (wanted.get(k), got.get(k)) for k in wanted.keys() | got.keys()
                           if wanted.get(k) != got.get(k)}
    assert wanted["torch"] == "==2.14.1" and wanted["torchvision"] == "==0.29.1"
    python = next(d for d in yaml.safe_load((BINDER / "environment.yml").read_text())["dependencies"]
                  if isinstance(d, str) and d.startswith("python="))
    low, high = re.findall(r"3\.(\d+)", project["requires-python"])
    assert int(low) <= int(python.split(".")[1]) < int(high)


def test_binder_environment_never_refers_to_the_repository():
    """repo2docker installs environment.yml before it copies the repository: `-e .` or a path would fail there."""
    for line in pip_lines(BINDER / "environment.yml"):
        assert not re.match(r"^(-e|--editable)\b|^\.|^/|file:", line), line
    post = (BINDER / "postBuild").read_text()
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert "pip install --no-deps -e ." in post and ".binder/overrides.json" in post


def test_the_package_takes_ranges_and_the_book_pins_them():
    """pip install keeps a researcher's torch (a range), while make, CI and Binder build the book with the pins."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = dict(requirement(r) for r in project["dependencies"])
    assert core["torch"].startswith(">=") and "torchvision" not in core
    assert all("==" not in spec for spec in core.values()), core
    pins = constraints()
    assert pins == {"torch": "==2.14.1", "torchvision": "==0.29.1"}
    make = (ROOT / "Makefile").read_text()
    assert make.count("book-constraints.txt") >= 3  # the install's prerequisite, and uv's and pip's constraint


def test_the_conda_environment_pins_torch_as_the_book():
    lines = pip_lines(ROOT / "environment.yml")
    pins = dict(requirement(r) for r in lines if r.startswith("torch"))
    assert pins == {"torch": "==2.14.1", "torchvision": "==0.29.1"}


def test_chapters_open_as_notebooks_in_jupyterlab():
    overrides = json.loads((BINDER / "overrides.json").read_text())
    assert overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["python"] == "Jupytext Notebook"
    assert "LAB_SETTINGS" in (ROOT / "Makefile").read_text()  # make lab installs the same file
