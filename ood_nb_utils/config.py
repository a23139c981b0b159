"""Where things live, and which profile is in force.

Every location can be set by an environment variable. Data and checkpoints default to the project's
``shared/`` folder beside the checkout (``<repo>/../shared``) when it exists, and otherwise to a folder the
user can always write to (``$XDG_CACHE_HOME/ood_nb``, else ``~/.cache/ood_nb``): where ``data prepare`` and a
chapter's first cell put what they download on Binder, Colab or any machine without ``shared/``.

=====================  ==========================================  =============================
variable               meaning                                     default
=====================  ==========================================  =============================
``OOD_NB_DATA_DIR``    folder with the ``.npz`` benchmark sets     ``<repo>/../shared/data``, else
                                                                   ``~/.cache/ood_nb/data``
``OOD_NB_WEIGHTS_DIR`` folder with the DenseNet checkpoints        ``<repo>/../shared/weights``,
                                                                   else ``~/.cache/ood_nb/weights``
``OOD_NB_CACHE_DIR``   on-disk activation cache                    ``<repo>/.cache/ood_nb`` in a
                                                                   checkout, else
                                                                   ``~/.cache/ood_nb/cache``
``OOD_NB_PROFILE``     ``default`` (fits CI) or ``full``           ``default``
``OOD_NB_BACKEND``     forward path of feature extraction          ``openvino`` if installed,
                       (``eager``, ``openvino``, ``compile``;      else ``eager``
                       see :mod:`ood_nb_utils.extraction.backends`)
=====================  ==========================================  =============================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BOOK_CACHE_DIR = REPO_ROOT / ".cache" / "ood_nb"  # the activation cache's default folder in a checkout


def in_checkout() -> bool:
    """Whether the package runs from the book's checkout (an editable install), not from an installed wheel."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "notebooks").is_dir()


def _dir_from_env(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ood_nb`` (else ``~/.cache/ood_nb``): writable wherever the book runs."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "ood_nb"


def _shared_or_user(kind: str) -> Path:
    shared = REPO_ROOT.parent / "shared" / kind
    return shared if shared.is_dir() else user_cache_dir() / kind


def data_dir() -> Path:
    """Folder holding the benchmark ``.npz`` files (``OOD_NB_DATA_DIR``; see the module docstring)."""
    return _dir_from_env("OOD_NB_DATA_DIR", _shared_or_user("data"))


def weights_dir() -> Path:
    """Folder holding the checkpoints (``OOD_NB_WEIGHTS_DIR``; see the module docstring)."""
    return _dir_from_env("OOD_NB_WEIGHTS_DIR", _shared_or_user("weights"))


def cache_dir() -> Path:
    """Folder of the on-disk activation cache (``OOD_NB_CACHE_DIR``): the checkout's ``.cache/ood_nb``, or the
    user cache folder when the package is installed (never inside site-packages)."""
    return _dir_from_env("OOD_NB_CACHE_DIR", BOOK_CACHE_DIR if in_checkout() else user_cache_dir() / "cache")


@dataclass(frozen=True)
class Profile:
    """How many images of each role a run uses.

    ``None`` means every image available. Subsets are stratified by label where the set has
    labels and seeded (``seed``), so a profile always selects the same images.
    """

    name: str
    id_test: int | None
    near_cifar: int | None
    ood: int | None
    train: int | None
    gradient_per_set: int | None
    seed: int = 0

    def describe(self) -> str:
        def fmt(v: int | None) -> str:
            return "all" if v is None else str(v)

        return (
            f"profile '{self.name}': ID test {fmt(self.id_test)}, near-OOD CIFAR {fmt(self.near_cifar)}, "
            f"other OOD sets {fmt(self.ood)} per set, ID train subset {fmt(self.train)}, "
            f"gradient-based methods (ODIN, AdaSCALE) {fmt(self.gradient_per_set)} per set, seed {self.seed}"
        )


PROFILES: dict[str, Profile] = {
    # The CIFAR test sets stay whole so that the accuracy checks and NAP's Table 9 anchor
    # (CIFAR-10 vs CIFAR-100) hold exactly; the far-OOD sets and the train subset are capped
    # so that the book builds within CI's time limit on a small machine.
    "default": Profile("default", id_test=None, near_cifar=None, ood=1000, train=5000, gradient_per_set=300),
    # "full" uses every image, except that the ID train subset keeps 1,000 images out of the fit:
    # chapters 1 and 2 compare those (train images the network saw) with the ID test set's
    # validation split, which is what searches and eCDF references use (data.id_validation_split).
    "full": Profile("full", id_test=None, near_cifar=None, ood=None, train=9000, gradient_per_set=None),
}


def current_profile() -> Profile:
    """The profile named by ``OOD_NB_PROFILE`` (``default`` when unset)."""
    name = os.environ.get("OOD_NB_PROFILE", "default")
    if name not in PROFILES:
        raise ValueError(f"OOD_NB_PROFILE={name!r} is not a profile; choose one of {sorted(PROFILES)}")
    return PROFILES[name]


def progress_wanted(requested: bool = True) -> bool:
    """Whether to draw a progress bar: as ``requested``, unless ``OOD_NB_PROGRESS=0``. The book's build sets it
    (``make book``), so that no page carries a bar, while a reader who runs a chapter keeps them."""
    return requested and os.environ.get("OOD_NB_PROGRESS", "1") != "0"
