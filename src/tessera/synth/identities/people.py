"""True identities: who each synthetic person really is, before any source records them."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from tessera.schema.identifiers import IDENTIFIER_COLUMNS
from tessera.synth import names
from tessera.synth.identities.addresses import city_groups, draw_addresses

COLUMNS: Final = IDENTIFIER_COLUMNS[1:]  # all but the source-local record_id
_ORIGINS: Final = ("nl", "de")


def draw_surnames(rng: np.random.Generator, german: np.ndarray) -> np.ndarray:
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
    city_groups(n_regions)  # validates n_regions
    year = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    german = rng.random(n) < names.GERMAN_SHARE
    given = _draw_given_names(rng, sex, german, year)
    surname = draw_surnames(rng, german)
    address = draw_addresses(rng, region, n_regions)
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
