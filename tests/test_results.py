"""Result objects: summaries as lifelines gives them, DataFrames, plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter

from tessera.analyses.results import KaplanMeierResult, RegressionResult
from tessera.synth import generate


def test_regression_summary_matches_lifelines():
    data = (
        generate("nsclc", 1_500, seed=6)
        .registry[["survival_months", "vital_status", "age_at_diagnosis", "ecog"]]
        .astype(float)
    )
    fit = CoxPHFitter().fit(data, "survival_months", "vital_status")
    result = RegressionResult(fit.params_.to_dict(), fit.standard_errors_.to_dict(),
                              len(data), int(data["vital_status"].sum()),
                              fit.log_likelihood_, hazard=True)  # fmt: skip
    ours, theirs = result.to_frame(), fit.summary
    for column in ("coef", "exp(coef)", "se(coef)", "coef lower 95%", "coef upper 95%", "z", "p"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-9, atol=1e-300)
    text = str(result)
    assert text.startswith("Cox proportional hazards: n = 1500") and "ecog" in text
    ticks = {t.get_position()[1]: t.get_text() for t in result.plot().get_yticklabels()}
    assert ticks[max(ticks)] == "age_at_diagnosis" and set(ticks.values()) == {
        "age_at_diagnosis",
        "ecog",
    }


def test_kaplan_meier_result_shapes():
    curve = pd.DataFrame({"time": [1.0, 2.0], "at_risk": [4, 2], "events": [1, 1],
                          "censored": [1, 0], "survival": [0.75, 0.375],
                          "lower": [0.1, 0.05], "upper": [0.9, 0.8]})  # fmt: skip
    result = KaplanMeierResult({"a": curve, "b": curve}, (1.5, 0.22))
    out = result.to_dict()
    assert out["logrank"] == {"statistic": 1.5, "p_value": 0.22}
    assert out["groups"]["a"] == {"time": [1.0, 2.0], "survival": [0.75, 0.375],
                                  "at_risk": [4, 2], "events": [1, 1]}  # fmt: skip
    assert "log-rank chi2 = 1.500" in str(result)
    assert len(result.to_frame()) == 4
    assert len(result.plot().get_lines()) == 2
