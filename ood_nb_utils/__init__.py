"""ood_nb_utils: the tested library behind the executable book on post-hoc OOD detection.

The public API, for applying the book's methods to any network::

    from ood_nb_utils import HeldOut, ModelAdapter, extract, detectors, metrics

    adapter = ModelAdapter.from_module(net, final="layer4", head="fc", mean=MEAN, std=STD, name="my-resnet")
    train, test = extract(adapter, train_images, train_labels), extract(adapter, test_images)
    knn = detectors.create("knn").fit(train, adapter.head)
    scores = knn.score(test)                      # float64, higher = more in-distribution
    nap_e = detectors.NapE().fit(train, adapter.head, HeldOut(adapter, val_images, val_labels))  # w searched

- ``ModelAdapter``   any ``nn.Module`` -> named taps, linear head, input normalisation (:mod:`.models`)
- ``extract``        cached features of uint8 arrays, image sets, Datasets or DataLoaders (:mod:`.extraction`)
- ``detectors``      every method as a class, ``create(name, **overrides)``, ``available()`` (:mod:`.detectors`)
- ``HeldOut``        held-out ID images for the detectors that search or calibrate on them
- ``metrics``        AUROC, AUPR, FPR@95 in both named conventions, bootstrap intervals (:mod:`.metrics`)

The package by concern, each layer importing only from the ones above it (``tests/unit/test_layout.py``):

- :mod:`.config`, :mod:`.cache`, :mod:`.metrics`  locations and profiles; the on-disk cache; the metrics
- :mod:`.data`         the registry of sets and their checksums, images, splits, corruptions
- :mod:`.models`       the adapter, the DenseNet architecture, the registered checkpoints
- :mod:`.prepare`      downloading and converting the originals
- :mod:`.scorers`      one pure kernel per method (tensors in, tensors out)
- :mod:`.extraction`   what the cache stores per image: features, forward paths, the gradient passes
- :mod:`.detectors`    the detector classes, their registry, searches and held-out images
- :mod:`.runs`         the book's run context: which network, profile and images a chapter uses
- :mod:`.evaluation`   the engine that fits and scores detectors in a run context
- :mod:`.lectures`     what the chapters show: chapter helpers, plots, scorecards, each paper's claims,
  and the Sphinx extensions of the build
"""

from . import detectors, metrics
from .detectors.heldout import HeldOut
from .extraction.features import Features, extract
from .models.adapter import Head, ModelAdapter

__version__ = "0.3.0"
__all__ = ["Features", "Head", "HeldOut", "ModelAdapter", "detectors", "evaluate_model", "extract", "metrics"]


def __getattr__(name: str):
    # evaluate_model brings pandas and the run context: imported on first use, not with the package
    if name == "evaluate_model":
        from .evaluation import evaluate_model

        return evaluate_model
    raise AttributeError(f"module 'ood_nb_utils' has no attribute {name!r}")
