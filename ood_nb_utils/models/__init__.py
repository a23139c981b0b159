"""Models: the adapter every method reads through (:mod:`.adapter`), the DenseNet-BC-100 (:mod:`.densenet`) and
CIFAR ResNet-56 (:mod:`.resnet`) architectures, each architecture's facts (:mod:`.architectures`) and the registered
checkpoints (:mod:`.checkpoints`).

:func:`load_model` returns a :class:`ModelAdapter` of a registered checkpoint (sha256 verified);
:meth:`ModelAdapter.from_module` wraps any other ``nn.Module``.
"""

from .adapter import Head, ModelAdapter, state_dict_fingerprint
from .architectures import ARCHITECTURES, DEFAULT_ARCH, Architecture, architecture
from .checkpoints import (
    CHECKPOINTS,
    MODEL_OF,
    Checkpoint,
    checkpoint_path,
    load_densenet,
    load_model,
    load_network,
    models_of,
)
from .densenet import ALL_TAPS, HOOK_TAPS, SPATIAL_TAPS, VECTOR_TAPS, DenseNet3
from .resnet import CifarResNet

__all__ = ["ALL_TAPS", "ARCHITECTURES", "Architecture", "CHECKPOINTS", "Checkpoint", "CifarResNet", "DEFAULT_ARCH",
           "DenseNet3", "HOOK_TAPS", "Head", "MODEL_OF", "ModelAdapter", "SPATIAL_TAPS", "VECTOR_TAPS", "architecture",
           "checkpoint_path", "load_densenet", "load_model", "load_network", "models_of", "state_dict_fingerprint"]
