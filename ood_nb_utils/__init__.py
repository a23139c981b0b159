"""ood_nb_utils: the tested library behind the executable book on post-hoc OOD detection.

The public API, for applying the book's methods to any network::

    from ood_nb_utils import ModelAdapter, extract, detectors, metrics

    adapter = ModelAdapter.from_module(net, final="layer4", head="fc", mean=MEAN, std=STD, name="my-resnet")
    train, test = extract(adapter, train_images, train_labels), extract(adapter, test_images)
    knn = detectors.create("knn").fit(train, adapter.head)
    scores = knn.score(test)                      # float64, higher = more in-distribution

- ``ModelAdapter``   any ``nn.Module`` -> named taps, linear head, input normalisation (:mod:`.models.adapter`)
- ``extract``        cached features of uint8 arrays, image sets, Datasets or DataLoaders (:mod:`.features`)
- ``detectors``      every method as a class, ``create(name, **overrides)``, ``available()`` (:mod:`.methods`)
- ``metrics``        AUROC, AUPR, FPR@95 in both named conventions, bootstrap intervals (:mod:`.metrics`)

Inside: :mod:`.config` (locations, profiles), :mod:`.data` (sets, checksums), :mod:`.prepare` (downloads),
:mod:`.models` (DICE checkpoints), :mod:`.cache`, :mod:`.scorers` (pure kernels), :mod:`.registry`,
:mod:`.context` (an explicit run context), :mod:`.tuning`, :mod:`.evaluation`, :mod:`.scorecard`,
:mod:`.claims` (each paper's tables and scorecard), :mod:`.costs`, :mod:`.chapter`, :mod:`.plots`.
"""

from . import methods as detectors
from . import metrics
from .features import Features, extract
from .models.adapter import Head, ModelAdapter

__version__ = "0.2.0"
__all__ = ["Features", "Head", "ModelAdapter", "detectors", "extract", "metrics"]
