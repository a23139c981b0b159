"""What every chapter does first, in one place: fixed threads and seed, the book's figure style,
and the profile in force (printed, so a reader sees what ran)."""

from __future__ import annotations

import torch

from .config import Profile, current_profile
from .plots import use_book_style

THREADS = 2  # CI's 2 cores; more threads than cores slows torch down badly
SEED = 0


def start(*, threads: int = THREADS, seed: int = SEED) -> Profile:
    """Set torch's threads and seed and the figure style; print and return the profile named by
    ``OOD_NB_PROFILE`` (the only place besides the command line that reads it)."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    use_book_style()
    profile = current_profile()
    print(f"torch: {threads} threads, seed {seed}; {profile.describe()}")
    return profile


def contexts(profile: Profile, *, progress: bool = True):
    """One :class:`~ood_nb_utils.context.RunContext` per DICE checkpoint, keyed by ID dataset ("cifar10", ...)."""
    from .context import RunContext
    from .models import MODEL_OF

    return {ds: RunContext.for_model(model, profile, progress=progress) for ds, model in MODEL_OF.items()}


def available_ood(id_dataset: str) -> list[str]:
    """The registered OOD sets of ``id_dataset`` that this build has (near, far, then substitutes)."""
    from .data import is_available, ood_sets

    return [d for d in ood_sets(id_dataset) if is_available(d)]


def sets_note(paper_sets, what: str = "The paper's OOD sets") -> str:
    """Markdown: which of the paper's sets are here and which are missing; substitutes are never compared."""
    from .data import DATASETS, SUBSTITUTES, is_available

    here = [d for d in paper_sets if is_available(d)]
    subs = [DATASETS[d].display_name for d in SUBSTITUTES if is_available(d)]
    return (f"{what}: {', '.join(DATASETS[d].title for d in paper_sets)}. Available here: "
            f"**{', '.join(DATASETS[d].title for d in here) or 'none'}** (Textures is 10 of its 47 classes). Missing: "
            f"{', '.join(DATASETS[d].title for d in paper_sets if d not in here) or 'none'}. The substitutes "
            f"({', '.join(subs) or 'none'}) are reported separately and never compared with the paper's numbers.")
