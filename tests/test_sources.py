"""tessera.sources: local CSV, Parquet and SQL data into the canonical model, via mapping files."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from postgres import free_port
from tessera.schema import SchemaError, validate
from tessera.sources import Mapping, Source, check_query, load, safe_url
from tessera.sources.readers import sniff_delimiter

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mappings"

# --- an NCR-style registry export and what it means canonically -----------------------------

NCR_CSV = """\
patnr;voornaam;achternaam;gebdat;geslacht;postcode;huisnr;straat;woonplaats;regio;incdat;leeft;icd10;topo_sublok;morf;stadium;cn;cm;diffgr;perf_stat;chir;rt;chemo;immuno;target;vit_stat;vit_stat_dat;vit_stat_mnd
1001;Jan;de Vries;01-03-1950;1;1011 AB;12a;Damstraat;Amsterdam;Noord;15-02-2020;69;C34.1;C341;8140;4;2;1B;3;1;0;0;1;1;0;1;10-01-2021;10.8
1002;Maria;van den Berg;30-11-1962;2;3511 CE;4;Oudegracht;Utrecht;Midden;01-07-2019;56;C56;C569;8461;3;1;0;9;9;1;0;1;0;1;0;30-06-2023;47.9
1003;Piet;Jansen;20-05-1945;1;9711 LM;101;Grote Markt;Groningen;Noord;01-12-2021;76;C34.3;C343;8070;X;X;0;2;0;0;1;0;0;0;0;01-12-2022;12.0
"""  # noqa: E501

REGISTRY = {
    "record_id": ["1001", "1002", "1003"],
    "given_name": ["Jan", "Maria", "Piet"],
    "surname": ["de Vries", "van den Berg", "Jansen"],
    "date_of_birth": ["1950-03-01", "1962-11-30", "1945-05-20"],
    "sex": ["M", "F", "M"],
    "postcode": ["1011 AB", "3511 CE", "9711 LM"],
    "house_number": ["12a", "4", "101"],
    "street": ["Damstraat", "Oudegracht", "Grote Markt"],
    "city": ["Amsterdam", "Utrecht", "Groningen"],
    "region": ["Noord", "Midden", "Noord"],
    "diagnosis_date": ["2020-02-15", "2019-07-01", "2021-12-01"],
    "age_at_diagnosis": [69, 56, 76],
    "icd10": ["C34.1", "C56", "C34.3"],
    "topography": ["C34.1", "C56.9", "C34.3"],
    "morphology": ["8140/3", "8461/3", "8070/3"],
    "stage_system": ["UICC8"] * 3,
    "stage": ["IV", "III", None],
    "cn": ["N2", "N1", "NX"],
    "cm": ["M1b", "M0", "M0"],
    "grade": ["3", "X", "2"],
    "ecog": [1, None, 0],
    "surgery": [0, 1, 0],
    "radiotherapy": [0, 0, 1],
    "chemotherapy": [1, 1, 0],
    "immunotherapy": [1, 0, 0],
    "targeted_therapy": [0, 1, 0],
    "vital_status": [1, 0, 0],
    "followup_date": ["2021-01-10", "2023-06-30", "2022-12-01"],
    "survival_months": [10.8, 47.9, 12.0],
}

# --- a German GP export (BOM, ';', dd.mm.yyyy, leading-zero postcodes) -----------------------

GP_CSV = """\
PatientenNr;Vorname;Nachname;Geburtsdatum;Geschlecht;PLZ;Hausnummer;Strasse;Ort;PraxisID;Raucherstatus;BMI;COPD;Diabetes;Kontakte_12M
G-001;Anna;Müller;03.04.1958;w;01067;12a;Hauptstraße;Dresden;P01;Ex-Raucher;27.4;nein;ja;6
G-002;Jörg;Schmidt;;m;04109;3;Markt;Leipzig;P01;Raucher;31.0;ja;nein;
G-003;Eva;Weiß;17.09.1970;d;80331;1-3;Marienplatz;München;P02;Nichtraucher;;nein;nein;2
"""

GP = {
    "record_id": ["G-001", "G-002", "G-003"],
    "given_name": ["Anna", "Jörg", "Eva"],
    "surname": ["Müller", "Schmidt", "Weiß"],
    "date_of_birth": ["1958-04-03", None, "1970-09-17"],
    "sex": ["F", "M", "X"],
    "postcode": ["01067", "04109", "80331"],
    "house_number": ["12a", "3", "1-3"],
    "street": ["Hauptstraße", "Markt", "Marienplatz"],
    "city": ["Dresden", "Leipzig", "München"],
    "practice_id": ["P01", "P01", "P02"],
    "smoking": ["former", "current", "never"],
    "bmi": [27.4, 31.0, None],
    "copd": [0, 1, 0],
    "diabetes": [1, 0, 0],
    "gp_contacts_last_year": [6, None, 2],
}

SURVEY = {
    "record_id": ["S1", "S2"],
    "given_name": ["Ana", None],
    "surname": ["Silva", "Smit"],
    "date_of_birth": ["1960-01-31", "1971-12-01"],
    "sex": ["F", "U"],
    "postcode": ["0150", "2500 AA"],
    "house_number": ["7", None],
    "street": ["Rua Augusta", "Lange Poten"],
    "city": ["Lisboa", "Den Haag"],
    "survey_date": ["2022-05-04", "2022-06-01"],
    "global_health": [66.7, 83.3],
    "physical_functioning": [80.0, None],
    "emotional_functioning": [75.0, 91.7],
    "fatigue": [33.3, 11.1],
}


def canonical(columns: dict[str, list[object]], table: str) -> pd.DataFrame:
    """The typed canonical frame, as validation makes it."""
    return validate(pd.DataFrame(columns), table)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


# --- CSV --------------------------------------------------------------------------------------


def test_ncr_example_mapping_round_trips_a_semicolon_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "ncr.csv", NCR_CSV)
    loaded = load(path, "registry", mapping=EXAMPLES / "ncr-registry.yaml")
    assert_frame_equal(loaded, canonical(REGISTRY, "registry"))


def test_gp_example_mapping_keeps_leading_zeros_and_tolerates_a_bom(tmp_path: Path) -> None:
    path = write(tmp_path / "praxis.csv", GP_CSV, encoding="utf-8-sig")
    loaded = load(path, "gp", mapping=str(EXAMPLES / "gp-de.yaml"))
    assert_frame_equal(loaded, canonical(GP, "gp"))
    assert list(loaded["postcode"]) == ["01067", "04109", "80331"]


def test_tab_separated_without_mapping_reads_text_and_empty_cells_as_missing(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame(SURVEY)
    path = tmp_path / "survey.tsv"
    frame.to_csv(path, sep="\t", index=False)
    raw = Source(str(path), "survey").read()
    assert raw["postcode"].tolist() == ["0150", "2500 AA"]  # text, not the number 150
    assert raw["given_name"].isna().tolist() == [False, True]
    assert_frame_equal(load(path, "survey"), canonical(SURVEY, "survey"))


def test_csv_keeps_extra_columns_and_na_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(SURVEY).assign(note=["NA", "n/a"])
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False)
    loaded = load(path, "survey")
    assert loaded["note"].tolist() == ["NA", "n/a"]  # only an empty cell is missing


def test_delimiter_is_sniffed_from_the_header() -> None:
    assert sniff_delimiter("a;b;c\n") == ";"
    assert sniff_delimiter("a\tb\tc\n") == "\t"
    assert sniff_delimiter("a,b,c\n") == ","
    assert sniff_delimiter('"x;y",b,c\n') == ","  # a quoted delimiter does not count
    assert sniff_delimiter("only\n") == ","


def test_decimal_commas_in_data_do_not_fool_the_sniffer(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "record_id;bmi\n1;27,5\n2;30,1\n")
    assert Source(str(path), "gp").read().columns.tolist() == ["record_id", "bmi"]


def test_header_only_csv_loads_as_an_empty_table(tmp_path: Path) -> None:
    header = ";".join(canonical(GP, "gp").columns) + "\n"
    loaded = load(write(tmp_path / "empty.csv", header), "gp")
    assert len(loaded) == 0
    assert list(loaded.columns) == list(canonical(GP, "gp").columns)


# --- errors a steward must be able to act on --------------------------------------------------

BAD_NCR = NCR_CSV.replace(";4;2;1B;", ";5;2;1B;").replace("01-12-2021", "31-02-2021")


def test_bad_csv_gives_one_error_naming_every_problem_with_its_row(tmp_path: Path) -> None:
    # Row 1: stage code 5 does not exist; row 3: 31 February; vit_stat_mnd is not exported.
    text = "\n".join(line.rsplit(";", 1)[0] for line in BAD_NCR.splitlines()) + "\n"
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(SchemaError) as caught:
        load(path, "registry", mapping=EXAMPLES / "ncr-registry.yaml")
    message = str(caught.value)
    assert str(path) in message
    assert "'vit_stat_mnd'" in message and "survival_months" in message
    assert "column 'stage': unknown code" in message and "'5' in row 1" in message
    assert "column 'diagnosis_date': malformed date" in message and "row 3" in message
    found = {(p.column, p.row) for p in caught.value.problems}
    assert found == {("survival_months", None), ("stage", 1), ("diagnosis_date", 3)}


def test_unknown_stage_code_passes_the_mapping_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", BAD_NCR)
    with pytest.raises(SchemaError, match=r"column 'stage': unknown code .*'5' in row 1"):
        load(path, "registry", mapping=EXAMPLES / "ncr-registry.yaml")


def test_a_blank_line_is_a_row_not_silently_skipped(tmp_path: Path) -> None:
    lines = NCR_CSV.splitlines()
    path = write(tmp_path / "gap.csv", "\n".join([*lines[:2], "", *lines[2:]]) + "\n")
    with pytest.raises(SchemaError) as caught:
        load(path, "registry", mapping=EXAMPLES / "ncr-registry.yaml")
    assert ("record_id", 2) in {(p.column, p.row) for p in caught.value.problems}


def test_a_row_longer_than_the_header_is_an_error_not_a_shifted_table(tmp_path: Path) -> None:
    path = write(tmp_path / "long.csv", "record_id;surname\nA;Smit;extra\nB;Jong\n")
    with pytest.raises(ValueError, match=r"delimiter ';': .*Expected 2 fields in line 2, saw 3"):
        load(path, "gp")


def test_a_repeated_header_name_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", "record_id;city;city\nA;Ede;Epe\n")
    with pytest.raises(ValueError, match=r"columns more than once: city$"):
        load(path, "gp")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^no such file: .*nope\.csv$"):
        load(tmp_path / "nope.csv", "gp")


def test_unknown_extension_lists_the_supported_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "export.xlsx", "")
    with pytest.raises(ValueError, match=r"'\.xlsx'.*\.csv, \.tsv, \.parquet, \.pq"):
        load(path, "gp")


def test_empty_and_non_utf8_csv(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is empty"):
        load(write(tmp_path / "e.csv", ""), "gp")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("record_id;surname\n1;Müller\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not UTF-8 text.*export it as UTF-8"):
        load(latin, "gp")


def test_wrong_table_name_lists_the_tables(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="registry, gp, survey"):
        Source(str(tmp_path / "x.csv"), "patients")


# --- Parquet ----------------------------------------------------------------------------------


def test_parquet_with_dates_and_nullable_integers(tmp_path: Path) -> None:
    frame = pd.DataFrame(GP)
    frame["date_of_birth"] = [dt.date(1958, 4, 3), None, dt.date(1970, 9, 17)]
    frame["gp_contacts_last_year"] = frame["gp_contacts_last_year"].astype("Int64")
    path = tmp_path / "gp.parquet"
    frame.to_parquet(path, engine="pyarrow")
    assert_frame_equal(load(path, "gp"), canonical(GP, "gp"))


def test_parquet_with_mapping_and_timestamp_dates(tmp_path: Path) -> None:
    local = pd.DataFrame(SURVEY).rename(columns={"record_id": "resp", "survey_date": "ingevuld"})
    local["ingevuld"] = pd.to_datetime(local["ingevuld"])
    path = tmp_path / "survey.pq"
    local.to_parquet(path)
    mapping = Mapping.from_dict(
        {
            "table": "survey",
            "columns": {"record_id": "resp", "survey_date": "ingevuld"},
            "dates": {"survey_date": "%d-%m-%Y"},  # the format applies to text only
        }
    )
    assert_frame_equal(load(path, "survey", mapping=mapping), canonical(SURVEY, "survey"))


def test_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        load(write(tmp_path / "x.parquet", "a,b\n1,2\n"), "gp")


# --- SQLite -----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    path = tmp_path / "station.db"
    with sqlite3.connect(path) as connection:
        pd.DataFrame(GP).to_sql("gp_patients", connection, index=False)
        local = pd.DataFrame(SURVEY).rename(columns={"survey_date": "datum"})
        local["datum"] = ["04/05/2022", "01/06/2022"]
        local.to_sql("qol", connection, index=False)
    return f"sqlite:///{path}"


def test_sqlite_table(sqlite_url: str) -> None:
    assert_frame_equal(load(sqlite_url, "gp", sql_table="gp_patients"), canonical(GP, "gp"))


def test_sqlite_query_with_mapping(sqlite_url: str) -> None:
    mapping = Mapping("survey", columns={"survey_date": "datum"}, dates={"survey_date": "%d/%m/%Y"})
    query = "-- steward's selection\nWITH q AS (SELECT * FROM qol) SELECT * FROM q ORDER BY 1;"
    loaded = load(sqlite_url, "survey", mapping=mapping, query=query)
    assert_frame_equal(loaded, canonical(SURVEY, "survey"))


def test_a_query_with_repeated_column_names_is_refused(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="more than once: record_id; give them distinct"):
        load(sqlite_url, "gp", query="SELECT g.*, g.record_id FROM gp_patients AS g")


def test_unknown_sql_table_lists_the_existing_ones(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match=r"no table 'patients'; tables: gp_patients, qol"):
        load(sqlite_url, "gp", sql_table="patients")


def test_a_table_name_is_quoted_not_pasted(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="no table"):
        load(sqlite_url, "gp", sql_table="gp_patients; DROP TABLE qol")
    assert len(Source(sqlite_url, "survey", sql_table="qol").read()) == 2


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        load(f"sqlite:///{tmp_path / 'nope.db'}", "gp", sql_table="gp")
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM qol",
        "drop table qol",
        "UPDATE qol SET fatigue = 0",
        "SELECT 1; DROP TABLE qol",
        "/* select */ INSERT INTO qol VALUES (1)",
        "",
    ],
)
def test_only_select_queries_are_accepted(sqlite_url: str, query: str) -> None:
    with pytest.raises(ValueError, match="SELECT"):
        load(sqlite_url, "survey", query=query)
    assert len(Source(sqlite_url, "survey", sql_table="qol").read()) == 2


def test_select_queries_with_tricky_text_are_accepted() -> None:
    check_query("select ';' as x -- a comment; drop table x\n")
    check_query("  (SELECT 1) UNION (SELECT 2);  ")
    check_query('WITH "delete" AS (SELECT 1) SELECT * FROM "delete"')


def test_sql_source_needs_a_table_or_a_query(sqlite_url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one of sql_table or query"):
        Source(sqlite_url, "gp")
    with pytest.raises(ValueError, match="exactly one of sql_table or query"):
        Source(sqlite_url, "gp", sql_table="gp_patients", query="SELECT 1")
    with pytest.raises(ValueError, match="only to a database URL"):
        Source(str(tmp_path / "x.csv"), "gp", sql_table="gp_patients")


def test_unreachable_database_names_the_url_without_the_password() -> None:
    url = f"postgresql+psycopg://steward:s3cret@127.0.0.1:{free_port()}/station"
    with pytest.raises(ValueError) as caught:
        load(url, "gp", sql_table="gp")
    message = str(caught.value)
    assert message.startswith(f"cannot connect to {safe_url(url)}: ")
    assert "steward:***@" in message and "s3cret" not in message
    assert "refused" in message.lower()


def test_a_missing_or_unknown_driver_gets_a_hint() -> None:
    with pytest.raises(ValueError, match=r"mysql://u:\*\*\*@.*driver not installed: No mod"):
        load("mysql://u:pw@localhost/db", "gp", sql_table="gp")
    with pytest.raises(ValueError, match=r"u:\*\*\*@.*unknown database dialect/driver"):
        load("postgresql+nodriver://u:pw@localhost/db", "gp", sql_table="gp")


# --- PostgreSQL (a real server, started by the postgres_url fixture) --------------------------

GP_DDL = """
CREATE TABLE {name} (
    record_id text PRIMARY KEY, given_name text, surname text, date_of_birth date,
    sex char(1), postcode varchar(10), house_number text, street text, city text,
    practice_id text, smoking text, bmi numeric(4, 1), copd boolean, diabetes smallint,
    gp_contacts_last_year integer
)
"""


@pytest.fixture(scope="module")
def postgres_station(postgres_url: str) -> str:
    rows = pd.DataFrame(GP).astype(object).where(pd.DataFrame(GP).notna(), None)
    rows["date_of_birth"] = [dt.date(1958, 4, 3), None, dt.date(1970, 9, 17)]
    rows["copd"] = [bool(v) for v in rows["copd"]]
    records = rows.to_dict("records")
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA station")
        for name in ("gp_patients", "station.gp_patients"):
            connection.exec_driver_sql(GP_DDL.format(name=name))
            schema, _, bare = name.rpartition(".")
            table = sa.Table(bare, sa.MetaData(), schema=schema or None, autoload_with=connection)
            connection.execute(sa.insert(table), records)
        connection.exec_driver_sql("CREATE TABLE station.other (x integer)")
    engine.dispose()
    return postgres_url


@pytest.mark.postgres
def test_postgres_table_types_become_canonical(postgres_station: str) -> None:
    raw = Source(postgres_station, "gp", sql_table="gp_patients").read()
    assert isinstance(raw["date_of_birth"].dropna().iloc[0], dt.date)
    loaded = load(postgres_station, "gp", sql_table="gp_patients")
    assert_frame_equal(loaded, canonical(GP, "gp"))
    assert loaded["date_of_birth"].tolist()[0] == "1958-04-03"
    assert str(loaded["gp_contacts_last_year"].dtype) == "Int64"


@pytest.mark.postgres
def test_postgres_schema_qualified_table(postgres_station: str) -> None:
    loaded = load(postgres_station, "gp", sql_table="station.gp_patients")
    assert_frame_equal(loaded, canonical(GP, "gp"))


@pytest.mark.postgres
def test_postgres_query_with_mapping(postgres_station: str) -> None:
    query = """
        SELECT record_id AS patnr, given_name, surname, date_of_birth AS gebdat, sex,
               postcode, house_number, street, city, practice_id, smoking, bmi, copd, diabetes,
               gp_contacts_last_year
        FROM station.gp_patients WHERE record_id LIKE 'G-%' AND '10:30' <> '' ORDER BY record_id
    """
    mapping = Mapping("gp", columns={"record_id": "patnr", "date_of_birth": "gebdat"})
    loaded = load(postgres_station, "gp", mapping=mapping, query=query)
    assert_frame_equal(loaded, canonical(GP, "gp"))


@pytest.mark.postgres
def test_postgres_unknown_table_and_schema(postgres_station: str) -> None:
    with pytest.raises(ValueError, match=r"no table 'patients'; tables: gp_patients$"):
        load(postgres_station, "gp", sql_table="patients")
    with pytest.raises(ValueError, match=r"schema 'station': no table 'gp'; tables: gp_pat"):
        load(postgres_station, "gp", sql_table="station.gp")
    with pytest.raises(ValueError, match=r"no schema 'nope'; schemas: .*public.*station"):
        load(postgres_station, "gp", sql_table="nope.gp_patients")


@pytest.mark.postgres
def test_postgres_reads_in_a_read_only_transaction(postgres_station: str) -> None:
    sneaky = "WITH gone AS (DELETE FROM gp_patients RETURNING *) SELECT * FROM gone"
    with pytest.raises(ValueError, match=r"the query failed: .*read-only transaction"):
        load(postgres_station, "gp", query=sneaky)
    assert len(Source(postgres_station, "gp", sql_table="gp_patients").read()) == 3


@pytest.mark.postgres
def test_postgres_unknown_database(postgres_station: str) -> None:
    url = postgres_station.rsplit("/", 1)[0] + "/nope"
    with pytest.raises(ValueError, match=r'cannot connect to .*/nope: .*database "nope"'):
        load(url, "gp", sql_table="gp_patients")


# --- mapping files ----------------------------------------------------------------------------


def test_example_mappings_load() -> None:
    ncr = Mapping.from_file(EXAMPLES / "ncr-registry.yaml")
    assert ncr.table == "registry" and ncr.columns["record_id"] == "patnr"
    assert ncr.codes["stage"]["1"] == "I" and ncr.codes["stage"]["X"] is None
    assert ncr.dates["diagnosis_date"] == "%d-%m-%Y"
    assert ncr.constants == {"stage_system": "UICC8"}
    gp = Mapping.from_file(EXAMPLES / "gp-de.yaml")
    assert gp.table == "gp" and gp.codes["sex"]["w"] == "F"


def test_yaml_scalars_stay_the_text_written(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.yaml",
        "table: gp\ncodes:\n  sex: {01: M, no: F}\n  copd: {yes: '1', 2: 0}\n",
    )
    mapping = Mapping.from_file(path)
    assert mapping.codes == {"sex": {"01": "M", "no": "F"}, "copd": {"yes": "1", "2": "0"}}


def test_mapping_file_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.yaml",
        """\
table: registry
colums: {}
columns:
  record_id: patnr
  surname: patnr
  patnr: record_id
  diagnosis: incdat
codes:
  stadium: {1: I}
dates:
  sex: "%d-%m-%Y"
constants:
  record_id: x
""",
    )
    with pytest.raises(ValueError) as caught:
        Mapping.from_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid mapping (7 problems):")
    for expected in (
        "unknown key 'colums'",
        "columns: 'patnr' is not a column of the 'registry' table (write 'canonical: local'",
        "columns: 'diagnosis' is not a column of the 'registry' table (did you mean "
        "'diagnosis_date'?)",
        "codes: 'stadium' is not a column",
        "local column 'patnr' is mapped twice (to record_id and surname)",
        "dates: 'sex' is not a date column",
        "constants: 'record_id' is also mapped from the data",
    ):
        assert expected in message


def test_mapping_file_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "m.yaml", "table: gp\ncolumns:\n  record_id: [patnr\n  sex: s\n")
    with pytest.raises(ValueError, match=rf"^{path}: YAML syntax error at line 4"):
        Mapping.from_file(path)


def test_mapping_file_other_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^no such file: "):
        Mapping.from_file(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match="'table' is required"):
        Mapping.from_file(write(tmp_path / "a.yaml", "columns: {}\n"))
    with pytest.raises(ValueError, match="the mapping is empty"):
        Mapping.from_file(write(tmp_path / "b.yaml", "# nothing yet\n"))
    with pytest.raises(ValueError, match="unknown table 'tumours'"):
        Mapping.from_file(write(tmp_path / "c.yaml", "table: tumours\n"))
    with pytest.raises(ValueError, match=r"columns\.sex: expected a single value"):
        Mapping.from_file(write(tmp_path / "d.yaml", "table: gp\ncolumns: {sex: [a, b]}\n"))


def test_mapping_for_another_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="maps onto the 'gp' table, not 'survey'"):
        Source(str(tmp_path / "x.csv"), "survey", mapping=Mapping("gp"))


# --- Mapping.apply ----------------------------------------------------------------------------


def test_apply_renames_recodes_reformats_and_adds_constants() -> None:
    local = pd.DataFrame(
        {
            "nr": ["1", "2", "3", "4"],
            "gesl": [1, 2, 9, None],
            "dob": ["31-01-1950", "x", None, "1-2-1960"],
        }
    )
    mapping = Mapping(
        "gp",
        columns={"record_id": "nr", "sex": "gesl", "date_of_birth": "dob"},
        codes={"sex": {"1": "M", "2": "F", "8": None}},
        dates={"date_of_birth": "%d-%m-%Y"},
        constants={"practice_id": "P9"},
    )
    before = local.copy()
    out = mapping.apply(local)
    assert_frame_equal(local, before)  # the caller's frame is not changed
    assert list(out.columns) == ["record_id", "sex", "date_of_birth", "practice_id"]
    assert out["sex"].tolist()[:3] == ["M", "F", 9.0]  # unlisted values pass through
    assert pd.isna(out["sex"].iloc[3])
    assert out["date_of_birth"].tolist()[:2] == ["1950-01-31", "x"]  # left for validation
    assert pd.isna(out["date_of_birth"].iloc[2])
    assert out["date_of_birth"].iloc[3] == "1960-02-01"
    assert out["practice_id"].tolist() == ["P9"] * 4


def test_apply_maps_listed_values_to_missing() -> None:
    out = Mapping("registry", codes={"stage": {"9": None, "1": "I"}}).apply(
        pd.DataFrame({"stage": ["1", "9", " 1 "]})
    )
    assert out["stage"].iloc[0] == "I" and pd.isna(out["stage"].iloc[1])
    assert out["stage"].iloc[2] == "I"


def test_apply_reports_every_absent_local_column() -> None:
    mapping = Mapping(
        "gp",
        columns={"record_id": "patnr", "sex": "geslacht", "city": "plaats"},
        codes={"smoking": {"j": "current"}},
    )
    with pytest.raises(SchemaError) as caught:
        mapping.apply(pd.DataFrame({"pat_nr": ["1"], "plaats": ["Ede"]}), source="export.csv")
    message = str(caught.value)
    assert message.startswith("export.csv does not fit the canonical 'gp' table (3 problems)")
    assert "local column 'patnr' (from mapping) is not in the data; similar: pat_nr" in message
    assert "'geslacht'" in message and "'smoking'" in message


def test_apply_refuses_to_overwrite_data() -> None:
    frame = pd.DataFrame({"nr": ["1"], "record_id": ["A"], "practice_id": ["P1"]})
    mapping = Mapping("gp", columns={"record_id": "nr"}, constants={"practice_id": "P9"})
    with pytest.raises(SchemaError) as caught:
        mapping.apply(frame)
    message = str(caught.value)
    assert "two columns would be called 'record_id': 'nr' and 'record_id'" in message
    assert "practice_id: set by 'constants'" in message


# --- rows are never added or dropped ----------------------------------------------------------

text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=8
)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(text, text, st.sampled_from(["M", "F", "X", "U", ""])), max_size=15))
def test_row_count_never_changes(rows: list[tuple[str, str, str]]) -> None:
    frame = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(len(rows))],
            "surname": [r[0] for r in rows],
            "postcode": [r[1] for r in rows],
            "sex": [r[2] for r in rows],
        }
    )
    for column in ("given_name", "date_of_birth", "house_number", "street", "city"):
        frame[column] = ""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "gp.csv"
        frame.to_csv(path, sep=";", index=False)
        loaded = load(path, "gp")
    assert len(loaded) == len(rows)
    assert loaded["record_id"].tolist() == frame["record_id"].tolist()
    assert loaded["postcode"].fillna("").tolist() == [r[1].strip() for r in rows]
