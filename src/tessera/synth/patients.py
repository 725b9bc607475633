"""The true values of every person in a cohort, before any source records them: cancer
patients from diagnosis to outcome, GP-registered people without cancer, and who answers the
quality-of-life survey.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tessera.synth import clinical
from tessera.synth.cancers import CancerSpec
from tessera.synth.sampling import bernoulli, expit

DIAGNOSIS_START = np.datetime64("2012-01-01")
DIAGNOSIS_END = np.datetime64("2023-12-31")
FOLLOW_UP_END = np.datetime64("2025-02-01")
SURVEY_LANDMARK_DAYS = 91  # questionnaires go out three months after diagnosis
DAYS_PER_MONTH = 30.4375


def draw_patients(
    rng: np.random.Generator, spec: CancerSpec, n: int, regions: clinical.Regions
) -> pd.DataFrame:
    """The true values of every cancer patient, before any source records them."""
    region = rng.integers(0, len(regions.names), n)
    sex = np.where(rng.random(n) < spec.female_share, "F", "M").astype(object)
    age = np.clip(rng.normal(spec.age_mean + regions.age_shift[region], spec.age_sd, n), 25, 97)
    span = int((DIAGNOSIS_END - DIAGNOSIS_START).astype(int))
    diagnosis = DIAGNOSIS_START + rng.integers(0, span + 1, n).astype("timedelta64[D]")
    birth = diagnosis - np.round((np.floor(age) + rng.random(n)) * 365.25).astype("timedelta64[D]")
    frame = pd.DataFrame(
        {
            "region_index": region,
            "region": np.asarray(regions.names, dtype=object)[region],
            "sex": sex,
            "date_of_birth": birth,
            "diagnosis_date": diagnosis,
            "age_at_diagnosis": _completed_years(birth, diagnosis),
        }
    )
    for name, values in clinical.smoking_and_comorbidity(
        rng, frame["age_at_diagnosis"].to_numpy(), sex, spec.smoking_mix
    ).items():
        frame[name] = values
    spec.tumour(rng, frame, regions)
    frame["ecog"] = clinical.ecog(rng, frame)
    spec.biomarkers(rng, frame)
    spec.treatment(rng, frame, regions)
    for name, values in clinical.quality_of_life(rng, frame).items():
        frame[name] = values

    months = spec.survival.sample_months(frame, rng)
    event_days = np.ceil(months * DAYS_PER_MONTH)
    admin_days = (FOLLOW_UP_END - diagnosis).astype(int)
    lost_days = np.ceil(rng.exponential(100 * 365.25, n))  # emigration: ~1% a year
    observed = np.minimum(event_days, np.minimum(admin_days, lost_days)).astype(int)
    frame["vital_status"] = (event_days <= np.minimum(admin_days, lost_days)).astype(np.int64)
    frame["followup_date"] = diagnosis + observed.astype("timedelta64[D]")
    frame["survival_months"] = np.round(observed / DAYS_PER_MONTH, 4)
    frame["_observed_days"] = observed
    frame[spec.logistic.target] = bernoulli(rng, spec.logistic.probability(frame), n)
    return frame


def draw_people_without_cancer(rng: np.random.Generator, m: int, n_regions: int) -> pd.DataFrame:
    """GP-registered adults without cancer: demographics and what their GP records."""
    sex = np.where(rng.random(m) < 0.5, "F", "M").astype(object)
    age = np.clip(rng.normal(55, 17, m), 18, 100)
    reference = np.datetime64("2024-01-01")
    birth = reference - np.round(age * 365.25).astype("timedelta64[D]")
    frame = pd.DataFrame(
        {"region_index": rng.integers(0, n_regions, m), "sex": sex, "date_of_birth": birth}
    )
    mix = {"current": 0.18, "former": 0.32, "never": 0.50}
    for name, values in clinical.smoking_and_comorbidity(rng, age, sex, mix).items():
        frame[name] = values
    return frame


def survey_response(
    rng: np.random.Generator, frame: pd.DataFrame, regions: clinical.Regions
) -> tuple[np.ndarray, np.ndarray]:
    """Who answered the QoL questionnaire, and when.

    Missingness depends on the outcome: only patients alive (and still followed) when the
    questionnaire arrives can answer, and frail patients and those with poor quality of life
    answer less often. Everyone is invited at the same landmark, so a Cox model fitted on
    respondents keeps the true hazard ratios.
    """
    n = len(frame)
    invited = rng.random(n) < regions.survey_coverage[frame["region_index"].to_numpy()]
    delay = SURVEY_LANDMARK_DAYS + rng.integers(0, 43, n)
    alive = frame["_observed_days"].to_numpy() > delay
    p_answer = expit(
        0.3
        - 0.45 * frame["ecog"].to_numpy()
        + 0.02 * (frame["global_health"].to_numpy() - 60)
        - 0.04 * np.maximum(frame["age_at_diagnosis"].to_numpy() - 75, 0)
    )
    respondent = invited & alive & (rng.random(n) < p_answer)
    date = frame["diagnosis_date"].to_numpy() + delay.astype("timedelta64[D]")
    return respondent, date


def blank_survey_items(rng: np.random.Generator, survey: pd.DataFrame) -> None:
    """Item non-response: each scale is missing for about 3% of respondents."""
    for column in ("global_health", "physical_functioning", "emotional_functioning", "fatigue"):
        survey.loc[rng.random(len(survey)) < 0.03, column] = np.nan


def _completed_years(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    b, d = pd.DatetimeIndex(birth), pd.DatetimeIndex(day)
    before_birthday = (d.month < b.month) | ((d.month == b.month) & (d.day < b.day))
    return (d.year - b.year - before_birthday).to_numpy().astype(np.int64)
