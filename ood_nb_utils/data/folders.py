"""Image folders (torchvision's ``ImageFolder`` layout: ``root/<class>/<image>``) read for any network.

:class:`ImageFolderSet` is a torch ``Dataset`` of uint8 H x W x 3 images, resized and centre-cropped the way
ImageNet networks are evaluated (``Resize(resize)`` of the short side, then ``CenterCrop(crop)``), with the sorted
folder names as class indices. :func:`~ood_nb_utils.extraction.features.extract` streams it batch by batch, and
its :attr:`~ImageFolderSet.key` (the files' checksums plus the transform) is its cache identity, so a cached
extraction is found without decoding a single image.

A folder holding a ``SHA256SUMS`` file (``<sha256>  <relative path>`` per line, as ``sha256sum`` writes) is
verified against it when the set is opened: a missing, extra or altered image fails at once, naming it.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
CHECKSUMS = "SHA256SUMS"


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ImageFolderSet(torch.utils.data.Dataset):
    """Every image under ``root/<class>/`` as uint8 ``crop`` x ``crop`` x 3 with its class index.

    ``resize``: the short side before the centre crop (None: no resize); ``crop``: the square centre crop (None:
    none, then every image must already have one size). ``classes``: the class folder names in index order
    (default: sorted, as torchvision's ``ImageFolder``); ``rows``: keep only these positions (a subset).
    """

    def __init__(self, root: str | Path, *, resize: int | None = 256, crop: int | None = 224,
                 classes: list[str] | None = None, rows=None, name: str | None = None) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(f"image folder {self.root} does not exist (expected root/<class>/<image> files)")
        found = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        self.classes = list(classes) if classes is not None else found
        unknown = sorted(set(found) - set(self.classes))
        if unknown:
            raise ValueError(f"{self.root} has class folders {unknown[:5]} that classes= does not list")
        files = [(p.relative_to(self.root).as_posix(), i) for i, c in enumerate(self.classes)
                 for p in sorted((self.root / c).rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
        if not files:
            raise ValueError(f"no images under {self.root}/<class>/ (looked for {', '.join(IMAGE_SUFFIXES)})")
        self.resize, self.crop = resize, crop
        self.name = name or self.root.name
        self._all_checksums = self._checksums([f for f, _ in files])
        self.rows = np.arange(len(files)) if rows is None else np.asarray(rows, dtype=np.int64)
        self.files = [files[int(r)] for r in self.rows]
        self.labels = np.array([y for _, y in files], dtype=np.int64)

    def _checksums(self, relpaths: list[str]) -> dict[str, str]:
        """sha256 of every image: read from ``SHA256SUMS`` and verified, or computed."""
        listing = self.root / CHECKSUMS
        actual = {f: _file_sha256(self.root / f) for f in relpaths}
        if listing.is_file():
            stated = {}
            for line in listing.read_text().splitlines():
                if line.strip():
                    digest, rel = line.split(maxsplit=1)
                    stated[rel.strip().lstrip("*")] = digest
            missing = sorted(set(stated) - set(actual))
            extra = sorted(set(actual) - set(stated))
            altered = sorted(f for f in actual if f in stated and stated[f] != actual[f])
            if missing or extra or altered:
                raise ValueError(f"{self.root} does not match its {CHECKSUMS}: missing {missing[:3]}, not listed "
                                 f"{extra[:3]}, altered {altered[:3]}; get the folder again (see SOURCES.md)")
        return actual

    @property
    def key(self) -> str:
        """The cache identity: sha256 of the images' paths, classes and checksums, and of the transform."""
        digest = hashlib.sha256(f"resize={self.resize}|crop={self.crop}|pil-bilinear-antialias|".encode())
        for rel, label in self.files:
            digest.update(f"{rel}|{label}|{self._all_checksums[rel]}\n".encode())
        return f"folder:{self.name}:{digest.hexdigest()}"

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        rel, label = self.files[i]
        with Image.open(self.root / rel) as img:
            img = img.convert("RGB")
            if self.resize is not None:
                w, h = img.size
                scale = self.resize / min(w, h)
                img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
            if self.crop is not None:
                w, h = img.size
                if min(w, h) < self.crop:
                    raise ValueError(f"{rel} is {w} x {h}, smaller than the {self.crop} px crop; set resize=")
                left, top = round((w - self.crop) / 2), round((h - self.crop) / 2)
                img = img.crop((left, top, left + self.crop, top + self.crop))
            return np.array(img, dtype=np.uint8), label  # a writable copy (torch warns on read-only arrays)

    def subset(self, rows, name: str | None = None) -> ImageFolderSet:
        """The same folder restricted to positions ``rows`` of this set (same transform; its own cache identity)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = copy.copy(self)  # the same folder, already listed and verified: nothing is read again
        out.rows, out.name = self.rows[rows], name or f"{self.name}[{len(rows)}]"
        out.files = [self.files[int(r)] for r in rows]
        out.labels = self.labels[rows]
        return out

    def images(self) -> np.ndarray:
        """Every image of the set in memory (uint8 N x crop x crop x 3): for small sets such as held-out images."""
        return np.stack([self[i][0] for i in range(len(self))])

    def __repr__(self) -> str:
        return (f"ImageFolderSet({str(self.root)!r}, {len(self)} images, {len(self.classes)} classes, "
                f"resize={self.resize}, crop={self.crop})")
