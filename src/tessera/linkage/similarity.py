"""Similarity of two records as one dot product of short integer vectors.

Each field of a normalised record becomes a set of tokens: the character bigrams of a name,
street or city; the year, month, day and swap-invariant day/month of a date; the value of a
sex or house number. A token goes to a slot of a small count vector chosen by a keyed hash
(the key the two data parties share, never the matcher), and the vector is scaled to unit
length, so that the dot product of two fields' vectors is their cosine (Ochiai) similarity:
1 for equal values, high for a typo, low for different values.

A record's vector is its fields' vectors side by side, each multiplied by the square root of
the field's weight, and then one slot per field for its presence. The *left* party puts
`-neutral * weight` there, the *right* party 1, so the dot product of a left and a right
vector is

    score = sum over fields present on both sides of  weight * (cosine - neutral)

a log-likelihood-like sum in which agreement above the field's neutral point counts for the
pair, below it against, and a missing value not at all. Everything is scaled to integers
(`SCALE`), so that inside MPC the score is an exact integer dot product: no fixed-point
truncation, no overflow (|score| < 2^20).

The vectors never leave their owner in the clear (`tessera.linkage.protocol` masks them),
so unlike the Bloom-filter encodings of clkhash they are not exposed to frequency or
pattern attacks: the keyed hash only keeps the parties' vectors comparable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from tessera.linkage.normalise import compact, formal_given_name

SCALE: Final = 64  # a unit vector's entries become integers up to SCALE * sqrt(weight)


def _bigrams(text: str) -> list[str]:
    padded = f"^{text}$"
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def _date_tokens(text: str) -> list[str]:
    year, month, day = text.split("-")
    return [f"y{year}", f"m{month}", f"d{day}", "dm" + "-".join(sorted((month, day)))]


@dataclass(frozen=True)
class Field:
    """One compared field: where its text comes from, how it splits into tokens, how many
    slots its vector has, and its weight and neutral point in the score."""

    name: str
    text: Callable[[pd.DataFrame], pd.Series]
    tokens: Callable[[str], list[str]]
    slots: int
    weight: float
    neutral: float
    by_frequency: bool = False  # a rare value agreeing says more than a common one


def _column(*names: str) -> Callable[[pd.DataFrame], pd.Series]:
    """The first of `names` that is present, row by row."""

    def text(frame: pd.DataFrame) -> pd.Series:
        values = pd.Series(pd.NA, index=frame.index, dtype="string")
        for name in reversed(names):
            if name in frame.columns:
                values = frame[name].astype("string").where(frame[name].notna(), values)
        return values

    return text


def _house(frame: pd.DataFrame) -> pd.Series:
    number = frame["house_number"].astype("string")
    return number + frame["house_number_suffix"].astype("string").fillna("")


# The identifier columns compared by default, by input column. Weights follow how much an
# agreement says (a date of birth or a surname much more than sex); the neutral points sit
# between the cosine of a typo (~0.7) and that of unrelated values (~0.1).
FIELDS: Final[Mapping[str, Field]] = {
    "given_name": Field("given_name", formal_given_name, _bigrams, 32, 3.0, 0.5, by_frequency=True),
    "surname": Field("surname", _column("surname_full"), _bigrams, 32, 4.0, 0.5, True),
    "date_of_birth": Field("date_of_birth", _column("date_of_birth"), _date_tokens, 32, 6.0, 0.75),
    "sex": Field("sex", _column("sex"), lambda t: [t], 2, 0.5, 0.5),
    "postcode": Field("postcode", _column("postcode"), _bigrams, 8, 2.0, 0.5),
    "house_number": Field("house_number", _house, lambda t: [t], 4, 1.0, 0.5),
    "street": Field("street", _column("street"), _bigrams, 16, 1.5, 0.5),
    "city": Field("city", _column("city"), _bigrams, 16, 1.0, 0.5),
}


def extra_field(name: str) -> Field:
    """A column outside the identifier schema (e.g. a social security number), already
    folded to letters and digits (`compact_column`): compared by bigrams, with a moderate weight."""
    return Field(name, _column(name), _bigrams, 8, 2.0, 0.5)


def compact_column(values: pd.Series) -> pd.Series:
    """An extra field's values folded to letters and digits; missing where nothing is left."""
    text = values.astype("string").map(compact, na_action="ignore")
    return text.astype("string").replace("", pd.NA)


def fields_for(names: Sequence[str]) -> tuple[Field, ...]:
    """The compared fields for these column names (schema fields or extra columns)."""
    return tuple(FIELDS.get(name) or extra_field(name) for name in names)


def width(fields: Sequence[Field]) -> int:
    """Slots per record: each field's vector and its presence slot."""
    return sum(field.slots + 1 for field in fields)


def vectors(
    normalised: pd.DataFrame,
    key: bytes,
    fields: Sequence[Field],
    side: Literal["left", "right"],
) -> np.ndarray:
    """Each record's integer vector (records x `width(fields)`, int64); see the module.
    Extra (non-schema) fields read their raw column from `normalised` as well."""
    blocks = []
    for field in fields:
        texts = field.text(normalised)
        counts = _counts(texts, key, field)
        norms = np.linalg.norm(counts, axis=1, keepdims=True)
        present = norms[:, 0] > 0
        unit = np.divide(counts, norms, out=np.zeros_like(counts), where=norms > 0)
        if side == "left":
            weight = field.weight * (_rarity(texts) if field.by_frequency else np.ones(len(unit)))
            blocks.append(np.rint(unit * SCALE * (weight / np.sqrt(field.weight))[:, None]))
            blocks.append(-np.rint(SCALE**2 * field.neutral * weight * present)[:, None])
        else:
            blocks.append(np.rint(unit * SCALE * np.sqrt(field.weight)))
            blocks.append(present[:, None].astype(float))
    return np.concatenate(blocks, axis=1).astype(np.int64)


def _rarity(texts: pd.Series) -> np.ndarray:
    """Per record, how much agreeing on its value says, from the left party's own data:
    the value's information content in bits over 10, clipped to [0.6, 1.4]. On 100,000
    synthetic patients this lifts F1 from 0.9925 to 0.9940 (threshold 3.5)."""
    share = texts.map(texts.value_counts(normalize=True)).astype(float).fillna(1.0)
    return np.clip(-np.log2(share.to_numpy()) / 10.0, 0.6, 1.4)


def _counts(texts: pd.Series, key: bytes, field: Field) -> np.ndarray:
    """Token counts in keyed-hash slots (records x slots); each distinct value is split and
    hashed once."""
    codes, uniques = pd.factorize(texts.to_numpy(dtype=object), use_na_sentinel=True)
    slot_of: dict[str, int] = {}
    table = np.zeros((len(uniques) + 1, field.slots))  # last row: missing
    for row, value in enumerate(uniques):
        for token in field.tokens(str(value)):
            if token not in slot_of:
                digest = hashlib.blake2b(f"{field.name}\x00{token}".encode(), key=key,
                                         digest_size=8).digest()  # fmt: skip
                slot_of[token] = int.from_bytes(digest, "little") % field.slots
            table[row, slot_of[token]] += 1
    return table[codes]


def score(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The plaintext reference of the score of row-aligned left and right vectors."""
    return np.einsum("ij,ij->i", left, right)


def threshold(value: float) -> int:
    """A score threshold in the vectors' integer units."""
    return round(value * SCALE**2)
