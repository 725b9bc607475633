"""A cohort's ground truth (`truth.json`): the links between the sources' record ids, the true
models with the organisation holding each covariate, and the generator's settings.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from tessera import __version__
from tessera.synth.cancers import CancerSpec
from tessera.synth.identities import GP_ERRORS, REGISTRY_ERRORS, SURVEY_ERRORS
from tessera.synth.models import source_columns
from tessera.synth.patients import FOLLOW_UP_END, SURVEY_LANDMARK_DAYS

GP_SOURCES = ("charlson_index", "copd")
SURVEY_SOURCES = ("global_health",)


def ground_truth(
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
