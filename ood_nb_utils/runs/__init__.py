"""The book's runs: :class:`~.context.RunContext` says which network, profile and images a chapter uses (the ID
test set's validation split that is never scored, the held-out images of the searches), and hands the detectors
what they take. Nothing under :mod:`ood_nb_utils.detectors` depends on it."""

from .context import HELDOUT_SOURCES, ContextHeldOut, RunContext

__all__ = ["HELDOUT_SOURCES", "ContextHeldOut", "RunContext"]
