"""What the cache stores per image, computed once: features (:mod:`.features`), the forward paths that compute
them (:mod:`.backends`: eager, OpenVINO, ``torch.compile``), the gradient passes of AdaSCALE (:mod:`.perturbation`),
and the rules the three share (:mod:`.stored`)."""

from .backends import BACKENDS, backend_for, default_backend
from .features import BATCH_SIZE, Features, activation_maps, batches, cached_per_image, extract, run_network, throughput
from .perturbation import by_rank, cached_shift_statistics, gradient_features, perturbed_features
from .stored import FEATURE_VERSION, reduce_taps

__all__ = ["BACKENDS", "BATCH_SIZE", "FEATURE_VERSION", "Features", "activation_maps", "backend_for", "batches",
           "by_rank", "cached_per_image", "cached_shift_statistics", "default_backend", "extract",
           "gradient_features", "perturbed_features", "reduce_taps", "run_network", "throughput"]
