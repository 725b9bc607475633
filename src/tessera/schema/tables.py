"""The canonical tables: what a registry, a GP network and a quality-of-life survey hold.

Every station maps its local data onto one of these tables (see `tessera.sources`), so that
an analysis can name a column once and every party knows what it means. Items follow the
German oncology basic dataset (oBDS 3.0) and the Netherlands Cancer Registry (NCR).

Conventions, chosen so that a value means the same in CSV, Parquet and SQL:
- dates are ISO-8601 strings `YYYY-MM-DD` (no time zones to shift, no epoch to agree on);
- codes are strings from `tessera.schema.codes`;
- flags are integers 0/1 and counts/scores are nullable integers or floats;
- identifiers are strings and may be missing; only `record_id` must be present and unique.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from tessera.schema import codes

Kind = Literal["text", "date", "code", "int", "float", "flag"]


@dataclass(frozen=True)
class Column:
    """One column of a canonical table and the values it accepts."""

    name: str
    kind: Kind
    description: str
    codes: Mapping[str, str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None  # regular expression each '+'-separated part must match
    required: bool = True  # must the column be present?
    nullable: bool = True  # may a value be missing?
    unique: bool = False
    item: str = ""  # the oBDS / NCR item it corresponds to


# A row rule looks at already-typed columns and returns (mask of bad rows, what is wrong).
RowRule = Callable[[pd.DataFrame], tuple[pd.Series, str]]


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns in order and the rules that span columns."""

    name: str
    description: str
    columns: tuple[Column, ...]
    rules: tuple[tuple[tuple[str, ...], RowRule], ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def __getitem__(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")


IDENTIFIERS: tuple[Column, ...] = (
    Column("record_id", "text", "record number, local to this source", nullable=False, unique=True),
    Column("pseudonym", "text", "pseudonym issued by a trusted third party", required=False),
    Column("given_name", "text", "first given name"),
    Column("surname", "text", "family name including particles (van der, de, von)"),
    Column("date_of_birth", "date", "date of birth"),
    Column("sex", "code", "administrative sex", codes=codes.SEX),
    Column("postcode", "text", "postcode of residence"),
    Column("house_number", "text", "house number with any suffix"),
    Column("street", "text", "street of residence"),
    Column("city", "text", "city of residence"),
)


def _flag(name: str, description: str, item: str = "") -> Column:
    return Column(name, "flag", description, codes=codes.FLAG, required=False, item=item)


def _score(name: str, description: str) -> Column:
    return Column(name, "float", description, minimum=0, maximum=100, required=False)


def _stage_matches_detail(df: pd.DataFrame) -> tuple[pd.Series, str]:
    group = df["stage_detail"].map(codes.STAGE_DETAIL_GROUP)
    bad = df["stage_detail"].notna() & df["stage"].notna() & (group != df["stage"])
    return bad, "stage_detail does not belong to stage"


def _flags_match_systemic_type(df: pd.DataFrame) -> tuple[pd.Series, str]:
    bad = pd.Series(False, index=df.index)
    known = df["systemic_type"].notna()
    for flag in ("chemotherapy", "immunotherapy", "targeted_therapy"):
        implies = {code: flag in parts for code, parts in codes.SYSTEMIC_COMPONENTS.items()}
        implied = df["systemic_type"].map(implies)
        stated = df[flag]
        bad |= known & stated.notna() & ((stated == 1) != implied)
    return bad, "chemotherapy/immunotherapy/targeted_therapy flags contradict systemic_type"


def _followup_after_diagnosis(df: pd.DataFrame) -> tuple[pd.Series, str]:
    bad = df["followup_date"].notna() & (df["followup_date"] < df["diagnosis_date"])
    return bad, "followup_date is before diagnosis_date"


def _diagnosis_after_birth(df: pd.DataFrame) -> tuple[pd.Series, str]:
    known = df["date_of_birth"].notna() & df["diagnosis_date"].notna()
    bad = known & (df["diagnosis_date"] < df["date_of_birth"])
    return bad, "diagnosis_date is before date_of_birth"


REGISTRY = Table(
    "registry",
    "Cancer registry: one row per primary tumour (NSCLC C34 or ovary C56).",
    (
        *IDENTIFIERS,
        Column("region", "text", "registry region", required=False),
        Column("diagnosis_date", "date", "date of diagnosis", nullable=False, item="incdat"),
        Column(
            "age_at_diagnosis",
            "int",
            "age in years at diagnosis",
            minimum=0,
            maximum=120,
            nullable=False,
            item="leeft",
        ),
        Column("icd10", "code", "ICD-10 diagnosis", codes=codes.ICD10, nullable=False),
        Column(
            "topography",
            "code",
            "ICD-O-3 topography",
            codes=codes.TOPOGRAPHY,
            nullable=False,
            item="topo_sublok",
        ),
        Column(
            "morphology",
            "code",
            "ICD-O-3 morphology/behaviour",
            codes=codes.MORPHOLOGY,
            nullable=False,
            item="morf",
        ),
        Column("stage_system", "code", "staging system", codes=codes.STAGE_SYSTEM),
        Column("stage", "code", "stage group (UICC or FIGO)", codes=codes.STAGE, item="stadium"),
        Column("stage_detail", "code", "stage subgroup", codes=codes.STAGE_DETAIL, required=False),
        Column("ct", "code", "clinical T", codes=codes.CT, required=False, item="ct"),
        Column("cn", "code", "clinical N", codes=codes.CN, required=False, item="cn"),
        Column("cm", "code", "clinical M", codes=codes.CM, required=False, item="cm"),
        Column("grade", "code", "oBDS grading", codes=codes.GRADE, required=False, item="diffgr"),
        Column(
            "ecog",
            "int",
            "ECOG performance status",
            minimum=0,
            maximum=4,
            required=False,
            item="perf_stat",
        ),
        Column("egfr", "code", "EGFR mutation", codes=codes.MARKER_STATUS, required=False),
        Column("alk", "code", "ALK rearrangement", codes=codes.MARKER_STATUS, required=False),
        Column("brca", "code", "BRCA1/2 mutation", codes=codes.MARKER_STATUS, required=False),
        Column(
            "pdl1_tps",
            "float",
            "PD-L1 tumour proportion score (%)",
            minimum=0,
            maximum=100,
            required=False,
        ),
        _flag("surgery", "resection of the primary tumour"),
        _flag("radiotherapy", "radiotherapy of the primary tumour"),
        _flag("chemotherapy", "chemotherapy in first-line treatment"),
        _flag("immunotherapy", "immune checkpoint inhibitor in first-line treatment"),
        _flag("targeted_therapy", "targeted substance (TKI, PARP inhibitor) in first line"),
        Column(
            "systemic_type",
            "code",
            "oBDS systemic therapy type; empty = none",
            codes=codes.SYSTEMIC_TYPE,
            required=False,
        ),
        Column(
            "systemic_atc",
            "text",
            "ATC codes of the first-line agents, joined by '+'",
            pattern=codes.ATC_PATTERN,
            required=False,
        ),
        Column(
            "vital_status",
            "flag",
            "0 alive at last contact, 1 deceased",
            codes=codes.VITAL_STATUS,
            nullable=False,
            item="vit_stat",
        ),
        Column(
            "followup_date",
            "date",
            "date of death or of last contact",
            nullable=False,
            item="vit_stat_dat",
        ),
        Column(
            "survival_months",
            "float",
            "months from diagnosis to followup_date",
            minimum=0,
            nullable=False,
            item="vit_stat_int",
        ),
        _flag("unplanned_admission_90d", "unplanned hospital admission within 90 days"),
    ),
    rules=(
        (("stage", "stage_detail"), _stage_matches_detail),
        (
            ("systemic_type", "chemotherapy", "immunotherapy", "targeted_therapy"),
            _flags_match_systemic_type,
        ),
        (("diagnosis_date", "followup_date"), _followup_after_diagnosis),
        (("date_of_birth", "diagnosis_date"), _diagnosis_after_birth),
    ),
)

GP = Table(
    "gp",
    "General-practice network: one row per registered person, with or without cancer.",
    (
        *IDENTIFIERS,
        Column("practice_id", "text", "general practice", required=False),
        Column("smoking", "code", "smoking status", codes=codes.SMOKING, required=False),
        Column("bmi", "float", "body-mass index", minimum=10, maximum=80, required=False),
        Column(
            "charlson_index",
            "int",
            "Charlson comorbidity index, cancer excluded",
            minimum=0,
            maximum=33,
            required=False,
        ),
        _flag("copd", "chronic obstructive pulmonary disease (ICPC R95)"),
        _flag("diabetes", "diabetes mellitus (ICPC T90)"),
        _flag("cardiovascular_disease", "ischaemic heart disease or heart failure"),
        Column(
            "gp_contacts_last_year",
            "int",
            "GP contacts in the year before",
            minimum=0,
            required=False,
        ),
    ),
)

SURVEY = Table(
    "survey",
    "Quality-of-life survey (EORTC QLQ-C30 scales, 0-100), one row per respondent.",
    (
        *IDENTIFIERS,
        Column("survey_date", "date", "date the questionnaire was completed", nullable=False),
        _score("global_health", "global health status / QoL (higher is better)"),
        _score("physical_functioning", "physical functioning (higher is better)"),
        _score("emotional_functioning", "emotional functioning (higher is better)"),
        _score("fatigue", "fatigue symptom scale (higher is worse)"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (REGISTRY, GP, SURVEY)}


def table(name: str) -> Table:
    """The canonical table called `name`, with a helpful error for a wrong name."""
    try:
        return TABLES[name]
    except KeyError:
        known = ", ".join(TABLES)
        raise ValueError(f"unknown table {name!r}: choose one of {known}") from None
