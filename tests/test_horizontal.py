"""Registry-spanning queries in local mode (`tessera.protocol.local.pool`: the pooled
protocol among registry threads over an in-memory board): without noise every answer
equals the pooled plaintext reference (pandas, lifelines, statsmodels); with noise the
errors follow the calibrated law; small cells and their complements are withheld."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tessera.analyses.grid import parse_edges
from tessera.privacy import disclosure
from tessera.privacy.noise import Noise
from tessera.protocol.local import pool
from tessera.synth.cohort import generate


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    cohort = generate("nsclc", 2400, seed=11, registries=3)
    return dict(cohort.registries)


def pooled(frames) -> pd.DataFrame:
    return pd.concat(frames.values(), ignore_index=True)


def table(result, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The released counts (-1: withheld) and pandas' counts of `data` on the result's own
    grid of levels, both shaped as the grid."""
    by = list(result.by)
    levels = [list(dict.fromkeys(cell[i] for cell in result.cells)) for i in range(len(by))]
    grid = pd.MultiIndex.from_product(levels, names=by) if len(by) > 1 else pd.Index(levels[0])
    keys = by if len(by) > 1 else by[0]
    truth = data.astype({b: "string" for b in by}).groupby(keys).size().reindex(grid, fill_value=0)
    shape = tuple(len(v) for v in levels)
    shown = np.array([-1 if n is None else n for *_, n in result.cells]).reshape(shape)
    return shown, truth.to_numpy().reshape(shape)


def on_grid(time: pd.Series, step: float) -> np.ndarray:
    """Follow-up as a pooled fit sees it: each time moved up to the next multiple of `step`."""
    return np.ceil(time.to_numpy(float) / step - 1e-9) * step


def test_counts_equal_the_pooled_crosstab(frames):
    where = 'morphology in ("8140/3", "8070/3") and age_at_diagnosis >= 60'
    result = pool("counts", frames, {"by": ["stage", "sex"], "where": where, "min_cell": 0})
    rows = pooled(frames).query("morphology in ['8140/3', '8070/3'] and age_at_diagnosis >= 60")
    expected = rows.groupby(["stage", "sex"]).size()
    got = {(a, b): n for a, b, n in result.cells}
    assert all(n is not None for n in got.values())
    for (stage, sex), n in got.items():
        assert n == expected.get((stage, sex), 0), (stage, sex)
    assert sum(got.values()) == len(rows)
    assert "Counts across 3 registries" in str(result)


def test_small_cells_and_their_complements_are_withheld(frames):
    result = pool("counts", frames, {"by": ["stage", "grade"], "min_cell": 10})
    shown, truth = table(result, pooled(frames))
    small = (truth > 0) & (truth < 10)
    assert small.any(), "the test needs small cells"
    expected = disclosure.secondary(small, eligible=(truth != 0) & ~small)
    got = shown < 0
    assert (got == expected).all()
    assert not disclosure.determined(got).any()
    assert (shown[~got] == truth[~got]).all()


def test_noise_follows_the_calibrated_law(frames):
    """Over many releases of the same counts (each seeded, so the test is repeatable), the
    errors are discrete Laplace with the scale OpenDP calibrates for epsilon (the sum of
    the registries' shares)."""
    noise = Noise(0.5)
    options = {"by": ["sex"], "min_cell": 0, "levels": {"sex": ["F", "M"]}}
    errors = []
    for seed in range(400):
        result = pool("counts", frames, options, noise, seed=seed)
        shown, truth = table(result, pooled(frames))
        errors.extend((shown - truth).ravel())
    errors = np.asarray(errors, dtype=float)
    scale = noise.scale
    law = stats.dlaplace(1 / scale)
    assert errors.var() == pytest.approx(law.var(), rel=0.25)
    edges = np.array([-1e9, -4.5, -2.5, -0.5, 0.5, 2.5, 4.5, 1e9])
    observed = np.histogram(errors, edges)[0]
    expected = np.diff(law.cdf(edges)) * len(errors)
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_noise_needs_public_levels(frames):
    with pytest.raises(ValueError, match="--levels diagnosis_year"):
        pool("counts", frames, {"by": ["diagnosis_year"]}, Noise(1.0))


def test_kaplan_meier_equals_lifelines_on_the_grid(frames):
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    options = {"time": "survival_months", "event": "vital_status", "by": "stage", "step": 3.0}
    result = pool("kaplan-meier", frames, options)
    data = pooled(frames).dropna(subset=["survival_months", "vital_status"])
    time, event = on_grid(data["survival_months"], 3.0), data["vital_status"].to_numpy(int)
    for stage, curve in result.curves.items():
        mine = data["stage"].to_numpy() == stage
        fitter = KaplanMeierFitter().fit(time[mine], event[mine])
        expected = fitter.survival_function_at_times(curve["time"]).to_numpy()
        assert np.allclose(curve["survival"], expected, atol=1e-6), stage
    test = multivariate_logrank_test(time, data["stage"].to_numpy(), event)
    assert result.logrank[0] == pytest.approx(test.test_statistic, rel=1e-6)


def test_logistic_equals_statsmodels(frames):
    import statsmodels.api as sm

    features = ("age_at_diagnosis", "ecog", "surgery")
    options = {"target": "vital_status", "features": features}
    result = pool("logistic", frames, options)
    data = pooled(frames)[["vital_status", *features]].dropna().astype(float)
    fit = sm.Logit(data["vital_status"], sm.add_constant(data[list(features)])).fit(disp=0)
    assert result.n == len(data)
    for name, value in fit.params.items():
        assert result.coefficients[name] == pytest.approx(value, abs=1e-3)
        assert result.standard_errors[name] == pytest.approx(fit.bse[name], abs=1e-3)


def test_cox_equals_statsmodels_breslow(frames):
    import statsmodels.api as sm

    covariates = ("age_at_diagnosis", "ecog")
    options = {"time": "survival_months", "event": "vital_status", "covariates": covariates,
               "step": 6.0}  # fmt: skip
    result = pool("cox", frames, options)
    data = pooled(frames)[["survival_months", "vital_status", *covariates]].dropna()
    time, event = on_grid(data["survival_months"], 6.0), data["vital_status"].to_numpy(int)
    fit = sm.PHReg(time, data[list(covariates)].astype(float), status=event, ties="breslow").fit()
    for name, value, se in zip(covariates, fit.params, fit.bse, strict=True):
        assert result.coefficients[name] == pytest.approx(value, abs=1e-3)
        assert result.standard_errors[name] == pytest.approx(se, abs=1e-3)
    assert result.log_likelihood == pytest.approx(fit.llf, abs=1e-3)
    assert result.events == int(event.sum())


def test_local_query_cli(frames, tmp_path):
    from typer.testing import CliRunner

    from tessera.cli import app

    arguments = ["local", "query"]
    for name, frame in frames.items():
        path = tmp_path / f"{name}.parquet"
        frame.to_parquet(path)
        arguments += ["--party", f"{name}={path}"]
    arguments += ["--count", "--by", "stage,sex", "--epsilon", "inf", "--min-cell", "0"]
    outcome = CliRunner().invoke(app, [*arguments, "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    answer = json.loads(outcome.stdout)
    expected = pooled(frames).groupby(["stage", "sex"]).size()
    assert answer["epsilon"] is None
    for stage, sex, n in answer["counts"]:
        assert n == expected.get((stage, sex), 0)
    refused = CliRunner().invoke(app, [*arguments[:-4], "--epsilon", "0", "--format", "json"])
    assert refused.exit_code == 2
    assert "must be positive" in refused.output


def test_histogram_and_its_quantiles_equal_the_pooled_ones(frames):
    edges = parse_edges("30..100/5")
    assert edges == [30.0 + 5 * i for i in range(15)]
    options = {"column": "age_at_diagnosis", "edges": edges, "quantiles": [0.25, 0.5, 0.75],
               "min_cell": 0}  # fmt: skip
    result = pool("histogram", frames, options)
    ages = pooled(frames)["age_at_diagnosis"].dropna().to_numpy(float)
    expected = np.histogram(ages, bins=edges)[0]
    assert result.counts == expected.tolist()
    below = np.concatenate([[0], np.cumsum(expected)])  # grouped data, uniform in each bin
    for q, value in result.quantiles.items():
        i = int(np.flatnonzero(below[1:] >= q * below[-1])[0])
        share = (q * below[-1] - below[i]) / expected[i]
        assert value == pytest.approx(edges[i] + share * (edges[i + 1] - edges[i]), abs=1e-9)
    assert abs(result.quantiles[0.5] - np.median(ages)) < 2.5  # within half a bin


def test_means_equal_pandas_on_the_clipped_values(frames):
    options = {"column": "pdl1_tps", "by": ["stage"], "bounds": [0, 100], "resolution": 0.25,
               "min_cell": 0}  # fmt: skip
    result = pool("mean", frames, options)
    data = pooled(frames).dropna(subset=["pdl1_tps"])
    rounded = np.rint(data["pdl1_tps"].clip(0, 100) / 0.25) * 0.25
    expected = rounded.groupby(data["stage"]).agg(["size", "sum", "mean"])
    for stage, n, total, mean in result.cells:
        if stage in expected.index:
            assert n == expected.loc[stage, "size"]
            assert total == pytest.approx(expected.loc[stage, "sum"], abs=1e-9)
            assert mean == pytest.approx(expected.loc[stage, "mean"], abs=1e-9)
        else:
            assert n == 0
