"""A Sphinx extension that serves MathJax from the built site itself (listed in ``_config.yml``).

Sphinx loads MathJax from a CDN by default, so a reader offline (and a screenshot taken without network) sees raw
TeX. ``make mathjax`` installs MathJax from the npm registry (``tools/js/package-lock.json``) into
``_build/vendor/mathjax``; this extension copies that folder into the site's ``_static`` and points every page at
it. Without the local copy the pages keep the CDN, and the build says so.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.util import logging

VENDOR = Path("_build") / "vendor"  # relative to the book's root; holds mathjax/tex-mml-chtml.js
ENTRY = "mathjax/tex-mml-chtml.js"

logger = logging.getLogger(__name__)


def use_local_mathjax(app, config) -> None:
    """``config-inited``: serve ``VENDOR/mathjax`` as ``_static/mathjax`` and load MathJax from there."""
    vendor = Path(app.srcdir) / VENDOR
    if not (vendor / ENTRY).exists():
        logger.warning(f"no local MathJax in {vendor / 'mathjax'}: run `make mathjax` (needs npm) for a book whose "
                       "equations render offline; the pages load MathJax from a CDN")
        return
    config.html_static_path = [*config.html_static_path, str(vendor)]
    config.mathjax_path = ENTRY


def setup(app) -> dict:
    app.connect("config-inited", use_local_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
