"""Download the official originals and convert them to the book's ``.npz`` format.

Needs internet; nothing here runs during the book build or the tests. The conversion
functions (:func:`short_side_resize`, :func:`images_from_folder`, :func:`write_set`) are the
same ones ``shared/data/SOURCES.md`` describes and are unit-tested on small image folders.

Sources: torchvision datasets for CIFAR-10/100, MNIST, SVHN, DTD and Places365; the
CS231N archive for TinyImageNet; the archives published with ODIN (Liang et al., 2018) for
LSUN-Crop, LSUN-Resize and iSUN; the DICE repository for the DenseNet checkpoints, akamaster/pytorch_resnet_cifar10
and chenyaofo/pytorch-cifar-models for the two ResNet-56 checkpoints.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from .config import data_dir, progress_wanted, weights_dir
from .data import sha256_of

ARCHIVES = {
    "tin": "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
    "lsun_crop": "https://www.dropbox.com/s/fhtsw1m3qxlwj6h/LSUN.tar.gz?dl=1",
    "lsun_resize": "https://www.dropbox.com/s/moqh2wh8696c3yl/LSUN_resize.tar.gz?dl=1",
    "isun": "https://www.dropbox.com/s/ssz7qxfqae0cca5/iSUN.tar.gz?dl=1",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp"}


def short_side_resize(image: Image.Image, size: int = 32) -> np.ndarray:
    """RGB; shorter side to ``size`` (Pillow BILINEAR, antialiased); centre crop ``size`` x ``size``."""
    image = image.convert("RGB")
    w, h = image.size
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    image = image.resize((new_w, new_h), Image.BILINEAR)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


def images_from_folder(folder: Path, size: int = 32, labelled_by_subfolder: bool = False
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Every image below ``folder`` in sorted-path order, resized; labels from subfolder names or -1."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images found below {folder}")
    classes = sorted({p.parent.name for p in paths}) if labelled_by_subfolder else []
    images = np.stack([short_side_resize(Image.open(p), size) for p in paths])
    labels = np.array([classes.index(p.parent.name) if classes else -1 for p in paths], dtype=np.int64)
    return images, labels


def write_set(path: Path, images: np.ndarray, labels: np.ndarray) -> str:
    """Write ``images``/``labels`` as the book's npz (atomically) plus ``<file>.sha256``; return the sha."""
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"images must be uint8 N x H x W (x 3), got {images.dtype} {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    np.savez_compressed(tmp, images=images, labels=labels.astype(np.int64))
    digest = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
    os.replace(tmp, path)
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    return digest


def stratified_subset(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """SOURCES.md's train subset rule: one shared generator, classes in order, sorted picks."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        picks.append(np.sort(members[rng.choice(len(members), per_class, replace=False)]))
    return np.concatenate(picks)


class DownloadError(OSError):
    """A download that failed every attempt (network error, truncated body or wrong checksum)."""


def _fetch_once(url: str, part: Path, chunk: int, progress: bool, timeout: float) -> None:
    """Stream ``url`` into ``part``; raise if the body is shorter than its Content-Length."""
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:  # noqa: S310
        total = response.headers.get("Content-Length")
        total = int(total) if total is not None else None
        got = 0
        with tqdm(total=total, unit="B", unit_scale=True, desc=part.name.removesuffix(".part"),
                  disable=not progress_wanted(progress)) as bar:
            while block := response.read(chunk):
                out.write(block)
                got += len(block)
                bar.update(len(block))
    if total is not None and got != total:
        raise DownloadError(f"{url}: got {got} of {total} bytes (connection cut)")


def download(url: str, dest: Path, *, sha256: str | None = None, retries: int = 3, backoff: float = 2.0,
             progress: bool = True, chunk: int = 1 << 20, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically: into ``dest.part``, checked (every byte of the Content-Length,
    and ``sha256`` when known), then renamed, so an interrupted run never leaves a ``dest`` behind. An existing
    ``dest`` is kept if it matches ``sha256`` (or no checksum is known) and fetched again otherwise. Each
    failure is retried ``retries`` times with a growing pause; then :class:`DownloadError` says what failed."""
    import time

    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        if sha256 is None or sha256_of(dest) == sha256:
            return dest
        print(f"{dest} does not match its checksum: fetching it again")
        dest.unlink()
    part = dest.with_name(dest.name + ".part")
    errors = []
    for attempt in range(1, retries + 1):
        try:
            _fetch_once(url, part, chunk, progress, timeout)
            if sha256 is not None and (actual := sha256_of(part)) != sha256:
                raise DownloadError(f"{url}: sha256 {actual[:16]}..., expected {sha256[:16]}...")
            os.replace(part, dest)
            return dest
        except (OSError, ValueError) as err:  # URLError, IncompleteRead, timeouts, DownloadError
            errors.append(f"attempt {attempt}: {err}")
            part.unlink(missing_ok=True)
            if attempt < retries:
                time.sleep(backoff * attempt)
    raise DownloadError(f"could not download {url} to {dest} ({'; '.join(errors)}); check the connection and run "
                        "`python -m ood_nb_utils data prepare` again (finished files are kept)")


def _extract(archive: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    return into


def _torchvision_set(name: str, raw: Path) -> tuple[np.ndarray, np.ndarray]:
    import torchvision.datasets as tvd

    if name in ("cifar10", "cifar10_train", "cifar100", "cifar100_train"):
        cls = tvd.CIFAR10 if name.startswith("cifar10") and not name.startswith("cifar100") else tvd.CIFAR100
        ds = cls(raw, train=name.endswith("_train"), download=True)
        images, labels = np.asarray(ds.data, dtype=np.uint8), np.asarray(ds.targets, dtype=np.int64)
        if name.endswith("_train"):
            idx = stratified_subset(labels, per_class=10_000 // len(np.unique(labels)))
            images, labels = images[idx], labels[idx]
        return images, labels
    if name == "mnist":
        ds = tvd.MNIST(raw, train=False, download=True)
        return ds.data.numpy().astype(np.uint8), ds.targets.numpy().astype(np.int64)
    if name == "svhn":
        ds = tvd.SVHN(raw, split="test", download=True)
        return np.transpose(ds.data, (0, 2, 3, 1)).astype(np.uint8), ds.labels.astype(np.int64)
    if name == "textures":
        tvd.DTD(raw, download=True)  # the benchmark uses all 5,640 images of all splits
        folder = next(p for p in (raw / "dtd").rglob("images") if p.is_dir())
        return images_from_folder(folder, labelled_by_subfolder=True)
    if name == "places365":
        ds = tvd.Places365(raw, split="val", small=True, download=True)
        paths = [p for p, _ in ds.imgs]
        rng = np.random.default_rng(0)
        idx = np.sort(rng.choice(len(paths), 10_000, replace=False))  # OpenOOD/NAP use a 10k sample
        images = np.stack([short_side_resize(Image.open(paths[i])) for i in idx])
        return images, np.array([ds.targets[i] for i in idx], dtype=np.int64)
    raise KeyError(name)


def _archive_set(name: str, raw: Path) -> tuple[np.ndarray, np.ndarray]:
    url = ARCHIVES[name]
    archive = download(url, raw / Path(url.split("?")[0]).name)  # no published checksum: size-checked
    root = _extract(archive, raw / name)
    if name == "tin":
        return images_from_folder(next(root.rglob("test")))
    return images_from_folder(root)


OUTPUT_FILES = {
    "cifar10": "cifar10_test.npz", "cifar10_train": "cifar10_train_subset.npz", "cifar100": "cifar100_test.npz",
    "cifar100_train": "cifar100_train_subset.npz", "mnist": "mnist_test.npz", "svhn": "svhn_test.npz",
    "textures": "textures.npz", "places365": "places365.npz", "tin": "tin_test.npz", "lsun_crop": "lsun_crop.npz",
    "lsun_resize": "lsun_resize.npz", "isun": "isun.npz",
}


def prepare(names: list[str] | None = None, raw_dir: Path | None = None,
            log: Callable[[str], None] = print) -> None:
    """Download and convert ``names`` (default: every set with an official source, and the weights)."""
    names = names or [*OUTPUT_FILES, "weights"]
    raw = raw_dir or data_dir() / "raw"
    log(f"writing the sets to {data_dir()} (OOD_NB_DATA_DIR) and the checkpoints to {weights_dir()} "
        f"(OOD_NB_WEIGHTS_DIR); downloads go to {raw}")
    for name in names:
        if name == "weights":
            from .models import CHECKPOINTS
            for ck in CHECKPOINTS.values():
                download(ck.url, weights_dir() / ck.filename, sha256=ck.sha256)
            log("weights: done (checked by sha256 when loaded)")
            continue
        if name not in OUTPUT_FILES:
            raise KeyError(f"no official source for {name!r}; preparable: {', '.join(OUTPUT_FILES)}, weights")
        images, labels = (_archive_set if name in ARCHIVES else _torchvision_set)(name, raw)
        digest = write_set(data_dir() / OUTPUT_FILES[name], images, labels)
        log(f"{name}: {len(images)} images -> {OUTPUT_FILES[name]} (sha256 {digest[:12]}...)")


# Approximate download size (MB) of what `prepare(name)` fetches, from the hosts' listings; CIFAR's train subset
# comes from the same archive as its test set (downloaded once). Times in the docs assume about 10 MB/s.
DOWNLOAD_MB = {"cifar10": 163, "cifar10_train": 163, "cifar100": 161, "cifar100_train": 161, "mnist": 12,
               "svhn": 64, "textures": 625, "places365": 501, "tin": 237, "lsun_crop": 17, "lsun_resize": 17,
               "isun": 11, "weights": 7}
FETCH_MODES = ("auto", "always", "never")


def fetch_missing(keys: list[str], *, weights: bool = True, mode: str | None = None,
                  log: Callable[[str], None] = print) -> list[str]:
    """What a chapter's first cell runs: download and convert those of ``keys`` (and the checkpoints) that the data
    folder lacks and that have an official source; return the keys still unavailable, each reported in one line.

    ``mode`` (default ``OOD_NB_FETCH``, else ``auto``): ``auto`` fetches only when the data folder is the user
    cache (no ``shared/`` beside the checkout and no ``OOD_NB_DATA_DIR``: Binder, Colab, a fresh clone), so a
    build next to ``shared/`` never touches the network; ``always`` fetches into whatever folder is configured;
    ``never`` only reports. Substitute sets have no public source and are only ever reported.
    """
    from .config import user_cache_dir
    from .data import DATASETS, is_available

    mode = mode or os.environ.get("OOD_NB_FETCH", "auto")
    if mode not in FETCH_MODES:
        raise ValueError(f"OOD_NB_FETCH must be one of {FETCH_MODES}, got {mode!r}")
    unknown = [k for k in keys if k not in DATASETS]
    if unknown:
        raise KeyError(f"unknown dataset(s) {unknown}; known: {', '.join(DATASETS)}")
    def lacks(key: str) -> bool:
        return _missing_checkpoints() if key == "weights" else not is_available(key)

    missing = [k for k in [*keys, *(["weights"] if weights else [])] if lacks(k)]
    if not missing:
        log(f"data: all {len(keys)} sets{' and the checkpoints' if weights else ''} present in {data_dir()}")
        return []
    fetchable = [k for k in missing if k in OUTPUT_FILES or k == "weights"]
    fetch = mode == "always" or (mode == "auto" and data_dir().is_relative_to(user_cache_dir()))
    if fetch and fetchable:
        total = sum(DOWNLOAD_MB[k] for k in dict.fromkeys(_archive_of(k) for k in fetchable))
        log(f"data: fetching {', '.join(fetchable)} (about {total:,} MB) into {data_dir()}")
        for key in fetchable:
            try:
                prepare([key], log=log)
            except (OSError, RuntimeError) as err:  # no connection, a host gone: say so and go on
                log(f"data: could not fetch {key} ({err}); run `python -m ood_nb_utils data prepare --only {key}` "
                    "when online")
    still = [k for k in missing if lacks(k)] if fetch and fetchable else missing  # checked again after fetching
    substitutes = [k for k in still if k in DATASETS and DATASETS[k].is_substitute]
    others = [k for k in still if k not in substitutes]
    if others:  # one line per reason, so a build beside shared/ says it once
        why = (f"not fetched here; `python -m ood_nb_utils data prepare --only {','.join(others)}` downloads them "
               "(or set OOD_NB_FETCH=always to let a chapter do it)" if not fetch else "fetch failed (see above)")
        where = f"{data_dir()}" + (f" (checkpoints: {weights_dir()})" if "weights" in others else "")
        log(f"data: {', '.join(others)} unavailable in {where}: {why}")
    if substitutes:
        log(f"data: {', '.join(substitutes)} unavailable in {data_dir()}: substitutes with no public source, which "
            "exist only in the project's shared/ folder")
    return still


def _archive_of(key: str) -> str:
    return key.removesuffix("_train")


def _missing_checkpoints() -> bool:
    from .models import CHECKPOINTS

    return any(not (weights_dir() / ck.filename).is_file() for ck in CHECKPOINTS.values())
