"""Models: the adapter every method reads through (:mod:`.adapter`), the DenseNet-BC-100 architecture
(:mod:`.densenet`) and the registered checkpoints (:mod:`.checkpoints`).

:func:`load_model` returns a :class:`ModelAdapter` of a registered checkpoint (sha256 verified);
:meth:`ModelAdapter.from_module` wraps any other ``nn.Module``.
"""

from .adapter import Head, ModelAdapter, state_dict_fingerprint
from .checkpoints import CHECKPOINTS, MODEL_OF, Checkpoint, checkpoint_path, load_densenet, load_model
from .densenet import ALL_TAPS, HOOK_TAPS, SPATIAL_TAPS, VECTOR_TAPS, DenseNet3

__all__ = ["ALL_TAPS", "CHECKPOINTS", "Checkpoint", "DenseNet3", "HOOK_TAPS", "Head", "MODEL_OF", "ModelAdapter",
           "SPATIAL_TAPS", "VECTOR_TAPS", "checkpoint_path", "load_densenet", "load_model", "state_dict_fingerprint"]
