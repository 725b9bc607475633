"""Models over registries with differential privacy (`tessera.analyses.fits`): the stated
sensitivity bounds what one patient changes, the fixed-point noise has the calibrated law,
noisy fits land near the pooled ones, and a station refuses an ask out of turn."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tessera.analyses import cox, fits, logistic
from tessera.analyses.fits import CODEC, FRACTION_BITS
from tessera.crypto.group import base, random_scalar
from tessera.crypto.threshold import KeyShare, decrypt
from tessera.privacy.noise import Noise, variance
from tessera.protocol.board import MemoryStore, add_up
from tessera.protocol.local import pool
from tessera.protocol.pooled import PooledTask, RegistryParty
from tessera.synth.cohort import generate

FITS = {"logistic": logistic.POOLED, "cox": cox.POOLED}

CLIP = {"age_at_diagnosis": [30.0, 95.0], "ecog": [0.0, 4.0]}
LOGISTIC = {"target": "vital_status", "features": list(CLIP), "clip": CLIP}
COX = {"time": "survival_months", "event": "vital_status", "covariates": list(CLIP),
       "clip": CLIP, "step": 6.0, "horizon": 60.0}  # fmt: skip


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return dict(generate("nsclc", 6000, seed=3, registries=3).registries)


def _extreme(rng: np.random.Generator, options: dict) -> pd.DataFrame:
    """One patient at a corner of the clipping box (or beyond it), any outcome and time."""
    row = {c: rng.choice([low - 20, low, high, high + 20]) for c, (low, high) in CLIP.items()}
    row.update(vital_status=float(rng.integers(0, 2)), survival_months=rng.uniform(0, 80))
    return pd.DataFrame([row])


@pytest.mark.parametrize(("name", "given"), [("logistic", LOGISTIC), ("cox", COX)])
def test_the_sensitivity_bounds_what_one_patient_changes(frames, name, given):
    fit, rng = FITS[name], np.random.default_rng(7)
    options = fit.options(given, {}, Noise(1.0))
    frame = next(iter(frames.values())).head(300)
    base = fit.rows(frame, options)
    k = len(fits.covariate_names(options)) + (name == "logistic")
    worst = 0.0
    for number in range(60):
        ask = {"round": number % 3, "beta": rng.normal(0, 1.5, k).tolist(),
               "centre": [rng.uniform(lo, hi) for lo, hi in CLIP.values()]}  # fmt: skip
        before = fit.vector(base, options, ask)
        added = fit.rows(pd.concat([frame, _extreme(rng, options)]), options)
        change = np.abs(fit.vector(added, options, ask) - before).sum()
        bound = fit.sensitivity(options, ask)
        assert change <= bound * (1 + 1e-9), (ask, change, bound)
        worst = max(worst, change / bound)
    assert worst > 0.3  # the bound is not vacuous


def test_fixed_point_noise_has_the_calibrated_law():
    """The round's noise, added in shares by three registries to fixed-point sums (each
    registry's generator seeded), decrypts to the discrete Laplace law of the round's
    scale (in units of 2^-24)."""
    secret = random_scalar()
    key = KeyShare(1, 1, secret, base(secret), {})  # one known key: decrypt directly
    world = ("north", "south", "east")
    task = PooledTask("logistic", {}, world, 1, 2.0, base(secret), "researcher")
    store = MemoryStore(world)
    noise = Noise(2.0, 5 << FRACTION_BITS)  # a scale of ~2.5 in real units
    values, truth = np.array([0.5, -1.25, 3.0]), 3 * np.array([0.5, -1.25, 3.0])
    errors = []
    for seed in range(150):
        parts = []
        for i, name in enumerate(world):
            party = RegistryParty(store.view(name), task, rng=np.random.default_rng([seed, i]))
            party.key = key
            parts.append(party.encrypt_fixed(values, CODEC, noise))
        limbs = [decrypt(secret, ct, CODEC.limb_bound(3)) for ct in add_up(parts)]
        sums = [
            CODEC.decode(limbs[k : k + CODEC.limbs], 3) for k in range(0, len(limbs), CODEC.limbs)
        ]
        errors.extend((np.array(sums) - truth) * (1 << FRACTION_BITS))
    errors = np.asarray(errors)
    expected = variance(noise.scale)
    assert np.var(errors) == pytest.approx(expected, rel=0.25)
    assert stats.kstest(errors / noise.scale, stats.laplace.cdf).pvalue > 1e-3


def test_noisy_fits_land_near_the_pooled_ones(frames):
    import statsmodels.api as sm

    result = pool("logistic", frames, LOGISTIC, Noise(50.0), seed=11)
    data = pd.concat(frames.values())[["vital_status", *CLIP]].dropna().astype(float)
    for name, (low, high) in CLIP.items():
        data[name] = data[name].clip(low, high)
    reference = sm.Logit(data["vital_status"], sm.add_constant(data[list(CLIP)])).fit(disp=0)
    assert result.epsilon == 50.0 and "epsilon = 50" in str(result)
    for name, value in reference.params.items():
        assert result.coefficients[name] == pytest.approx(value, abs=reference.bse[name])
    exact = pool("logistic", frames, LOGISTIC)
    for name, value in reference.params.items():  # without noise: the pooled fit exactly
        assert exact.coefficients[name] == pytest.approx(value, abs=1e-3)


def test_noise_needs_bounds_and_an_ask_in_turn():
    with pytest.raises(ValueError, match="--clip ecog=LOW,HIGH"):
        logistic.POOLED.options({**LOGISTIC, "clip": {"age_at_diagnosis": [30, 95]}}, {},
                                Noise(1.0))  # fmt: skip
    options = cox.POOLED.options(COX, {}, Noise(1.0))
    assert options["rounds"] == 1 + fits.NOISY_ITERATIONS + 1
    ask = {"round": 2, "beta": [0.1, 0.2], "centre": [60.0, 2.0]}
    assert fits.check_ask(cox.POOLED, options, json.loads(json.dumps(ask)), 2) == ask
    for bad, why in [
        ({**ask, "round": 3}, "round 3 asked where round 2"),
        ({**ask, "beta": [0.1]}, "wrong number"),
        ({**ask, "beta": [math.nan, 0.0]}, "not finite"),
        ({**ask, "beta": [11.0, 0.0]}, "beyond"),
        ({k: v for k, v in ask.items() if k != "centre"}, "needs its round"),
    ]:
        with pytest.raises(ValueError, match=why):
            fits.check_ask(cox.POOLED, options, bad, 2)
    last = {**ask, "round": options["rounds"]}
    with pytest.raises(ValueError, match="asked where"):
        fits.check_ask(cox.POOLED, options, last, options["rounds"])  # beyond what was charged


def test_local_fit_cli(frames, tmp_path):
    from typer.testing import CliRunner

    from tessera.cli import app

    parties = []
    for name, frame in frames.items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
        parties += ["--party", f"{name}={tmp_path / name}.parquet"]
    arguments = ["local", "logistic", *parties, "--horizontal", "--target", "vital_status",
                 "--features", "age_at_diagnosis,ecog", "--epsilon", "40",
                 "--clip", "age_at_diagnosis=30,95", "--clip", "ecog=0,4"]  # fmt: skip
    outcome = CliRunner().invoke(app, [*arguments, "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    answer = json.loads(outcome.stdout)
    assert answer["epsilon"] == 40 and set(answer["coefficients"]) == {"const", *CLIP}
    refused = CliRunner().invoke(app, [*arguments[:-4], "--format", "json"])
    assert refused.exit_code != 0 and "--clip age_at_diagnosis=LOW,HIGH" in refused.output
