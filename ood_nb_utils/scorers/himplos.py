"""HIMPLoS: classifier-head informed feature masking and prototype-based logit smoothing (Sun et al., 2024).

For a test feature ``h`` (the pooled penultimate activation, N x L) predicted as class ``c`` by
the unmodified logits ``f = W h + b``:

1. feature masking (Eq. 3): keep the ``k`` features whose head weights for class ``c`` are the
   largest (masking percentile ``p = (L - k) / L``, Sec. V-D3), zero the rest;
2. ReAct clipping (Eq. 4): ``min(h_m, lambda)``;
3. ``f_m = W h_m + b`` (Eq. 5);
4. logit smoothing (Eq. 6-8, 10): multiply ``f_m`` by the cosine similarity ``s`` between the raw
   feature ``h`` and the prototype ``v_c`` (the class mean of train features);
5. energy of the result (Eq. 11).

Each step can be switched off for the ablation (Table III); ``enhance_alpha`` replaces step 4 by
the "logit enhancing" alternative ``f_m + alpha * s`` (Eq. 12). Defaults p = 60, lambda = 1.6 are
the released values for the CIFAR DenseNet.
"""

from __future__ import annotations

import torch

from ._checks import check_head, check_matrix, check_percentile
from .activation_shaping import top_k_mask
from .logits import energy, linear_head
from .prototypes import cosine_matrix

# the CIFAR DenseNet settings of the released run_eval.sh (the HIMPLoS README), not given in the paper's text
HIMPLOS_PERCENTILE = 60.0
HIMPLOS_THRESHOLD = 1.6


def class_masks(weight: torch.Tensor, *, percentile: float = HIMPLOS_PERCENTILE) -> torch.Tensor:
    """K x L boolean masks: for each class, its ``k = L - round(L p / 100)`` largest head weights (Eq. 3).

    ``percentile = 0`` keeps every feature (no masking).
    """
    weight = check_matrix("weight", weight)
    return top_k_mask(weight, check_percentile(percentile))


def prototype_cosine(features: torch.Tensor, prototypes: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """``s(h, v_c)`` (Eq. 7): cosine similarity of each feature with its predicted class's prototype."""
    sims = cosine_matrix(features, prototypes)
    predicted = torch.as_tensor(predicted, dtype=torch.long)
    if predicted.shape != (sims.shape[0],):
        raise ValueError(f"predicted must have one class per sample ({sims.shape[0]}), got {tuple(predicted.shape)}")
    return sims.gather(1, predicted.unsqueeze(1)).squeeze(1)


def smooth_logits(logits: torch.Tensor, features: torch.Tensor, prototypes: torch.Tensor,
                  predicted: torch.Tensor | None = None) -> torch.Tensor:
    """Logit smoothing alone (Eq. 8): ``s(h, v_c) * logits``, with ``c`` the argmax of ``logits``
    unless ``predicted`` is given. Applies on top of any method's logits (Table IV's LINe row)."""
    logits = check_matrix("logits", logits)
    predicted = logits.argmax(1) if predicted is None else predicted
    return prototype_cosine(features, prototypes, predicted).unsqueeze(1) * logits


def himplos_logits(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                   prototypes: torch.Tensor | None, *, percentile: float = HIMPLOS_PERCENTILE,
                   threshold: float = HIMPLOS_THRESHOLD, mask: bool = True, clip: bool = True,
                   smooth: bool = True, enhance_alpha: float | None = None) -> torch.Tensor:
    """The modulated logits ``f_hat`` of Eq. 10 (or Eq. 12 with ``enhance_alpha``).

    ``features`` N x L (post-ReLU penultimate), ``weight`` K x L, ``bias`` K, ``prototypes`` K x L
    (class means of ID train features, :func:`~ood_nb_utils.scorers.class_means`; may be None when
    neither smoothing nor enhancing is used). ``mask``/``clip``/``smooth`` switch the three
    components of Table III.
    """
    features = check_matrix("features", features)
    check_head(features, weight, bias)
    use_prototypes = smooth or enhance_alpha is not None
    if use_prototypes and prototypes is None:
        raise ValueError("logit smoothing/enhancing needs the class prototypes")
    if smooth and enhance_alpha is not None:
        raise ValueError("choose logit smoothing (smooth=True) or logit enhancing (enhance_alpha), not both")
    predicted = linear_head(features, weight, bias).argmax(1)
    h = features
    if mask:
        h = h * class_masks(weight, percentile=percentile)[predicted].to(h.dtype)
    if clip:
        h = h.clamp(max=threshold)
    out = linear_head(h, weight, bias)
    if use_prototypes:
        s = prototype_cosine(features, prototypes, predicted).unsqueeze(1)
        out = s * out if smooth else out + enhance_alpha * s
    return out


def himplos(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, prototypes: torch.Tensor | None,
            **options) -> torch.Tensor:
    """HIMPLoS score (Eq. 11): energy of :func:`himplos_logits` (options as there)."""
    return energy(himplos_logits(features, weight, bias, prototypes, **options))
