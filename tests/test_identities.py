"""Synthetic identities and the identifier errors sources make.

Linkage quality is measured against these errors, so each kind must strike at its configured
rate, touch only its own fields and leave values that a real source could hold.
"""

from __future__ import annotations

import re
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from tessera.schema.identifiers import (
    NICKNAMES,
    STREET_ABBREVIATIONS,
    SURNAME_PARTICLES,
    split_surname,
)
from tessera.synth import names
from tessera.synth.identities import (
    COLUMNS,
    GP_ERRORS,
    REGISTRY_ERRORS,
    SURVEY_ERRORS,
    IdentifierErrors,
    corrupt,
    draw_identities,
)

N = 200_000
M = 100_000
ISO = r"\d{4}-\d{2}-\d{2}"


def _people(n: int, seed: int, n_regions: int = 4) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["M", "F", "X"]), size=n, p=[0.49, 0.5, 0.01])
    dob = (np.datetime64("1930-01-01") + rng.integers(0, 365 * 65, n)).astype("datetime64[D]")
    region = rng.integers(0, n_regions, n)
    return sex, dob, region


@pytest.fixture(scope="module")
def cohort() -> tuple[pd.DataFrame, np.ndarray]:
    sex, dob, region = _people(N, seed=1)
    return draw_identities(np.random.default_rng(2), sex, dob, region, 4), region


@pytest.fixture(scope="module")
def sample(cohort: tuple[pd.DataFrame, np.ndarray]) -> tuple[pd.DataFrame, np.ndarray]:
    """The first 100,000 people: enough to pin each error rate to within a percent."""
    ids, region = cohort
    return ids.iloc[:M], region[:M]


def _changed(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Where two columns differ, a blank counting as a value of its own."""
    return (a.fillna("\0") != b.fillna("\0")).to_numpy()


def _only(kind: str, rate: float) -> IdentifierErrors:
    return IdentifierErrors(**{kind: rate})


# ----------------------------------------------------------------------------- true identities


def test_draw_is_deterministic_for_a_seed() -> None:
    sex, dob, region = _people(3_000, seed=3)
    a = draw_identities(np.random.default_rng(7), sex, dob, region, 4)
    b = draw_identities(np.random.default_rng(7), sex, dob, region, 4)
    c = draw_identities(np.random.default_rng(8), sex, dob, region, 4)
    pd.testing.assert_frame_equal(a, b)
    assert (a["surname"] != c["surname"]).mean() > 0.5


def test_columns_dtypes_and_formats(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids = sample[0]
    assert tuple(ids.columns) == COLUMNS
    assert ids.index.equals(pd.RangeIndex(M))
    assert all(ids[c].dtype == object for c in COLUMNS)
    assert ids.notna().all().all()
    assert ids["postcode"].str.fullmatch(r"\d{4} [A-Z]{2}").all()
    assert not ids["postcode"].str[5:].isin(["SA", "SD", "SS"]).any()
    assert ids["date_of_birth"].str.fullmatch(ISO).all()
    assert ids["house_number"].str.fullmatch(r"[1-9]\d{0,2}([a-c]|-\d)?").all()
    assert 0.03 < (~ids["house_number"].str.fullmatch(r"\d+")).mean() < 0.2
    assert (ids[["given_name", "surname", "street", "city"]] != "").all().all()


def test_identity_keeps_sex_dob_and_region() -> None:
    sex, dob, region = _people(5_000, seed=4)
    ids = draw_identities(np.random.default_rng(0), sex, dob, region, 4)
    assert (ids["sex"].to_numpy() == sex).all()
    assert (ids["date_of_birth"].to_numpy() == np.datetime_as_string(dob, unit="D")).all()
    by_name = {c.name: c for c in names.CITIES}
    city = ids["city"].map(by_name)
    assert (city.map(lambda c: c.region).to_numpy() == region).all()
    pc4 = ids["postcode"].str[:4].astype(int)
    assert (pc4 >= city.map(lambda c: c.postcode_low)).all()
    assert (pc4 <= city.map(lambda c: c.postcode_high)).all()
    # One postcode is one street, as in the real address register.
    assert (ids.groupby("postcode")["street"].nunique() == 1).all()


@pytest.mark.parametrize("n_regions", [1, 3, 7, 100])
def test_other_region_counts_split_cities_deterministically(n_regions: int) -> None:
    sex, dob, region = _people(20_000, seed=5, n_regions=n_regions)
    a = draw_identities(np.random.default_rng(1), sex, dob, region, n_regions)
    b = draw_identities(np.random.default_rng(1), sex, dob, region, n_regions)
    pd.testing.assert_frame_equal(a, b)
    cities = pd.Series(a["city"].to_numpy()).groupby(region).agg(set)
    if n_regions <= len(names.CITIES):
        for r in range(n_regions):  # disjoint groups
            others = set().union(*(cities[q] for q in cities.index if q != r))
            assert not cities[r] & others


def test_draw_rejects_bad_regions() -> None:
    sex, dob, region = _people(10, seed=6)
    with pytest.raises(ValueError):
        draw_identities(np.random.default_rng(0), sex, dob, region + 4, 4)
    with pytest.raises(ValueError):
        draw_identities(np.random.default_rng(0), sex, dob, region, 0)


def test_surnames_have_heavy_head_and_long_tail(cohort: tuple[pd.DataFrame, np.ndarray]) -> None:
    counts = cohort[0]["surname"].value_counts()
    assert counts.index[0] == "de Jong"
    assert 0.003 <= counts.iloc[0] / N <= 0.03
    assert len(counts) >= 5_000
    assert counts.iloc[:10].sum() / N > 0.02  # a head of very common names...
    assert counts[counts <= 5].sum() / N > 0.1  # ...and many people with rare ones
    particle = cohort[0]["surname"].str.match("(?:" + "|".join(SURNAME_PARTICLES) + ") ")
    assert 0.2 < particle.mean() < 0.5  # about a third of Dutch surnames have a particle


def test_older_cohorts_carry_formal_given_names(cohort: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids = cohort[0]
    year = ids["date_of_birth"].str[:4].astype(int)
    formal = ids["given_name"].isin(list(NICKNAMES))
    assert formal[year < 1960].mean() > 0.4
    assert formal[year >= 1990].mean() < 0.2


def test_identifier_code_lists() -> None:
    assert len(NICKNAMES) >= 40
    assert all(nicks and formal not in nicks for formal, nicks in NICKNAMES.items())
    assert split_surname("van den Berg") == ("van den", "Berg")
    assert split_surname("von der Heide") == ("von der", "Heide")
    assert split_surname("in 't Veld") == ("in 't", "Veld")
    assert split_surname("Jansen") == ("", "Jansen")
    for i, particle in enumerate(SURNAME_PARTICLES):  # a longer particle is tried first
        later = SURNAME_PARTICLES[i + 1 :]
        assert not any(p.startswith(particle + " ") for p in later)


# ----------------------------------------------------------------------------- errors


def test_zero_rates_return_an_exact_copy(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids = sample[0]
    out = corrupt(ids, np.random.default_rng(0), IdentifierErrors())
    assert out is not ids
    pd.testing.assert_frame_equal(out, ids)


def test_corrupt_is_deterministic_and_does_not_mutate() -> None:
    sex, dob, region = _people(10_000, seed=9)
    ids = draw_identities(np.random.default_rng(0), sex, dob, region, 4)
    ids.index = ids.index + 1000  # any index survives
    ids.insert(0, "record_id", [f"r{i}" for i in range(len(ids))])
    before = ids.copy(deep=True)
    errors = GP_ERRORS.scaled(3)
    a = corrupt(ids, np.random.default_rng(5), errors, region=region)
    b = corrupt(ids, np.random.default_rng(5), errors, region=region)
    pd.testing.assert_frame_equal(ids, before)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == list(ids.columns) and a.index.equals(ids.index)
    assert (a["record_id"] == ids["record_id"]).all()
    # Each kind has its own stream: changing the move rate leaves the typos where they were.
    c = corrupt(ids, np.random.default_rng(5), IdentifierErrors(typo=0.2, moved=0.5))
    d = corrupt(ids, np.random.default_rng(5), IdentifierErrors(typo=0.2, moved=0.1))
    assert (c["given_name"] == d["given_name"]).all()


# kind -> (rate, fields it may change)
KINDS = {
    "typo": (0.1, {"given_name", "surname", "street"}),
    "phonetic": (0.1, {"given_name", "surname"}),
    "nickname": (0.2, {"given_name"}),
    "swapped_day_month": (0.2, {"date_of_birth"}),
    "date_typo": (0.1, {"date_of_birth"}),
    "missing": (0.1, {"given_name", "date_of_birth", "postcode", "house_number", "street", "city"}),
    "surname_change": (0.2, {"surname"}),
    "moved": (0.1, {"postcode", "house_number", "street", "city"}),
    "formatting": (0.15, {"given_name", "surname", "postcode", "street"}),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_error_kind_strikes_at_its_rate(
    kind: str, sample: tuple[pd.DataFrame, np.ndarray]
) -> None:
    ids, region = sample
    rate, touched = KINDS[kind]
    out = corrupt(ids, np.random.default_rng(42), _only(kind, rate), region=region)
    changed = {c: _changed(ids[c], out[c]) for c in COLUMNS}
    for c in set(COLUMNS) - touched:
        assert not changed[c].any(), f"{kind} changed {c}"
    any_changed = np.logical_or.reduce([changed[c] for c in touched])
    eligible = np.ones(M, dtype=bool)
    if kind == "nickname":
        eligible = ids["given_name"].isin(list(NICKNAMES)).to_numpy()
    elif kind == "swapped_day_month":
        day = ids["date_of_birth"].str[8:].astype(int)
        month = ids["date_of_birth"].str[5:7].astype(int)
        eligible = ((day <= 12) & (day != month)).to_numpy()
    elif kind == "surname_change":
        eligible = (ids["sex"] == "F").to_numpy()
    assert not any_changed[~eligible].any()
    if kind == "missing":
        for c in touched:
            assert out[c].isna().mean() == pytest.approx(rate, abs=0.005)
        return
    observed = any_changed[eligible].mean()
    # Phonetic swaps need a sound-alike spelling; a few names (Jan, Mulder) have none.
    low = 0.85 * rate if kind == "phonetic" else rate - 0.01
    assert low <= observed <= rate + 0.01, f"{kind}: {observed:.4f} vs {rate}"


def test_dates_stay_valid(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids = sample[0].iloc[:10_000]
    true = pd.to_datetime(ids["date_of_birth"], format="%Y-%m-%d")
    for kind in ("swapped_day_month", "date_typo"):
        out = corrupt(ids, np.random.default_rng(1), _only(kind, 1.0))
        assert out["date_of_birth"].str.fullmatch(ISO).all()
        dates = pd.to_datetime(out["date_of_birth"], format="%Y-%m-%d")  # raises if invalid
        hit = (dates != true).to_numpy()
        if kind == "swapped_day_month":
            assert (dates.dt.day[hit] == true.dt.month[hit]).all()
            assert (dates.dt.month[hit] == true.dt.day[hit]).all()
            assert (dates.dt.year == true.dt.year).all()
        else:
            assert hit.mean() > 0.99
            same_decade = (dates.dt.year // 10 == true.dt.year // 10).all()
            one_day = (dates - true).abs() == pd.Timedelta(days=1)
            year_digit = (dates.dt.month == true.dt.month) & (dates.dt.day == true.dt.day)
            assert same_decade and (one_day | year_digit).all()


def test_nicknames_come_from_the_table(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids = sample[0]
    out = corrupt(ids, np.random.default_rng(2), _only("nickname", 1.0))
    hit = _changed(ids["given_name"], out["given_name"])
    assert hit.sum() > 10_000
    pairs = zip(ids["given_name"][hit], out["given_name"][hit], strict=True)
    assert all(nick in NICKNAMES[formal] for formal, nick in pairs)
    used = set(out["given_name"][hit])
    assert {"Kees", "Henk", "Wim", "Jaap", "Piet"} <= used


def _one_slip(old: str, new: str) -> bool:
    """Is `new` one substitution, insertion, deletion or transposition away from `old`?"""
    if abs(len(old) - len(new)) == 1:
        long, short = (old, new) if len(old) > len(new) else (new, old)
        return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
    if len(old) != len(new):
        return False
    diff = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    if len(diff) == 1:
        return True
    i, j = diff if len(diff) == 2 else (0, 0)
    return j == i + 1 and old[i].lower() == new[j].lower() and old[j].lower() == new[i].lower()


def test_typos_are_single_keyboard_slips(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids = sample[0].iloc[:10_000]
    out = corrupt(ids, np.random.default_rng(3), _only("typo", 1.0))
    fields_ = ["given_name", "surname", "street"]
    hit = np.column_stack([_changed(ids[c], out[c]) for c in fields_])
    assert (hit.sum(axis=1) == 1).all()  # exactly one field per record
    for c in fields_:
        assert (out[c].str.len() > 0).all()
        changed = _changed(ids[c], out[c])
        pairs = zip(ids[c][changed], out[c][changed], strict=True)
        assert all(_one_slip(old, new) for old, new in pairs)


def test_phonetic_swaps_keep_the_name_recognisable(
    sample: tuple[pd.DataFrame, np.ndarray],
) -> None:
    ids = sample[0].iloc[:10_000]
    out = corrupt(ids, np.random.default_rng(4), _only("phonetic", 1.0))
    for c in ("given_name", "surname"):
        hit = _changed(ids[c], out[c])
        old, new = ids[c][hit], out[c][hit]
        assert ((new.str.len() - old.str.len()).abs() <= 2).all()
        assert (new.str[0].str.lower().isin(["c", "k", "f", "v", "s", "z", "t", "p"])
                | (new.str[0] == old.str[0])).all()  # fmt: skip
        assert not new.str.lower().map(lambda s: re.search(r"(.)\1\1", s) is not None).any()
    particles = out["surname"].map(lambda s: split_surname(s)[0])
    assert (particles == ids["surname"].map(lambda s: split_surname(s)[0])).all()


def test_surname_change_only_for_women(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids = sample[0]
    out = corrupt(ids, np.random.default_rng(5), _only("surname_change", 1.0))
    women = (ids["sex"] == "F").to_numpy()
    assert (out["surname"][~women] == ids["surname"][~women]).all()
    assert (out["surname"][women] != ids["surname"][women]).all()
    pairs = zip(out["surname"][women], ids["surname"][women], strict=True)
    double = np.array([new.endswith("-" + old) for new, old in pairs])
    assert 0.4 < double.mean() < 0.6


def test_movers_get_a_real_new_address(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids, region = sample
    out = corrupt(ids, np.random.default_rng(6), _only("moved", 1.0), region=region)
    assert (out["postcode"] != ids["postcode"]).all()
    assert out["postcode"].str.fullmatch(r"\d{4} [A-Z]{2}").all()
    by_name = {c.name: c for c in names.CITIES}
    new_region = out["city"].map(lambda c: by_name[c].region).to_numpy()
    stayed = (new_region == region).mean()
    assert 0.75 < stayed < 0.9  # most move within their region
    # Without the region array it is read off the city.
    again = corrupt(ids.iloc[:5_000], np.random.default_rng(6), _only("moved", 1.0))
    assert (again["postcode"] != ids["postcode"].iloc[:5_000]).all()


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in ("given_name", "surname"):
        out[c] = out[c].str.upper()
    out["postcode"] = out["postcode"].str.replace(" ", "").str.upper()
    by_length = sorted(STREET_ABBREVIATIONS, key=lambda a: -len(a[1]))  # "pln." != "ln."
    for full, short in by_length:
        out["street"] = out["street"].str.replace(re.escape(short) + "$", full, regex=True)
    reordered = out["surname"].str.fullmatch(r"[^,]+, [^,]+")
    parts = out["surname"][reordered].str.split(", ")
    out.loc[reordered, "surname"] = parts.str[1] + " " + parts.str[0]
    return out


def test_formatting_is_harmless(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids = sample[0].iloc[:10_000]
    out = corrupt(ids, np.random.default_rng(7), _only("formatting", 1.0))
    changed = np.logical_or.reduce([_changed(ids[c], out[c]) for c in COLUMNS])
    assert changed.all()
    pd.testing.assert_frame_equal(_normalise(out), _normalise(ids))
    seen = {
        "upper": out["surname"].str.isupper().any(),
        "compact": out["postcode"].str.fullmatch(r"\d{4}[A-Z]{2}").any(),
        "lower": out["postcode"].str.fullmatch(r"\d{4}[a-z]{2}").any(),
        "abbreviated": out["street"].str.endswith("str.").any(),
        "reordered": out["surname"].str.contains(", van").any(),
    }
    assert all(seen.values()), seen


def test_source_defaults_and_scaled() -> None:
    assert REGISTRY_ERRORS.typo < GP_ERRORS.typo < SURVEY_ERRORS.typo
    assert REGISTRY_ERRORS.moved == 0.0 and REGISTRY_ERRORS.surname_change == 0.0
    doubled = GP_ERRORS.scaled(2)
    for f in fields(IdentifierErrors):
        assert getattr(doubled, f.name) == pytest.approx(2 * getattr(GP_ERRORS, f.name))
    assert all(getattr(GP_ERRORS.scaled(100), f.name) <= 1.0 for f in fields(IdentifierErrors))
    assert GP_ERRORS.scaled(100).typo == 1.0
    assert GP_ERRORS.scaled(0) == IdentifierErrors()
    with pytest.raises(ValueError):
        GP_ERRORS.scaled(-1)
    with pytest.raises(ValueError):
        IdentifierErrors(typo=1.5)


def test_gp_errors_touch_a_realistic_share(sample: tuple[pd.DataFrame, np.ndarray]) -> None:
    ids, region = sample
    out = corrupt(ids, np.random.default_rng(8), GP_ERRORS, region=region)
    changed = np.logical_or.reduce([_changed(ids[c], out[c]) for c in COLUMNS])
    assert 0.3 < changed.mean() < 0.6
    exact = (out["surname"] == ids["surname"]) & (out["given_name"] == ids["given_name"])
    assert exact.mean() > 0.75
