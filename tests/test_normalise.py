"""Normalisation of identifiers for record linkage.

Every rule is pinned by known answers, and on synthetic sources normalisation must undo
exactly the errors that carry no information (formatting, nicknames, swapped day and month)
while leaving the rest (typos, moves) for the similarity step.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tessera.linkage import normalise
from tessera.linkage.normalise import FIELDS, INPUT_COLUMNS, OUTPUT_COLUMNS
from tessera.schema.identifiers import NICKNAMES, STREET_ABBREVIATIONS
from tessera.synth import generate
from tessera.synth.identities import IdentifierErrors, corrupt, draw_identities


def _one(column: str, values: list[object], **other: list[object]) -> pd.DataFrame:
    """Normalise a frame holding `values` in `column` (and optionally other columns)."""
    return normalise(pd.DataFrame({column: pd.Series(values, dtype=object), **other}))


def _field(column: str, values: list[object], field: str) -> list[object]:
    """One output field as a list, missing values as None."""
    series = _one(column, values)[field]
    return [None if v is None or v is pd.NA else v for v in series.astype(object)]


# ----------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("José", "jose"),
        ("Zoë", "zoe"),
        ("Müller", "mueller"),
        ("Mueller", "mueller"),
        ("MÜLLER", "mueller"),
        ("Müller", "mueller"),  # decomposed u + combining diaeresis
        ("Strauß", "strauss"),
        ("STRAUẞ", "strauss"),
        ("Ĳzerman", "ijzerman"),
        ("ĳzerman", "ijzerman"),
        ("Çelik", "celik"),
        ("Søren", "soren"),
        ("  de   Jong ", "jong"),
        ("d’Ancona", "dancona"),
        ("d'Ancona", "dancona"),
        ("Jansen-de Vries", "jansen de vries"),
    ],
)
def test_surname_case_accents_and_punctuation(written: str, expected: str) -> None:
    assert _field("surname", [written], "surname") == [expected]


@pytest.mark.parametrize(
    ("written", "expected"),
    [("Jan-Willem", "jan willem"), ("  JAN   willem ", "jan willem"), ("Zoë", "zoe")],
)
def test_given_name_words(written: str, expected: str) -> None:
    assert _field("given_name", [written], "given_name") == [expected]


# ----------------------------------------------------------------------------- particles


@pytest.mark.parametrize(
    "written",
    [
        "van der Berg",
        "Van Der Berg",
        "VAN DER BERG",
        "Berg, van der",
        "BERG, VAN DER",
        "Berg,van der",
    ],
)
def test_particles_split_in_either_order(written: str) -> None:
    out = _one("surname", [written]).iloc[0]
    assert (out["surname"], out["surname_particle"], out["surname_full"]) == (
        "berg",
        "van der",
        "vanderberg",
    )


@pytest.mark.parametrize(
    ("written", "particle", "core"),
    [
        ("von der Heide", "von der", "heide"),
        ("zu Guttenberg", "zu", "guttenberg"),
        ("ter Horst", "ter", "horst"),
        ("in 't Veld", "in t", "veld"),
        ("van 't Hof", "van t", "hof"),
        ("de Vries", "de", "vries"),
        ("Vries, de", "de", "vries"),
        ("Jansen", "", "jansen"),
        ("De", "", "de"),  # a particle alone is the name itself
        ("Berg, Jan", "", "berg jan"),  # a comma before something else is just a separator
    ],
)
def test_particles(written: str, particle: str, core: str) -> None:
    out = _one("surname", [written]).iloc[0]
    assert (out["surname_particle"], out["surname"]) == (particle, core)


def test_particles_written_together_stay_in_the_core_but_agree_in_full() -> None:
    out = _one("surname", ["Vanderberg", "van der Berg", "Berg, van der"])
    assert out["surname"].tolist() == ["vanderberg", "berg", "berg"]
    assert out["surname_particle"].tolist() == ["", "van der", "van der"]
    assert out["surname_full"].nunique() == 1


# ----------------------------------------------------------------------------- nicknames


@pytest.mark.parametrize(
    ("written", "formal", "variants"),
    [
        ("Kees", "cornelis", ("cornelis",)),
        ("KEES", "cornelis", ("cornelis",)),
        ("Cornelis", "cornelis", ("cornelis",)),
        ("Hans", "johannes", ("johann", "johannes")),  # first listed wins; both exposed
        ("Cor", "cornelis", ("cornelia", "cornelis")),
        ("Käthe", "katharina", ("katharina",)),
        ("Kathe", "kathe", ("kathe",)),  # umlauts are written out, so this is another name
        ("Daan", "daan", ("daan",)),
    ],
)
def test_nicknames(written: str, formal: str, variants: tuple[str, ...]) -> None:
    out = _one("given_name", [written]).iloc[0]
    assert (out["given_name_formal"], out["given_name_variants"]) == (formal, variants)


def test_every_listed_nickname_reaches_its_formal_names() -> None:
    nicknames = [n for formals in NICKNAMES.values() for n in formals]
    out = _one("given_name", nicknames)
    for nickname, formal, variants in zip(
        nicknames, out["given_name_formal"], out["given_name_variants"], strict=True
    ):
        listed = [f for f, nicks in NICKNAMES.items() if nickname in nicks]
        expected = normalise(pd.DataFrame({"given_name": listed}))["given_name"].tolist()
        assert formal == expected[0]
        assert variants == tuple(sorted(expected))


def test_formal_names_stand_for_themselves() -> None:
    out = _one("given_name", list(NICKNAMES))
    assert out["given_name_formal"].tolist() == out["given_name"].tolist()


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "written",
    [
        "1950-12-03",
        "1950-12-3",
        "1950/12/03",
        "1950.12.03",
        "03-12-1950",
        "3-12-1950",
        "03/12/1950",
        "03.12.1950",
        "3. 12. 1950",
        "03 12 1950",
        "19501203",
        "03121950",
        "1950-12-03 00:00:00",
        "1950-12-03T00:00:00Z",
        " 1950-12-03 ",
        dt.date(1950, 12, 3),
        pd.Timestamp("1950-12-03"),
        np.datetime64("1950-12-03"),
        19501203,
    ],
)
def test_date_formats(written: object) -> None:
    out = _one("date_of_birth", [written]).iloc[0]
    fields = ["date_of_birth", "birth_year", "birth_month", "birth_day", "birth_day_month"]
    assert out[fields].tolist() == ["1950-12-03", 1950, 12, 3, "03-12"]


def test_datetime_column() -> None:
    dates = pd.Series(pd.to_datetime(["1950-12-03", None]))
    out = normalise(pd.DataFrame({"date_of_birth": dates}))
    assert out["date_of_birth"].tolist()[0] == "1950-12-03"
    assert out["date_of_birth"].isna().tolist() == [False, True]


def test_a_field_that_cannot_be_a_month_was_swapped() -> None:
    assert _field("date_of_birth", ["1950-25-03", "12/25/1950"], "date_of_birth") == [
        "1950-03-25",
        "1950-12-25",
    ]


def test_swapped_day_and_month_agree_on_the_invariant() -> None:
    out = _one("date_of_birth", ["1950-03-12", "1950-12-03", "12-03-1950"])
    assert out["date_of_birth"].nunique() == 2
    assert out["birth_day_month"].tolist() == ["03-12"] * 3


@pytest.mark.parametrize(
    "written",
    [
        "1950-02-30",
        "31/04/1950",
        "1951-02-29",
        "1950-13-13",
        "03-12-50",  # two-digit year: which century?
        "1800-01-01",
        "2999-01-01",
        "00000000",
        "December 3, 1950",
        "yesterday",
        "",
        "   ",
        None,
        np.nan,
        pd.NA,
        pd.NaT,
    ],
)
def test_invalid_dates_are_missing(written: object) -> None:
    out = _one("date_of_birth", [written, "1950-12-03"])
    assert out.iloc[0][["date_of_birth", "birth_year", "birth_day_month"]].isna().all()
    assert out["date_of_birth"].iloc[1] == "1950-12-03"


def test_leap_day() -> None:
    assert _field("date_of_birth", ["29-02-1952"], "date_of_birth") == ["1952-02-29"]


# ----------------------------------------------------------------------------- sex


@pytest.mark.parametrize(
    ("written", "code"),
    [
        *[(s, "M") for s in ["M", "m", "male", "Male", "man", "Man", "männlich", "M.", "1"]],
        *[(s, "F") for s in ["F", "f", "female", "v", "V", "vrouw", "w", "W", "weiblich", "2"]],
        *[(s, "X") for s in ["X", "d", "divers"]],
        *[(s, None) for s in ["U", "unknown", "onbekend", "O", "?", "", None, "0", "9"]],
    ],
)
def test_sex(written: object, code: str | None) -> None:
    assert _field("sex", [written], "sex") == [code]


# ----------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("written", "postcode", "digits"),
    [
        ("1234 AB", "1234AB", "1234"),
        ("1234 ab", "1234AB", "1234"),
        ("1234AB", "1234AB", "1234"),
        ("1234-ab", "1234AB", "1234"),
        (" NL-1234 AB ", "1234AB", "1234"),
        ("1234", "1234", "1234"),
        ("12345", "12345", "12345"),
        ("D-12345", "12345", "12345"),
        ("DE 12345", "12345", "12345"),
        ("SW1A 1AA", "SW1A1AA", None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_postcodes(written: str | None, postcode: str | None, digits: str | None) -> None:
    assert _field("postcode", [written], "postcode") == [postcode]
    assert _field("postcode", [written], "postcode_digits") == [digits]


@pytest.mark.parametrize(
    ("written", "number", "suffix"),
    [
        ("12a", 12, "A"),
        ("12 A", 12, "A"),
        ("12-A", 12, "A"),
        ("12A", 12, "A"),
        ("12", 12, ""),
        (" 12 ", 12, ""),
        ("12-1", 12, "1"),
        ("12 hs", 12, "HS"),
        ("12-II", 12, "II"),
        ("nr. 7", 7, ""),
        (12, 12, ""),
        (12.0, 12, ""),
        ("123456", None, None),
        (10**30, None, None),
        (-3, None, None),
        ("abc", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_house_numbers(written: object, number: int | None, suffix: str | None) -> None:
    out = _one("house_number", [written])
    assert _field("house_number", [written], "house_number") == [number]
    assert _field("house_number", [written], "house_number_suffix") == [suffix]
    assert str(out["house_number"].dtype) == "Int64"


@pytest.mark.parametrize(("full", "short"), STREET_ABBREVIATIONS)
def test_street_abbreviations_are_written_out(full: str, short: str) -> None:
    written = [f"Kerk{full}", f"Kerk{short}", f"KERK{short.upper()}", f"Kerk {short}"]
    assert _field("street", written, "street") == [f"kerk{full}"] * len(written)


def test_street_spelling_and_spacing() -> None:
    written = ["Prins Bernhardstraat", "Prins-Bernhardstraat", "prins bernhard straat"]
    assert _field("street", written, "street") == ["prinsbernhardstraat"] * 3


def test_str_is_strasse_only_at_a_german_postcode() -> None:
    out = _one(
        "street",
        ["Hauptstr.", "Hauptstr.", "Hauptstraße", "Hauptstr."],
        postcode=["12345", "1234 AB", "12345", None],
    )
    assert out["street"].tolist() == ["hauptstrasse", "hauptstraat", "hauptstrasse", "hauptstraat"]


def test_cities() -> None:
    written = ["'s-Hertogenbosch", "s Hertogenbosch", "’S-HERTOGENBOSCH", "Den Haag", "DEN HAAG"]
    assert _field("city", written, "city") == ["shertogenbosch"] * 3 + ["denhaag"] * 2
    assert _field("city", ["Köln", "Koeln"], "city") == ["koeln", "koeln"]


# ----------------------------------------------------------------------------- frame handling


def test_missing_values_and_absent_columns_give_missing_fields() -> None:
    frame = pd.DataFrame(
        {
            "given_name": [None, np.nan, pd.NA, "", "  ", "Jan"],
            "surname": ["-", "?", None, "Jansen", None, None],
        }
    )
    out = normalise(frame)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert out["given_name"].isna().tolist() == [True] * 5 + [False]
    assert out["given_name_variants"].isna().tolist() == [True] * 5 + [False]
    assert out["surname"].isna().tolist() == [True, True, True, False, True, True]
    absent = [f for c in INPUT_COLUMNS if c not in frame for f in FIELDS[c]]
    assert out[absent].isna().all().all()


def test_keeps_index_and_record_id_and_leaves_input_alone() -> None:
    frame = pd.DataFrame(
        {"record_id": ["r1", "r2"], "surname": ["Berg, van der", "de Jong"]}, index=[7, 7]
    )
    before = frame.copy()
    out = normalise(frame)
    assert out.index.tolist() == [7, 7]
    assert out.columns[0] == "record_id"
    assert out["record_id"].tolist() == ["r1", "r2"]
    assert out["surname"].tolist() == ["berg", "jong"]
    pd.testing.assert_frame_equal(frame, before)


def test_empty_frame() -> None:
    out = normalise(pd.DataFrame({"surname": pd.Series([], dtype=object)}))
    assert len(out) == 0
    assert list(out.columns) == list(OUTPUT_COLUMNS)


def test_not_a_frame() -> None:
    with pytest.raises(ValueError, match=r"DataFrame.*list"):
        normalise(["Jansen"])  # type: ignore[arg-type]


def test_no_identifier_columns_names_them_but_no_values() -> None:
    frame = pd.DataFrame({"name": ["Jansen"], "birth": ["1950-12-03"]})
    with pytest.raises(ValueError, match="none of the identifier columns") as error:
        normalise(frame)
    message = str(error.value)
    assert all(c in message for c in INPUT_COLUMNS)
    assert "Jansen" not in message and "1950" not in message


@pytest.mark.parametrize("column", ["surname", "record_id"])
def test_duplicated_identifier_column(column: str) -> None:
    frame = pd.DataFrame([["Jansen", "Jans", "x"]], columns=[column, column, "city"])
    with pytest.raises(ValueError, match=f"more than once: {column}") as error:
        normalise(frame)
    assert "Jans" not in str(error.value)


# ----------------------------------------------------------------------------- synthetic data


@pytest.fixture(scope="module")
def identities() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 5_000
    sex = rng.choice(np.array(["M", "F"]), size=n)
    dob = (np.datetime64("1930-01-01") + rng.integers(0, 365 * 65, n)).astype("datetime64[D]")
    return draw_identities(rng, sex, dob, rng.integers(0, 4, n), 4)


def test_formatting_errors_are_undone_completely(identities: pd.DataFrame) -> None:
    copy = corrupt(identities, np.random.default_rng(12), IdentifierErrors(formatting=1.0))
    assert (copy != identities).any(axis=1).mean() > 0.9
    pd.testing.assert_frame_equal(normalise(copy), normalise(identities))


def test_nicknames_are_undone(identities: pd.DataFrame) -> None:
    copy = corrupt(identities, np.random.default_rng(13), IdentifierErrors(nickname=1.0))
    true, seen = normalise(identities), normalise(copy)
    changed = (copy["given_name"] != identities["given_name"]).to_numpy()
    assert changed.sum() > 500
    found = [
        formal in variants
        for formal, variants in zip(
            true["given_name_formal"][changed], seen["given_name_variants"][changed], strict=True
        )
    ]
    assert all(found)
    # The deterministic choice is right unless the nickname is shared (Hans, Piet, Cor).
    assert (true["given_name_formal"] == seen["given_name_formal"])[changed].mean() > 0.7


def test_swapped_day_and_month_keep_year_and_invariant(identities: pd.DataFrame) -> None:
    copy = corrupt(identities, np.random.default_rng(14), IdentifierErrors(swapped_day_month=1.0))
    true, seen = normalise(identities), normalise(copy)
    assert (true["date_of_birth"] != seen["date_of_birth"]).mean() > 0.2
    for field in ("birth_year", "birth_day_month"):
        pd.testing.assert_series_equal(true[field], seen[field])


def _agreement(a: pd.DataFrame, b: pd.DataFrame, fields: dict[str, str]) -> float:
    """Share of row pairs on which every field agrees exactly (a missing value disagrees)."""
    same = np.ones(len(a), dtype=bool)
    for field_a, field_b in fields.items():
        equal = a[field_a].reset_index(drop=True) == b[field_b].reset_index(drop=True)
        same &= equal.to_numpy(dtype=bool, na_value=False)
    return float(same.mean())


def test_true_pairs_agree_far_more_often_after_normalisation() -> None:
    cohort = generate("nsclc", 3000, seed=5)
    links = pd.DataFrame(cohort.truth["links"]).dropna(subset=["registry", "gp"])
    registry = cohort.registry.set_index("record_id").loc[links["registry"]]
    gp = cohort.gp.set_index("record_id").loc[links["gp"]]
    raw = _agreement(registry, gp, {c: c for c in ("surname", "given_name", "date_of_birth")})
    a, b = normalise(registry), normalise(gp)
    fields = {c: c for c in ("surname", "given_name_formal", "date_of_birth")}
    normalised = _agreement(a, b, fields)
    print(f"true registry-GP pairs: {len(links)}; agree raw {raw:.3f}, normalised {normalised:.3f}")
    assert normalised > raw + 0.08
    assert normalised > 0.8
