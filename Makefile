# The two commands of the README:
#   make book  -> set up .venv from pyproject.toml and build the book, executing every chapter
#   make test  -> set up .venv and run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: book test lint benchmark clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, found {sys.version}"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[book,test]'
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest

book: $(VENV)/.installed
	$(VENV)/bin/jupyter-book build . 2>&1 | tee _build_book.log; exit $${PIPESTATUS[0]}

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check ood_nb_utils tests notebooks benchmarks

benchmark: $(VENV)/.installed
	$(PY) benchmarks/throughput.py

clean:
	rm -rf _build _build_book.log
