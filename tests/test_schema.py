"""The canonical model: validation types good data and reports every problem of bad data."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tessera.schema import REGISTRY, SchemaError, codes, validate

GOOD_ROW = {
    "record_id": "R1",
    "given_name": "Jan",
    "surname": "de Vries",
    "date_of_birth": "1950-03-04",
    "sex": "M",
    "postcode": "1011 AB",
    "house_number": "12a",
    "street": "Kerkstraat",
    "city": "Amsterdam",
    "diagnosis_date": "2019-05-01",
    "age_at_diagnosis": "69",
    "icd10": "C34.1",
    "topography": "C34.1",
    "morphology": "8140/3",
    "stage_system": "UICC8",
    "stage": "IV",
    "stage_detail": "IVB",
    "ct": "T2b",
    "cn": "N2",
    "cm": "M1c",
    "grade": "3",
    "ecog": "1",
    "egfr": "W",
    "alk": "W",
    "brca": "N",
    "pdl1_tps": "60",
    "surgery": "0",
    "radiotherapy": "0",
    "chemotherapy": "1",
    "immunotherapy": "1",
    "targeted_therapy": "0",
    "systemic_type": "CI",
    "systemic_atc": "L01XA02+L01BA04+L01FF02",
    "vital_status": "1",
    "followup_date": "2020-01-15",
    "survival_months": "8.5",
    "unplanned_admission_90d": "0",
}


def frame(*changes: dict) -> pd.DataFrame:
    rows = [{**GOOD_ROW, "record_id": f"R{i}", **change} for i, change in enumerate(changes)]
    return pd.DataFrame(rows, dtype=str)


def test_good_rows_come_out_typed():
    out = validate(frame({}, {"ecog": "", "pdl1_tps": ""}), "registry")
    assert list(out.columns[: len(REGISTRY.columns)]) == list(REGISTRY.column_names)
    assert out["ecog"].dtype == "Int64" and out["ecog"].isna().tolist() == [False, True]
    assert out["pdl1_tps"].dtype == "float64"
    assert out["survival_months"].tolist() == [8.5, 8.5]
    assert out["house_number"].tolist() == ["12a", "12a"]
    assert out["vital_status"].tolist() == [1, 1]


def test_bad_csv_gets_one_error_listing_every_problem_with_rows():
    bad = frame(
        {},
        {"stage": "V", "stage_detail": None},
        {"diagnosis_date": "2019-02-30"},
        {"stage": "IIII", "stage_detail": None},
    ).drop(columns="survival_months")
    text = bad.to_csv(index=False)
    with pytest.raises(SchemaError) as caught:
        validate(pd.read_csv(io.StringIO(text), dtype=str), "registry", source="bad.csv")
    message = str(caught.value)
    assert message.startswith("bad.csv does not fit the canonical 'registry' table (4 problems)")
    assert "survival_months: missing column" in message
    assert "column 'stage': unknown code (allowed: I, II, III, IV): 'V' in row 2" in message
    assert "'IIII' in row 4" in message
    assert "column 'diagnosis_date': malformed date" in message and "in row 3" in message
    assert {p.row for p in caught.value.problems} == {None, 2, 3, 4}


def test_every_kind_of_bad_value_is_reported():
    bad = frame(
        {"sex": "m", "age_at_diagnosis": "69.5"},
        {"ecog": "7", "pdl1_tps": "abc", "vital_status": "2"},
        {"systemic_atc": "L01", "record_id": "R0"},
        {"stage_detail": "IA1"},
        {"followup_date": "2018-01-01"},
        {"systemic_type": "CH"},
    )
    with pytest.raises(SchemaError) as caught:
        validate(bad, "registry")
    found = {(p.column, p.row) for p in caught.value.problems}
    assert ("sex", 1) in found and ("age_at_diagnosis", 1) in found
    assert {("ecog", 2), ("pdl1_tps", 2), ("vital_status", 2)} <= found
    assert ("systemic_atc", 3) in found
    assert ("record_id", 1) in found and ("record_id", 3) in found  # duplicate R0
    assert ("stage / stage_detail", 4) in found
    assert ("diagnosis_date / followup_date", 5) in found
    assert ("systemic_type / chemotherapy / immunotherapy / targeted_therapy", 6) in found


def test_nothing_is_dropped_and_extra_columns_pass_through():
    data = frame({}, {}, {}).assign(local_note=["a", "b", "c"])
    out = validate(data, "registry")
    assert len(out) == 3 and out["local_note"].tolist() == ["a", "b", "c"]


def test_missing_optional_columns_are_added_empty_but_required_ones_are_errors():
    out = validate(frame({}).drop(columns=["ecog", "grade"]), "registry")
    assert out["ecog"].isna().all() and out["grade"].isna().all()
    with pytest.raises(SchemaError, match="record_id: missing column"):
        validate(frame({}).drop(columns="record_id"), "registry")


def test_native_types_from_parquet_or_sql_are_accepted():
    data = frame({})
    data["age_at_diagnosis"] = [69]
    data["survival_months"] = [8.5]
    data["vital_status"] = [True]
    data["diagnosis_date"] = pd.to_datetime(["2019-05-01"])
    data["house_number"] = [12.0]
    out = validate(data, "registry")
    assert out.loc[0, "diagnosis_date"] == "2019-05-01"
    assert out.loc[0, "house_number"] == "12"
    assert out.loc[0, "vital_status"] == 1


def test_unknown_table_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown table 'registr': choose one of registry"):
        validate(frame({}), "registr")


def test_code_lists_are_consistent():
    assert set(codes.STAGE_DETAIL_GROUP.values()) == set(codes.STAGE)
    assert set(codes.SYSTEMIC_COMPONENTS) == set(codes.SYSTEMIC_TYPE)
    assert all(code.endswith("/3") for code in codes.MORPHOLOGY)


def test_data_model_doc_is_generated_from_the_code():
    from pathlib import Path

    from tessera.schema.describe import describe

    doc = Path(__file__).parents[1] / "docs" / "data-model.md"
    assert doc.read_text() == describe(), "regenerate: tessera schema > docs/data-model.md"
