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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tessera.schema import GP, IDENTIFIERS, REGISTRY, SURVEY, validate
from tessera.synth import clinical
from tessera.synth.cancers import CANCERS, NSCLC, OVARIAN, CancerSpec
from tessera.synth.identities import (
    GP_ERRORS,
    REGISTRY_ERRORS,
    SURVEY_ERRORS,
    IdentifierErrors,
    corrupt,
    draw_identities,
)
from tessera.synth.patients import (
    DAYS_PER_MONTH,
    DIAGNOSIS_END,
    DIAGNOSIS_START,
    FOLLOW_UP_END,
    SURVEY_LANDMARK_DAYS,
    blank_survey_items,
    draw_patients,
    draw_people_without_cancer,
    survey_response,
)
from tessera.synth.truth import GP_SOURCES, SURVEY_SOURCES, ground_truth

__all__ = [
    "CANCERS",
    "DAYS_PER_MONTH",
    "DIAGNOSIS_END",
    "DIAGNOSIS_START",
    "FOLLOW_UP_END",
    "GP_SOURCES",
    "NSCLC",
    "OVARIAN",
    "SURVEY_LANDMARK_DAYS",
    "SURVEY_SOURCES",
    "CancerSpec",
    "Cohort",
    "generate",
]


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

    truth_frame = draw_patients(rng_clinical, spec, patients, regions)
    gp_member = rng_sources.random(patients) < regions.gp_coverage[truth_frame["region_index"]]
    others = draw_people_without_cancer(
        rng_sources, round(gp_without_cancer * gp_member.sum()), n_regions
    )
    respondent, survey_date = survey_response(rng_sources, truth_frame, regions)

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
    blank_survey_items(rng_sources, survey)

    truth = ground_truth(
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


def _pseudonyms(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random 64-bit pseudonyms as a trusted third party issues them: unique, meaningless."""
    values = np.unique(rng.integers(0, 2**63 - 1, n + n // 100 + 16, dtype=np.int64))
    values = rng.permutation(values)[:n]
    if len(values) < n:  # pragma: no cover - 2^63 space makes this practically impossible
        raise RuntimeError("pseudonym collision; retry with another seed")
    return np.asarray([f"{v:016x}" for v in values], dtype=object)
