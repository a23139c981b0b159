"""Sphinx extensions of the book build (named in ``_config.yml``): each page's notebook for download and Colab
(:mod:`.notebooks`), re-execution after a package change (:mod:`.rebuild`), per-cell timings (:mod:`.timing`)."""
