"""A chapter rerun in JupyterLab as a reader would: `make labtest` (after `make book`; marked ``lab``).

Starts JupyterLab from the project's .venv on a free port with a token, opens ``notebooks/07_summary.py`` (a
jupytext chapter) in headless Chromium, checks that it opens as a notebook (the viewer setting `make lab` installs
from ``.binder/overrides.json``), runs every cell from the Run menu, and asserts that every code cell ran, that the
outputs include the chapter's table and figure, and that no output holds a traceback. Screenshot:
``_build/screenshots/lab_07_summary.png``; what the test saw: ``_build/screenshots/lab_07_summary.json``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ..conftest import PAPERS, SCREENSHOTS, reader_env

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "notebooks/07_summary.py"  # the short chapter: it reads the scorecards the book build wrote
OVERRIDES = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token) of a JupyterLab serving a copy of the chapter; stopped afterwards."""
    if not OVERRIDES.exists() or json.loads(OVERRIDES.read_text()) != json.loads(
            (ROOT / ".binder" / "overrides.json").read_text()):
        pytest.fail(f"{OVERRIDES} is missing or differs from .binder/overrides.json: run `make lab` or `make labtest`")
    if not (ROOT / "_build" / "scorecards").is_dir():
        pytest.fail("no scorecards in _build/scorecards: run `make book` first")
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    shutil.copy(ROOT / CHAPTER, root / CHAPTER)  # a copy: nothing the lab does can touch the repository
    port, token = free_port(), secrets.token_hex(16)
    log = (root / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
         f"--LabApp.user_settings_dir={root / 'user-settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}"],
        # the reader's environment (not the suite's eager backend and temporary cache), so the chapter's kernel
        # reads the book's activation cache as it would for a reader
        stdout=log, stderr=subprocess.STDOUT, env=reader_env(OOD_NB_SCORECARD_DIR=str(ROOT / "_build" / "scorecards")))
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(root / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail(f"JupyterLab did not answer on {base} within 60 s")
    yield base, token
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def poll(browser, script: str, timeout: float):
    """The first truthy value of a JavaScript expression within ``timeout`` seconds, else None."""
    end = time.time() + timeout
    while time.time() < end:
        value = browser.execute_script(f"return {script}")
        if value:
            return value
        time.sleep(0.5)
    return None


def wait_for(browser, script: str, timeout: float, what: str):
    """Poll a JavaScript expression until it returns something truthy; fail with a screenshot otherwise."""
    value = poll(browser, script, timeout)
    if value:
        return value
    name = SCREENSHOTS / "lab_timeout.png"
    browser.save_screenshot(str(name))
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (screenshot {name})")


def click_menu(browser, menu: str, item: str) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.XPATH, f"//div[contains(@class, 'lm-MenuBar-itemLabel') and text()='{menu}']").click()
    browser.find_element(By.XPATH, f"//div[contains(@class, 'lm-Menu-itemLabel') and text()='{item}']").click()


def test_a_chapter_opens_as_a_notebook_and_runs_in_jupyterlab(lab, browser):
    base, token = lab
    start = time.time()
    browser.get(f"{base}/lab/tree/{CHAPTER}?token={token}")
    wait_for(browser, "document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length", 90,
             "the chapter to open as a notebook (a .jp-NotebookPanel with cells)")
    assert not browser.execute_script("return document.querySelector('.jp-FileEditor .cm-content') !== null && "
                                      "document.querySelector('.jp-NotebookPanel') === null"), "opened as text"
    wait_for(browser, "document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]') !== null || "
                      "document.body.innerText.includes('Python 3 (ipykernel) | Idle')", 90, "an idle kernel")
    prompts = """Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt'))
                 .map(p => p.textContent.trim())"""
    # JupyterLab can show an idle kernel before the notebook's run commands are enabled, and a click on a disabled
    # menu item does nothing (seen once in CI on a slow machine): click again until some cell is queued or runs
    started = f"{prompts}.some(t => /^\\[(\\*|\\d+)\\]:$/.test(t))"
    for _ in range(8):  # a working click queues every cell at once, so 5 s without a queued cell means it did nothing
        click_menu(browser, "Run", "Run All Cells")
        if poll(browser, started, 5):
            break
    done = f"(() => {{ const p = {prompts}; return p.length > 0 && p.every(t => /^\\[\\d+\\]:$/.test(t)) }})()"
    wait_for(browser, done, 240, "every code cell to finish (an execution count in every prompt)")
    seen = browser.execute_script(f"""
        const outs = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output'));
        return {{prompts: {prompts},
                 outputs: outs.length,
                 images: document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output img').length,
                 tables: document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output table').length,
                 errors: outs.map(o => o.innerText).filter(t => /Traceback|Error:/.test(t)).map(t => t.slice(0, 400)),
                 papers: {json.dumps(PAPERS)}.filter(p => outs.some(o => o.innerText.includes(p))),
                 text: outs.map(o => o.innerText).join('\\n').slice(0, 3000)}};""")
    shot = SCREENSHOTS / "lab_07_summary.png"
    browser.execute_script("document.querySelector('.jp-NotebookPanel .jp-OutputArea-output img').scrollIntoView()")
    browser.save_screenshot(str(shot))
    seen.update(seconds=round(time.time() - start, 1), screenshot=str(shot.relative_to(ROOT)))
    (SCREENSHOTS / "lab_07_summary.json").write_text(json.dumps(seen, indent=1))
    print(json.dumps({k: v for k, v in seen.items() if k != "text"}))
    assert not seen["errors"], seen["errors"]
    assert seen["images"] >= 1, "the verdict figure is missing"
    assert seen["tables"] >= 3, "the chapter's tables (scorecards, verdict counts, every claim) are missing"
    assert seen["papers"] == list(PAPERS), f"the outputs name only {seen['papers']} of the four papers"
    assert len(seen["prompts"]) >= 4
