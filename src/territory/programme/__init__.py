"""Programmes of the steering committee (issue #22): territories, targets, funnel, comparison.

A programme groups territories of the workspace (:mod:`territory.territories`) over a
start and end date, with targets per territory, funnel step and period
(:mod:`.model`). :mod:`.compare` turns the contacts' statuses and the optional
"parcours" file into the protected tables the « Comparer » page, the A4 pack and
``territory compare`` lay out. Every person count goes through
:mod:`territory.privacy.protect` (inside :mod:`territory.privacy.funnel`): nothing here
reads a contact row.

Floor: just above :mod:`territory.rounds` (it reads the rounds' plans and feedback for
visits and field hours), below :mod:`territory.map` and the views.
"""

from territory.programme.compare import Comparison, compare, comparison_json, periods
from territory.programme.model import (
    EXIT_CLASSES,
    FUNNEL_STEPS,
    Programme,
    Target,
    define_programme,
    delete_programme,
    list_programmes,
    load_programme,
)

__all__ = [
    "EXIT_CLASSES",
    "FUNNEL_STEPS",
    "Comparison",
    "Programme",
    "Target",
    "compare",
    "comparison_json",
    "define_programme",
    "delete_programme",
    "list_programmes",
    "load_programme",
    "periods",
]
