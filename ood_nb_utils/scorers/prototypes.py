"""Class prototypes and cosine similarity: Prototype Fusion (multi-layer) and HIMPLoS' smoothing factor.

Both methods compare a test feature with class means of ID train features by cosine similarity;
they differ in what they average:

- HIMPLoS (Eq. 6) averages the raw penultimate features of each class
  (:func:`class_means` with ``normalize=False``);
- Prototype Fusion L2-normalises each global-average-pooled feature first, averages per class and
  re-normalises (:func:`fit_prototypes`), at every tapped layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import check_matrix


def class_means(features: torch.Tensor, labels, *, num_classes: int | None = None,
                normalize: bool = False) -> torch.Tensor:
    """K x D class means of ``features`` by label (``normalize``: L2-normalise each row first).

    Every class 0..K-1 must have at least one sample: a prototype cannot be estimated from none.
    """
    x = check_matrix("features", features).double()
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have one entry per feature row ({x.shape[0]}), got {tuple(y.shape)}")
    if len(y) == 0:
        raise ValueError("no samples to compute class means from")
    if (y < 0).any():
        raise ValueError("labels must be class indices >= 0 (the ID calibration set's labels)")
    k = int(y.max()) + 1 if num_classes is None else int(num_classes)
    counts = torch.bincount(y, minlength=k)
    if len(counts) > k:
        raise ValueError(f"labels go up to {len(counts) - 1} but num_classes is {k}")
    empty = torch.nonzero(counts == 0).flatten()
    if len(empty):
        raise ValueError(f"classes {empty.tolist()[:10]} have no calibration samples; use a larger calibration set")
    if normalize:
        x = F.normalize(x, dim=1)
    sums = torch.zeros(k, x.shape[1], dtype=x.dtype).index_add_(0, y, x)
    return (sums / counts.unsqueeze(1)).float()


def cosine_matrix(features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """N x K cosine similarities between each feature and each prototype (zero vectors give 0)."""
    x = check_matrix("features", features)
    p = check_matrix("prototypes", prototypes, columns=x.shape[1])
    return F.normalize(x, dim=1) @ F.normalize(p, dim=1).T.to(x.dtype)


def fit_prototypes(layers: Mapping[str, torch.Tensor], labels, *,
                   num_classes: int | None = None) -> dict[str, torch.Tensor]:
    """Per-layer class prototypes of Prototype Fusion (Fig. 1): the class mean of the L2-normalised
    pooled features of the calibration images, re-normalised to unit length."""
    if not layers:
        raise ValueError("give at least one layer")
    return {name: F.normalize(class_means(x, labels, num_classes=num_classes, normalize=True), dim=1)
            for name, x in layers.items()}


def layer_similarities(layers: Mapping[str, torch.Tensor],
                       prototypes: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per layer, the N x K cosine similarity to every class prototype (the heatmaps of Fig. 1)."""
    missing = set(layers) - set(prototypes)
    if missing:
        raise KeyError(f"no prototypes for layer(s) {sorted(missing)}; fitted: {sorted(prototypes)}")
    return {name: cosine_matrix(x, prototypes[name]) for name, x in layers.items()}


def _layer_weights(names: Sequence[str], weights: Mapping[str, float] | Sequence[float] | None) -> torch.Tensor:
    if weights is None:
        w = torch.ones(len(names), dtype=torch.float64)
    elif isinstance(weights, Mapping):
        unknown = set(weights) - set(names)
        if unknown or set(names) - set(weights):
            raise KeyError(f"weights name layers {sorted(weights)}, the features have {list(names)}")
        w = torch.tensor([float(weights[n]) for n in names], dtype=torch.float64)
    else:
        w = torch.as_tensor(list(weights), dtype=torch.float64)
        if w.shape != (len(names),):
            raise ValueError(f"{len(w)} weights for {len(names)} layers {list(names)}")
    if not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"layer weights must be finite, >= 0 and not all 0, got {w.tolist()}")
    return w / w.sum()


def layer_maxima(layers: Mapping[str, torch.Tensor], prototypes: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """N x L: per layer (in the order of ``layers``), each sample's maximum cosine over the class prototypes."""
    return torch.stack([s.amax(dim=1) for s in layer_similarities(layers, prototypes).values()], dim=1)


def fuse_maxima(maxima: torch.Tensor, weights: Sequence[float] | None = None) -> torch.Tensor:
    """Weighted mean over the columns of :func:`layer_maxima` (uniform when ``weights`` is None)."""
    w = _layer_weights([str(i) for i in range(maxima.shape[1])], weights)
    return (maxima.double() @ w).float()


def prototype_fusion(layers: Mapping[str, torch.Tensor], prototypes: Mapping[str, torch.Tensor], *,
                     weights: Mapping[str, float] | Sequence[float] | None = None) -> torch.Tensor:
    """ID affinity of Prototype Fusion (Gul et al., Fig. 1): per layer the maximum cosine similarity
    over the class prototypes, averaged over layers with ``weights`` (uniform by default, normalised
    to sum 1). Higher is more in-distribution; the paper's OOD score is ``1 - affinity``.

    ``layers`` maps a layer name to its N x D_l global-average-pooled features, in the order the
    weights are given (or name the layers in a mapping).
    """
    return fuse_layer_maxima(layer_maxima(layers, prototypes), list(layers), weights)


def fuse_layer_maxima(maxima: torch.Tensor, names: Sequence[str],
                      weights: Mapping[str, float] | Sequence[float] | None = None) -> torch.Tensor:
    """:func:`prototype_fusion` from its :func:`layer_maxima` (columns in the order of ``names``): the mean of the
    columns with ``weights`` (uniform by default, normalised to sum 1)."""
    return fuse_maxima(maxima, _layer_weights(list(names), weights).tolist())
