"""How often each kind of identifier error strikes, and the rates of the registry, the GP
network and the survey."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final


@dataclass(frozen=True)
class IdentifierErrors:
    """Per-record probabilities of each error kind in one source's copy of the identifiers.

    A rate applies to the records where the error is possible: nicknames to given names that
    have one, swapped day/month to days <= 12, surname changes to women.
    """

    typo: float = 0.0  # one keyboard typo in given_name, surname or street
    phonetic: float = 0.0  # a PHONETIC_VARIANTS spelling swap in surname or given name
    nickname: float = 0.0  # given name replaced by a nickname (NICKNAMES) when it has one
    swapped_day_month: float = 0.0  # DOB day and month swapped (day <= 12 and day != month)
    date_typo: float = 0.0  # one DOB digit changed (year digit, or day off by one), still valid
    missing: float = 0.0  # each of given_name, DOB, postcode, house_number, street, city blanked
    surname_change: float = 0.0  # women: partner's surname, or double-barrelled "Jansen-de Vries"
    moved: float = 0.0  # a different address (possibly in another region)
    formatting: float = 0.0  # case, "1234AB", "Kerkstr.", "Berg, van den"

    def __post_init__(self) -> None:
        for f in fields(self):
            rate = getattr(self, f.name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{f.name} rate must lie in [0, 1], got {rate}")

    def scaled(self, factor: float) -> IdentifierErrors:
        """All rates times `factor`, capped at 1: one knob for a cleaner or messier source."""
        if factor < 0:
            raise ValueError(f"factor must be non-negative, got {factor}")
        return IdentifierErrors(
            **{f.name: min(getattr(self, f.name) * factor, 1.0) for f in fields(self)}
        )

    def is_zero(self) -> bool:
        return all(getattr(self, f.name) == 0.0 for f in fields(self))


REGISTRY_ERRORS: Final = IdentifierErrors(
    typo=0.02,
    phonetic=0.01,
    nickname=0.01,
    swapped_day_month=0.005,
    date_typo=0.005,
    missing=0.01,
    surname_change=0.0,
    moved=0.0,
    formatting=0.05,
)
GP_ERRORS: Final = IdentifierErrors(
    typo=0.04,
    phonetic=0.02,
    nickname=0.08,
    swapped_day_month=0.01,
    date_typo=0.01,
    missing=0.03,
    surname_change=0.03,
    moved=0.08,
    formatting=0.15,
)
SURVEY_ERRORS: Final = IdentifierErrors(
    typo=0.05,
    phonetic=0.03,
    nickname=0.15,
    swapped_day_month=0.02,
    date_typo=0.01,
    missing=0.05,
    surname_change=0.02,
    moved=0.05,
    formatting=0.2,
)
