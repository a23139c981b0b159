"""What every chapter does first, in one place: fixed threads and seed, the book's figure style,
the profile in force (printed, so a reader sees what ran), and one run context per checkpoint
(:func:`begin`), and the package's own source shown on the page (:func:`show_source`)."""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..config import Profile, current_profile
from ..models.architectures import Architecture
from .plots import use_book_style

THREADS = 2  # as many as the CI machine has cores: more threads than cores slows torch down badly
SEED = 0


def start(*, threads: int = THREADS, seed: int = SEED) -> Profile:
    """Set torch's threads and seed and the figure style; print and return the profile named by
    ``OOD_NB_PROFILE`` (the only place besides the command line that reads it)."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    use_book_style()
    use_book_number_format()
    profile = current_profile()
    print(f"torch: {threads} threads, seed {seed}; {profile.describe()}")
    return profile


def use_book_number_format() -> None:
    """Printed numbers as a reader wants them: tables with 2-3 decimals and missing values as "-", arrays
    rounded without scientific notation."""
    import numpy as np
    import pandas as pd

    pd.set_option("display.precision", 3)
    pd.set_option("styler.format.precision", 2)
    pd.set_option("styler.format.na_rep", "-")
    np.set_printoptions(precision=4, suppress=True)


class Begun(NamedTuple):
    """What :func:`begin` returns: the profile, one run context per ID dataset, each one's model name, and the
    architecture's facts (taps, channels, per-network hyperparameters)."""

    profile: Profile
    contexts: dict
    models: dict[str, str]
    arch: Architecture


def architecture_in_force(arch: str | None = None) -> Architecture:
    """The architecture a chapter runs on: ``arch`` when given, else ``OOD_NB_ARCH``, else the book's DenseNet-BC-100
    (the only place besides :func:`start` that reads the environment)."""
    import os

    from ..models import DEFAULT_ARCH, architecture

    return architecture(arch or os.environ.get("OOD_NB_ARCH") or DEFAULT_ARCH)


def begin(*, arch: str | None = None, validation_split: bool = True, progress: bool = True) -> Begun:
    """A chapter's setup in one call: :func:`start`, then :func:`contexts` of architecture ``arch`` (see
    :func:`architecture_in_force`) under the profile it prints (``validation_split``: see :func:`contexts`).
    ``PROFILE, contexts, MODELS, ARCH = chapter.begin(arch=None)``."""
    profile = start()
    facts = architecture_in_force(arch)
    runs = contexts(profile, progress=progress, validation_split=validation_split, arch=facts.key)
    models = {ds: ctx.model for ds, ctx in runs.items()}
    print(f"architecture: {facts.title} ({', '.join(models.values())})" + (f"; {facts.note}" if facts.note else ""))
    return Begun(profile, runs, models, facts)


def benchmark_sets() -> list[str]:
    """Every set the CIFAR benchmark uses: both ID test sets, their train subsets and their OOD sets."""
    from ..data import ood_sets
    from ..models import MODEL_OF

    keys = [k for ds in MODEL_OF for k in (ds, f"{ds}_train", *ood_sets(ds))]
    return list(dict.fromkeys(keys))


def fetch_data(keys: list[str] | None = None) -> None:
    """A chapter's first cell: fetch what the data folder lacks (see :func:`ood_nb_utils.prepare.fetch_missing`;
    on Binder, Colab or a fresh clone it downloads, next to the project's ``shared/`` it only reports). A set that
    stays unavailable is printed here, and the chapter's tables list it as not in this build."""
    from ..prepare import fetch_missing

    fetch_missing(benchmark_sets() if keys is None else keys)


def contexts(profile: Profile, *, progress: bool = True, validation_split: bool = True, arch: str | None = None):
    """One :class:`~ood_nb_utils.runs.context.RunContext` per checkpoint of architecture ``arch`` (default: the
    book's DenseNet-BC-100), keyed by ID dataset ("cifar10", ...).

    ``validation_split``: set aside a fixed 1,000-image split of each ID test set for searches and eCDF
    references, never scored (chapters whose methods use validation data); False scores every test image
    (chapters whose methods fit on train data only, as the papers' full-test-set tables do), except that the
    subset the network-based methods score still comes from outside that split, so every chapter's ODIN and
    AdaSCALE score the same ID images (``RunContext.subsets_outside_split``)."""
    from ..data import ID_VALIDATION_N
    from ..models import DEFAULT_ARCH, models_of
    from ..runs.context import RunContext

    n, source = (ID_VALIDATION_N, "test") if validation_split else (0, "train")
    return {ds: RunContext.for_model(model, profile, progress=progress, validation_n=n, heldout_from=source,
                                     subsets_outside_split=not validation_split)
            for ds, model in models_of(arch or DEFAULT_ARCH).items()}


def data_note(contexts) -> str:
    """Markdown: which ID images this chapter fits on, searches on and scores (from its contexts)."""
    from ..data import ID_VALIDATION_N

    ctx = next(iter(contexts.values()))
    train = "every" if ctx.profile.train is None else f"a stratified {ctx.profile.train:,}-image subset of the"
    fit = (f"Methods that learn ID statistics fit them on {train} CIFAR train images the profile selects "
           "(the checkpoints were trained on all 50,000 of them, so these are seen images, as in the papers). ")
    if ctx.validation_n == 0:
        same = (f" The network-based methods score a seeded {ctx.profile.gradient_per_set:,}-image subset drawn from "
                f"outside the fixed {ID_VALIDATION_N:,}-image validation split that other chapters set aside, so "
                "every chapter scores them on the same ID images." if ctx.subsets_outside_split else "")
        return fit + ("No method in this chapter uses validation data, so **every ID test image is scored** "
                      f"({', '.join(f'{len(c.id_test):,} for {ds}' for ds, c in contexts.items())})." + same)
    return fit + (f"Where a paper uses ID *validation* data (hyperparameter searches, eCDF references), this "
                  f"chapter uses a **fixed {ctx.validation_n:,}-image split of the ID test set** "
                  "(`data.id_validation_split`, stratified, seed 0), which is never scored; every ID metric "
                  f"is on the remaining {', '.join(f'{len(c.id_test):,} {ds}' for ds, c in contexts.items())} "
                  "test images.")


def available_ood(id_dataset: str) -> list[str]:
    """The registered OOD sets of ``id_dataset`` that this build has (near, far, then substitutes)."""
    from ..data import is_available, ood_sets

    return [d for d in ood_sets(id_dataset) if is_available(d)]


def sets_note(paper_sets, what: str = "The paper's OOD sets") -> str:
    """Markdown: which of the paper's sets are here and which are missing; substitutes are never compared."""
    from ..data import DATASETS, SUBSTITUTES, is_available

    here = [d for d in paper_sets if is_available(d)]
    subs = [DATASETS[d].display_name for d in SUBSTITUTES if is_available(d)]
    return (f"{what}: {', '.join(DATASETS[d].title for d in paper_sets)}. Available here: "
            f"**{', '.join(DATASETS[d].title for d in here) or 'none'}** (Textures is 10 of its 47 classes). Missing: "
            f"{', '.join(DATASETS[d].title for d in paper_sets if d not in here) or 'none'}. The substitutes "
            f"({', '.join(subs) or 'none'}) are reported separately and never compared with the paper's numbers.")


def source_of(*objects) -> str:
    """Markdown: the source code of each of ``objects`` (functions or classes of the package), headed by its
    qualified name, file and lines. Taken from the code that runs, so the page cannot drift from it."""
    import inspect
    from pathlib import Path

    from ..config import REPO_ROOT

    parts = []
    for obj in objects:
        lines, first = inspect.getsourcelines(obj)
        path = inspect.getsourcefile(obj)
        try:
            path = str(Path(path).resolve().relative_to(REPO_ROOT))
        except ValueError:  # an installed package, outside a checkout
            path = f"{obj.__module__.replace('.', '/')}.py"
        parts.append(f"`{obj.__module__}.{obj.__qualname__}` ({path}, lines {first}-{first + len(lines) - 1}):\n\n"
                     f"```python\n{''.join(lines).rstrip()}\n```")
    return "\n\n".join(parts)


def show_source(*objects) -> None:
    """Display :func:`source_of` ``objects`` as highlighted code (in the book, JupyterLab and Colab alike)."""
    from IPython.display import Markdown, display

    display(Markdown(source_of(*objects)))
