"""The bibliography: every {cite} key resolves, every dataset's citation exists, no placeholder authors."""

import re
from pathlib import Path

import pytest
from pybtex.database import parse_file

from ood_nb_utils.data import DATASETS

ROOT = Path(__file__).resolve().parents[2]
BIB = ROOT / "book" / "references.bib"
PLACEHOLDER = re.compile(r"\bauthors?\b|unknown|anonymous|\?\?", re.IGNORECASE)


@pytest.fixture(scope="module")
def entries():
    return parse_file(str(BIB)).entries


def cited_keys() -> dict[str, list[str]]:
    """{key: [files citing it]} over the book's pages and chapters ({cite}, {cite:p}, {cite:t}; comma lists)."""
    found: dict[str, list[str]] = {}
    for path in [*ROOT.glob("book/*.md"), *ROOT.glob("book/*.py"), *ROOT.glob("notebooks/*.py")]:
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", path.read_text()):
            for key in group.split(","):
                found.setdefault(key.strip(), []).append(path.name)
    return found


def test_the_chapters_cite_the_four_papers():
    assert {"nap2024", "regmi2025adascale", "sun2023himplos", "gul2026prototype"} <= set(cited_keys())


def test_every_cite_key_exists(entries):
    missing = {k: files for k, files in cited_keys().items() if k not in entries}
    assert not missing, f"{{cite}} keys with no entry in references.bib: {missing}"


def test_every_dataset_citation_exists(entries):
    missing = {d: spec.citation for d, spec in DATASETS.items() if spec.citation and spec.citation not in entries}
    assert not missing, f"data.py names citations missing from references.bib: {missing}"


def test_no_placeholder_or_missing_authors(entries):
    for key, entry in entries.items():
        people = entry.persons.get("author", [])
        assert people, f"{key} has no author"
        for person in people:
            assert not PLACEHOLDER.search(str(person)), f"{key} has a placeholder author: {person}"


def test_the_papers_carry_an_identifier(entries):
    for key in ("nap2024", "regmi2025adascale", "sun2023himplos", "gul2026prototype"):
        fields = entries[key].fields
        assert re.search(r"arXiv:\d{4}\.\d{5}", fields.get("journal", "") + fields.get("note", "")), key


def test_the_entries_the_methods_rest_on_exist(entries):
    # MaxLogit, LTS, OpenOOD v1 and v1.5, CIFAR-10-C: named in the chapters and the method classes
    assert {"hendrycks2022maxlogit", "djurisic2024lts", "yang2022openood", "zhang2023openood",
            "hendrycks2019corruptions"} <= set(entries)
