"""Method name -> detector class, and :func:`create`. Nothing else lives here.

Each module of :mod:`ood_nb_utils.detectors` registers its classes with :func:`register` when it is
imported; :func:`create` builds one by name with hyperparameter overrides (dotted names reach a
nested detector: ``create("nap_r", **{"base.threshold": 1.0})``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Detector

REGISTRY: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator: add a detector class under its ``name`` (lower-case, unique)."""
    name = cls.name
    if not name or name != name.lower():
        raise ValueError(f"{cls.__name__}: a registered detector needs a lower-case name, got {name!r}")
    if name in REGISTRY and REGISTRY[name] is not cls:
        raise ValueError(f"method {name!r} is registered twice ({REGISTRY[name].__name__} and {cls.__name__})")
    if not cls.title or not cls.reference:
        raise ValueError(f"{cls.__name__}: say what the method is called (title) and where it comes from (reference)")
    REGISTRY[name] = cls
    return cls


def get_class(name: str) -> type[Detector]:
    """The detector class registered as ``name``."""
    if name not in REGISTRY:
        raise KeyError(f"unknown method {name!r}; available: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def create(name: str, **overrides) -> Detector:
    """A new detector ``name`` with its paper defaults, except ``overrides``."""
    detector = get_class(name)()
    return detector.clone(**overrides) if overrides else detector


def available() -> list[str]:
    """Every registered method name, in registration order (chapter by chapter)."""
    return list(REGISTRY)


def parse_setting(text: str) -> tuple[str, str, object]:
    """``"METHOD.PARAM=VALUE"`` (the CLI's ``--set``) -> (method, param, value); VALUE is read as a number,
    ``none``/``true``/``false``, a comma-separated tuple, or kept as text."""
    target, sep, raw = text.partition("=")
    method, dot, param = target.partition(".")
    if not sep or not dot or not param:
        raise ValueError(f"--set takes METHOD.PARAM=VALUE (e.g. nap_r.base.threshold=1.0), got {text!r}")
    return method.strip(), param.strip(), _value(raw.strip())


def _value(raw: str) -> object:
    if "," in raw:
        return tuple(_value(part.strip()) for part in raw.split(",") if part.strip())
    lowered = raw.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw
