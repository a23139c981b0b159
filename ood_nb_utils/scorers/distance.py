"""Feature-distance scores: Mahalanobis (class means, shared covariance) and KNN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import check_matrix


@dataclass
class MahalanobisFit:
    """Class means (K x D) and the precision of the shared (tied) covariance (D x D)."""

    means: torch.Tensor
    precision: torch.Tensor


def fit_mahalanobis(train_features: torch.Tensor, labels) -> MahalanobisFit:
    """Class-conditional Gaussians with one shared covariance (Lee et al., NeurIPS 2018, Eq. 1).

    Fitted on the penultimate feature without input pre-processing or layer ensembles, as
    OpenOOD's MDS baseline does.
    """
    x = check_matrix("train_features", train_features).double()
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have one entry per feature row ({x.shape[0]}), got {tuple(y.shape)}")
    if (y < 0).any():
        raise ValueError("labels must be class indices >= 0 (the ID train set's labels)")
    classes = int(y.max()) + 1
    means = torch.stack([x[y == c].mean(dim=0) for c in range(classes)])
    centred = x - means[y]
    covariance = centred.T @ centred / x.shape[0]
    return MahalanobisFit(means.float(), torch.linalg.pinv(covariance, hermitian=True).float())


def mahalanobis(features: torch.Tensor, fit: MahalanobisFit) -> torch.Tensor:
    """Minus the smallest class-conditional Mahalanobis distance (squared)."""
    x = check_matrix("features", features, columns=fit.means.shape[1]).double()
    p, mu = fit.precision.double(), fit.means.double()
    xp = x @ p
    dist = (xp * x).sum(1, keepdim=True) - 2 * xp @ mu.T + ((mu @ p) * mu).sum(1).unsqueeze(0)
    return (-dist.min(dim=1).values).float()


def fit_knn(train_features: torch.Tensor) -> torch.Tensor:
    """The memory bank of L2-normalised ID train features (Sun et al., ICML 2022, Sec. 3)."""
    return F.normalize(check_matrix("train_features", train_features), dim=1)


def knn(features: torch.Tensor, bank: torch.Tensor, *, k: int = 50, chunk: int = 2048) -> torch.Tensor:
    """Minus the Euclidean distance to the k-th nearest normalised train feature (k = 50, CIFAR)."""
    z = F.normalize(check_matrix("features", features, columns=bank.shape[1]), dim=1)
    if not 1 <= k <= bank.shape[0]:
        raise ValueError(f"k must be in [1, {bank.shape[0]}] (the bank size), got {k}")
    out = []
    for start in range(0, z.shape[0], chunk):
        sim = z[start:start + chunk] @ bank.T
        kth_sim = sim.topk(k, dim=1).values[:, -1]
        out.append(-torch.sqrt((2.0 - 2.0 * kth_sim).clamp(min=0.0)))
    return torch.cat(out)
