"""ood_nb_utils: the tested library behind the executable book on post-hoc OOD detection.

Chapters import from here; they never re-implement a scorer. Modules:

- :mod:`ood_nb_utils.config`     where data, weights and the cache live; the profile in force
- :mod:`ood_nb_utils.data`       registry of benchmark sets, checksummed loading, preprocessing
- :mod:`ood_nb_utils.prepare`    download and convert the official originals (needs internet)
- :mod:`ood_nb_utils.models`     DenseNet-BC-100 and its checkpoints
- :mod:`ood_nb_utils.features`   feature extraction with a content-hashed on-disk cache
- :mod:`ood_nb_utils.metrics`    AUROC, AUPR, FPR@95 in both named conventions, bootstrap
- :mod:`ood_nb_utils.scorers`    the scorer kernels (pure functions, higher = more in-distribution)
- :mod:`ood_nb_utils.registry`   method name -> fit + score, used by the CLI and chapters
- :mod:`ood_nb_utils.evaluation` run methods over ID and OOD sets into a results table
- :mod:`ood_nb_utils.scorecard`  the reproduction-scorecard format
- :mod:`ood_nb_utils.costs`      measured test-time cost of each method beyond the forward pass
- :mod:`ood_nb_utils.chapter`    what every chapter does first (threads, seed, style, profile)
- :mod:`ood_nb_utils.plots`      the book's figure style
"""

__version__ = "0.1.0"
