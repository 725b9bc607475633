"""Synthetic true identities, and the errors each source makes when it records them.

Record linkage has to be tested against the mistakes real sources make: a GP knows
"Kees" where the registry holds "Cornelis", a clerk types "Jnasen", a survey respondent
has moved or married since. `draw_identities` makes the truth; `corrupt` makes one source's
imperfect copy of it, with a rate per kind of error so that linkage quality can be measured
against a known answer. Both are vectorised; Python loops run only over the rows that get an
error of a kind that needs string surgery.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields
from functools import cache, lru_cache
from typing import Final

import numpy as np
import pandas as pd

from tessera.schema.identifiers import (
    IDENTIFIER_COLUMNS,
    NICKNAMES,
    PHONETIC_VARIANTS,
    STREET_ABBREVIATIONS,
    split_surname,
)
from tessera.synth import names

COLUMNS: Final = IDENTIFIER_COLUMNS[1:]  # all but the source-local record_id
_MISSABLE: Final = ("given_name", "date_of_birth", "postcode", "house_number", "street", "city")
_ORIGINS: Final = ("nl", "de")
# Share of people who move to another region when they move (otherwise within the region).
_MOVE_OTHER_REGION: Final = 0.2


# ----------------------------------------------------------------------------- true identities


@cache
def _city_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cities = names.CITIES
    return (
        np.array([c.name for c in cities], dtype=object),
        np.array([c.postcode_low for c in cities]),
        np.array([c.postcode_high for c in cities]),
        np.array([c.region for c in cities]),
        np.array([c.population for c in cities], dtype=float),
    )


@cache
def _city_groups(n_regions: int) -> tuple[np.ndarray, ...]:
    """City indices per region: the real CBS regions for 4, else a deterministic split.

    For other counts the cities, largest first, are dealt round-robin so that every group gets
    a mix of large and small towns; a region left without a city borrows one.
    """
    if n_regions < 1:
        raise ValueError(f"n_regions must be at least 1, got {n_regions}")
    _, _, _, city_region, population = _city_arrays()
    if n_regions == len(names.REGIONS):
        return tuple(np.flatnonzero(city_region == r) for r in range(n_regions))
    order = np.argsort(-population, kind="stable")
    groups = [order[r::n_regions] for r in range(n_regions)]
    return tuple(g if len(g) else order[[r % len(order)]] for r, g in enumerate(groups))


@cache
def _city_sampler(n_regions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat region + cumulative population share, city index and each region's last slot."""
    population = _city_arrays()[4]
    cums, members = [], []
    for r, group in enumerate(_city_groups(n_regions)):
        cum = np.cumsum(population[group]) / population[group].sum()
        cum[-1] = 1.0
        cums.append(r + cum)
        members.append(group)
    last = np.cumsum([len(m) for m in members]) - 1
    return np.concatenate(cums), np.concatenate(members), last


@cache
def _region_of_city(n_regions: int) -> dict[str, int]:
    """City name -> the (first) region whose group holds it."""
    city_names = _city_arrays()[0]
    out: dict[str, int] = {}
    for r, group in enumerate(_city_groups(n_regions)):
        for c in group:
            out.setdefault(city_names[c], r)
    return out


@cache
def _format_tables() -> dict[str, np.ndarray]:
    """Lookup tables that turn integer codes into strings without per-row formatting."""
    street_names, street_p = names.street_table()
    cum = np.cumsum(street_p)
    cum[-1] = 1.0
    return {
        "pc4": np.array([f"{i:04d} " for i in range(10_000)], dtype=object),
        "letters": np.array(names.POSTCODE_LETTERS, dtype=object),
        "number": np.array([str(i) for i in range(1_000)], dtype=object),
        "street": street_names,
        "street_cum": cum,
    }


def _street_of(pc4: np.ndarray, letters: np.ndarray) -> np.ndarray:
    """The street a full postcode belongs to: a fixed hash, so one postcode is one street."""
    z = pc4.astype(np.uint64) * np.uint64(400) + letters.astype(np.uint64)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    tables = _format_tables()
    idx = np.minimum(
        np.searchsorted(tables["street_cum"], u, side="right"), len(tables["street"]) - 1
    )
    return tables["street"][idx]


def _draw_addresses(
    rng: np.random.Generator, region: np.ndarray, n_regions: int
) -> dict[str, np.ndarray]:
    """City (by population within the region), postcode in its range, street, house number."""
    n = len(region)
    cum, members, last = _city_sampler(n_regions)
    pos = np.searchsorted(cum, region + rng.random(n), side="right")
    city = members[np.minimum(pos, last[region])]  # r + u may round up to r + 1
    city_names, low, high, _, _ = _city_arrays()
    pc4 = rng.integers(low[city], high[city] + 1)
    letters = rng.integers(len(names.POSTCODE_LETTERS), size=n)
    # House numbers: mostly small, a long tail to a few hundred; some with a suffix.
    number = np.minimum(1 + rng.exponential(35.0, n).astype(np.int64), 999)
    suffix_kind = rng.random(n)
    suffixes = np.array(["", "a", "b", "c", "-1", "-2", "-3"], dtype=object)
    suffix = np.select(
        [
            suffix_kind < 0.91,
            suffix_kind < 0.95,
            suffix_kind < 0.97,
            suffix_kind < 0.98,
            suffix_kind < 0.99,
            suffix_kind < 0.995,
        ],
        [0, 1, 2, 3, 4, 5],
        6,
    )
    tables = _format_tables()
    return {
        "pc4": pc4,
        "letters": letters,
        "postcode": tables["pc4"][pc4] + tables["letters"][letters],
        "house_number": tables["number"][number] + suffixes[suffix],
        "street": _street_of(pc4, letters),
        "city": city_names[city],
    }


def _draw_surnames(rng: np.random.Generator, german: np.ndarray) -> np.ndarray:
    out = np.empty(len(german), dtype=object)
    for origin, mask in (("nl", ~german), ("de", german)):
        table, p = names.surname_table(origin)
        out[mask] = table[rng.choice(len(table), size=int(mask.sum()), p=p)]
    return out


def _draw_given_names(
    rng: np.random.Generator, sex: np.ndarray, german: np.ndarray, year: np.ndarray
) -> np.ndarray:
    n = len(sex)
    name_sex = np.where(sex == "F", "F", "M")
    other = (sex != "M") & (sex != "F")  # 'X' and anything else: either list, half and half
    name_sex[other] = np.where(rng.random(int(other.sum())) < 0.5, "F", "M")
    era = np.searchsorted(np.array(names.ERA_BOUNDS), year, side="right")
    out = np.empty(n, dtype=object)
    for origin in _ORIGINS:
        is_origin = german if origin == "de" else ~german
        for s in ("M", "F"):
            for e in range(len(names.ERA_BOUNDS) + 1):
                mask = is_origin & (name_sex == s) & (era == e)
                k = int(mask.sum())
                if k:
                    table, p = names.given_name_table(origin, s, e)
                    out[mask] = table[rng.choice(len(table), size=k, p=p)]
    return out


def _iso_dates(date_of_birth: np.ndarray) -> np.ndarray:
    dob = np.asarray(date_of_birth).astype("datetime64[D]")
    iso = np.datetime_as_string(dob, unit="D").astype(object)
    iso[np.isnat(dob)] = None
    return iso


def draw_identities(
    rng: np.random.Generator,
    sex: np.ndarray,
    date_of_birth: np.ndarray,
    region: np.ndarray,
    n_regions: int,
) -> pd.DataFrame:
    """True identities: columns given_name, surname, date_of_birth (ISO 'YYYY-MM-DD' str), sex,
    postcode ('1234 AB' Dutch format), house_number (str, sometimes with a suffix like '12a'),
    street, city. `sex` holds 'M'/'F'/'X'; `date_of_birth` is datetime64[D]; `region` holds ints
    0..n_regions-1 and decides the city (cities are spread over the regions; when n_regions
    differs from 4, split the city list into n_regions groups deterministically).
    The index is 0..n-1.

    About 10% of people are of German origin (German given name and surname); given names
    follow the fashion of the birth cohort, so older people carry formal registered names.
    """
    sex = np.asarray(sex).astype(object)
    dob = np.asarray(date_of_birth).astype("datetime64[D]")
    region = np.asarray(region).astype(np.int64)
    n = len(sex)
    if not len(dob) == len(region) == n:
        raise ValueError("sex, date_of_birth and region must have the same length")
    if n and (region.min() < 0 or region.max() >= n_regions):
        raise ValueError(f"region values must lie in 0..{n_regions - 1}")
    _city_groups(n_regions)  # validates n_regions
    year = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    german = rng.random(n) < names.GERMAN_SHARE
    given = _draw_given_names(rng, sex, german, year)
    surname = _draw_surnames(rng, german)
    address = _draw_addresses(rng, region, n_regions)
    return pd.DataFrame(
        {
            "given_name": given,
            "surname": surname,
            "date_of_birth": _iso_dates(dob),
            "sex": sex,
            "postcode": address["postcode"],
            "house_number": address["house_number"],
            "street": address["street"],
            "city": address["city"],
        },
        index=pd.RangeIndex(n),
    )


# ----------------------------------------------------------------------------- errors


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

# QWERTY neighbours: row r, column c touches c +- 1 in its row, c and c+1 in the row above,
# c - 1 and c in the row below (the rows are staggered).
_ROWS: Final = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, str]:
    out: dict[str, str] = {}
    for r, row in enumerate(_ROWS):
        for c, ch in enumerate(row):
            near = [row[j] for j in (c - 1, c + 1) if 0 <= j < len(row)]
            if r > 0:
                near += [_ROWS[r - 1][j] for j in (c, c + 1) if j < len(_ROWS[r - 1])]
            if r < len(_ROWS) - 1:
                near += [_ROWS[r + 1][j] for j in (c - 1, c) if 0 <= j < len(_ROWS[r + 1])]
            out[ch] = "".join(near)
    return out


_NEIGHBOURS: Final = _keyboard_neighbours()
_VOWELS: Final = frozenset("aeiouyäöüéè")
# Spellings that may start a name after a swap ("Kornelis", "Filip"); "Ckees" may not.
_INITIAL_OK: Final = frozenset({"c", "k", "f", "ph", "v", "s", "z", "t", "th"})
_TRIPLE: Final = re.compile(r"(.)\1\1")
# Two-letter spellings in PHONETIC_VARIANTS, plus "sch": letters that belong together.
_CLUSTERS: Final = frozenset(
    {s for pair in PHONETIC_VARIANTS for s in pair if len(s) == 2} | {"sch"}
)


def _swap_table() -> dict[str, tuple[str, ...]]:
    """Spelling -> the spellings it may be swapped for, both ways round."""
    table: dict[str, list[str]] = {cluster: [] for cluster in _CLUSTERS}
    for a, b in PHONETIC_VARIANTS:
        table.setdefault(a, []).append(b)
        table.setdefault(b, []).append(a)
    return {src: tuple(dsts) for src, dsts in table.items()}


_SWAPS: Final = _swap_table()
_LONGEST: Final = max(len(src) for src in _SWAPS)


def _match_case(template: str, replacement: str) -> str:
    """Carry the case of the replaced letters over: "Cornelis" -> "Kornelis", "IJ" -> "Y"."""
    if template.isupper() and (len(template) > 1 or replacement in ("ij", "ss")):
        return replacement.upper()
    if template[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _plausible(low: str, start: int, end: int, dst: str) -> bool:
    """Would writing `dst` for low[start:end] give a spelling people really use?

    Dutch and German spelling only lets most variants stand in certain places: "dt" ends a
    word (Brandt), "ck" follows a vowel (Hendrick), c and k alternate only where c is hard.
    Umlauts are written out (Mueller) but never invented from "oe" (Hoekstra).
    """
    src = low[start:end]
    before = low[start - 1] if start > 0 else ""
    after = low[end] if end < len(low) else ""
    if start == 0 and dst not in _INITIAL_OK:
        return False
    if dst in ("ä", "ö", "ü", "ß") or (src, dst) in (("i", "ie"), ("ae", "aa")):
        return False
    if (src, dst) in (("g", "gh"), ("sch", "s")):
        return after == ""  # de Jongh, Bosch/Bos: only at the end
    if dst == "sch":
        return after == "" and before == "o"
    short = before in "aeiou" and (start < 2 or low[start - 2] not in _VOWELS)
    if len(src) == 1 and dst == src * 2:  # Wilem -> Willem: doubled after a vowel, before -e-
        return short and after == "e" and low[end + 1 : end + 2] not in _VOWELS
    if dst == "dt":
        return after == "" and (src == "d" or before in _VOWELS)
    if dst == "sz":
        return after == "" and before in "nr"  # Jansz, Pietersz
    if dst == "ck":
        return short
    if dst == "tz":
        return before != "" and before in "lnr"  # Schultz, Kurtz
    if dst == "ph":
        return after in _VOWELS
    if {src, dst} == {"c", "k"}:
        return after not in ("e", "i", "y")
    if {src, dst} == {"s", "z"}:
        return after in _VOWELS or after == "w"
    if {src, dst} in ({"v", "f"}, {"t", "th"}):
        return start == 0
    if {src, dst} == {"ch", "g"}:
        return after not in _VOWELS and before != "n"
    if src in ("ei", "ey", "ai") and after == "j":
        return False
    return not (dst == "ei" and before == "e")


@lru_cache(maxsize=200_000)
def _phonetic_options(value: str) -> tuple[str, ...]:
    """Every plausible one-swap spelling of `value` (names repeat, so this is cached).

    A spelling inside a longer cluster is left alone ("ch" in "sch", "i" in "ij"), the swap
    must pass `_plausible`, and no letter may end up three times in a row ("Jansssen").
    """
    low = value.lower()
    if len(low) != len(value):
        return ()
    found = [
        (i, i + size, low[i : i + size])
        for i in range(len(low))
        for size in range(1, _LONGEST + 1)
        if low[i : i + size] in _SWAPS and i + size <= len(low)
    ]
    spans = [(s, e) for s, e, piece in found if piece in _CLUSTERS]
    options: list[str] = []
    for start, end, src in found:
        if any(s <= start and end <= e and e - s > end - start for s, e in spans):
            continue
        for dst in _SWAPS[src]:
            if _plausible(low, start, end, dst):
                swapped = value[:start] + _match_case(value[start:end], dst) + value[end:]
                if not _TRIPLE.search(swapped.lower()):
                    options.append(swapped)
    return tuple(dict.fromkeys(options))


def _phonetic_swap(value: str, rng: np.random.Generator) -> str | None:
    """`value` with one sound-alike spelling swapped, or None if no swap is plausible."""
    options = _phonetic_options(value)
    return options[int(rng.integers(len(options)))] if options else None


def _typo(value: str, rng: np.random.Generator) -> str | None:
    """`value` with one keyboard slip: neighbouring key, extra key, dropped key or two keys
    swapped. Only letters are touched, so the result is never empty; None if nothing fits."""
    letters = [i for i, ch in enumerate(value) if ch.isalpha()]
    if not letters:
        return None
    subst = [i for i in letters if value[i].lower() in _NEIGHBOURS]
    pairs = [
        i
        for i in letters
        if i + 1 < len(value)
        and value[i + 1].isalpha()
        and value[i].lower() != value[i + 1].lower()
    ]
    kinds = ["insert"]
    if subst:
        kinds.append("substitute")
    if len(letters) >= 2:
        kinds.append("delete")
    if pairs:
        kinds.append("transpose")
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "substitute":
        i = subst[int(rng.integers(len(subst)))]
        near = _NEIGHBOURS[value[i].lower()]
        ch = near[int(rng.integers(len(near)))]
        return value[:i] + (ch.upper() if value[i].isupper() else ch) + value[i + 1 :]
    if kind == "delete":
        i = letters[int(rng.integers(len(letters)))]
        return value[:i] + value[i + 1 :]
    if kind == "transpose":
        i = pairs[int(rng.integers(len(pairs)))]
        a, b = value[i], value[i + 1]
        a2 = b.upper() if a.isupper() else b.lower()
        b2 = a.upper() if b.isupper() else a.lower()
        return value[:i] + a2 + b2 + value[i + 2 :]
    # insert a neighbouring key (or the same key twice) after letter i
    i = letters[int(rng.integers(len(letters)))]
    near = _NEIGHBOURS.get(value[i].lower(), "") + value[i].lower()
    ch = near[int(rng.integers(len(near)))]
    ref = value[i + 1] if i + 1 < len(value) and value[i + 1].isalpha() else value[i]
    return value[: i + 1] + (ch.upper() if ref.isupper() else ch) + value[i + 1 :]


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _date_typo(iso: str, rng: np.random.Generator) -> str | None:
    """A year digit changed, or the day off by one; the result is still a real date."""
    try:
        date = dt.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return None
    if rng.random() < 0.5:
        decade = date.year - date.year % 10
        years = [
            decade + d
            for d in range(10)
            if decade + d != date.year and _valid_date(decade + d, date.month, date.day)
        ]
        return date.replace(year=years[int(rng.integers(len(years)))]).isoformat()
    step = 1 if rng.random() < 0.5 else -1
    if not _valid_date(date.year, date.month, date.day + step):
        step = -step
    return date.replace(day=date.day + step).isoformat()


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
                swapped = _phonetic_swap(core, rng)
                if swapped is not None:
                    surname[i] = f"{particle} {swapped}" if particle else swapped
                    break
            else:
                swapped = _phonetic_swap(value, rng)
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
        typed = _typo(cols[field][i], rng)
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
        changed = _date_typo(dob[i], rng)
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
    partner = _draw_surnames(rng, rng.random(len(sel)) < names.GERMAN_SHARE)
    same = partner == own
    while same.any():
        partner[same] = _draw_surnames(rng, np.zeros(int(same.sum()), dtype=bool))
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
        lookup = _region_of_city(n_regions)
        reg = pd.Series(cols["city"][sel], dtype=object).map(lookup).to_numpy(dtype=float)
        unknown = np.isnan(reg)
        reg[unknown] = rng.integers(n_regions, size=int(unknown.sum()))
        reg = reg.astype(np.int64)
    elsewhere = rng.random(len(sel)) < _MOVE_OTHER_REGION
    reg[elsewhere] = rng.integers(n_regions, size=int(elsewhere.sum()))
    address = _draw_addresses(rng, reg, n_regions)
    # A move always changes the postcode: on a clash take the next letter pair.
    same = address["postcode"] == cols["postcode"][sel]
    if same.any():
        letters = address["letters"].copy()
        letters[same] = (letters[same] + 1) % len(names.POSTCODE_LETTERS)
        tables = _format_tables()
        address["postcode"] = tables["pc4"][address["pc4"]] + tables["letters"][letters]
        address["street"] = _street_of(address["pc4"], letters)
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
    _city_groups(n_regions)  # validates n_regions
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
