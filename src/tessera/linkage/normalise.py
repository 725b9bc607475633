"""Normalise identifier columns so that the same person reads the same in every source.

Linkage compares fields exactly (blocking keys) and by similarity (typos). Both only work once
the differences that carry no information are gone: case, accents, punctuation, where the
particle of "van den Berg" is written, nicknames, date and postcode formats. This step removes
exactly those, deterministically and per record, so that every party can run it on its own
data and get comparable values; what needs a judgement (typos, phonetic spellings, a changed
surname, a move) is left to the similarity step.

Rules where the right answer is ambiguous:

- German umlauts are written out (ä -> ae, ö -> oe, ü -> ue, ß -> ss), as German registers,
  passports (ICAO) and the synthetic sources do; other diacritics are dropped (é -> e, ë -> e).
- Particles are split off only when followed by a space ("van der Berg", "Berg, van der"):
  "Vanderberg" keeps its core "vanderberg". `surname_full` (particle and core run together)
  makes all three agree for the similarity step without guessing at "Vandenberghe" or "Terpstra".
- A nickname that stands for several formal names ("Hans": Johannes, Johann) maps to the one
  listed first in `NICKNAMES`; `given_name_variants` holds them all. A formal name stands only
  for itself, even where it is someone else's nickname.
- Dates: a field that cannot be a month but can be a day ("1950-25-03", "12/25/1950") was
  swapped and is read the other way round; 8 digits are YYYYMMDD when that is a real date,
  else DDMMYYYY; two-digit years, month names and years outside 1850..this year are missing.
- Sex: administrative "X" (diverse) stays "X"; unknown, "O" (onbekend) and unrecognised
  spellings are missing. Digits follow ISO/IEC 5218 (1 male, 2 female).
- "str." is "straat" unless the row's postcode is German (5 digits), then "strasse".
- Street and city lose all spaces and punctuation ("Prins-Bernhardstraat" = "Prins
  Bernhardstraat", "'s-Hertogenbosch" = "s Hertogenbosch"); names keep single spaces between
  words, because their words (double-barrelled surnames) matter to the similarity step.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Final

import numpy as np
import pandas as pd

from tessera.schema.identifiers import (
    IDENTIFIER_COLUMNS,
    NICKNAMES,
    STREET_ABBREVIATIONS,
    split_surname,
)
from tessera.schema.validate import TEXT

INPUT_COLUMNS: Final = tuple(c for c in IDENTIFIER_COLUMNS if c != "record_id")

# Input column -> the fields normalised from it and what each holds, in output order. A missing
# input gives missing fields (<NA>/None); it is never an error.
FIELDS: Final[dict[str, dict[str, str]]] = {
    "given_name": {
        "given_name": "given name as written: lower-case ASCII words",
        "given_name_formal": "the formal name a nickname stands for (first listed if several)",
        "given_name_variants": "sorted tuple of every formal name the given name may stand for",
    },
    "surname": {
        "surname": "core without particles: 'berg' for 'Van der Berg' and 'Berg, van der'",
        "surname_particle": "particles split off the surname ('van der'); '' when none",
        "surname_full": "particle and core without spaces: 'vanderberg', also for 'Vanderberg'",
    },
    "date_of_birth": {
        "date_of_birth": "canonical ISO date YYYY-MM-DD",
        "birth_year": "year of birth",
        "birth_month": "month of birth",
        "birth_day": "day of birth",
        "birth_day_month": "'DD-MM' with the smaller number first: the same when swapped",
    },
    "sex": {"sex": "M, F or X"},
    "postcode": {
        "postcode": "upper case without spaces: '1234AB' (NL), '12345' (DE); others cleaned",
        "postcode_digits": "the digits of a Dutch (4) or German (5) postcode",
    },
    "house_number": {
        "house_number": "house number as an integer",
        "house_number_suffix": "upper-case suffix ('A' for '12a', '12 A', '12-A'); '' when none",
    },
    "street": {"street": "lower-case ASCII without spaces or punctuation, abbreviations expanded"},
    "city": {"city": "lower-case ASCII without spaces or punctuation"},
}
OUTPUT_COLUMNS: Final = tuple(field for group in FIELDS.values() for field in group)
_INTEGERS: Final = frozenset({"birth_year", "birth_month", "birth_day", "house_number"})
_TUPLES: Final = frozenset({"given_name_variants"})

# Letters that NFKD does not take apart, and apostrophes that should all read "'".
_TRANSLITERATE: Final = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "’": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
        "ʼ": "'",
    }
)
_NON_WORD: Final = re.compile(r"[\W_]+")

_SEX_SPELLINGS: Final = {
    "M": "m male man mann maennlich mannlich mannelijk masculin masculine heer dhr mr 1",
    "F": "f female woman v vrouw vrouwelijk vr w weiblich frau feminin feminine mevrouw mevr mw 2",
    "X": "x d divers diverse other anders overig",
}
_SEX: Final = {word: code for code, words in _SEX_SPELLINGS.items() for word in words.split()}

_FIRST_YEAR: Final = 1850
_LAST_YEAR: Final = dt.date.today().year
_SEP: Final = r"(?:\s*[-/.]\s*|\s+)"
# (pattern, order of its year/month/day groups); the first that gives a real date wins.
_DATE_FORMATS: Final = (
    (re.compile(rf"(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})"), "ymd"),
    (re.compile(rf"(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}})"), "dmy"),
    (re.compile(r"(\d{4})(\d{2})(\d{2})"), "ymd"),
    (re.compile(r"(\d{2})(\d{2})(\d{4})"), "dmy"),
)
_TIME_OF_DAY: Final = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")

_POSTCODE: Final = re.compile(r"(?:NL)?(\d{4})([A-Z]{2})?|(?:DE?)?(\d{5})")
_HOUSE_NUMBER: Final = re.compile(r"(?:nr|no|huisnummer|hausnummer)?\W*(\d+)(.*)")
_MAX_HOUSE_NUMBER: Final = 99_999  # the Dutch register's limit; longer numbers are not numbers

_EXPANSIONS: Final = {short.rstrip("."): full for full, short in STREET_ABBREVIATIONS}
_GERMAN_EXPANSIONS: Final = {**_EXPANSIONS, "str": "strasse"}
# An abbreviation ends a word ("Kerkstr.", "Kerk str"), with or without its dot.
_ABBREVIATION: Final = re.compile(
    "(" + "|".join(sorted(map(re.escape, _EXPANSIONS), key=len, reverse=True)) + r")\.?(?!\w)"
)

Parsed = tuple[object, ...]


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """The normalised fields (`OUTPUT_COLUMNS`, see `FIELDS`) of every row of `frame`.

    Any identifier column may be absent or hold missing values: its fields are then missing.
    The result keeps `frame`'s index; `record_id`, when present, is carried over as the first
    column so the result can be linked back.
    Each rule runs once per distinct value (names and dates repeat), which keeps 100,000 rows
    to about a second.
    """
    _check(frame)
    rows = pd.RangeIndex(len(frame))

    def column(name: str) -> pd.Series:
        if name in frame.columns:
            return pd.Series(frame[name].to_numpy(dtype=object), index=rows)
        return pd.Series(None, index=rows, dtype=object)

    parts = [_per_value(column(name), rule, tuple(FIELDS[name])) for name, rule in _RULES.items()]
    out = pd.concat(parts, axis=1)
    german = out["postcode_digits"].astype(TEXT).str.len().eq(5).to_numpy(bool, na_value=False)
    out["street"] = _streets(column("street"), german)
    out = out[list(OUTPUT_COLUMNS)].astype(
        {c: "Int64" if c in _INTEGERS else TEXT for c in OUTPUT_COLUMNS if c not in _TUPLES}
    )
    if "record_id" in frame.columns:
        out.insert(0, "record_id", frame["record_id"].reset_index(drop=True))
    out.index = frame.index
    return out


def formal_given_name(normalised: pd.DataFrame) -> pd.Series:
    """The formal name a nickname stands for, else the given name as written (<NA> if none):
    what blocking and similarity compare, so that "Jan" meets "Johannes"."""
    formal = normalised["given_name_formal"].astype("string")
    return formal.fillna(normalised["given_name"].astype("string"))


def _check(frame: object) -> None:
    """Refuse what cannot be normalised; name columns and types, never values (personal data)."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"normalise needs a pandas DataFrame, got {type(frame).__name__}")
    present = [c for c in INPUT_COLUMNS if c in frame.columns]
    if not present:
        raise ValueError(
            "the frame has none of the identifier columns: expected at least one of "
            + ", ".join(INPUT_COLUMNS)
        )
    columns = list(frame.columns)
    duplicated = [c for c in IDENTIFIER_COLUMNS if columns.count(c) > 1]
    if duplicated:
        raise ValueError(f"identifier columns appear more than once: {', '.join(duplicated)}")


def _per_value(
    values: pd.Series, rule: Callable[[object], Parsed], names: Sequence[str]
) -> pd.DataFrame:
    """Apply `rule` once per distinct value and spread the results over the rows.

    Missing values (None, NaN, <NA>) all get `rule(None)`, stored as the last row of the table
    so that factorize's code -1 picks it.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    table = [rule(value) for value in uniques]
    table.append(rule(None))
    parsed = pd.DataFrame.from_records(table, columns=list(names))
    return parsed.take(codes).set_axis(values.index)


def _streets(values: pd.Series, german: np.ndarray) -> pd.Series:
    """Streets, with "str." read as "strasse" where the postcode is German."""
    out = pd.Series(None, index=values.index, dtype=object)
    for is_german in (False, True):
        rows = german == is_german
        if rows.any():
            parsed = _per_value(values[rows], partial(_street, german=is_german), ("street",))
            out[rows] = parsed["street"].to_numpy()
    return out


# ----------------------------------------------------------------------------- text


def fold(text: str) -> str:
    """Lower case without accents: umlauts written out, other marks dropped, one apostrophe."""
    text = unicodedata.normalize("NFC", text).casefold().translate(_TRANSLITERATE)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> str:
    """Folded words separated by single spaces; apostrophes join ("d'Ancona" -> "dancona")."""
    return _NON_WORD.sub(" ", fold(text).replace("'", "")).strip()


def compact(text: str) -> str:
    """Folded letters and digits only: for addresses, where spacing varies freely."""
    return _NON_WORD.sub("", fold(text))


def _text(value: object) -> str | None:
    """The value as stripped text, or None when it is missing or blank."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value).strip() or None


# ----------------------------------------------------------------------------- names


@cache
def _formal_names() -> dict[str, tuple[str, ...]]:
    """Normalised name -> the formal names it may stand for, in `NICKNAMES` order."""
    table: dict[str, list[str]] = {}
    for formal, nicknames in NICKNAMES.items():
        for nickname in nicknames:
            table.setdefault(_words(nickname), []).append(_words(formal))
    for formal in NICKNAMES:
        table[_words(formal)] = [_words(formal)]
    return {name: tuple(dict.fromkeys(formals)) for name, formals in table.items()}


def _given_name(value: object) -> Parsed:
    text = _text(value)
    written = _words(text) if text else ""
    if not written:
        return None, None, None
    formals = _formal_names().get(written, (written,))
    return written, formals[0], tuple(sorted(formals))


def _is_particles(text: str) -> bool:
    """Is `text` nothing but surname particles ("van der", "von")? Uses the shared parser."""
    return bool(text) and split_surname(f"{text} x") == (text, "x")


def _surname(value: object) -> Parsed:
    text = _text(value)
    if text is None:
        return None, None, None
    text = " ".join(fold(text).split())
    head, comma, tail = text.rpartition(",")
    if comma and _is_particles(tail.strip()):  # "Berg, van der"
        text = f"{tail.strip()} {head}"
    particle, core = split_surname(text.replace(",", " ").strip())
    particle, core = _words(particle), _words(core)
    if not core:
        return None, None, None
    return core, particle, (particle + core).replace(" ", "")


# ----------------------------------------------------------------------------- dates


def _date_of_birth(value: object) -> Parsed:
    ymd = _date_parts(value)
    if ymd is None:
        return None, None, None, None, None
    year, month, day = ymd
    low, high = sorted((day, month))
    return f"{year:04d}-{month:02d}-{day:02d}", year, month, day, f"{low:02d}-{high:02d}"


def _date_parts(value: object) -> tuple[int, int, int] | None:
    """(year, month, day) of a date object or a date written in a common format."""
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value) if not np.isnat(value) else None
    if isinstance(value, dt.date):  # also datetime and pd.Timestamp
        return _real_date(value.year, value.month, value.day)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 19501203.0 from a numeric column
    text = _text(value)
    if text is None:
        return None
    text = _TIME_OF_DAY.sub("", text)
    for pattern, order in _DATE_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            parts = dict(zip(order, map(int, match.groups()), strict=True))
            ymd = _real_date(parts["y"], parts["m"], parts["d"])
            if ymd is not None:
                return ymd
    return None


def _real_date(year: int, month: int, day: int) -> tuple[int, int, int] | None:
    """The date if it exists and is a plausible birth year; a month > 12 that fits as a day
    means day and month were swapped."""
    if month > 12 >= day:
        month, day = day, month
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        return None
    try:
        dt.date(year, month, day)
    except ValueError:
        return None
    return year, month, day


# ----------------------------------------------------------------------------- the rest


def _sex(value: object) -> Parsed:
    text = _text(value)
    return (_SEX.get(compact(text)) if text else None,)


def _postcode(value: object) -> Parsed:
    text = _text(value)
    cleaned = compact(text).upper() if text else ""
    if not cleaned:
        return None, None
    match = _POSTCODE.fullmatch(cleaned)
    if match is None:
        return cleaned, None
    dutch, letters, german = match.groups()
    if dutch:
        return dutch + (letters or ""), dutch
    return german, german


def _house_number(value: object) -> Parsed:
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer()):
        number, suffix = int(value), ""
    else:
        text = _text(value)
        match = _HOUSE_NUMBER.fullmatch(fold(text)) if text else None
        if match is None:
            return None, None
        number, suffix = int(match.group(1)), compact(match.group(2)).upper()
    if not 0 <= number <= _MAX_HOUSE_NUMBER:
        return None, None
    return number, suffix


def _street(value: object, german: bool = False) -> Parsed:
    text = _text(value)
    if text is None:
        return (None,)
    expansions = _GERMAN_EXPANSIONS if german else _EXPANSIONS
    expanded = _ABBREVIATION.sub(lambda m: expansions[m.group(1)], fold(text))
    return (compact(expanded) or None,)


def _city(value: object) -> Parsed:
    text = _text(value)
    return ((compact(text) or None) if text else None,)


# Input column -> its rule; street is not here because it also needs the postcode.
_RULES: Final[dict[str, Callable[[object], Parsed]]] = {
    "given_name": _given_name,
    "surname": _surname,
    "date_of_birth": _date_of_birth,
    "sex": _sex,
    "postcode": _postcode,
    "house_number": _house_number,
    "city": _city,
}
