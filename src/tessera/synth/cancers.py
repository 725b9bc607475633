"""The two cancers a cohort can hold, NSCLC and ovarian: who gets them, how their tumours and
treatments are drawn, and the true survival and admission models the analyses must recover.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tessera.synth import clinical
from tessera.synth.models import LogisticModel, SurvivalModel


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
