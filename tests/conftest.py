"""Shared fixtures and the three tiers of the suite, by audience:

- ``tests/unit`` (marker ``unit``): kernels, detectors, metrics, data handling and the package's layout, on small
  synthetic inputs; `make test-fast` runs them alone, in seconds;
- ``tests/integration`` (``integration``): the real checkpoints and data (golden scores, backends, the CLI);
  they skip, with the reason, when the data directory lacks them; CI runs with ../shared beside the checkout,
  so there they all run;
- ``tests/book`` (``book``): the book's sources, and after `make book` its pages in Chromium (``pages``) and a
  chapter in JupyterLab (``lab``), which `make pagetest` and `make labtest` run.

The activation cache of a test session is its own: a fresh temporary folder, so ``make test`` costs the same on
every machine and never reads what a book build left behind. ``OOD_NB_TEST_CACHE_DIR`` names a folder to keep it
in between runs instead (a developer's shortcut; it must not be the book's cache).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
import torch

from ood_nb_utils.config import BOOK_CACHE_DIR, REPO_ROOT
from ood_nb_utils.data import is_available
from ood_nb_utils.models import CHECKPOINTS, checkpoint_path

# What a reader's processes see: the environment before the suite changed it. A JupyterLab or page server that a
# book test starts gets this, so its kernels extract and read the book's cache as a reader's would.
READER_ENV = dict(os.environ)

torch.set_num_threads(2)
# Tests compare with eager references (the golden scores to 1e-6), so extraction runs eagerly here whatever the
# machine's default; tests/integration/test_backends.py names the other backends explicitly and checks them.
os.environ["OOD_NB_BACKEND"] = "eager"

TIERS = ("unit", "integration", "book")


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test with its tier, from the folder it lives in."""
    for item in items:
        for tier in TIERS:
            if f"tests{os.sep}{tier}{os.sep}" in str(item.path):
                item.add_marker(getattr(pytest.mark, tier))


def reader_env(**extra: str) -> dict[str, str]:
    """:data:`READER_ENV` with ``extra`` variables: the environment for a server a book test starts."""
    return {**READER_ENV, **extra}


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory):
    """Point the activation cache at this session's own folder for every test."""
    kept = os.environ.get("OOD_NB_TEST_CACHE_DIR")
    folder = Path(kept) if kept else tmp_path_factory.mktemp("activation_cache")
    if kept and folder.resolve() == BOOK_CACHE_DIR.resolve():
        raise pytest.UsageError("OOD_NB_TEST_CACHE_DIR must not be the book's cache (.cache/ood_nb)")
    before = os.environ.get("OOD_NB_CACHE_DIR")
    os.environ["OOD_NB_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("OOD_NB_CACHE_DIR", None)
    else:
        os.environ["OOD_NB_CACHE_DIR"] = before


def have_weights(name: str) -> bool:
    try:
        checkpoint_path(name)
    except (FileNotFoundError, ValueError):
        return False
    return True


def requires(*datasets: str, model: str | None = None):
    """Skip (naming what is missing) unless the datasets and checkpoint are present."""
    missing = [d for d in datasets if not is_available(d)]
    if model is not None and not have_weights(model):
        missing.append(CHECKPOINTS[model].filename)
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} in the data/weights folders")


# --- headless Chromium, for the rendered-book (make pagetest) and JupyterLab (make labtest) checks -------------
SCREENSHOTS = REPO_ROOT / "_build" / "screenshots"
PAPERS = ("NAP", "AdaSCALE", "HIMPLoS", "Prototype Fusion")  # what the summary page and chapter 6 must name
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1800",
                  # no network but this machine: every host name but the local server's fails to resolve, so a page
                  # that needs the internet (a CDN's MathJax, a web font) shows it
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost")


@contextlib.contextmanager
def serve_folder(folder: Path):
    """A local HTTP server for ``folder`` in a thread; yields its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # no request log in the test output
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's chromium through chromedriver (Selenium); screenshots go to ``_build/screenshots``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: `make chromium` installs Debian's chromium and chromium-driver")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
