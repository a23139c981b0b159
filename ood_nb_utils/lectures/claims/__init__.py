"""Each paper's claims, checked: one module per paper (:mod:`.nap`, :mod:`.adascale`, :mod:`.himplos`,
:mod:`.prototype_fusion`).

A module holds what its chapter would otherwise repeat in long cells: the paper's tables rebuilt with our
numbers beside the transcribed ones (:mod:`ood_nb_utils.lectures.paper_values`), and ``scorecard(...)``, which
turns the chapter's computed results into the paper's :class:`~ood_nb_utils.lectures.scorecard.Scorecard`. Every
function takes the chapter's results as arguments and computes nothing on the network.
"""
