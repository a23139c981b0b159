"""Any classifier as the book's methods see it: named taps, a linear head and its input normalisation.

:class:`ModelAdapter` is the only thing the package asks of a network. It runs the network once
per batch and returns

- ``final``: the map before global pooling (N x C x H x W, after the last ReLU): NAP's input;
- ``penultimate``: its global average (N x C): the classifier's input, what most methods read;
- ``logits``: the head's output (N x K);
- any extra named ``taps`` (N x C_t x H_t x W_t) for NAP's layer study and Prototype Fusion.

Two ways to build one:

- :meth:`ModelAdapter.from_module` wraps any ``torch.nn.Module`` with forward hooks on the modules
  you name (``final``, ``head``, optional ``taps``), so nothing in your model's code changes;
- :func:`ood_nb_utils.models.load_model` builds the DICE DenseNet-BC-100 adapters, which call the
  network's own ``forward_taps`` (the same numbers; the book's ``byo_model`` page checks it).

The adapter's :attr:`~ModelAdapter.fingerprint` (sha256 of its state dict plus how taps are read)
keys every cached computation, so two adapters share cache entries only when they hold the same
weights and read the same modules.

**Device.** An adapter runs on one :attr:`~ModelAdapter.device` (``device=`` at construction, or
:meth:`ModelAdapter.to`): ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device``; ``None`` picks CUDA when
it is available. Extraction and the gradient passes of ODIN and AdaSCALE send each batch there and bring the
results back to the CPU. The device is not part of the fingerprint; where a computation ran enters the cache key
instead (:func:`device_key_parts`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn

TapRunner = Callable[[torch.Tensor], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class Head:
    """The classifier head ``logits = weight @ h + bias`` (weight K x D, bias K)."""

    weight: torch.Tensor
    bias: torch.Tensor | None

    @property
    def num_classes(self) -> int:
        return int(self.weight.shape[0])


def with_pooled_head(taps: dict[str, torch.Tensor], final: torch.Tensor, head: nn.Module) -> dict[str, torch.Tensor]:
    """Complete a network's ``forward_taps``: the map before global pooling (``final``), its global average
    (``penultimate``) and the head's output on it (``logits``), added to ``taps`` and returned."""
    taps["final"] = final
    taps["penultimate"] = final.mean(dim=(2, 3))
    taps["logits"] = head(taps["penultimate"])
    return taps


def state_dict_fingerprint(module: nn.Module) -> str:
    """sha256 over every parameter and buffer of ``module``: names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return digest.hexdigest()


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device``; ``None`` is CUDA when available, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or a torch.device, got {device!r}") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this torch sees no CUDA GPU "
                         f"(torch {torch.__version__}); use device='cpu'")
    return resolved


def device_key_parts(device: torch.device) -> dict[str, str]:
    """What the device adds to an on-disk cache key: nothing on the CPU (so CPU caches keep their keys), else
    ``{"device": "cuda:<GPU model>"}``. A GPU's kernels round differently from the CPU's, and from another GPU
    model's, in the last digits; so results computed on one are never read as another's."""
    if device.type == "cpu":
        return {}
    if device.type == "cuda":
        return {"device": f"cuda:{torch.cuda.get_device_name(device)}"}
    return {"device": device.type}


def _check_stats(name: str, values) -> tuple[float, ...]:
    values = tuple(float(v) for v in values)
    if len(values) != 3:
        raise ValueError(f"{name} must have one value per RGB channel (3 values), got {len(values)}")
    if name == "std" and any(v <= 0 for v in values):
        raise ValueError(f"std must be positive, got {values}")
    return values


class ModelAdapter:
    """A classifier in eval mode, with named taps, its linear head and its input normalisation.

    Build it with :meth:`from_module` (your own network) or get the book's with
    :func:`ood_nb_utils.models.load_model`. ``forward_taps(x)`` takes *normalised* N x 3 x H x W
    inputs; :meth:`normalize` turns uint8 N x H x W x 3 images into them.
    """

    def __init__(self, net: nn.Module, *, head: nn.Linear, runner: TapRunner, spatial_taps: tuple[str, ...],
                 mean, std, name: str, source: Mapping, device: str | torch.device | None = "cpu") -> None:
        if not isinstance(head, nn.Linear):
            raise TypeError(f"head must be the nn.Linear classifier, got {type(head).__name__}")
        self.net = net.eval()
        self.head_module = head
        self._runner = runner
        self.spatial_taps = tuple(spatial_taps)
        self.mean = _check_stats("mean", mean)
        self.std = _check_stats("std", std)
        self.name = name
        self.source = dict(source)
        self.device = torch.device("cpu")
        self.to(device)

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_module(cls, net: nn.Module, *, final: str, head: str, taps: Mapping[str, str] | None = None,
                    mean, std, name: str, device: str | torch.device | None = None) -> ModelAdapter:
        """Wrap any ``nn.Module`` through forward hooks.

        ``final`` names the module whose output is the map before global pooling (after the last
        ReLU), ``head`` the ``nn.Linear`` classifier, ``taps`` optional extra ``{tap name: module
        name}`` (e.g. ``{"layer3": "layer3"}``); module names are those of ``net.named_modules()``.
        ``mean``/``std`` are the per-channel input normalisation the network was trained with (on 0..1 pixels).
        ``device``: where the network runs (module docstring); ``None`` picks CUDA when available.
        The penultimate feature is the global average of ``final``'s output, so the head must read
        exactly that (as in ResNets and DenseNets: global average pooling, flatten, linear).
        """
        modules = dict(net.named_modules())
        wanted = {"final": final, "head": head, **dict(taps or {})}
        for tap, module_name in wanted.items():
            if module_name not in modules:
                close = [n for n in modules if n and module_name.split(".")[-1] in n][:5]
                raise KeyError(f"{tap}: no module named {module_name!r} in {type(net).__name__}"
                               + (f"; did you mean one of {close}?" if close else "; see net.named_modules()"))
        reserved = {"final", "penultimate", "logits"} & set(taps or {})
        if reserved:
            raise ValueError(f"tap names {sorted(reserved)} are reserved; name the extra taps differently")
        head_module = modules[head]
        if not isinstance(head_module, nn.Linear):
            raise TypeError(f"head {head!r} is a {type(head_module).__name__}; it must be the nn.Linear classifier")
        extra = dict(taps or {})

        def runner(x: torch.Tensor) -> dict[str, torch.Tensor]:
            captured: dict[str, torch.Tensor] = {}
            handles = [modules[m].register_forward_hook(_capture(captured, t)) for t, m in
                       [("final", final), *extra.items()]]
            try:
                logits = net(x)
            finally:
                for h in handles:
                    h.remove()
            fmap = captured["final"]
            if fmap.ndim != 4:
                raise ValueError(f"final module {final!r} gave a {fmap.ndim}-D output; it must be the N x C x H x W "
                                 "map before global pooling")
            out = {t: captured[t] for t in extra}
            out["final"] = fmap
            out["penultimate"] = fmap.mean(dim=(2, 3))
            out["logits"] = logits
            return out

        source = {"kind": "hooks", "final": final, "head": head, "taps": extra}
        return cls(net, head=head_module, runner=runner, spatial_taps=(*extra, "final"), mean=mean, std=std,
                   name=name, source=source, device=device)

    def to(self, device: str | torch.device | None) -> ModelAdapter:
        """Move the network to ``device`` (``None``: CUDA when available) and return this adapter."""
        self.device = resolve_device(device)
        self.net.to(self.device)
        return self

    @property
    def cache_key_parts(self) -> dict[str, str]:
        """What this adapter's device adds to a cache key (:func:`device_key_parts`)."""
        return device_key_parts(self.device)

    # --- what the methods read ------------------------------------------------------------------
    def forward_taps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every tap of normalised inputs ``x`` (see the module docstring)."""
        return self._runner(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The logits of normalised inputs (differentiable: ODIN and AdaSCALE take gradients through it)."""
        return self.net(x)

    @contextlib.contextmanager
    def input_gradients_only(self) -> Iterator[None]:
        """Within this block the network's parameters do not require gradients (restored after): the gradient
        passes of ODIN and AdaSCALE need the gradient with respect to the input only, and autograd then skips
        every weight gradient. The values are unchanged (tests/unit/test_odin.py)."""
        params = [p for p in self.net.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def normalize(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 N x H x W x 3 -> float N x 3 x H x W in [0, 1], normalised with this network's mean/std, on
        :attr:`device`."""
        from ..data import normalize

        return normalize(torch.as_tensor(images).to(self.device), mean=self.mean, std=self.std)

    @cached_property
    def head(self) -> Head:
        """The classifier head (detached copies of weight and bias, on the CPU, where detectors score)."""
        weight, bias = self.head_module.weight, self.head_module.bias
        return Head(weight.detach().cpu().clone(), None if bias is None else bias.detach().cpu().clone())

    @property
    def weight(self) -> torch.Tensor:
        return self.head.weight

    @property
    def bias(self) -> torch.Tensor | None:
        return self.head.bias

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    @property
    def taps(self) -> tuple[str, ...]:
        """Every array name a feature extraction stores per tap: spatial taps, penultimate, logits."""
        return (*self.spatial_taps, "penultimate", "logits")

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the state dict and of how taps, head and normalisation are read (the cache key)."""
        what = {"weights": state_dict_fingerprint(self.net), "source": self.source, "mean": self.mean,
                "std": self.std, "spatial_taps": self.spatial_taps}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()

    def __repr__(self) -> str:
        return (f"ModelAdapter({self.name!r}, taps={list(self.spatial_taps)}, classes={self.num_classes}, "
                f"device={self.device}, fingerprint={self.fingerprint[:12]})")


def _capture(store: dict[str, torch.Tensor], tap: str):
    def hook(module, inputs, output):
        store[tap] = output

    return hook
