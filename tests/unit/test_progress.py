"""Progress bars: on for a reader running a chapter, off in the book's build (``OOD_NB_PROGRESS=0``, set by
``make book``), so that no rendered page carries one."""

from __future__ import annotations

import numpy as np

from ood_nb_utils import extract
from ood_nb_utils.config import progress_wanted

from .nets import tiny_adapter, tiny_net


def test_progress_follows_the_request_unless_the_build_turns_it_off(monkeypatch):
    monkeypatch.delenv("OOD_NB_PROGRESS", raising=False)
    assert progress_wanted(True) and not progress_wanted(False)
    monkeypatch.setenv("OOD_NB_PROGRESS", "0")
    assert not progress_wanted(True) and not progress_wanted(False)


def test_an_extraction_draws_no_bar_when_the_build_turns_them_off(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    for setting, drawn in [("1", True), ("0", False)]:
        monkeypatch.setenv("OOD_NB_PROGRESS", setting)
        extract(tiny_adapter(tiny_net()), images, cache=False, progress=True)
        assert ("img" in capsys.readouterr().err) is drawn, setting
