"""Synthetic true identities, and the errors each source makes when it records them.

Record linkage has to be tested against the mistakes real sources make: a GP knows
"Kees" where the registry holds "Cornelis", a clerk types "Jnasen", a survey respondent
has moved or married since. `draw_identities` makes the truth; `corrupt` makes one source's
imperfect copy of it, with a rate per kind of error so that linkage quality can be measured
against a known answer. Both are vectorised; Python loops run only over the rows that get an
error of a kind that needs string surgery.
"""

from tessera.synth.identities.corruption import corrupt
from tessera.synth.identities.error_rates import (
    GP_ERRORS,
    REGISTRY_ERRORS,
    SURVEY_ERRORS,
    IdentifierErrors,
)
from tessera.synth.identities.people import COLUMNS, draw_identities

__all__ = [
    "COLUMNS",
    "GP_ERRORS",
    "REGISTRY_ERRORS",
    "SURVEY_ERRORS",
    "IdentifierErrors",
    "corrupt",
    "draw_identities",
]
