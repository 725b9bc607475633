"""Vertical analyses: the MPC result equals the plaintext reference and pandas on the truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from typer.testing import CliRunner

import inprocess
from tessera.analyses import crosstab, describe, histogram, survival
from tessera.analyses.vertical import Plan, plaintext, plan_for_files
from tessera.analyses.where import Filter
from tessera.cli import app
from tessera.synth import Cohort, generate


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate("nsclc", 2_500, seed=8, pseudonyms=True)


@pytest.fixture(scope="module")
def files(cohort, tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("cohort")
    cohort.write(out)
    return {"registry": str(out / "registry.parquet"), "gp": str(out / "gp.parquet")}


PLAN = Plan(
    ("registry", "gp"),
    "pseudonym",
    {"stage": "registry", "smoking": "gp", "age_at_diagnosis": "registry", "bmi": "gp"},
    numeric=("age_at_diagnosis", "bmi"),
    categorical=("stage", "smoking"),
)


def local(files: dict[str, str], analysis: str, *options: str, helper: bool = True):
    """`tessera local ANALYSIS` among the given parties' files, joined on the pseudonym."""
    parties = [arg for name, path in files.items() for arg in ("--party", f"{name}={path}")]
    args = ["local", analysis, *parties, *(["--helper"] if helper else []), "--join", "pseudonym"]
    return CliRunner().invoke(app, [*args, *options])


def simulate(cohort: Cohort, statistic, plan: Plan = PLAN, accuracy: str = "fast", **options):
    """Run a vertical statistic as a session would, in this process (`inprocess`)."""
    frames = {party: getattr(cohort, party) for party in plan.parties}
    return inprocess.simulate(plan, frames, statistic, accuracy, **options)


def test_crosstab_in_mpc_equals_the_reference_and_pandas(cohort):
    frames = {"registry": cohort.registry, "gp": cohort.gp}
    reference, labels = plaintext(PLAN, frames, crosstab.statistic, rows="stage",
                                  cols="smoking", min_cell=0)  # fmt: skip
    secure = simulate(cohort, crosstab.statistic, rows="stage", cols="smoking", min_cell=0)
    np.testing.assert_array_equal(np.asarray(secure), np.asarray(reference))
    joined = cohort.joined("registry", "gp")
    expected = pd.crosstab(joined["stage"], joined["smoking"])
    np.testing.assert_array_equal(np.asarray(reference), expected.to_numpy())
    assert labels == {"stage": list(expected.index), "smoking": list(expected.columns)}


def test_describe_in_mpc_matches_pandas(cohort):
    result = describe.records(simulate(cohort, describe.statistic, columns=PLAN.numeric),
                              PLAN.numeric)  # fmt: skip
    joined = cohort.joined("registry", "gp")
    for column in PLAN.numeric:
        assert result[column]["count"] == joined[column].count()
        assert result[column]["mean"] == pytest.approx(joined[column].mean(), rel=1e-4)
        assert result[column]["sd"] == pytest.approx(joined[column].std(), rel=1e-3)
        for name, q in zip(describe.FIELDS[3:], describe.QUANTILES, strict=True):
            assert result[column][name] == pytest.approx(joined[column].quantile(q), abs=1e-4)


def test_describe_releases_nothing_about_a_column_counted_on_few(cohort):
    plan = Plan(PLAN.parties, PLAN.join, PLAN.owners, PLAN.numeric, where=Filter.parse(
        'stage == "II" and smoking == "never"'))  # fmt: skip
    joined = cohort.joined("registry", "gp")
    few = ((joined["stage"] == "II") & (joined["smoking"] == "never")).sum()
    assert 0 < few < 20
    outputs = simulate(cohort, describe.statistic, plan, columns=("bmi",), min_count=20)
    result = describe.records(outputs, ("bmi",))
    assert result == {"bmi": dict.fromkeys(describe.FIELDS)}


def test_histogram_in_mpc_matches_numpy_and_suppresses_small_bins(cohort):
    edges = (30.0, 50.0, 60.0, 70.0, 80.0, 95.0)
    options = {"column": "age_at_diagnosis", "edges": edges, "min_cell": 50}
    counts = simulate(cohort, histogram.statistic, **options)
    joined = cohort.joined("registry", "gp")
    expected, _ = np.histogram(joined["age_at_diagnosis"].dropna(), bins=edges)
    result = histogram.JOINT.result([counts], {}, options)
    assert result.counts == [int(n) if n >= 50 else None for n in expected]
    assert None in result.counts and len(result.counts) == len(edges) - 1


def test_columns_resolve_to_the_party_that_holds_them(files):
    plan = plan_for_files(files, "pseudonym", numeric=("bmi",), categorical=("stage",))
    assert dict(plan.owners) == {"bmi": "gp", "stage": "registry"}
    with pytest.raises(ValueError, match="unknown column 'nope': no party holds it"):
        plan_for_files(files, "pseudonym", numeric=("nope",))
    with pytest.raises(ValueError, match="'sex' is held by registry and gp"):
        plan_for_files(files, "pseudonym", categorical=("sex",))
    with pytest.raises(ValueError, match="join column 'nhs' is missing at registry, gp"):
        plan_for_files(files, "nhs", numeric=("bmi",))


def test_local_crosstab_among_three_processes_suppresses_small_cells(cohort, files):
    result = local(files, "crosstab", "--rows", "stage", "--cols", "smoking", "--min-cell", "15",
                   "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    cells = json.loads(result.output)["counts"]
    joined = cohort.joined("registry", "gp")
    expected = pd.crosstab(joined["stage"], joined["smoking"]).stack()
    assert len(cells) == len(expected)
    for row, col, n in cells:
        true = int(expected[(row, col)])
        assert n == (true if true >= 15 else None)
    assert any(n is None for _, _, n in cells)


def test_local_errors_are_one_line(files):
    result = local(files, "describe", "--columns", "bmi", helper=False)
    assert result.exit_code == 2 and "needs 3 parties, got 2 (add --helper)" in result.output
    bad = CliRunner().invoke(app, ["local", "describe", "--party", "registry", "--join", "p",
                                   "--columns", "bmi"])  # fmt: skip
    assert bad.exit_code == 2 and "write NAME=PATH" in bad.output


def test_local_describe_prints_the_description(cohort, files):
    done = local(files, "describe", "--columns", "age_at_diagnosis,bmi", "--format", "json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert list(answer) == ["columns"] and list(answer["columns"]) == ["age_at_diagnosis", "bmi"]
    joined = cohort.joined("registry", "gp")
    for column, figures in answer["columns"].items():
        values = joined[column].dropna()
        assert figures["count"] == len(values)
        assert figures["mean"] == pytest.approx(values.mean(), rel=1e-4)
        assert figures["sd"] == pytest.approx(values.std(), rel=1e-3)
        for name, q in (("q25", 0.25), ("q50", 0.5), ("q75", 0.75)):
            assert figures[name] == pytest.approx(values.quantile(q), abs=1e-4)


KM_PLAN = Plan(
    ("registry", "gp"),
    "pseudonym",
    {"survival_months": "registry", "vital_status": "registry", "smoking": "gp"},
    numeric=("survival_months", "vital_status"),
    categorical=("smoking",),
    order_by="survival_months",
)
KM_OPTIONS = {"time": "survival_months", "event": "vital_status", "group": "smoking"}


def assert_matches_lifelines(curves, logrank_result, joined):
    for level, curve in curves.items():
        rows = joined[joined["smoking"] == level]
        fitter = KaplanMeierFitter().fit(rows["survival_months"], rows["vital_status"])
        table = fitter.event_table.drop(index=0.0, errors="ignore")
        assert curve["at_risk"].tolist() == table["at_risk"].tolist()
        assert curve["events"].tolist() == table["observed"].tolist()
        np.testing.assert_allclose(curve["time"], table.index, atol=1e-5)
        expected = fitter.survival_function_["KM_estimate"].to_numpy()[1:]
        np.testing.assert_allclose(curve["survival"], expected, atol=1e-6)
        lower = fitter.confidence_interval_.iloc[1:, 0].to_numpy()
        np.testing.assert_allclose(curve["lower"], lower, atol=1e-6)
    test = multivariate_logrank_test(
        joined["survival_months"], joined["smoking"], joined["vital_status"]
    )
    assert logrank_result[0] == pytest.approx(test.test_statistic, rel=1e-4)
    assert logrank_result[1] == pytest.approx(test.p_value, rel=1e-3)


def test_kaplan_meier_in_mpc_equals_lifelines(cohort):
    outputs = simulate(cohort, survival.statistic, KM_PLAN, **KM_OPTIONS)
    levels = sorted(cohort.gp["smoking"].dropna().unique())
    curves = survival.from_counts(*outputs, levels)
    joined = cohort.joined("registry", "gp")
    assert_matches_lifelines(curves, survival.logrank(outputs[0], outputs[2], outputs[3]), joined)
    assert sum(int(c["at_risk"].iloc[0]) for c in curves.values()) == len(joined)


def test_local_kaplan_meier_json(cohort, files):
    result = local(files, "kaplan-meier", "--time", "survival_months", "--event", "vital_status",
                   "--by", "smoking", "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    joined = cohort.joined("registry", "gp")
    assert set(out["groups"]) == set(joined["smoking"].dropna())
    curves = {k: pd.DataFrame(v) for k, v in out["groups"].items()}
    test = multivariate_logrank_test(
        joined["survival_months"], joined["smoking"], joined["vital_status"]
    )
    assert out["logrank"]["statistic"] == pytest.approx(test.test_statistic, rel=1e-4)
    never = joined[joined["smoking"] == "never"]
    fitter = KaplanMeierFitter().fit(never["survival_months"], never["vital_status"])
    np.testing.assert_allclose(
        curves["never"]["survival"], fitter.survival_function_["KM_estimate"].to_numpy()[1:],
        atol=1e-6,
    )  # fmt: skip


LR_FEATURES = ("age_at_diagnosis", "ecog", "charlson_index", "copd")
LR_PLAN = Plan(
    ("registry", "gp"),
    "pseudonym",
    {"unplanned_admission_90d": "registry", "age_at_diagnosis": "registry", "ecog": "registry",
     "charlson_index": "gp", "copd": "gp"},
    numeric=("unplanned_admission_90d", *LR_FEATURES),
)  # fmt: skip


def secure_logistic(cohort, **options):
    from tessera.analyses import logistic

    options = {"target": "unplanned_admission_90d", "features": LR_FEATURES, **options}
    return logistic.records(*simulate(cohort, logistic.statistic, LR_PLAN, **options), LR_FEATURES)


def test_logistic_in_mpc_matches_statsmodels_to_1e3(cohort):
    import statsmodels.api as sm

    joined = cohort.joined("registry", "gp")
    x = sm.add_constant(joined[list(LR_FEATURES)].astype(float))
    fit = sm.Logit(joined["unplanned_admission_90d"].astype(float), x).fit(disp=0)
    result = secure_logistic(cohort)
    assert result["n"] == len(joined)
    for name, value in fit.params.items():
        assert result["coefficients"][name] == pytest.approx(value, rel=1e-3)
        assert result["standard_errors"][name] == pytest.approx(fit.bse[name], rel=1e-3)


def test_logistic_holds_for_a_feature_far_from_zero(cohort):
    """A calendar year puts the intercept's variance near 1e7: fixed point once gave SE 0."""
    import types

    import statsmodels.api as sm

    from tessera.analyses import logistic

    year = cohort.registry["diagnosis_date"].str[:4].astype(int)
    frames = types.SimpleNamespace(registry=cohort.registry.assign(year=year), gp=cohort.gp)
    features = ("year", "copd")
    owners = {"unplanned_admission_90d": "registry", "year": "registry", "copd": "gp"}
    plan = Plan(("registry", "gp"), "pseudonym", owners,
                numeric=("unplanned_admission_90d", *features))  # fmt: skip
    outputs = simulate(frames, logistic.statistic, plan, target="unplanned_admission_90d",
                       features=features)  # fmt: skip
    result = logistic.records(*outputs, features)
    joined = frames.registry.merge(cohort.gp[["pseudonym", "copd"]], on="pseudonym")
    x = sm.add_constant(joined[list(features)].astype(float))
    fit = sm.Logit(joined["unplanned_admission_90d"].astype(float), x).fit(disp=0)
    assert fit.bse["const"] > 10
    for name, value in fit.params.items():
        assert result["coefficients"][name] == pytest.approx(value, rel=2e-3)
        assert result["standard_errors"][name] == pytest.approx(fit.bse[name], rel=1e-3)


def test_logistic_l2_matches_scikit_learn(cohort):
    from sklearn.linear_model import LogisticRegression

    joined = cohort.joined("registry", "gp")
    model = LogisticRegression(C=1 / 5.0, tol=1e-10, max_iter=10_000).fit(
        joined[list(LR_FEATURES)].astype(float), joined["unplanned_admission_90d"].astype(int)
    )
    result = secure_logistic(cohort, l2=5.0)
    expected = dict(zip(LR_FEATURES, model.coef_[0], strict=True)) | {"const": model.intercept_[0]}
    for name, value in expected.items():
        assert result["coefficients"][name] == pytest.approx(value, rel=2e-3, abs=1e-4)


COX_COVARIATES = ("age_at_diagnosis", "ecog", "charlson_index", "copd")
COX_PLAN = Plan(
    ("registry", "gp"),
    "pseudonym",
    {"survival_months": "registry", "vital_status": "registry", "age_at_diagnosis": "registry",
     "ecog": "registry", "charlson_index": "gp", "copd": "gp"},
    numeric=("survival_months", "vital_status", *COX_COVARIATES),
    order_by="survival_months",
)  # fmt: skip


def secure_cox(cohort, ties: str) -> dict:
    from tessera.analyses import cox

    options = {"time": "survival_months", "event": "vital_status", "covariates": COX_COVARIATES,
               "ties": ties}  # fmt: skip
    outputs = simulate(cohort, cox.statistic, COX_PLAN, "precise", **options)
    return cox.records(*outputs, COX_COVARIATES)


def cox_data(cohort) -> pd.DataFrame:
    joined = cohort.joined("registry", "gp")
    return joined[["survival_months", "vital_status", *COX_COVARIATES]].astype(float)


def test_cox_efron_in_mpc_matches_lifelines_to_1e3(cohort):
    from lifelines import CoxPHFitter

    data = cox_data(cohort)
    assert data["survival_months"].duplicated().sum() > 100  # ties are exercised
    fit = CoxPHFitter().fit(data, "survival_months", "vital_status")
    result = secure_cox(cohort, "efron")
    assert result["n"] == len(data) and result["events"] == int(data["vital_status"].sum())
    for name in COX_COVARIATES:
        assert result["coefficients"][name] == pytest.approx(fit.params_[name], rel=1e-3)
        assert result["standard_errors"][name] == pytest.approx(
            fit.standard_errors_[name], rel=1e-3
        )
    assert result["log_likelihood"] == pytest.approx(fit.log_likelihood_, rel=1e-4)


def test_cox_breslow_in_mpc_matches_statsmodels_to_1e3(cohort):
    import statsmodels.api as sm

    data = cox_data(cohort)
    fit = sm.PHReg(data["survival_months"], data[list(COX_COVARIATES)],
                   status=data["vital_status"], ties="breslow").fit()  # fmt: skip
    result = secure_cox(cohort, "breslow")
    for i, name in enumerate(COX_COVARIATES):
        assert result["coefficients"][name] == pytest.approx(fit.params[i], rel=1e-3)
        assert result["standard_errors"][name] == pytest.approx(fit.bse[i], rel=1e-3)
    assert result["log_likelihood"] == pytest.approx(fit.llf, rel=1e-4)


def test_a_party_without_columns_still_restricts_to_joined_patients(cohort):
    owners = {"survival_months": "registry", "vital_status": "registry"}
    plan = Plan(("registry", "gp"), "pseudonym", owners, numeric=tuple(owners),
                order_by="survival_months")  # fmt: skip
    frames = {"registry": cohort.registry, "gp": cohort.gp}
    options = {"time": "survival_months", "event": "vital_status"}
    reference, _ = plaintext(plan, frames, survival.statistic, **options)
    secure = simulate(cohort, survival.statistic, plan, **options)
    joined = cohort.joined("registry", "gp")
    for outputs in (reference, secure):
        curve = survival.from_counts(*outputs, ["all"])["all"]
        assert int(curve["at_risk"].iloc[0]) == len(joined) < len(cohort.registry)


def test_a_non_numeric_column_is_named_without_revealing_its_values(cohort):
    frame = cohort.registry.assign(age_at_diagnosis=cohort.registry["age_at_diagnosis"].astype(str))
    frame.loc[3, "age_at_diagnosis"] = "Jansen-secret"
    with pytest.raises(ValueError, match="'age_at_diagnosis' at registry is not numeric") as error:
        PLAN.encode("registry", frame)
    assert "Jansen" not in str(error.value)


def test_where_combines_columns_of_both_parties_inside_mpc(cohort, files):
    where = 'stage in ("III", "IV") and (smoking == "current" or charlson_index > ecog)'
    plan = plan_for_files(files, "pseudonym", numeric=("age_at_diagnosis", "bmi"), where=where)
    assert plan.where.local(plan.owners) == {0: "registry", 1: "gp"}  # the last is MPC's
    assert {"charlson_index", "ecog"} <= set(plan.numeric)
    result = describe.records(
        simulate(cohort, describe.statistic, plan, columns=("age_at_diagnosis", "bmi")),
        ("age_at_diagnosis", "bmi"),
    )
    frames = {"registry": cohort.registry, "gp": cohort.gp}
    reference, _ = plaintext(plan, frames, describe.statistic, columns=("age_at_diagnosis", "bmi"))
    joined = cohort.joined("registry", "gp")
    chosen = joined[
        joined["stage"].isin(["III", "IV"])
        & ((joined["smoking"] == "current") | (joined["charlson_index"] > joined["ecog"]))
    ]
    assert 100 < len(chosen) < len(joined) / 2
    expected = describe.records(reference, ("age_at_diagnosis", "bmi"))
    for column in ("age_at_diagnosis", "bmi"):
        assert result[column]["count"] == expected[column]["count"] == chosen[column].count()
        assert result[column]["mean"] == pytest.approx(chosen[column].mean(), rel=1e-4)


def test_local_kaplan_meier_with_a_filter_at_the_other_party(cohort, files):
    done = local(files, "kaplan-meier", "--time", "survival_months", "--event", "vital_status",
                 "--where", "copd == 1", "--format", "json")  # fmt: skip
    assert done.exit_code == 0, done.output
    curve = json.loads(done.output)["groups"]["all"]
    joined = cohort.joined("registry", "gp")
    chosen = joined[joined["copd"] == 1]
    fitter = KaplanMeierFitter().fit(chosen["survival_months"], chosen["vital_status"])
    expected = fitter.survival_function_["KM_estimate"].to_numpy()[1:]
    np.testing.assert_allclose(curve["survival"], expected, atol=1e-6)
    assert curve["at_risk"][0] == len(chosen)


def test_a_filter_on_an_unknown_column_is_one_line(files):
    done = local(files, "describe", "--columns", "bmi", "--where", "favourite_colour == 'blue'")
    assert done.exit_code == 2 and "unknown column 'favourite_colour'" in done.output
    assert len(done.output.strip().splitlines()) == 1


def test_three_data_parties_without_a_helper_match_lifelines(cohort, files, tmp_path):
    """Registry, GP and survey each hold part of the Cox model; no helper is needed."""
    from lifelines import CoxPHFitter

    survey = str(tmp_path / "survey.parquet")
    cohort.survey.to_parquet(survey)
    covariates = ("ecog", "copd", "global_health")
    done = local({**files, "survey": survey}, "cox", "--time", "survival_months", "--event",
                 "vital_status", "--covariates", ",".join(covariates), "--format", "json",
                 helper=False)  # fmt: skip
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    joined = cohort.joined("registry", "gp", "survey")
    data = joined[["survival_months", "vital_status", *covariates]].astype(float).dropna()
    fit = CoxPHFitter().fit(data, "survival_months", "vital_status")
    assert result["n"] == len(data) and result["events"] == int(data["vital_status"].sum())
    for name in covariates:
        assert result["coefficients"][name] == pytest.approx(fit.params_[name], rel=1e-3)
        assert result["standard_errors"][name] == pytest.approx(
            fit.standard_errors_[name], rel=1e-3
        )


def test_local_histogram_json_and_bad_edges(cohort, files):
    done = local(files, "histogram", "--column", "bmi", "--edges", "30,20")
    assert done.exit_code == 2 and "increasing" in done.output
    done = local(
        files, "histogram", "--column", "bmi", "--edges", "15,25,30,45", "--format", "json"
    )
    assert done.exit_code == 0, done.output
    joined = cohort.joined("registry", "gp")
    expected, _ = np.histogram(joined["bmi"].dropna(), bins=(15, 25, 30, 45))
    assert min(expected) >= 10  # nothing withheld at the default minimum cell
    assert json.loads(done.stdout) == {
        "counts": [["[15, 25)", int(expected[0])], ["[25, 30)", int(expected[1])],
                   ["[30, 45]", int(expected[2])]],
        "edges": [15.0, 25.0, 30.0, 45.0],
        "quantiles": {},
        "epsilon": None,
    }  # fmt: skip
