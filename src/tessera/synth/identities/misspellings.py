"""Misspellings of one value at a time: keyboard typos, sound-alike spelling swaps and
mistyped dates, each still a value a real source could hold.

These are the errors that need string surgery, so they run per value, only on the rows that
`tessera.synth.identities.corruption` picked for them.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Final

import numpy as np

from tessera.schema.identifiers import PHONETIC_VARIANTS

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


def phonetic_swap(value: str, rng: np.random.Generator) -> str | None:
    """`value` with one sound-alike spelling swapped, or None if no swap is plausible."""
    options = _phonetic_options(value)
    return options[int(rng.integers(len(options)))] if options else None


def typo(value: str, rng: np.random.Generator) -> str | None:
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


def date_typo(iso: str, rng: np.random.Generator) -> str | None:
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
