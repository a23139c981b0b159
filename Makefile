# The two commands of the README:
#   make book  -> set up .venv from pyproject.toml and build the book, executing every chapter
#   make test  -> set up .venv and run the test suite (make test-fast: the unit tier alone, in seconds)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
MATHJAX_DIR := _build/vendor/mathjax
MATHJAX := $(MATHJAX_DIR)/tex-mml-chtml.js

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: book book-fresh mathjax slides student test test-fast data pagetest lab labtest chromium lint benchmark clean

# book-constraints.txt pins the book's exact torch and torchvision (the package itself takes ranges)
$(VENV)/.installed: pyproject.toml book-constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, found {sys.version}"'
	$(PYTHON) -m venv $(VENV)
	@# uv installs the wheels in parallel (about 20 s here; pip installs them one at a time, about 90 s), from the
	@# sources pip is configured with (tools/uv_install.py); should uv fail, pip does the same install
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) \
	  && $(PY) tools/uv_install.py --quiet --constraint book-constraints.txt -e '.[book,test]' \
	  || { echo "uv did not install the project: installing it with pip"; \
	       $(PY) -m pip install --quiet --disable-pip-version-check --no-compile -c book-constraints.txt \
	         -e '.[book,test]'; }
	@# byte-compile on every core (pip compiles one file at a time: 164 s -> 132 s for the whole install on 2 cores),
	@# leaving out the third-party test suites and pip, which nothing here imports (a quarter of the files);
	@# a few third-party files do not compile under Python 3.11, as under pip, which skips them too
	$(PY) -m compileall -q -j 0 -x '/(tests?|pip)/' $(VENV)/lib > /dev/null || true
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest

# The unit tier (tests/unit): kernels, detectors, metrics and layout on synthetic inputs, no checkpoint needed
test-fast: $(VENV)/.installed
	$(PY) -m pytest tests/unit

# OOD_NB_PROGRESS=0: no progress bar in the pages (a reader running a chapter keeps them)
book: $(VENV)/.installed $(MATHJAX)
	OOD_NB_PROGRESS=0 $(VENV)/bin/jupyter-book build . 2>&1 | tee _build_book.log; exit $${PIPESTATUS[0]}

# MathJax (and reveal.js, for the slides) from the npm registry (tools/js/package-lock.json), served by the built
# site itself so that its equations render offline; ood_nb_utils.lectures.sphinx.mathjax points the pages at this copy
mathjax: $(MATHJAX)
$(MATHJAX): tools/js/package.json tools/js/package-lock.json
	@# Node.js and npm come with the machine; where they do not, Debian's npm (waiting for apt's lock, which a
	@# Chromium install in the background may hold)
	@command -v npm >/dev/null || { echo "npm not found: installing Debian's npm for MathJax"; \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y -qq npm; }
	npm ci --prefix tools/js --no-audit --no-fund --silent
	rm -rf $(MATHJAX_DIR) && mkdir -p $(MATHJAX_DIR)
	cd tools/js/node_modules/mathjax/es5 && cp -r tex-mml-chtml.js input output ui a11y adaptors sre $(CURDIR)/$(MATHJAX_DIR)/

# After `make book`: a reveal.js deck per chapter from its executed notebook (cells tagged `slide`/`slide-more`),
# in _build/html/slides/ beside local copies of reveal.js and MathJax, so the decks work offline
slides: $(VENV)/.installed $(MATHJAX)
	$(PY) -m ood_nb_utils.lectures.slides .

# After `make book`: the student edition in _build/student/ (notebooks/ and html/), made from the executed
# instructor notebooks without re-executing anything: solution cells dropped, exercise cells reduced to their stub;
# then the checks that no solution reached it
student: $(VENV)/.installed $(MATHJAX) chromium
	OOD_NB_PROGRESS=0 $(PY) -m ood_nb_utils.lectures.editions .
	$(PY) -m pytest -m student tests/book/test_editions.py

# Every page from scratch (Sphinx's incremental state removed; the activation cache is kept)
book-fresh: $(VENV)/.installed
	rm -rf _build/.doctrees _build/html _build/jupyter_execute
	$(MAKE) book

# Without the project's shared/ folder: download and convert every set and checkpoint that has an official
# source (needs internet) into OOD_NB_DATA_DIR / OOD_NB_WEIGHTS_DIR (default ../shared/data, ../shared/weights).
# Downloads are atomic, checked and retried; finished files are kept, so an interrupted run can simply be rerun.
data: $(VENV)/.installed
	$(PY) -m ood_nb_utils data prepare
	$(PY) -m ood_nb_utils data status

# Debian's chromium and chromium-driver, for the rendered-page checks (installed only when missing)
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; }

# After `make book`: every built page and one slide deck in headless Chromium; screenshots in _build/screenshots/
pagetest: $(VENV)/.installed chromium slides
	$(PY) -m pytest -m pages tests/book/test_rendered_book.py tests/book/test_slides.py

# JupyterLab on the project's .venv, the chapters opening as notebooks (jupytext): the viewer setting of
# .binder/overrides.json, installed into the venv (Binder's postBuild installs the same file)
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_SETTINGS): .binder/overrides.json $(VENV)/.installed
	mkdir -p $(dir $@) && cp $< $@

lab: $(LAB_SETTINGS)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=.

# After `make book`: JupyterLab driven in headless Chromium, a chapter run end to end; screenshot in _build/screenshots/
labtest: $(LAB_SETTINGS) chromium
	$(PY) -m pytest -m lab -s tests/book/test_lab.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check ood_nb_utils tests notebooks book benchmarks tools

benchmark: $(VENV)/.installed
	$(PY) benchmarks/throughput.py
	$(PY) benchmarks/gradient_passes.py
	$(PY) benchmarks/streaming_memory.py

clean:
	rm -rf _build _build_book.log _build_chromium.log
