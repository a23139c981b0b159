"""What the chapters show, on top of the package: the chapter preamble and notes (:mod:`.chapter`), figures
(:mod:`.plots`), the reproduction scorecards (:mod:`.scorecard`), costs (:mod:`.costs`), 2-D embeddings
(:mod:`.embedding`), the papers' reported numbers (:mod:`.paper_values`), each paper's claims and tables
(:mod:`.claims`), and the Sphinx extensions of the book build (:mod:`.sphinx`)."""

from . import chapter, costs, embedding, paper_values, plots, scorecard

__all__ = ["chapter", "costs", "embedding", "paper_values", "plots", "scorecard"]
