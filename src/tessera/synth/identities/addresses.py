"""Where people live: a city drawn by population within their region, a postcode in the city's
real range, the street that postcode belongs to, and a house number.

Movers (`tessera.synth.identities.corruption`) draw a new address the same way.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from tessera.synth import names


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
def city_groups(n_regions: int) -> tuple[np.ndarray, ...]:
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
    for r, group in enumerate(city_groups(n_regions)):
        cum = np.cumsum(population[group]) / population[group].sum()
        cum[-1] = 1.0
        cums.append(r + cum)
        members.append(group)
    last = np.cumsum([len(m) for m in members]) - 1
    return np.concatenate(cums), np.concatenate(members), last


@cache
def region_of_city(n_regions: int) -> dict[str, int]:
    """City name -> the (first) region whose group holds it."""
    city_names = _city_arrays()[0]
    out: dict[str, int] = {}
    for r, group in enumerate(city_groups(n_regions)):
        for c in group:
            out.setdefault(city_names[c], r)
    return out


@cache
def format_tables() -> dict[str, np.ndarray]:
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


def street_of(pc4: np.ndarray, letters: np.ndarray) -> np.ndarray:
    """The street a full postcode belongs to: a fixed hash, so one postcode is one street."""
    z = pc4.astype(np.uint64) * np.uint64(400) + letters.astype(np.uint64)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    tables = format_tables()
    idx = np.minimum(
        np.searchsorted(tables["street_cum"], u, side="right"), len(tables["street"]) - 1
    )
    return tables["street"][idx]


def draw_addresses(
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
    tables = format_tables()
    return {
        "pc4": pc4,
        "letters": letters,
        "postcode": tables["pc4"][pc4] + tables["letters"][letters],
        "house_number": tables["number"][number] + suffixes[suffix],
        "street": street_of(pc4, letters),
        "city": city_names[city],
    }
