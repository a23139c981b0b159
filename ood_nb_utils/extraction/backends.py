"""Forward paths for feature extraction: the same reduced taps from eager PyTorch, ``torch.compile`` or OpenVINO.

:func:`~ood_nb_utils.extraction.features.extract` stores, per image, the logits, the penultimate feature and each
spatial tap's channel mean and max (:func:`~ood_nb_utils.extraction.stored.reduce_taps`). A backend computes
exactly those arrays for a batch of normalised images:

========== ============================================================== ==================================
name       what runs                                                      chosen by default
========== ============================================================== ==================================
``eager``  the adapter's PyTorch forward (the reference), on its device   off the CPU, or without OpenVINO
``openvino`` the same graph converted by OpenVINO, f32 inference precision on the CPU, when ``openvino`` is
           (CPU only)                                                     importable
``compile`` ``torch.compile`` of the same graph, on the adapter's device only when asked for
========== ============================================================== ==================================

Every backend takes inputs of any spatial size: OpenVINO converts one graph per input shape, eager and
``compile`` (with dynamic shapes) take what they are given. Whatever the backend returns comes back to the CPU.
A backend that cannot be built, or that fails while it runs, hands over to eager with one warning
(:func:`backend_for`).

``OOD_NB_BACKEND`` (``eager``, ``openvino`` or ``compile``) overrides the default. Every backend must agree
with eager within :data:`TOLERANCE` on every stored array (``tests/integration/test_backends.py`` checks it on real
images); bf16 is not offered because it moves logits by up to 0.35 on this network.

**Cache rule.** A non-eager backend adds its :attr:`Backend.key` (``openvino-f32``, ``compile``) to the
on-disk cache key, and eager adds nothing, so caches filled before backends existed keep their keys: the
stored numbers differ between backends in the last digits, so a cache filled by one backend is never read as
another's. The gradient passes (ODIN, AdaSCALE's perturbation) compute their input gradients eagerly (a
backward pass needs PyTorch) and run their forward of the perturbed images through the backend, so their keys
follow the same rule (:func:`key_parts`). The adapter's device adds to the key the same way: nothing on the CPU,
the GPU model elsewhere (:func:`~ood_nb_utils.models.adapter.device_key_parts`).

**Converted graph.** Converting the network to OpenVINO costs seconds per network, input shape and process, so
each converted graph is saved under ``<cache>/openvino/`` (:func:`converted_model_path`) and later processes read
it, with the same numbers (``tests/integration/test_backends.py``).

**Streams.** OpenVINO runs one stream per torch thread, one thread each, and ``run`` keeps small requests
(:data:`MICRO_BATCH` images) in flight on all of them, so that each stream's activations stay in its core's cache
(``benchmarks/throughput.py`` measures the gain). How a batch is split does not change a single output bit
(tested), so it is not in the cache key.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..cache import content_key, entry_path
from .stored import FEATURE_VERSION, reduce_taps, stored_names

if TYPE_CHECKING:
    from ..models.adapter import ModelAdapter

TOLERANCE = 1e-4  # max |backend - eager| on every stored array (absolute)
MICRO_BATCH = 4  # images per OpenVINO request (module docstring, "Streams"): its activations stay in a core's L2
OPENVINO_BATCH = 256  # images per run() call during extraction: fewer pipeline drains
BACKENDS = ("eager", "openvino", "compile")
_SAVE_GRAPHS = contextvars.ContextVar("save_converted_graphs", default=True)


@contextlib.contextmanager
def converted_graphs_not_saved() -> Iterator[None]:
    """Within this block a converted OpenVINO graph is kept in memory only (``extract(..., cache=False)``)."""
    token = _SAVE_GRAPHS.set(False)
    try:
        yield
    finally:
        _SAVE_GRAPHS.reset(token)


def openvino_available() -> bool:
    """Whether the ``openvino`` package can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def default_backend(device: torch.device | None = None) -> str:
    """``OOD_NB_BACKEND`` when set, else ``openvino`` when installed and ``device`` is the CPU (or not given),
    else ``eager``."""
    name = os.environ.get("OOD_NB_BACKEND")
    if name:
        if name not in BACKENDS:
            raise ValueError(f"OOD_NB_BACKEND={name!r} is not a backend; choose one of {BACKENDS}")
        if name == "openvino" and not openvino_available():
            raise ValueError("OOD_NB_BACKEND=openvino but the openvino package is not installed "
                             "(pip install openvino), or set OOD_NB_BACKEND=eager")
        return name
    on_cpu = device is None or torch.device(device).type == "cpu"
    return "openvino" if on_cpu and openvino_available() else "eager"


class ReducedTaps(nn.Module):
    """The adapter's forward followed by the reduction the cache stores, as one module with tensor outputs in
    :attr:`names` order (what ``torch.compile`` and OpenVINO take)."""

    def __init__(self, adapter: ModelAdapter) -> None:
        super().__init__()
        self.adapter = adapter
        self.net = adapter.net  # registered, so .eval() and parameters are the network's
        self.names = stored_names(adapter)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = reduce_taps(self.adapter, self.adapter.forward_taps(x))
        return tuple(out[n] for n in self.names)


@dataclass
class Backend:
    """A forward path: ``run(batch)`` -> the stored arrays of a normalised batch (float32 tensors)."""

    name: str
    key: str
    run: Callable[[torch.Tensor], dict[str, torch.Tensor]]
    batch_size: int = 32  # images per run() call that extraction sends


def _on_cpu(value: torch.Tensor) -> torch.Tensor:
    return value.float().cpu()


def _eager(adapter: ModelAdapter) -> Backend:
    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.inference_mode():
            taps = reduce_taps(adapter, adapter.forward_taps(x.to(adapter.device)))
            return {k: _on_cpu(v) for k, v in taps.items()}

    return Backend("eager", "eager", run)


def _compiled(adapter: ModelAdapter) -> Backend:
    module = ReducedTaps(adapter).eval()
    compiled = torch.compile(module, dynamic=True)

    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return {n: _on_cpu(v) for n, v in zip(module.names, compiled(x.to(adapter.device)), strict=True)}

    return Backend("compile", "compile", run)


def converted_model_path(adapter: ModelAdapter, names: list[str], image_shape: tuple[int, int, int]) -> Path:
    """Where :func:`_openvino` keeps ``adapter``'s converted graph (OpenVINO IR, ``.xml`` + ``.bin``) for one input
    shape in the activation cache folder. Keyed like the features it computes (adapter fingerprint, stored arrays,
    feature version) plus the image shape and the OpenVINO and torch versions that converted it."""
    import openvino as ov

    key = content_key({"fingerprint": adapter.fingerprint, "names": names, "image_shape": list(image_shape),
                       "feature_version": FEATURE_VERSION, "openvino": ov.__version__, "torch": torch.__version__})
    return entry_path("openvino", key).with_suffix(".xml")


def _convert(module: ReducedTaps, image_shape: tuple[int, int, int], path: Path | None):
    """``module`` converted to OpenVINO, then saved to ``path`` (unless None) for later processes:
    the weights file first, the graph file last, each renamed into place, so a reader that finds the graph
    finds its weights complete."""
    import openvino as ov

    example = torch.zeros(2, *image_shape)
    with torch.no_grad(), warnings.catch_warnings():
        # OpenVINO traces with torch.jit, which torch 2.14 marks deprecated: not the reader's concern
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
        model = ov.convert_model(module, example_input=example, input=[ov.PartialShape([-1, *image_shape])])
    if path is None:
        return model
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".tmp-ir-") as tmp:
        ov.save_model(model, Path(tmp) / "model.xml", compress_to_fp16=False)
        # OpenVINO reads the weights from the graph file's stem with .bin: move them first, the graph last
        os.replace(Path(tmp) / "model.bin", path.with_suffix(".bin"))
        os.replace(Path(tmp) / "model.xml", path)
    return model


def _openvino_pipeline(adapter: ModelAdapter, module: ReducedTaps, image_shape: tuple[int, int, int]):
    """A compiled OpenVINO graph of ``module`` for inputs of ``image_shape`` (read from the converted-graph cache,
    or converted and saved), with its queue of asynchronous requests."""
    import openvino as ov

    core = ov.Core()
    path = converted_model_path(adapter, module.names, image_shape)
    model = None
    if path.exists():
        try:
            model = core.read_model(path)
        except RuntimeError as err:  # unreadable (e.g. its weights file was deleted): convert and save again
            warnings.warn(f"could not read the saved OpenVINO graph {path} ({err}); converting again", stacklevel=2)
    if model is None:
        model = _convert(module, image_shape, path if _SAVE_GRAPHS.get() else None)
    streams = max(1, torch.get_num_threads())
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32", "NUM_STREAMS": streams,
                                                 "INFERENCE_NUM_THREADS": streams})
    pipeline = ov.AsyncInferQueue(compiled, 2 * streams)
    pipeline.set_callback(_keep_outputs)
    return pipeline


def _openvino(adapter: ModelAdapter) -> Backend:
    """OpenVINO on the CPU, one converted graph per input shape (each converted the first time that shape
    arrives, then read from ``<cache>/openvino/``): static shapes keep OpenVINO's fastest kernels."""
    if adapter.device.type != "cpu":
        raise ValueError(f"OpenVINO runs on the CPU only, and {adapter.name} is on {adapter.device}: use the eager "
                         "backend (the default off the CPU), or adapter.to('cpu')")
    module = ReducedTaps(adapter).eval()
    pipelines: dict[tuple[int, int, int], object] = {}

    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        shape = tuple(int(d) for d in x.shape[1:])
        if shape not in pipelines:
            pipelines[shape] = _openvino_pipeline(adapter, module, shape)
        pipeline = pipelines[shape]
        pixels = np.ascontiguousarray(x.detach().float().cpu().numpy())
        parts: dict[int, list[np.ndarray]] = {}
        for start in range(0, len(pixels), MICRO_BATCH):
            pipeline.start_async([pixels[start:start + MICRO_BATCH]], (parts, start))
        pipeline.wait_all()
        ordered = [parts[start] for start in sorted(parts)]
        return {n: torch.from_numpy(np.concatenate([p[i] for p in ordered]).astype(np.float32, copy=False))
                for i, n in enumerate(module.names)}

    return Backend("openvino", "openvino-f32", run, batch_size=OPENVINO_BATCH)


def _keep_outputs(request, userdata) -> None:
    """AsyncInferQueue callback: copy a finished request's outputs (its buffers are reused) under its start row."""
    parts, start = userdata
    parts[start] = [np.array(t.data, copy=True) for t in request.output_tensors]


def key_parts(adapter: ModelAdapter, backend: Backend) -> dict[str, str]:
    """What ``backend`` (and ``adapter``'s device) add to an on-disk cache key: nothing for eager on the CPU, else
    ``{"backend": key}`` and/or ``{"device": ...}`` (the rules in this module's docstring and in
    :func:`~ood_nb_utils.models.adapter.device_key_parts`), for extraction and for the forward passes of ODIN and
    AdaSCALE alike."""
    parts = {} if backend.key == "eager" else {"backend": backend.key}
    return {**parts, **adapter.cache_key_parts}


_MADE: dict[tuple[str, str, str], Backend] = {}


def _falling_back(adapter: ModelAdapter, chosen: Backend, made_key: tuple[str, str, str]) -> Backend:
    """``chosen``, which at its first failure while running warns once, hands this adapter over to eager for
    the rest of the process and runs the failed batch eagerly (no result is lost; eager agrees with every
    backend within :data:`TOLERANCE`)."""
    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        current = _MADE[made_key]
        if current.name == "eager":
            return current.run(x)
        try:
            return chosen.run(x)
        except Exception as err:  # noqa: BLE001 - any backend failure: say so once and stay correct
            warnings.warn(f"the {chosen.name} backend failed on {adapter.name} with input {tuple(x.shape)} "
                          f"({type(err).__name__}: {err}); extracting with eager PyTorch from here on", stacklevel=3)
            _MADE[made_key] = eager = _eager(adapter)
            return eager.run(x)

    return Backend(chosen.name, chosen.key, run, batch_size=chosen.batch_size)


def backend_for(adapter: ModelAdapter, name: str | None = None) -> Backend:
    """The ``name`` backend (default :func:`default_backend` for the adapter's device) of ``adapter``, built once
    per process and device. A failure to build it, or the first failure while it runs, falls back to eager with
    one warning, unless ``OOD_NB_BACKEND`` asked for exactly this backend."""
    name = default_backend(adapter.device) if name is None else name
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    key = (adapter.fingerprint, str(adapter.device), name)
    if key not in _MADE:
        strict = name == "eager" or os.environ.get("OOD_NB_BACKEND") == name
        try:
            made = {"eager": _eager, "compile": _compiled, "openvino": _openvino}[name](adapter)
        except Exception as err:  # a network the converter cannot take: say so and stay correct
            if strict:
                raise
            warnings.warn(f"the {name} backend could not take {adapter.name} ({type(err).__name__}: {err}); "
                          "extracting with eager PyTorch instead", stacklevel=2)
            made = _eager(adapter)
        _MADE[key] = made if strict or made.name == "eager" else _falling_back(adapter, made, key)
    return _MADE[key]
