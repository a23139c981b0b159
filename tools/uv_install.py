"""``uv pip install`` into this Python's environment, from the package sources pip is configured with.

Run: ``.venv/bin/python tools/uv_install.py -e '.[book,test]'`` (what ``make`` does; uv must be installed in the
same environment). uv installs wheels in parallel: about 20 s for this project on 2 cores, against about 90 s for
pip, which installs one at a time. uv reads no pip configuration, so this passes it pip's index, extra indexes,
find-links and constraint files from ``pip config list`` (configuration files and ``PIP_*`` environment
variables): both installers then see the same wheels and the same caps (in CI, torch 2.14.1 from the machine's own
index). With nothing configured, uv uses PyPI, as pip does.
"""

from __future__ import annotations

import ast
import subprocess
import sys

SOURCE_KEYS = ("index-url", "extra-index-url", "find-links", "constraint")  # uv's options have pip's names


def pip_sources(config_list: str) -> list[str]:
    """uv options for the source settings in ``pip config list`` output (``scope.key='value'`` lines)."""
    options: list[str] = []
    seen: set[tuple[str, str]] = set()
    for line in config_list.splitlines():
        key, sep, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if not sep or name not in SOURCE_KEYS:
            continue
        option = f"--{name}"
        for item in ast.literal_eval(value.strip()).split():
            if (option, item) not in seen:
                seen.add((option, item))
                options += [option, item]
    if any(o in ("--extra-index-url", "--find-links") for o in options[::2]):
        options += ["--index-strategy", "unsafe-best-match"]  # pip's rule: the best version over every source
    return options


def main() -> int:
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    command = [sys.executable, "-m", "uv", "pip", "install", "--python", sys.executable,
               *pip_sources(listed.stdout), *sys.argv[1:]]
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main())
