"""Synthetic cohorts: realistic marginals, recoverable truth, realistic overlap and identifiers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import CoxPHFitter, KaplanMeierFitter
from typer.testing import CliRunner

from tessera.cli import app
from tessera.schema import codes
from tessera.synth import Cohort, generate
from tessera.synth.cohort import SURVEY_LANDMARK_DAYS
from tessera.synth.identities import COLUMNS
from tessera.synth.models import design_matrix

N = 30_000


@pytest.fixture(scope="module")
def nsclc() -> Cohort:
    return generate("nsclc", N, seed=2024, pseudonyms=True)


@pytest.fixture(scope="module")
def ovarian() -> Cohort:
    return generate("ovarian", N, seed=2024)


@pytest.fixture(scope="module")
def cohorts(nsclc: Cohort, ovarian: Cohort) -> dict[str, Cohort]:
    return {"nsclc": nsclc, "ovarian": ovarian}


def five_year(registry: pd.DataFrame) -> float:
    km = KaplanMeierFitter().fit(registry["survival_months"], registry["vital_status"])
    return float(km.predict(60.0))


# -- marginals ---------------------------------------------------------------------------


def test_nsclc_stage_and_stage_iv_treatment_match_registry_figures(nsclc: Cohort):
    registry = nsclc.registry
    assert 0.45 <= (registry["stage"] == "IV").mean() <= 0.51
    stage_iv = registry[registry["stage"] == "IV"]
    assert 0.38 <= stage_iv["immunotherapy"].mean() <= 0.46
    assert 0.07 <= stage_iv["targeted_therapy"].mean() <= 0.11


@pytest.mark.parametrize(
    ("stage", "low", "high"), [("I", 0.60, 0.70), ("II", 0.48, 0.60), ("III", 0.25, 0.35)]
)
def test_nsclc_five_year_survival_by_stage(nsclc: Cohort, stage: str, low: float, high: float):
    assert low <= five_year(nsclc.registry[nsclc.registry["stage"] == stage]) <= high


def test_nsclc_stage_iv_on_chemotherapy_only(nsclc: Cohort):
    registry = nsclc.registry
    chemo = registry[(registry["stage"] == "IV") & (registry["systemic_type"] == "CH")]
    km = KaplanMeierFitter().fit(chemo["survival_months"], chemo["vital_status"])
    assert 6.5 <= km.median_survival_time_ <= 8.5
    assert float(km.predict(60.0)) <= 0.06


@pytest.mark.parametrize(
    ("stage", "low", "high"),
    [("I", 0.82, 0.92), ("II", 0.60, 0.76), ("III", 0.29, 0.40), ("IV", 0.11, 0.22)],
)
def test_ovarian_five_year_survival_by_figo_stage(ovarian, stage, low, high):
    assert low <= five_year(ovarian.registry[ovarian.registry["stage"] == stage]) <= high


def test_ovarian_cohort_is_ovarian(ovarian: Cohort):
    registry = ovarian.registry
    assert set(registry["sex"].dropna()) == {"F"}
    assert set(registry["icd10"]) == {"C56"} and set(registry["stage_system"]) == {"FIGO2014"}
    assert set(registry["morphology"]) <= {
        "8441/3",
        "8461/3",
        "8380/3",
        "8310/3",
        "8480/3",
        "8140/3",
    }
    mix = registry["stage"].value_counts(normalize=True)
    assert 0.45 <= mix["III"] <= 0.57 and 0.20 <= mix["I"] <= 0.32


def test_codes_are_consistent_with_the_model(nsclc: Cohort):
    registry = nsclc.registry
    assert (registry["stage_detail"].map(codes.STAGE_DETAIL_GROUP) == registry["stage"]).all()
    assert registry.loc[registry["stage"] == "IV", "cm"].str.startswith("M1").all()
    assert registry.loc[registry["stage"] != "IV", "cm"].eq("M0").all()
    assert (registry["followup_date"] >= registry["diagnosis_date"]).all()


# -- the truth is recoverable ---------------------------------------------------------------


@pytest.mark.parametrize("cancer", ["nsclc", "ovarian"])
def test_cox_on_truth_joined_data_recovers_every_true_log_hazard_ratio(cohorts, cancer):
    cohort = cohorts[cancer]
    model = cohort.truth["survival_model"]
    assert set(model["sources"].values()) == {"registry", "gp", "survey"}
    joined = cohort.joined("registry", "gp", "survey")
    data = design_matrix(joined, list(model["coefficients"]))
    data["T"], data["E"] = joined[model["time"]], joined[model["event"]]
    data = data.dropna()
    assert len(data) > 3_000
    fit = CoxPHFitter().fit(data, "T", "E")
    truth = pd.Series(model["coefficients"])
    z = (fit.params_[truth.index] - truth) / fit.standard_errors_[truth.index]
    assert (z.abs() < 3).all(), z.round(2).to_dict()


@pytest.mark.parametrize("cancer", ["nsclc", "ovarian"])
def test_logistic_outcome_recovers_true_coefficients(cohorts, cancer):
    cohort = cohorts[cancer]
    model = cohort.truth["logistic_model"]
    joined = cohort.joined("registry", "gp")
    names = [n for n in model["coefficients"] if n != "const"]
    x = sm.add_constant(design_matrix(joined, names))
    fit = sm.Logit(joined[model["target"]].astype(float), x).fit(disp=0)
    truth = pd.Series(model["coefficients"])
    z = (fit.params[truth.index] - truth) / fit.bse[truth.index]
    assert (z.abs() < 3).all(), z.round(2).to_dict()


# -- overlap and missingness ----------------------------------------------------------------


def test_overlap_is_like_reality(nsclc: Cohort):
    counts = nsclc.truth["counts"]
    assert counts["registry"] == N == len(nsclc.registry)
    assert 0.45 <= counts["registry_in_gp"] / N <= 0.75
    assert counts["gp_without_cancer"] == counts["gp"] - counts["registry_in_gp"] > 0
    assert 0 < counts["registry_in_survey"] < counts["registry_in_gp"]
    assert counts["registry_in_gp_and_survey"] < counts["registry_in_survey"]
    assert counts["survey"] == counts["registry_in_survey"] == len(nsclc.survey)


def test_survey_missingness_depends_on_outcome_and_health(nsclc: Cohort):
    joined = nsclc.joined("registry", "survey")
    days = pd.to_datetime(joined["survey_date"]) - pd.to_datetime(joined["diagnosis_date"])
    assert (days.dt.days >= SURVEY_LANDMARK_DAYS).all()
    assert (joined["followup_date"] > joined["survey_date"]).all()  # answered while alive

    registry = nsclc.registry
    answered = registry["record_id"].isin(joined["registry_id"])
    early_death = (registry["vital_status"] == 1) & (registry["survival_months"] < 3)
    assert early_death.sum() > 500 and not answered[early_death].any()
    alive = registry["survival_months"] > 5
    fit_rate = answered[alive & (registry["ecog"] == 0)].mean()
    frail_rate = answered[alive & (registry["ecog"] >= 3)].mean()
    assert frail_rate < 0.6 * fit_rate
    assert 0.01 <= nsclc.survey["global_health"].isna().mean() <= 0.05


# -- links, pseudonyms and identifiers -----------------------------------------------------


def test_links_point_at_real_records(nsclc: Cohort):
    links = pd.DataFrame(nsclc.truth["links"])
    assert links["registry"].is_unique and set(links["registry"]) == set(nsclc.registry.record_id)
    assert set(links["gp"].dropna()) <= set(nsclc.gp["record_id"])
    assert set(links["survey"].dropna()) == set(nsclc.survey["record_id"])
    for table in (nsclc.registry, nsclc.gp, nsclc.survey):
        assert table["record_id"].is_unique


def test_pseudonyms_are_shared_by_linked_records_only(nsclc: Cohort):
    links = pd.DataFrame(nsclc.truth["links"]).dropna(subset=["gp"])
    by_id = {
        n: t.set_index("record_id")["pseudonym"]
        for n, t in (("registry", nsclc.registry), ("gp", nsclc.gp))
    }
    assert (
        by_id["registry"][links["registry"]].to_numpy() == by_id["gp"][links["gp"]].to_numpy()
    ).all()
    gp_only = nsclc.gp[~nsclc.gp["record_id"].isin(links["gp"])]
    assert not gp_only["pseudonym"].isin(nsclc.registry["pseudonym"]).any()
    assert nsclc.gp["pseudonym"].is_unique


def linked_identifiers(cohort: Cohort, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    links = pd.DataFrame(cohort.truth["links"]).dropna(subset=[source])
    left = cohort.registry.set_index("record_id").loc[links["registry"]].reset_index()
    right = getattr(cohort, source).set_index("record_id").loc[links[source]].reset_index()
    return left, right


def test_without_errors_linked_identifiers_are_identical():
    cohort = generate("nsclc", 1_500, seed=5, error_scale=0)
    for source in ("gp", "survey"):
        left, right = linked_identifiers(cohort, source)
        pd.testing.assert_frame_equal(left[list(COLUMNS)], right[list(COLUMNS)])


def test_identifier_errors_are_realistic_and_grow_from_registry_to_survey(nsclc: Cohort):
    differ = {}
    for source in ("gp", "survey"):
        left, right = linked_identifiers(nsclc, source)
        differ[source] = {
            column: float((left[column].fillna("") != right[column].fillna("")).mean())
            for column in ("given_name", "surname", "date_of_birth", "postcode")
        }
    for column in ("given_name", "surname", "date_of_birth", "postcode"):
        assert 0.005 < differ["gp"][column] < 0.35, (column, differ)
    assert differ["survey"]["given_name"] > differ["gp"]["given_name"]  # nicknames, self-report


# -- settings, regions, files, CLI -----------------------------------------------------------


def test_same_seed_gives_the_same_cohort_and_another_seed_does_not():
    a, b = generate("ovarian", 400, seed=9), generate("ovarian", 400, seed=9)
    c = generate("ovarian", 400, seed=10)
    for name in ("registry", "gp", "survey"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.truth == b.truth
    assert not a.registry["survival_months"].equals(c.registry["survival_months"])


def test_regional_registries_share_one_schema_and_differ():
    cohort = generate("nsclc", 12_000, seed=3, registries=3)
    parts = [cohort.registries[f"registry_{k}"] for k in (1, 2, 3)]
    assert all(list(p.columns) == list(cohort.registry.columns) for p in parts)
    assert sum(len(p) for p in parts) == len(cohort.registry)
    assert set(pd.concat(parts)["record_id"]) == set(cohort.registry["record_id"])
    stage_iv = [float((p["stage"] == "IV").mean()) for p in parts]
    assert max(stage_iv) - min(stage_iv) > 0.04
    assert {r["patients"] for r in cohort.truth["registries"].values()} == {len(p) for p in parts}


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown cancer 'breast'"):
        generate("breast", 10)
    with pytest.raises(ValueError, match="patients must be at least 1"):
        generate("nsclc", 0)


def test_cli_writes_files_and_summary_reads_them(tmp_path):
    runner = CliRunner()
    out = tmp_path / "cohort"
    result = runner.invoke(
        app,
        [
            "synth",
            "nsclc",
            "--patients",
            "600",
            "--seed",
            "4",
            "--out",
            str(out),
            "--registries",
            "2",
            "--pseudonyms",
        ],
    )
    assert result.exit_code == 0, result.output
    names = {"registry", "gp", "survey", "registry_1", "registry_2"}
    assert {p.stem for p in out.glob("*.parquet")} == names
    truth = json.loads((out / "truth.json").read_text())
    assert {"links", "survival_model", "logistic_model"} <= set(truth)
    assert set(truth["links"][0]) == {"registry", "gp", "survey"}
    assert "pseudonym" in pd.read_parquet(out / "gp.parquet").columns
    read_back = Cohort.read(out)
    pd.testing.assert_frame_equal(
        read_back.registry, generate("nsclc", 600, seed=4, registries=2, pseudonyms=True).registry
    )

    summary = runner.invoke(app, ["summary", str(out), "--plot", str(tmp_path / "km.png")])
    assert summary.exit_code == 0, summary.output
    assert "600 registry patients" in summary.output and "stage IV first line" in summary.output
    assert (tmp_path / "km.png").stat().st_size > 10_000
    as_json = json.loads(runner.invoke(app, ["summary", str(out), "--format", "json"]).output)
    assert [row["stage"] for row in as_json["by_stage"]] == ["I", "II", "III", "IV"]


def test_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["summary", str(tmp_path / "nothing")])
    assert missing.exit_code == 2
    assert "error: no truth.json" in missing.output and "Traceback" not in missing.output
    bad = runner.invoke(app, ["synth", "breast", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "breast" in bad.output


def test_design_matrix_keeps_missing_values_missing():
    frame = pd.DataFrame({"stage": ["I", "IV", None], "age": [60, 70, 80]})
    x = design_matrix(frame, ["stage[IV]", "age"])
    assert x["stage[IV]"].tolist()[:2] == [0.0, 1.0] and np.isnan(x["stage[IV]"].iloc[2])
    assert x["age"].tolist() == [60.0, 70.0, 80.0]


def test_no_shared_identifier_unless_asked_for(tmp_path):
    cohort = generate("nsclc", 300, seed=1)
    assert all("pseudonym" not in t.columns for t in (cohort.registry, cohort.gp, cohort.survey))
    cohort.write(tmp_path)
    assert "pseudonym" not in Cohort.read(tmp_path).gp.columns
