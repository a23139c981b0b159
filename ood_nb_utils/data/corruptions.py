"""Image corruptions for pseudo-OOD data (NAP Sec. 4.2 / Appendix H).

NAP picks its combination weight w on ID images corrupted with the CIFAR-10-C families of
Hendrycks & Dietterich (ICLR 2019). This module implements the families that need no external
data, on uint8 32 x 32 x 3 images, with five severities each. Parameters follow the CIFAR-10-C
code where it uses plain array operations (noises, brightness, contrast, pixelate, JPEG, zoom);
defocus, glass and motion blur and the elastic transform are re-implemented with scipy in the
same spirit (the original uses OpenCV/ImageMagick), so their exact pixels differ. Fog, frost and
snow are not implemented: frost needs the original frost photographs and fog/snow depend on
ImageMagick effects we cannot reproduce faithfully here. The ``imagecorruptions`` package (1.1.2,
which bundles the frost photographs) does not serve for them: its ``fog``
raises ``AttributeError`` under NumPy 2 (it uses the removed ``np.float_``), its parameters are
ImageNet-C's rather than CIFAR-10-C's, it draws from NumPy's global random state (so a seeded
recipe would need global side effects), and it needs OpenCV and scikit-image (about 100 MB).

:func:`corrupted_copy` makes the seeded corrupted copy of a set of held-out ID images (the pseudo-OOD data of
hyperparameter searches) and caches its pixels on disk (kind ``corrupted``, keyed by the clean set's identity and
the recipe's seed and version); the copy records its recipe in ``ImageSet.transform``, so the cache keys of
everything computed from it differ from the clean images'.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from matplotlib.colors import hsv_to_rgb, rgb_to_hsv
from PIL import Image
from scipy import ndimage

from .. import cache
from .images import ImageSet, image_identity

CORRUPTION_VERSION = 2  # bump when this module changes its pixels


def _to01(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) / 255.0


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def gaussian_noise(x, s, rng):
    c = [0.04, 0.06, 0.08, 0.09, 0.10][s - 1]
    return _to_uint8(_to01(x) + rng.normal(size=x.shape, scale=c))


def shot_noise(x, s, rng):
    c = [500, 250, 100, 75, 50][s - 1]
    return _to_uint8(rng.poisson(_to01(x) * c) / c)


def impulse_noise(x, s, rng):
    c = [0.01, 0.02, 0.03, 0.05, 0.07][s - 1]
    out = _to01(x).copy()
    mask = rng.random(x.shape[:2]) < c
    salt = rng.random(x.shape[:2]) < 0.5
    out[mask & salt] = 1.0
    out[mask & ~salt] = 0.0
    return _to_uint8(out)


def _per_channel(fn: Callable[[np.ndarray], np.ndarray], img: np.ndarray) -> np.ndarray:
    """Apply a 2-D filter to each colour channel of an H x W x 3 float image."""
    return np.stack([fn(img[..., i]) for i in range(img.shape[2])], -1)


def _disk(radius: float, alias_blur: float) -> np.ndarray:
    size = int(np.ceil(radius)) + 2
    y, x = np.mgrid[-size:size + 1, -size:size + 1]
    kernel = ((x**2 + y**2) <= radius**2).astype(np.float64)
    kernel = ndimage.gaussian_filter(kernel, alias_blur)
    return kernel / kernel.sum()


def defocus_blur(x, s, rng):
    radius, alias = [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)][s - 1]
    k = _disk(radius, alias)
    return _to_uint8(_per_channel(lambda c: ndimage.convolve(c, k, mode="reflect"), _to01(x)))


def glass_blur(x, s, rng):
    sigma, delta, iterations = [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)][s - 1]
    out = ndimage.gaussian_filter(_to01(x), (sigma, sigma, 0))
    h, w = out.shape[:2]
    for _ in range(iterations):  # swap each pixel with a random neighbour within delta
        for i in range(h - delta, delta, -1):
            for j in range(w - delta, delta, -1):
                dy, dx = rng.integers(-delta, delta, size=2)
                out[i, j], out[i + dy, j + dx] = out[i + dy, j + dx].copy(), out[i, j].copy()
    return _to_uint8(ndimage.gaussian_filter(out, (sigma, sigma, 0)))


def motion_blur(x, s, rng):
    length = [3, 4, 5, 6, 7][s - 1]
    angle = rng.uniform(-45, 45)
    kernel = np.zeros((length * 2 + 1, length * 2 + 1))
    kernel[length, length:] = 1.0  # a line from the centre: blur in one direction, like a moving camera
    kernel = ndimage.rotate(kernel, angle, reshape=False, order=1)
    kernel /= kernel.sum()
    return _to_uint8(_per_channel(lambda c: ndimage.convolve(c, kernel, mode="nearest"), _to01(x)))


def zoom_blur(x, s, rng):
    zooms = [np.arange(1, 1.06, 0.01), np.arange(1, 1.11, 0.01), np.arange(1, 1.16, 0.01),
             np.arange(1, 1.21, 0.01), np.arange(1, 1.26, 0.01)][s - 1]
    img = _to01(x)
    out = np.zeros_like(img)
    h = img.shape[0]
    for z in zooms:
        zoomed = ndimage.zoom(img, (z, z, 1), order=1)
        top = (zoomed.shape[0] - h) // 2
        out += zoomed[top:top + h, top:top + h]
    return _to_uint8((img + out) / (len(zooms) + 1))


def brightness(x, s, rng):
    c = [0.05, 0.1, 0.15, 0.2, 0.3][s - 1]
    hsv = rgb_to_hsv(_to01(x))
    hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
    return _to_uint8(hsv_to_rgb(hsv))


def contrast(x, s, rng):
    c = [0.75, 0.5, 0.4, 0.3, 0.15][s - 1]
    img = _to01(x)
    mean = img.mean(axis=(0, 1), keepdims=True)
    return _to_uint8((img - mean) * c + mean)


def elastic_transform(x, s, rng):
    alpha, sigma = [(1.0, 2.0), (1.5, 2.0), (2.0, 2.0), (2.5, 1.5), (3.0, 1.5)][s - 1]
    h, w = x.shape[:2]

    def displacement() -> np.ndarray:  # a smooth random field whose largest shift is alpha pixels
        field = ndimage.gaussian_filter(rng.uniform(-1, 1, (h, w)), sigma)
        return field * alpha / max(1e-8, np.abs(field).max())

    dx, dy = displacement(), displacement()
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return _to_uint8(_per_channel(
        lambda c: ndimage.map_coordinates(c, [yy + dy, xx + dx], order=1, mode="reflect"), _to01(x)))


def pixelate(x, s, rng):
    c = [0.95, 0.9, 0.85, 0.75, 0.65][s - 1]
    h = x.shape[0]
    small = Image.fromarray(x).resize((int(h * c), int(h * c)), Image.BOX)
    return np.asarray(small.resize((h, h), Image.BOX), dtype=np.uint8)


def jpeg_compression(x, s, rng):
    quality = [80, 65, 58, 50, 40][s - 1]
    buf = io.BytesIO()
    Image.fromarray(x).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf), dtype=np.uint8)


CORRUPTIONS: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    "gaussian_noise": gaussian_noise, "shot_noise": shot_noise, "impulse_noise": impulse_noise,
    "defocus_blur": defocus_blur, "glass_blur": glass_blur, "motion_blur": motion_blur, "zoom_blur": zoom_blur,
    "brightness": brightness, "contrast": contrast, "elastic_transform": elastic_transform,
    "pixelate": pixelate, "jpeg_compression": jpeg_compression,
}
NOT_IMPLEMENTED = ("snow", "frost", "fog")


def corrupt(image: np.ndarray, name: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """One corrupted copy of a uint8 32 x 32 x 3 image (severity 1..5)."""
    if name not in CORRUPTIONS:
        raise KeyError(f"unknown corruption {name!r}; implemented: {', '.join(CORRUPTIONS)} "
                       f"(not implemented here: {', '.join(NOT_IMPLEMENTED)})")
    if not 1 <= severity <= 5:
        raise ValueError(f"severity must be 1..5, got {severity}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 H x W x 3 image, got {image.dtype} {image.shape}")
    out = CORRUPTIONS[name](image, severity, rng)
    assert out.shape == image.shape and out.dtype == np.uint8
    return out


def pseudo_ood(images: np.ndarray, *, seed: int = 0, families: tuple[str, ...] | None = None,
               severities: tuple[int, ...] = (1, 2, 3, 4, 5)) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Corrupt every image with a seeded random family and severity; returns images and the recipe."""
    rng = np.random.default_rng(seed)
    families = families or tuple(CORRUPTIONS)
    recipe = [(families[rng.integers(len(families))], int(severities[rng.integers(len(severities))]))
              for _ in range(len(images))]
    out = np.stack([corrupt(img, name, sev, rng) for img, (name, sev) in zip(images, recipe, strict=True)])
    return out, recipe


def corrupted_copy(clean: ImageSet, seed: int = 0) -> tuple[ImageSet, list[tuple[str, int]]]:
    """Seeded corrupted copies of ``clean`` (their ``transform`` names the recipe), and the recipe (cached)."""
    spec = {"name": "corrupted", "seed": seed, "families": sorted(CORRUPTIONS), "version": CORRUPTION_VERSION}
    if clean.transform is not None:
        spec["of"] = clean.transform
    families = tuple(CORRUPTIONS)

    def compute() -> dict[str, np.ndarray]:
        images, recipe = pseudo_ood(clean.images, seed=seed)
        return {"images": images, "family": np.array([families.index(f) for f, _ in recipe], dtype=np.int64),
                "severity": np.array([s for _, s in recipe], dtype=np.int64)}

    arrays = cache.load_or_compute("corrupted", {**image_identity(clean), "corruption": spec,
                                                 "family_order": list(families)}, compute)
    recipe = [(families[f], int(s)) for f, s in zip(arrays["family"].tolist(), arrays["severity"], strict=True)]
    return ImageSet(clean.key, arrays["images"], clean.labels, clean.path, clean.sha256,
                    "corrupted held-out ID images", clean.indices, spec), recipe


def recipe_counts(recipe: list[tuple[str, int]]) -> dict[str, int]:
    """How many images each corruption family got."""
    names, counts = np.unique([name for name, _ in recipe], return_counts=True)
    return dict(zip(names.tolist(), counts.tolist(), strict=True))
