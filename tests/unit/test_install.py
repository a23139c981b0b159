"""tools/uv_install.py: uv gets exactly the package sources pip is configured with."""

from __future__ import annotations

import importlib.util

from ood_nb_utils.config import REPO_ROOT

_spec = importlib.util.spec_from_file_location("uv_install", REPO_ROOT / "tools" / "uv_install.py")
uv_install = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(uv_install)


def test_pip_sources_become_uv_options_once_each_with_pips_best_match_rule():
    listed = "\n".join([
        ":env:.default-timeout='180'",
        ":env:.find-links='/opt/wheels'",
        "global.cert='/etc/ssl/certs/ca-certificates.crt'",
        "global.constraint='/etc/xdg/pip/constraints.txt'",
        "global.extra-index-url='file:///opt/a/simple file:///opt/b/simple'",
        "global.find-links='/opt/wheels'",
        "user.index-url='https://mirror.example/simple'",
    ])
    assert uv_install.pip_sources(listed) == [
        "--find-links", "/opt/wheels", "--constraint", "/etc/xdg/pip/constraints.txt",
        "--extra-index-url", "file:///opt/a/simple", "--extra-index-url", "file:///opt/b/simple",
        "--index-url", "https://mirror.example/simple", "--index-strategy", "unsafe-best-match"]


def test_nothing_configured_gives_no_options_and_a_lone_index_keeps_uvs_default_rule():
    assert uv_install.pip_sources("") == []
    assert uv_install.pip_sources("global.timeout='60'") == []
    assert uv_install.pip_sources("global.index-url='https://mirror.example/simple'") == [
        "--index-url", "https://mirror.example/simple"]
