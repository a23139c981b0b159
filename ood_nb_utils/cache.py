"""A content-hashed on-disk cache of numpy arrays, written atomically.

An entry is keyed by the sha256 of a JSON description of everything that determines its
content (weights checksum, dataset checksum, preprocessing, taps, subset indices, code
version, hyperparameters). Writing goes to a temporary file in the same folder followed by
``os.replace``, so a crash or a concurrent reader never sees a half-written entry. A JSON
sidecar keeps the description (and how long the computation took) readable by people.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import cache_dir


def content_key(parts: dict) -> str:
    """sha256 of the canonical JSON of ``parts`` (sorted keys)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def array_digest(array: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes (for keys that depend on an index set)."""
    a = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{a.dtype}{a.shape}".encode())
    digest.update(a.tobytes())
    return digest.hexdigest()


@dataclass
class CacheStats:
    """Counts of hits and misses in this process, and seconds spent computing misses."""

    hits: int = 0
    misses: int = 0
    compute_seconds: float = 0.0
    log: list[str] = field(default_factory=list)


STATS = CacheStats()


def entry_path(kind: str, key: str, directory: Path | None = None) -> Path:
    directory = cache_dir() if directory is None else directory
    return directory / kind / f"{key[:2]}" / f"{key}.npz"


def _atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def lookup(kind: str, parts: dict, directory: Path | None = None) -> dict[str, np.ndarray] | None:
    """The cached arrays for ``parts``, or None on a miss."""
    key = content_key({"kind": kind, **parts})
    path = entry_path(kind, key, directory)
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    STATS.hits += 1
    STATS.log.append(f"hit  {kind} {key[:12]}")
    return arrays


def store(kind: str, parts: dict, arrays: dict[str, np.ndarray], seconds: float,
          directory: Path | None = None) -> None:
    """Write ``arrays`` (computed in ``seconds``) under ``parts``, atomically, with a readable JSON sidecar."""
    key = content_key({"kind": kind, **parts})
    path = entry_path(kind, key, directory)
    STATS.misses += 1
    STATS.compute_seconds += seconds
    STATS.log.append(f"miss {kind} {key[:12]} ({seconds:.1f} s)")

    def write_npz(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    _atomic_write(path, write_npz)
    meta = {"kind": kind, "parts": parts, "seconds": round(seconds, 3),
            "arrays": {k: [list(v.shape), str(v.dtype)] for k, v in arrays.items()}}
    _atomic_write(path.with_suffix(".json"),
                  lambda tmp: tmp.write_text(json.dumps(meta, indent=1, sort_keys=True, default=str)))


def load_or_compute(
    kind: str,
    parts: dict,
    compute: Callable[[], dict[str, np.ndarray]],
    directory: Path | None = None,
) -> dict[str, np.ndarray]:
    """Return the cached arrays for ``parts``, computing and storing them on a miss."""
    arrays = lookup(kind, parts, directory)
    if arrays is not None:
        return arrays
    start = time.perf_counter()
    arrays = compute()
    store(kind, parts, arrays, time.perf_counter() - start, directory)
    return arrays
