"""A source's imperfect copy of the true identities: moves, marriages, nicknames, misspellings,
mistyped dates, formatting and blanks, each kind at its own rate (`IdentifierErrors`).

The kinds that touch many rows at once are vectorised; the ones that need string surgery call
`misspellings` on the rows they picked.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Final

import numpy as np
import pandas as pd

from tessera.schema.identifiers import NICKNAMES, STREET_ABBREVIATIONS, split_surname
from tessera.synth import names
from tessera.synth.identities import misspellings
from tessera.synth.identities.addresses import (
    city_groups,
    draw_addresses,
    format_tables,
    region_of_city,
    street_of,
)
from tessera.synth.identities.error_rates import IdentifierErrors
from tessera.synth.identities.people import COLUMNS, draw_surnames

_MISSABLE: Final = ("given_name", "date_of_birth", "postcode", "house_number", "street", "city")
# Share of people who move to another region when they move (otherwise within the region).
_MOVE_OTHER_REGION: Final = 0.2


@cache
def _nickname_table() -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Formal name -> row; per row the offset into the flat nickname array and the count."""
    index = {formal: i for i, formal in enumerate(NICKNAMES)}
    counts = np.array([len(v) for v in NICKNAMES.values()])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.array([nick for v in NICKNAMES.values() for nick in v], dtype=object)
    return index, np.stack([offsets, counts]), flat


def _apply_nickname(cols: dict[str, np.ndarray], rng: np.random.Generator, rate: float) -> None:
    index, (offsets, counts), flat = _nickname_table()
    row = pd.Series(cols["given_name"]).map(index).to_numpy(dtype=float)
    hit = ~np.isnan(row) & (rng.random(len(row)) < rate)
    r = row[hit].astype(np.int64)
    pick = offsets[r] + rng.integers(counts[r])
    cols["given_name"][hit] = flat[pick]


def _apply_phonetic(cols: dict[str, np.ndarray], rng: np.random.Generator, rate: float) -> None:
    given, surname = cols["given_name"], cols["surname"]
    for i in np.flatnonzero(rng.random(len(given)) < rate):
        order = ("surname", "given_name") if rng.random() < 0.6 else ("given_name", "surname")
        for field in order:
            value = given[i] if field == "given_name" else surname[i]
            if not isinstance(value, str) or not value:
                continue
            if field == "surname":
                particle, core = split_surname(value)
                swapped = misspellings.phonetic_swap(core, rng)
                if swapped is not None:
                    surname[i] = f"{particle} {swapped}" if particle else swapped
                    break
            else:
                swapped = misspellings.phonetic_swap(value, rng)
                if swapped is not None:
                    given[i] = swapped
                    break


def _apply_typo(cols: dict[str, np.ndarray], rng: np.random.Generator, rate: float) -> None:
    fields_, weights = ("given_name", "surname", "street"), (0.4, 0.4, 0.2)
    n = len(cols["surname"])
    for i in np.flatnonzero(rng.random(n) < rate):
        usable = [k for k, f in enumerate(fields_) if isinstance(cols[f][i], str) and cols[f][i]]
        if not usable:
            continue
        cum = np.cumsum([weights[k] for k in usable])
        field = fields_[usable[int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))]]
        typed = misspellings.typo(cols[field][i], rng)
        if typed is not None:
            cols[field][i] = typed


def _apply_swapped_day_month(
    cols: dict[str, np.ndarray], rng: np.random.Generator, rate: float
) -> None:
    dob = cols["date_of_birth"]
    sel = np.flatnonzero(rng.random(len(dob)) < rate)
    s = pd.Series(dob[sel], dtype=object)
    valid = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}").to_numpy(dtype=bool, na_value=False)
    sel, s = sel[valid], s[valid]
    day = pd.to_numeric(s.str[8:10]).to_numpy()
    month = pd.to_numeric(s.str[5:7]).to_numpy()
    ok = (day >= 1) & (day <= 12) & (day != month)
    s = s[ok]
    dob[sel[ok]] = (s.str[:4] + "-" + s.str[8:10] + "-" + s.str[5:7]).to_numpy(dtype=object)


def _apply_date_typo(cols: dict[str, np.ndarray], rng: np.random.Generator, rate: float) -> None:
    dob = cols["date_of_birth"]
    for i in np.flatnonzero(rng.random(len(dob)) < rate):
        changed = misspellings.date_typo(dob[i], rng)
        if changed is not None:
            dob[i] = changed


def _apply_missing(cols: dict[str, np.ndarray], rng: np.random.Generator, rate: float) -> None:
    blank = rng.random((len(cols["surname"]), len(_MISSABLE))) < rate
    for j, field in enumerate(_MISSABLE):
        cols[field][blank[:, j]] = None


def _apply_surname_change(
    cols: dict[str, np.ndarray], rng: np.random.Generator, rate: float
) -> None:
    surname = cols["surname"]
    women = (cols["sex"] == "F") & pd.notna(surname)
    sel = np.flatnonzero(women & (rng.random(len(surname)) < rate))
    own = surname[sel]
    partner = draw_surnames(rng, rng.random(len(sel)) < names.GERMAN_SHARE)
    same = partner == own
    while same.any():
        partner[same] = draw_surnames(rng, np.zeros(int(same.sum()), dtype=bool))
        same = partner == own
    double = rng.random(len(sel)) < 0.5
    surname[sel] = np.where(double, partner + "-" + own, partner)


def _apply_moved(
    cols: dict[str, np.ndarray],
    rng: np.random.Generator,
    rate: float,
    region: np.ndarray | None,
    n_regions: int,
) -> None:
    n = len(cols["surname"])
    sel = np.flatnonzero(rng.random(n) < rate)
    if region is not None:
        reg = np.asarray(region, dtype=np.int64)[sel]
    else:
        lookup = region_of_city(n_regions)
        reg = pd.Series(cols["city"][sel], dtype=object).map(lookup).to_numpy(dtype=float)
        unknown = np.isnan(reg)
        reg[unknown] = rng.integers(n_regions, size=int(unknown.sum()))
        reg = reg.astype(np.int64)
    elsewhere = rng.random(len(sel)) < _MOVE_OTHER_REGION
    reg[elsewhere] = rng.integers(n_regions, size=int(elsewhere.sum()))
    address = draw_addresses(rng, reg, n_regions)
    # A move always changes the postcode: on a clash take the next letter pair.
    same = address["postcode"] == cols["postcode"][sel]
    if same.any():
        letters = address["letters"].copy()
        letters[same] = (letters[same] + 1) % len(names.POSTCODE_LETTERS)
        tables = format_tables()
        address["postcode"] = tables["pc4"][address["pc4"]] + tables["letters"][letters]
        address["street"] = street_of(address["pc4"], letters)
    for field in ("postcode", "house_number", "street", "city"):
        cols[field][sel] = address[field]


_ABBREVIATION_PATTERN: Final = "(?:" + "|".join(s for s, _ in STREET_ABBREVIATIONS) + ")$"


def _apply_formatting(cols: dict[str, np.ndarray], rng: np.random.Generator, rate: float) -> None:
    """One harmless variation per selected record, chosen among those that change something."""
    n = len(cols["surname"])
    sel = np.flatnonzero(rng.random(n) < rate)
    given = pd.Series(cols["given_name"][sel], dtype=object)
    surname = pd.Series(cols["surname"][sel], dtype=object)
    postcode = pd.Series(cols["postcode"][sel], dtype=object)
    street = pd.Series(cols["street"][sel], dtype=object)
    has_particle = np.array(
        [isinstance(s, str) and split_surname(s)[0] != "" for s in surname], dtype=bool
    )

    def _ok(mask: pd.Series) -> np.ndarray:
        return mask.to_numpy(dtype=bool, na_value=False)

    applicable = np.column_stack(
        [
            _ok(given.str.upper() != given) | _ok(surname.str.upper() != surname),
            _ok(given.str.lower() != given) | _ok(surname.str.lower() != surname),
            _ok(postcode.str.contains(" ", regex=False)),
            _ok(postcode.str.contains(r"[A-Z]")),
            _ok(street.str.contains(_ABBREVIATION_PATTERN)),
            has_particle,
        ]
    )
    score = rng.random(applicable.shape) * applicable
    choice = np.where(applicable.any(axis=1), score.argmax(axis=1), -1)

    def _put(field: str, rows: np.ndarray, values: pd.Series) -> None:
        rows = rows & values.notna().to_numpy()  # a blank stays blank
        cols[field][sel[rows]] = values[rows].to_numpy(dtype=object)

    rows = choice == 0
    _put("given_name", rows, given.str.upper())
    _put("surname", rows, surname.str.upper())
    rows = choice == 1
    _put("given_name", rows, given.str.lower())
    _put("surname", rows, surname.str.lower())
    _put("postcode", choice == 2, postcode.str.replace(" ", "", regex=False))
    _put("postcode", choice == 3, postcode.str.replace(" ", "", regex=False).str.lower())
    abbreviated = street
    for full, short in STREET_ABBREVIATIONS:
        abbreviated = abbreviated.str.replace(f"{full}$", short, regex=True)
    _put("street", choice == 4, abbreviated)
    for j in np.flatnonzero(choice == 5):
        particle, core = split_surname(surname.iat[j])
        cols["surname"][sel[j]] = f"{core}, {particle}"


def corrupt(
    identities: pd.DataFrame,
    rng: np.random.Generator,
    errors: IdentifierErrors,
    region: np.ndarray | None = None,
    n_regions: int = 4,
) -> pd.DataFrame:
    """A source's copy of the identities with realistic errors applied; never mutates the input;
    same index and columns. `errors` with all rates 0 returns an exact copy.

    `region` (per row, 0..n_regions-1) is where movers usually stay; without it the region is
    read off the city. Each error kind draws from its own child of `rng`, so changing one rate
    leaves where the other kinds strike unchanged. Errors are applied in the order a record
    lives them: move and marriage, then how names are heard and typed, then formatting, then
    blanks.
    """
    absent = [c for c in COLUMNS if c not in identities.columns]
    if absent:
        raise KeyError(f"identities lack columns {absent}")
    out = identities.copy(deep=True)
    n = len(out)
    if errors.is_zero() or n == 0:
        return out
    if region is not None:
        region = np.asarray(region, dtype=np.int64)
        if len(region) != n:
            raise ValueError("region must have one value per identity")
        if region.min() < 0 or region.max() >= n_regions:
            raise ValueError(f"region values must lie in 0..{n_regions - 1}")
    city_groups(n_regions)  # validates n_regions
    cols = {c: out[c].to_numpy(dtype=object, copy=True) for c in COLUMNS}
    kinds = [f.name for f in fields(errors)]
    streams = dict(zip(kinds, rng.spawn(len(kinds)), strict=True))
    if errors.moved:
        _apply_moved(cols, streams["moved"], errors.moved, region, n_regions)
    if errors.surname_change:
        _apply_surname_change(cols, streams["surname_change"], errors.surname_change)
    if errors.nickname:
        _apply_nickname(cols, streams["nickname"], errors.nickname)
    if errors.phonetic:
        _apply_phonetic(cols, streams["phonetic"], errors.phonetic)
    if errors.typo:
        _apply_typo(cols, streams["typo"], errors.typo)
    if errors.swapped_day_month:
        _apply_swapped_day_month(cols, streams["swapped_day_month"], errors.swapped_day_month)
    if errors.date_typo:
        _apply_date_typo(cols, streams["date_typo"], errors.date_typo)
    if errors.formatting:
        _apply_formatting(cols, streams["formatting"], errors.formatting)
    if errors.missing:
        _apply_missing(cols, streams["missing"], errors.missing)
    for c in COLUMNS:
        out[c] = cols[c]
    return out
