"""Secure vertical analyses among three local processes vs the plaintext libraries.

The workloads of issue 3: Kaplan-Meier + log-rank on 100,000 patients, logistic regression
100,000 x 20, Cox (Efron) 10,000 x 6 and 100,000 x 6. Registry and GP files of a synthetic
NSCLC cohort are aligned on a pseudonym without revealing matches (`tessera.mpc.join`),
then analysed in MPC; registry, GP and a helper are three processes on two cores.
Wall-clock times include starting the processes and compiling; ratios are against
lifelines / statsmodels on the already-pooled table (which a real study could not build).

    python -m benchmarks vertical            # all four
    TESSERA_BENCH_PATIENTS=10000 python -m benchmarks vertical   # everything at 10,000
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test

from tessera.analyses import cox, logistic, survival
from tessera.analyses.vertical import plan_for_files, run_vertical
from tessera.synth import generate

LARGE = int(os.environ.get("TESSERA_BENCH_PATIENTS", 100_000))
SMALL = min(10_000, LARGE)
COVARIATES = ("age_at_diagnosis", "ecog", "surgery", "immunotherapy", "charlson_index", "copd")
# 20 features over both parties: 12 registry, 8 GP (dummies a researcher would derive)
REGISTRY_FEATURES = ("age_at_diagnosis", "ecog", "surgery", "radiotherapy", "chemotherapy",
                     "immunotherapy", "targeted_therapy", "stage_ii", "stage_iii", "stage_iv",
                     "male", "diagnosis_year")  # fmt: skip
GP_FEATURES = ("bmi", "charlson_index", "copd", "diabetes", "cardiovascular_disease",
               "gp_contacts_last_year", "smoking_current", "smoking_former")  # fmt: skip
FEATURES = (*REGISTRY_FEATURES, *GP_FEATURES)


def _timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def _files(patients: int, out: Path) -> tuple[dict[str, str], pd.DataFrame, str]:
    """Registry and GP files with the derived dummies, their pooled join, and a label."""
    cohort = generate("nsclc", patients, seed=11, pseudonyms=True)
    registry, gp = cohort.registry.copy(), cohort.gp.copy()
    for level in ("II", "III", "IV"):
        registry[f"stage_{level.lower()}"] = (registry["stage"] == level).astype(int)
    registry["male"] = (registry["sex"] == "M").astype(int)
    registry["diagnosis_year"] = registry["diagnosis_date"].str[:4].astype(int)
    for level in ("current", "former"):
        gp[f"smoking_{level}"] = (gp["smoking"] == level).astype(int)
    out.mkdir()
    paths = {"registry": str(out / "registry.parquet"), "gp": str(out / "gp.parquet")}
    registry.to_parquet(paths["registry"])
    gp.to_parquet(paths["gp"])
    joined = registry.merge(gp.drop(columns=["sex"]), on="pseudonym", suffixes=("", "_gp"))
    label = f"{len(registry):,} registry x {len(gp):,} GP ({len(joined):,} joined)"
    return paths, joined, label


def run() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as out:
        large = _files(LARGE, Path(out) / "large")
        small = _files(SMALL, Path(out) / "small") if SMALL != LARGE else large
        rows.append(_kaplan_meier(*large))
        rows.append(_logistic(*large))
        rows.append(_cox(*small))
        if small is not large:
            rows.append(_cox(*large))
    return rows


def _kaplan_meier(paths, joined, label) -> dict:
    plan = plan_for_files(paths, "pseudonym", numeric=("survival_months", "vital_status"),
                          categorical=("copd",), order_by="survival_months")  # fmt: skip
    (outputs, labels), secure = _timed(
        lambda: run_vertical(plan, paths, survival.statistic, helper=True,
                             time="survival_months", event="vital_status", group="copd")
    )  # fmt: skip
    curves = survival.from_counts(*outputs, labels["copd"])

    def km_plain():
        for level in (0, 1):
            rows = joined[joined["copd"] == level]
            KaplanMeierFitter().fit(rows["survival_months"], rows["vital_status"])
        return multivariate_logrank_test(
            joined["survival_months"], joined["copd"], joined["vital_status"]
        )

    test, plain = _timed(km_plain)
    copd = joined[joined["copd"] == 1]
    fitter = KaplanMeierFitter().fit(copd["survival_months"], copd["vital_status"])
    expected = fitter.survival_function_["KM_estimate"].to_numpy()[1:]
    error = np.abs(curves["1"]["survival"].to_numpy() - expected).max()
    chi2 = survival.logrank(outputs[0], outputs[2], outputs[3])[0]
    accuracy = f"max |dS| {error:.1e}; chi2 rel {abs(chi2 / test.test_statistic - 1):.1e}"
    return _row("Kaplan-Meier by COPD + log-rank", label, secure, plain, accuracy, 30)


def _logistic(paths, joined, label) -> dict:
    target = "unplanned_admission_90d"
    plan = plan_for_files(paths, "pseudonym", numeric=(target, *FEATURES))
    (outputs, _), secure = _timed(
        lambda: run_vertical(plan, paths, logistic.statistic, helper=True, target=target,
                             features=FEATURES)
    )  # fmt: skip
    result = logistic.records(*outputs, FEATURES)
    x = sm.add_constant(joined[list(FEATURES)].astype(float))
    fit, plain = _timed(lambda: sm.Logit(joined[target].astype(float), x).fit(disp=0))
    error = max(abs(result["coefficients"][k] - v) for k, v in fit.params.items())
    se_error = max(abs(result["standard_errors"][k] / v - 1) for k, v in fit.bse.items())
    accuracy = f"max abs d(coef) {error:.1e}; max rel d(se) {se_error:.1e}"
    return _row(f"logistic, {len(FEATURES)} features", label, secure, plain, accuracy, 60)


def _cox(paths, joined, label) -> dict:
    plan = plan_for_files(paths, "pseudonym", numeric=("survival_months", "vital_status",
                          *COVARIATES), order_by="survival_months")  # fmt: skip
    (outputs, _), secure = _timed(
        lambda: run_vertical(plan, paths, cox.statistic, helper=True, accuracy="precise",
                             time="survival_months", event="vital_status",
                             covariates=COVARIATES)
    )  # fmt: skip
    result = cox.records(*outputs, COVARIATES)
    data = joined[["survival_months", "vital_status", *COVARIATES]].astype(float)
    fit, plain = _timed(lambda: CoxPHFitter().fit(data, "survival_months", "vital_status"))
    error = max(abs(result["coefficients"][k] / fit.params_[k] - 1) for k in COVARIATES)
    se_error = max(abs(result["standard_errors"][k] / fit.standard_errors_[k] - 1)
                   for k in COVARIATES)  # fmt: skip
    accuracy = f"max rel d(coef) {error:.1e}; max rel d(se) {se_error:.1e}"
    target = 60 if len(joined) < 20_000 else 600
    return _row(f"Cox (Efron, precise), {len(COVARIATES)} covariates", label, secure, plain,
                accuracy, target)  # fmt: skip


def _row(analysis: str, data: str, secure: float, plain: float, accuracy: str,
         target: float) -> dict:  # fmt: skip
    return {
        "analysis": analysis,
        "data": data,
        "secure, 3 processes (s)": round(secure, 1),
        "target (s)": target,
        "plaintext library (s)": round(plain, 2),
        "ratio": f"{secure / plain:,.0f}x",
        "accuracy vs library": accuracy,
    }
