"""What every chapter does first, in one place: fixed threads and seed, the book's figure style,
and the profile in force (printed, so a reader sees what ran)."""

from __future__ import annotations

import torch

from .config import Profile, current_profile
from .plots import use_book_style

THREADS = 2  # CI's 2 cores; more threads than cores slows torch down badly
SEED = 0


def start(*, threads: int = THREADS, seed: int = SEED) -> Profile:
    """Set torch's threads and seed and the figure style; print and return the current profile."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    use_book_style()
    profile = current_profile()
    print(f"torch: {threads} threads, seed {seed}; {profile.describe()}")
    return profile
