"""Synthetic cohorts: one population of cancer patients, split over registry, GP and survey.

The generator first draws the *true* patient (demographics, comorbidity, tumour, treatment,
quality of life, outcomes), then what each organisation records about whom: the registry
holds every patient; the GP network part of them plus people without cancer; the survey
those who were invited three months after diagnosis, were alive and answered. Each source
gets its own copy of the identifiers with its own errors. `truth.json` keeps the links and
the true models so every secure analysis can be checked against the truth.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tessera import __version__
from tessera.schema import GP, IDENTIFIERS, REGISTRY, SURVEY, validate
from tessera.synth import clinical
from tessera.synth.identities import (
    GP_ERRORS,
    REGISTRY_ERRORS,
    SURVEY_ERRORS,
    IdentifierErrors,
    corrupt,
    draw_identities,
)
from tessera.synth.models import LogisticModel, SurvivalModel, source_columns
from tessera.synth.sampling import bernoulli, expit

DIAGNOSIS_START = np.datetime64("2012-01-01")
DIAGNOSIS_END = np.datetime64("2023-12-31")
FOLLOW_UP_END = np.datetime64("2025-02-01")
SURVEY_LANDMARK_DAYS = 91  # questionnaires go out three months after diagnosis
DAYS_PER_MONTH = 30.4375
GP_SOURCES = ("charlson_index", "copd")
SURVEY_SOURCES = ("global_health",)


@dataclass(frozen=True)
class CancerSpec:
    """Everything cancer-specific: population, tumour and treatment generators, true models."""

    name: str
    female_share: float
    age_mean: float
    age_sd: float
    smoking_mix: dict[str, float]
    tumour: Callable[[np.random.Generator, pd.DataFrame, clinical.Regions], None]
    biomarkers: Callable[[np.random.Generator, pd.DataFrame], None]
    treatment: Callable[[np.random.Generator, pd.DataFrame, clinical.Regions], None]
    survival: SurvivalModel
    logistic: LogisticModel


_CENTRE = {"age_at_diagnosis": 70.0, "ecog": 1.0, "charlson_index": 1.0, "global_health": 60.0}

NSCLC = CancerSpec(
    name="nsclc",
    female_share=0.45,
    age_mean=69.0,
    age_sd=9.0,
    smoking_mix={"current": 0.40, "former": 0.50, "never": 0.10},
    tumour=clinical.nsclc_tumour,
    biomarkers=clinical.nsclc_biomarkers,
    treatment=clinical.nsclc_treatment,
    survival=SurvivalModel(
        shape=0.88,
        scale_months=87.8,
        coefficients={
            "stage[II]": 0.54,
            "stage[III]": 1.20,
            "stage[IV]": 2.08,
            "age_at_diagnosis": 0.015,
            "sex[F]": -0.15,
            "ecog": 0.30,
            "egfr[M]": -0.30,
            "egfr[N]": 0.0,
            "surgery": -0.60,
            "radiotherapy": -0.15,
            "chemotherapy": -0.35,
            "immunotherapy": -0.45,
            "targeted_therapy": -0.70,
            "charlson_index": 0.10,
            "copd": 0.20,
            "global_health": -0.012,
        },
        reference_levels={"stage": "I", "sex": "M", "egfr": "W"},
        centre=_CENTRE,
    ),
    logistic=LogisticModel(
        target="unplanned_admission_90d",
        coefficients={
            "const": -4.2,
            "age_at_diagnosis": 0.02,
            "ecog": 0.35,
            "stage[II]": 0.10,
            "stage[III]": 0.25,
            "stage[IV]": 0.45,
            "chemotherapy": 0.35,
            "charlson_index": 0.20,
            "copd": 0.40,
        },
        reference_levels={"stage": "I"},
    ),
)

OVARIAN = CancerSpec(
    name="ovarian",
    female_share=1.0,
    age_mean=64.0,
    age_sd=11.0,
    smoking_mix={"current": 0.18, "former": 0.32, "never": 0.50},
    tumour=clinical.ovarian_tumour,
    biomarkers=clinical.ovarian_biomarkers,
    treatment=clinical.ovarian_treatment,
    survival=SurvivalModel(
        shape=0.99,
        scale_months=174.0,
        coefficients={
            "stage[II]": 1.22,
            "stage[III]": 2.41,
            "stage[IV]": 2.84,
            "age_at_diagnosis": 0.02,
            "ecog": 0.30,
            "brca[M]": -0.35,
            "brca[N]": 0.0,
            "surgery": -0.60,
            "chemotherapy": -0.45,
            "targeted_therapy": -0.40,
            "charlson_index": 0.10,
            "copd": 0.15,
            "global_health": -0.010,
        },
        reference_levels={"stage": "I", "brca": "W"},
        centre=_CENTRE,
    ),
    logistic=LogisticModel(
        target="unplanned_admission_90d",
        coefficients={
            "const": -4.0,
            "age_at_diagnosis": 0.02,
            "ecog": 0.35,
            "stage[II]": 0.10,
            "stage[III]": 0.30,
            "stage[IV]": 0.50,
            "surgery": 0.60,
            "charlson_index": 0.20,
            "copd": 0.30,
        },
        reference_levels={"stage": "I"},
    ),
)

CANCERS: dict[str, CancerSpec] = {"nsclc": NSCLC, "ovarian": OVARIAN}


@dataclass
class Cohort:
    """The three source tables (canonical, validated) and the ground truth."""

    registry: pd.DataFrame
    gp: pd.DataFrame
    survey: pd.DataFrame
    truth: dict
    registries: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def read(cls, directory: str | Path) -> Cohort:
        """Read back what `write` (or `tessera synth`) put into `directory`."""
        directory = Path(directory)
        truth_path = directory / "truth.json"
        if not truth_path.exists():
            raise FileNotFoundError(f"no truth.json in {directory}: run `tessera synth` first")
        truth = json.loads(truth_path.read_text())

        def read(name: str, table: str) -> pd.DataFrame:
            path = directory / f"{name}.parquet"
            return _drop_pseudonym(validate(pd.read_parquet(path), table, str(path)), truth)

        tables = {name: read(name, name) for name in ("registry", "gp", "survey")}
        parts = {name: read(name, "registry") for name in sorted(truth.get("registries", {}))}
        return cls(**tables, truth=truth, registries=parts)

    def joined(self, *sources: str) -> pd.DataFrame:
        """The pooled table a trusted curator would build: patients present in every named
        source (by the true links), with each source's non-identifier columns side by side
        and the record ids as `<source>_id`. The reference that secure joins are held against.
        """
        sources = sources or ("registry", "gp", "survey")
        unknown = set(sources) - {"registry", "gp", "survey"}
        if unknown:
            raise ValueError(f"unknown source(s) {sorted(unknown)}: use registry, gp, survey")
        links = pd.DataFrame(self.truth["links"], columns=["registry", "gp", "survey"])
        frame = links.dropna(subset=list(sources))[list(sources)]
        frame.columns = [f"{s}_id" for s in sources]
        identifiers = {c.name for c in IDENTIFIERS}
        for name in sources:
            table = getattr(self, name)
            # sex is a covariate too: keep the first source's copy of it
            drop = identifiers - ({"sex"} if name == sources[0] else set())
            values = table[[c for c in table.columns if c not in drop]]
            frame = frame.merge(
                values.assign(**{f"{name}_id": table["record_id"]}), on=f"{name}_id", how="inner"
            )
        return frame.reset_index(drop=True)

    def write(self, out: str | Path) -> list[Path]:
        """Write the Parquet files and truth.json into `out`; returns the paths written."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        tables = {
            "registry": self.registry,
            "gp": self.gp,
            "survey": self.survey,
            **self.registries,
        }
        paths = []
        for name, frame in tables.items():
            path = out / f"{name}.parquet"
            frame.to_parquet(path, index=False)
            paths.append(path)
        truth_path = out / "truth.json"
        truth_path.write_text(json.dumps(self.truth, indent=1) + "\n")
        return [*paths, truth_path]


def generate(
    cancer: str,
    patients: int,
    seed: int = 0,
    registries: int | None = None,
    pseudonyms: bool = False,
    error_scale: float = 1.0,
    gp_without_cancer: float = 1.0,
) -> Cohort:
    """A synthetic cohort of `patients` people with `cancer` ("nsclc" or "ovarian").

    `registries` splits the registry into that many regional registries in one schema;
    `error_scale` multiplies every identifier error rate (0 gives exact identifiers);
    `gp_without_cancer` is the number of people without cancer in the GP network per
    registry patient it covers.
    """
    if cancer not in CANCERS:
        raise ValueError(f"unknown cancer {cancer!r}: choose one of {', '.join(CANCERS)}")
    if patients < 1:
        raise ValueError("patients must be at least 1")
    if registries is not None and registries < 1:
        raise ValueError("registries must be at least 1")
    if error_scale < 0 or gp_without_cancer < 0:
        raise ValueError("error_scale and gp_without_cancer must not be negative")
    spec = CANCERS[cancer]
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    rng_regions, rng_clinical, rng_sources, rng_identity, rng_errors, rng_ids = streams
    n_regions = registries or 4
    regions = clinical.Regions.draw(rng_regions, n_regions)

    truth_frame = _patients(rng_clinical, spec, patients, regions)
    gp_member = rng_sources.random(patients) < regions.gp_coverage[truth_frame["region_index"]]
    others = _people_without_cancer(
        rng_sources, round(gp_without_cancer * gp_member.sum()), n_regions
    )
    respondent, survey_date = _survey_response(rng_sources, truth_frame, regions)

    people = pd.concat([truth_frame, others], ignore_index=True)
    people["survey_date"] = np.concatenate(
        [survey_date, np.full(len(others), np.datetime64("NaT"), dtype="datetime64[D]")]
    )
    identities = draw_identities(
        rng_identity,
        people["sex"].to_numpy(),
        people["date_of_birth"].to_numpy().astype("datetime64[D]"),
        people["region_index"].to_numpy(),
        n_regions,
    )
    pseudonym = _pseudonyms(rng_ids, len(people)) if pseudonyms else None
    in_gp = np.concatenate([gp_member, np.ones(len(others), dtype=bool)])

    def source(rows: np.ndarray, errors: IdentifierErrors, prefix: str) -> pd.DataFrame:
        """The identifier columns of one source for people `rows`, in a shuffled order."""
        rows = rng_ids.permutation(rows)
        ids = corrupt(
            identities.iloc[rows].reset_index(drop=True),
            rng_errors,
            errors.scaled(error_scale),
            people["region_index"].to_numpy()[rows],
            n_regions,
        )
        numbers = rng_ids.choice(10 * max(len(rows), 1), size=len(rows), replace=False)
        ids.insert(0, "record_id", [f"{prefix}{k:08d}" for k in numbers])
        if pseudonym is not None:
            ids.insert(1, "pseudonym", pseudonym[rows])
        ids["_person"] = rows
        return ids

    registry_ids = source(np.arange(patients), REGISTRY_ERRORS, "R")
    gp_ids = source(np.flatnonzero(in_gp), GP_ERRORS, "G")
    survey_ids = source(np.flatnonzero(respondent), SURVEY_ERRORS, "S")

    registry = _assemble(registry_ids, people, REGISTRY, exclude={"sex"})
    gp = _assemble(gp_ids, people, GP, exclude={"sex"})
    survey = _assemble(survey_ids, people, SURVEY, exclude={"sex"})
    _blank_survey_items(rng_sources, survey)

    truth = _truth(
        spec, patients, seed, registries, error_scale, registry_ids, gp_ids, survey_ids, pseudonyms
    )
    cohort = Cohort(
        registry=_drop_pseudonym(validate(registry, "registry", "synthetic registry"), truth),
        gp=_drop_pseudonym(validate(gp, "gp", "synthetic GP data"), truth),
        survey=_drop_pseudonym(validate(survey, "survey", "synthetic survey"), truth),
        truth=truth,
    )
    if registries:
        region = cohort.registry["region"].to_numpy()
        for k, name in enumerate(regions.names, start=1):
            part = cohort.registry[region == name].reset_index(drop=True)
            cohort.registries[f"registry_{k}"] = part
            truth["registries"][f"registry_{k}"] = {"region": name, "patients": len(part)}
    return cohort


def _drop_pseudonym(frame: pd.DataFrame, truth: dict) -> pd.DataFrame:
    """Without --pseudonyms there is no shared identifier at all, not even an empty column."""
    return frame if truth["pseudonyms"] else frame.drop(columns="pseudonym")


def _patients(
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


def _people_without_cancer(rng: np.random.Generator, m: int, n_regions: int) -> pd.DataFrame:
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


def _survey_response(
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


def _blank_survey_items(rng: np.random.Generator, survey: pd.DataFrame) -> None:
    """Item non-response: each scale is missing for about 3% of respondents."""
    for column in ("global_health", "physical_functioning", "emotional_functioning", "fatigue"):
        survey.loc[rng.random(len(survey)) < 0.03, column] = np.nan


def _assemble(ids: pd.DataFrame, people: pd.DataFrame, table, exclude: set[str]) -> pd.DataFrame:
    """A source table: its identifier copy plus the true values of its other columns."""
    rows = ids["_person"].to_numpy()
    frame = ids.drop(columns="_person")
    for name in table.column_names:
        if name in frame.columns or name in exclude or name not in people.columns:
            continue
        values = people[name].to_numpy()[rows]
        frame[name] = _iso(values) if values.dtype.kind == "M" else values
    if "sex" not in frame.columns:
        frame["sex"] = people["sex"].to_numpy()[rows]
    return frame[[c for c in table.column_names if c in frame.columns]]


def _iso(values: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(values.astype("datetime64[D]"), unit="D")


def _completed_years(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    b, d = pd.DatetimeIndex(birth), pd.DatetimeIndex(day)
    before_birthday = (d.month < b.month) | ((d.month == b.month) & (d.day < b.day))
    return (d.year - b.year - before_birthday).to_numpy().astype(np.int64)


def _pseudonyms(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random 64-bit pseudonyms as a trusted third party issues them: unique, meaningless."""
    values = np.unique(rng.integers(0, 2**63 - 1, n + n // 100 + 16, dtype=np.int64))
    values = rng.permutation(values)[:n]
    if len(values) < n:  # pragma: no cover - 2^63 space makes this practically impossible
        raise RuntimeError("pseudonym collision; retry with another seed")
    return np.asarray([f"{v:016x}" for v in values], dtype=object)


def _truth(
    spec: CancerSpec,
    patients: int,
    seed: int,
    registries: int | None,
    error_scale: float,
    registry_ids: pd.DataFrame,
    gp_ids: pd.DataFrame,
    survey_ids: pd.DataFrame,
    pseudonyms: bool,
) -> dict:
    """Links between the sources' record ids, the true models and the generator settings."""
    by_person = {
        "registry": pd.Series(registry_ids["record_id"].to_numpy(), index=registry_ids["_person"]),
        "gp": pd.Series(gp_ids["record_id"].to_numpy(), index=gp_ids["_person"]),
        "survey": pd.Series(survey_ids["record_id"].to_numpy(), index=survey_ids["_person"]),
    }
    persons = np.arange(patients)
    links = pd.DataFrame({name: ids.reindex(persons) for name, ids in by_person.items()})
    links = links.sort_values("registry")
    columns = [links[c].astype(object).where(links[c].notna(), None) for c in by_person]
    survival_sources = _sources(spec.survival.coefficients)
    logistic_sources = _sources(spec.logistic.coefficients)
    return {
        "generator": f"tessera {__version__}",
        "cancer": spec.name,
        "patients": patients,
        "seed": seed,
        "error_scale": error_scale,
        "pseudonyms": pseudonyms,
        "follow_up_end": str(FOLLOW_UP_END),
        "survey_landmark_days": SURVEY_LANDMARK_DAYS,
        "counts": {
            "registry": len(registry_ids),
            "gp": len(gp_ids),
            "survey": len(survey_ids),
            "registry_in_gp": int(links["gp"].notna().sum()),
            "registry_in_survey": int(links["survey"].notna().sum()),
            "registry_in_gp_and_survey": int((links["gp"].notna() & links["survey"].notna()).sum()),
            "gp_without_cancer": len(gp_ids) - int(links["gp"].notna().sum()),
        },
        "identifier_errors": {
            "registry": asdict(REGISTRY_ERRORS.scaled(error_scale)),
            "gp": asdict(GP_ERRORS.scaled(error_scale)),
            "survey": asdict(SURVEY_ERRORS.scaled(error_scale)),
        },
        "survival_model": spec.survival.to_truth(
            "survival_months", "vital_status", survival_sources
        ),
        "logistic_model": spec.logistic.to_truth(logistic_sources),
        "registries": {},
        "links": [dict(zip(by_person, row, strict=True)) for row in zip(*columns, strict=True)],
    }


def _sources(coefficients: dict[str, float]) -> dict[str, str]:
    """Which organisation holds each covariate of a true model."""
    names = [n for n in coefficients if n != "const"]
    return {
        column: "gp"
        if column in GP_SOURCES
        else "survey"
        if column in SURVEY_SOURCES
        else "registry"
        for column in source_columns(names)
    }
