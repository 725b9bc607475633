"""Blocking: which record pairs are worth comparing, found from keyed tags alone.

Comparing every registry record with every GP record is n·m similarity computations in MPC:
far too many. Each party therefore derives a few *blocking keys* per record from its
normalised identifiers (`tessera.linkage.normalise`). Each key combines fields so that a
true pair agrees on at least one of them despite a typo, a nickname or a swapped date. The
parties turn each key value into a tag, a keyed BLAKE2b hash under a key the two data
parties share and the matcher (the third party) never learns. The matcher then pairs up
the records that share a tag: the *candidates*, which the similarity step compares inside
MPC.

The matcher sees tags, never values. Tags of the same key value collide, so it learns
block sizes. The keys here combine fields so that blocks stay small: on 100,000 synthetic
patients the largest held 48 records (a common surname with a common given name), most a
handful, which leaves a frequency attack little to work with. That leakage (block sizes,
the number of candidates) is what the linkage protocol will have to state. A missing field
makes its key missing, and a missing key gets a random tag, which matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import numpy as np
import pandas as pd

from tessera.linkage.normalise import formal_given_name
from tessera.mpc.join import TAG_BYTES, keyed_tags


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("string")


def _either_order(first: pd.Series, second: pd.Series) -> pd.Series:
    """The two values joined smaller first: the same when a source swapped the columns."""
    low = first.where(first <= second, second)
    high = second.where(first <= second, first)
    return low + "|" + high


def _initial(values: pd.Series) -> pd.Series:
    return values.str.slice(0, 1)


# Name -> the key's value per record from a normalised frame; missing when a part is.
# On 100,000 synthetic patients (60,028 true registry-GP pairs), each key alone finds
# 85-92% of the true pairs; together 99.89%, with 5.5 candidates per true pair. A bare date
# of birth found 94% but made 700,000 candidates; with the surname's initial, 99,000.
KEYS: Final[Mapping[str, Callable[[pd.DataFrame], pd.Series]]] = {
    "surname+year": lambda f: _text(f, "surname") + "|" + _text(f, "birth_year"),
    "given+dob": lambda f: formal_given_name(f) + "|" + _text(f, "date_of_birth"),
    "dob+surname initial": lambda f: (
        _text(f, "date_of_birth") + "|" + _initial(_text(f, "surname"))
    ),
    "year+day/month+given initial": lambda f: (
        _text(f, "birth_year")
        + "|"
        + _text(f, "birth_day_month")
        + "|"
        + _initial(formal_given_name(f))
    ),
    "postcode+house": lambda f: _text(f, "postcode") + "|" + _text(f, "house_number"),
    "names in either order": lambda f: _either_order(_text(f, "surname"), formal_given_name(f)),
}


def key_values(normalised: pd.DataFrame) -> pd.DataFrame:
    """The blocking keys of each record (one column per key; <NA> where a part is missing)."""
    return pd.DataFrame({name: make(normalised) for name, make in KEYS.items()})


def tags(values: pd.DataFrame, key: bytes) -> np.ndarray:
    """Keyed tags (records x keys x 16 bytes). The key's name is hashed along, so equal
    values of different keys never share a tag; missing values get random tags."""
    columns = [
        keyed_tags(key, [None if pd.isna(v) else f"{name}\x00{v}" for v in values[name]])
        for name in values.columns
    ]
    return np.stack(columns, axis=1) if columns else np.zeros((len(values), 0, TAG_BYTES), np.uint8)


def candidate_pairs(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The matcher's step: every (left row, right row) sharing at least one tag, sorted and
    without repeats, as an (pairs x 2) integer array."""
    by_tag: dict[bytes, list[int]] = {}
    for j, row in enumerate(right):
        for tag in row:
            by_tag.setdefault(tag.tobytes(), []).append(j)
    pairs = {(i, j) for i, row in enumerate(left) for tag in row
             for j in by_tag.get(tag.tobytes(), ())}  # fmt: skip
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
