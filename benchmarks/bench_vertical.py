"""Secure vertical analyses among three local processes vs the plaintext libraries.

Registry (time, event, stage, treatment) and GP (comorbidity) joined on a pseudonym inside
MPC, then Kaplan-Meier + log-rank, logistic regression and Cox (Efron). Wall-clock times
include starting the three processes and compiling; ratios are against lifelines /
statsmodels on the already-pooled table (which a real study could not build).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import statsmodels.api as sm
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test

from tessera.analyses import cox, logistic, survival
from tessera.analyses.vertical import plan_for_files, run_vertical
from tessera.synth import generate

PATIENTS = 10_000
FEATURES = ("age_at_diagnosis", "ecog", "charlson_index", "copd")
COVARIATES = ("age_at_diagnosis", "ecog", "surgery", "immunotherapy", "charlson_index", "copd")


def _timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def run() -> list[dict]:
    cohort = generate("nsclc", PATIENTS, seed=11, pseudonyms=True)
    joined = cohort.joined("registry", "gp")
    rows = []
    with tempfile.TemporaryDirectory() as out:
        cohort.write(out)
        paths = {
            "registry": str(Path(out) / "registry.parquet"),
            "gp": str(Path(out) / "gp.parquet"),
        }
        label = f"{PATIENTS:,} registry x {len(cohort.gp):,} GP ({len(joined):,} joined)"

        plan = plan_for_files(
            paths,
            "pseudonym",
            numeric=("survival_months", "vital_status"),
            categorical=("copd",),
            order_by="survival_months",
        )
        (outputs, labels), secure = _timed(
            lambda: run_vertical(
                plan,
                paths,
                survival.statistic,
                helper=True,
                time="survival_months",
                event="vital_status",
                group="copd",
            )
        )
        curves = survival.from_counts(*outputs, labels["copd"])

        def km_plain():
            for level in labels["copd"]:
                rows_ = joined[joined["copd"].astype(str) == level]
                KaplanMeierFitter().fit(rows_["survival_months"], rows_["vital_status"])
            return multivariate_logrank_test(
                joined["survival_months"], joined["copd"], joined["vital_status"]
            )

        test, plain = _timed(km_plain)
        copd = joined[joined["copd"] == 1]
        fitter = KaplanMeierFitter().fit(copd["survival_months"], copd["vital_status"])
        expected = fitter.survival_function_["KM_estimate"].to_numpy()[1:]
        error = np.abs(curves["1"]["survival"].to_numpy() - expected).max()
        chi2 = survival.logrank(outputs[0], outputs[2], outputs[3])[0]
        chi2_error = abs(chi2 / test.test_statistic - 1)
        rows.append(
            _row(
                "Kaplan-Meier by COPD + log-rank",
                label,
                secure,
                plain,
                f"max |dS| {error:.1e}; chi2 rel {chi2_error:.1e}",
            )
        )

        plan = plan_for_files(paths, "pseudonym", numeric=("unplanned_admission_90d", *FEATURES))
        (outputs, _), secure = _timed(
            lambda: run_vertical(
                plan,
                paths,
                logistic.statistic,
                helper=True,
                target="unplanned_admission_90d",
                features=FEATURES,
            )
        )
        result = logistic.records(*outputs, FEATURES)
        x = sm.add_constant(joined[list(FEATURES)].astype(float))
        fit, plain = _timed(
            lambda: sm.Logit(joined["unplanned_admission_90d"].astype(float), x).fit(disp=0)
        )
        error = max(abs(result["coefficients"][k] / v - 1) for k, v in fit.params.items())
        rows.append(
            _row(
                f"logistic, {len(FEATURES)} features",
                label,
                secure,
                plain,
                f"max rel d(coef) {error:.1e}",
            )
        )

        plan = plan_for_files(
            paths,
            "pseudonym",
            numeric=("survival_months", "vital_status", *COVARIATES),
            order_by="survival_months",
        )
        (outputs, _), secure = _timed(
            lambda: run_vertical(
                plan,
                paths,
                cox.statistic,
                helper=True,
                accuracy="precise",
                time="survival_months",
                event="vital_status",
                covariates=COVARIATES,
            )
        )
        result = cox.records(*outputs, COVARIATES)
        data = joined[["survival_months", "vital_status", *COVARIATES]].astype(float)
        fit, plain = _timed(lambda: CoxPHFitter().fit(data, "survival_months", "vital_status"))
        error = max(abs(result["coefficients"][k] / fit.params_[k] - 1) for k in COVARIATES)
        rows.append(
            _row(
                f"Cox (Efron), {len(COVARIATES)} covariates",
                label,
                secure,
                plain,
                f"max rel d(coef) {error:.1e}",
            )
        )
    return rows


def _row(analysis: str, data: str, secure: float, plain: float, accuracy: str) -> dict:
    return {
        "analysis": analysis,
        "data": data,
        "secure, 3 processes (s)": round(secure, 1),
        "plaintext library (s)": round(plain, 2),
        "ratio": f"{secure / plain:,.0f}x",
        "accuracy vs library": accuracy,
    }
