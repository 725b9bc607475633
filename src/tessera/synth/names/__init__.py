"""Frequency-weighted names and addresses for synthetic Dutch and German identities.

Record linkage is only tested honestly on identities that look like the real population: a few
very common surnames (many people called de Jong who are not the same person), a long tail of
rare ones, formal registered given names in older cohorts, and postcodes that really belong to
the city they are paired with. Weights are approximate counts of bearers (real for the head of
each list, generated for the tail), so only their ratios matter.
"""

from __future__ import annotations

from typing import Final

from tessera.synth.names.given import ERA_BOUNDS, GIVEN_NAMES, given_name_table
from tessera.synth.names.places import (
    CITIES,
    POSTCODE_LETTERS,
    REGIONS,
    STREETS_COMMON,
    City,
    street_table,
)
from tessera.synth.names.surnames import SURNAMES_DE, SURNAMES_NL, surname_table

# Share of people of German origin (names drawn from the German lists).
GERMAN_SHARE: Final = 0.10


__all__ = [
    "CITIES",
    "ERA_BOUNDS",
    "GERMAN_SHARE",
    "GIVEN_NAMES",
    "POSTCODE_LETTERS",
    "REGIONS",
    "STREETS_COMMON",
    "SURNAMES_DE",
    "SURNAMES_NL",
    "City",
    "given_name_table",
    "street_table",
    "surname_table",
]
