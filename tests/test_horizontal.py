"""Registry-spanning queries (`tessera.analyses.queries` over `tessera.analyses.horizontal`):
without noise every answer equals the pooled plaintext reference (pandas, lifelines,
statsmodels); with noise the errors follow the calibrated law; small cells and their
complements are withheld."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tessera.analyses import fits, queries
from tessera.analyses.horizontal import Aggregation, Noise
from tessera.privacy import disclosure
from tessera.synth.cohort import generate

INF = Noise(math.inf)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    cohort = generate("nsclc", 2400, seed=11, registries=3)
    return dict(cohort.registries)


@pytest.fixture(scope="module")
def aggregation(frames) -> Aggregation:
    return Aggregation(queries.registries(frames))


def pooled(frames) -> pd.DataFrame:
    return pd.concat(frames.values(), ignore_index=True)


def test_counts_equal_the_pooled_crosstab(frames, aggregation):
    where = 'morphology in ("8140/3", "8070/3") and age_at_diagnosis >= 60'
    result = queries.count(frames, ["stage", "sex"], where, INF, 0, aggregation=aggregation)
    rows = pooled(frames).query("morphology in ['8140/3', '8070/3'] and age_at_diagnosis >= 60")
    expected = rows.groupby(["stage", "sex"]).size()
    got = {(a, b): n for a, b, n in result.cells}
    assert all(n is not None for n in got.values())
    for (stage, sex), n in got.items():
        assert n == expected.get((stage, sex), 0), (stage, sex)
    assert sum(got.values()) == len(rows)
    assert "Counts across 3 registries" in str(result)


def test_small_cells_and_their_complements_are_withheld(frames, aggregation):
    result = queries.count(frames, ["stage", "grade"], None, INF, 10, aggregation=aggregation)
    levels = queries.domain(["stage", "grade"], frames, {}, INF)
    truth = queries.count_cells(pooled(frames), levels)
    small = disclosure.primary(truth, 10)
    assert small.any(), "the test needs small cells"
    expected = disclosure.secondary(small, eligible=(truth != 0) & ~small)
    got = np.array([n is None for *_, n in result.cells]).reshape(truth.shape)
    assert (got == expected).all()
    assert not disclosure.determined(got).any()
    shown = np.array([-1 if n is None else n for *_, n in result.cells]).reshape(truth.shape)
    assert (shown[~got] == truth[~got]).all()


def test_noise_follows_the_calibrated_law(frames, aggregation):
    """Over many releases of the same counts, the errors are discrete Laplace with the
    scale OpenDP calibrates for epsilon (sum of the registries' shares)."""
    noise = Noise(0.5)
    levels = queries.domain(["sex"], frames, {}, noise)
    truth = queries.count_cells(pooled(frames), levels).astype(float)
    errors = []
    for _ in range(400):
        vectors = {n: queries.count_cells(f, levels) for n, f in frames.items()}
        errors.extend(aggregation.run(vectors, noise).values.ravel() - truth)
    errors = np.asarray(errors)
    scale = noise.scale
    law = stats.dlaplace(1 / scale)
    assert errors.var() == pytest.approx(law.var(), rel=0.25)
    edges = np.array([-1e9, -4.5, -2.5, -0.5, 0.5, 2.5, 4.5, 1e9])
    observed = np.histogram(errors, edges)[0]
    expected = np.diff(law.cdf(edges)) * len(errors)
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_noise_needs_public_levels(frames):
    with pytest.raises(ValueError, match="--levels diagnosis_year"):
        queries.count(frames, ["diagnosis_year"], None, Noise(1.0), 10)


def test_kaplan_meier_equals_lifelines_on_the_grid(frames, aggregation):
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    result = queries.kaplan_meier(
        frames, "survival_months", "vital_status", "stage", step=3.0, aggregation=aggregation
    )
    data = pooled(frames).dropna(subset=["survival_months", "vital_status"])
    grid = queries.time_grid(frames, "survival_months", 3.0, None, INF)
    time, event = grid.reference(data["survival_months"], data["vital_status"])
    for stage, curve in result.curves.items():
        mine = data["stage"].to_numpy() == stage
        fitter = KaplanMeierFitter().fit(time[mine], event[mine])
        expected = fitter.survival_function_at_times(curve["time"]).to_numpy()
        assert np.allclose(curve["survival"], expected, atol=1e-6), stage
    test = multivariate_logrank_test(time, data["stage"].to_numpy(), event)
    assert result.logrank[0] == pytest.approx(test.test_statistic, rel=1e-6)


def test_logistic_equals_statsmodels(frames, aggregation):
    import statsmodels.api as sm

    features = ("age_at_diagnosis", "ecog", "surgery")
    options = {"target": "vital_status", "features": features}
    result = fits.fit("logistic", frames, options, aggregation=aggregation)
    data = pooled(frames)[["vital_status", *features]].dropna().astype(float)
    fit = sm.Logit(data["vital_status"], sm.add_constant(data[list(features)])).fit(disp=0)
    assert result.n == len(data)
    for name, value in fit.params.items():
        assert result.coefficients[name] == pytest.approx(value, abs=1e-3)
        assert result.standard_errors[name] == pytest.approx(fit.bse[name], abs=1e-3)


def test_cox_equals_statsmodels_breslow(frames, aggregation):
    import statsmodels.api as sm

    covariates = ("age_at_diagnosis", "ecog")
    options = {"time": "survival_months", "event": "vital_status", "covariates": covariates,
               "step": 6.0}  # fmt: skip
    result = fits.fit("cox", frames, options, aggregation=aggregation)
    data = pooled(frames)[["survival_months", "vital_status", *covariates]].dropna()
    grid = queries.time_grid(frames, "survival_months", 6.0, None, INF)
    time, event = grid.reference(data["survival_months"], data["vital_status"])
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


def test_histogram_and_its_quantiles_equal_the_pooled_ones(frames, aggregation):
    options = {"column": "age_at_diagnosis", "edges": queries.parse_edges("30..100/5"),
               "quantiles": [0.25, 0.5, 0.75], "min_cell": 0}  # fmt: skip
    result = queries.pooled("histogram", frames, options, INF, aggregation)
    ages = pooled(frames)["age_at_diagnosis"].dropna().to_numpy(float)
    expected = np.histogram(ages, bins=options["edges"])[0]
    assert result.counts == expected.tolist()
    reference = queries.grouped_quantiles(options["edges"], expected, [0.25, 0.5, 0.75])
    assert result.quantiles == reference
    assert abs(result.quantiles[0.5] - np.median(ages)) < 2.5  # within half a bin


def test_means_equal_pandas_on_the_clipped_values(frames, aggregation):
    options = {"column": "pdl1_tps", "by": ["stage"], "bounds": [0, 100], "resolution": 0.25,
               "min_cell": 0}  # fmt: skip
    result = queries.pooled("mean", frames, options, INF, aggregation)
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
