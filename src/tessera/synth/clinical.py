"""Clinical content of the synthetic cohorts: tumour, performance, comorbidity, treatment, QoL.

Every function takes the frame of true patient values built so far and adds columns, fully
vectorised. Marginals follow the registry figures cited in docs/synthetic-data.md; regional
differences (stage mix, immunotherapy uptake, age) come in through `Regions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tessera.synth.sampling import (
    bernoulli,
    categorical,
    choose,
    expit,
    mixture_rows,
    rounded_scale,
)

STAGES = ["I", "II", "III", "IV"]


@dataclass(frozen=True)
class Regions:
    """Per-region deviations from the national figures (index = region number)."""

    names: list[str]
    advanced_shift: np.ndarray  # probability mass moved from stage I/II to stage IV
    immunotherapy_uptake: np.ndarray  # multiplier on the probability of immunotherapy
    age_shift: np.ndarray  # years added to the mean age at diagnosis
    gp_coverage: np.ndarray  # share of the region's patients registered with a network GP
    survey_coverage: np.ndarray  # share of the region's hospitals inviting to the survey

    @classmethod
    def draw(cls, rng: np.random.Generator, n_regions: int) -> Regions:
        if n_regions == 1:
            zero = np.zeros(1)
            return cls(["region_1"], zero, zero + 1.0, zero, zero + 0.6, zero + 0.7)

        def spread(low: float, high: float) -> np.ndarray:
            """Evenly spaced values in a seed-dependent order: regions always differ."""
            return rng.permutation(np.linspace(low, high, n_regions))

        return cls(
            [f"region_{r + 1}" for r in range(n_regions)],
            advanced_shift=spread(-0.05, 0.05),
            immunotherapy_uptake=spread(0.8, 1.15),
            age_shift=spread(-2.0, 2.0),
            gp_coverage=spread(0.45, 0.75),
            survey_coverage=spread(0.55, 0.85),
        )


def stage_by_region(
    rng: np.random.Generator, base: list[float], region: np.ndarray, regions: Regions
) -> np.ndarray:
    """Stage group per patient; a region's shift moves mass from early stages to stage IV."""
    shift = regions.advanced_shift[region]
    probs = np.tile(np.asarray(base, dtype=float), (len(region), 1))
    probs[:, 0] -= 0.6 * shift
    probs[:, 1] -= 0.4 * shift
    probs[:, 3] += shift
    return choose(rng, STAGES, np.clip(probs, 0.001, None))


def stage_details(
    rng: np.random.Generator, stage: np.ndarray, options: dict[str, dict[str, float]]
) -> np.ndarray:
    """Stage subgroup within each stage group."""
    detail = np.empty(len(stage), dtype=object)
    for group, mix in options.items():
        rows = stage == group
        detail[rows] = choose(rng, list(mix), np.array(list(mix.values())), rows.sum())
    return detail


def tnm(rng: np.random.Generator, detail: np.ndarray, table: dict[str, list[str]]) -> tuple:
    """Clinical T, N, M consistent with the stage subgroup (one of the listed combinations)."""
    t, n, m = (np.empty(len(detail), dtype=object) for _ in range(3))
    for sub, combos in table.items():
        rows = np.flatnonzero(detail == sub)
        picked = np.asarray([c.split() for c in combos], dtype=object)[
            rng.integers(0, len(combos), len(rows))
        ]
        t[rows], n[rows], m[rows] = picked[:, 0], picked[:, 1], picked[:, 2]
    return t, n, m


def smoking_and_comorbidity(
    rng: np.random.Generator, age: np.ndarray, sex: np.ndarray, smoking_mix: dict[str, float]
) -> dict[str, np.ndarray]:
    """What a GP records: smoking, Charlson index (cancer excluded), COPD, diabetes, CVD, BMI."""
    n = len(age)
    smoking = choose(rng, list(smoking_mix), np.array(list(smoking_mix.values())), n)
    current = smoking == "current"
    ever = current | (smoking == "former")
    copd = bernoulli(rng, np.where(current, 0.34, np.where(ever, 0.24, 0.05)), n)
    diabetes = bernoulli(rng, 0.08 + 0.003 * (age - 60), n)
    cvd = bernoulli(rng, expit(-2.6 + 0.05 * (age - 60) + 0.5 * ever + 0.3 * (sex == "M")), n)
    extra = rng.poisson(np.clip(0.25 + 0.02 * (age - 60), 0.05, None), n)
    charlson = np.minimum(copd + diabetes + cvd + extra, 12)
    bmi = np.round(np.clip(rng.normal(26.5 - 1.2 * current, 4.5, n), 14, 60), 1)
    contacts = rng.poisson(3 + 2.5 * charlson)
    return {
        "smoking": smoking,
        "charlson_index": charlson,
        "copd": copd,
        "diabetes": diabetes,
        "cardiovascular_disease": cvd,
        "bmi": bmi,
        "gp_contacts_last_year": contacts,
    }


def ecog(rng: np.random.Generator, frame: pd.DataFrame) -> np.ndarray:
    """ECOG 0-4 from an ordinal latent: worse with age, comorbidity and advanced stage."""
    stage = frame["stage"].to_numpy()
    latent = (
        0.03 * (frame["age_at_diagnosis"].to_numpy() - 68)
        + 0.3 * (frame["charlson_index"].to_numpy() - 1)
        + 0.55 * (stage == "IV")
        + 0.25 * (stage == "III")
        + rng.normal(0, 1, len(frame))
    )
    return np.digitize(latent, [-0.45, 0.95, 1.75, 2.85]).astype(np.int64)


def quality_of_life(rng: np.random.Generator, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """EORTC QLQ-C30 scales on their real grids (global health moves in steps of 100/12)."""
    n = len(frame)
    ecog_ = frame["ecog"].to_numpy()
    stage = frame["stage"].to_numpy()
    charlson = frame["charlson_index"].to_numpy()
    burden = 7.0 * ecog_ + 4.0 * (stage == "IV") + 2.0 * (stage == "III") + 1.5 * charlson
    return {
        "global_health": rounded_scale(74 - burden + rng.normal(0, 16, n), 12),
        "physical_functioning": rounded_scale(88 - 1.6 * burden + rng.normal(0, 14, n), 15),
        "emotional_functioning": rounded_scale(76 - 0.5 * burden + rng.normal(0, 18, n), 12),
        "fatigue": rounded_scale(24 + 1.5 * burden + rng.normal(0, 18, n), 9),
    }


def systemic_codes(chemo: np.ndarray, immuno: np.ndarray, targeted: np.ndarray) -> np.ndarray:
    """The oBDS therapy-type code implied by the three first-line flags (None when none)."""
    lookup = np.array([None, "ZS", "IM", "IZ", "CH", "CZ", "CI", "CIZ"], dtype=object)
    return lookup[4 * chemo + 2 * immuno + targeted]


def join_atc(*parts: np.ndarray) -> np.ndarray:
    """Per row, the non-empty ATC code groups joined by '+', or None."""
    joined = ["+".join(p for p in row if p) or None for row in zip(*parts, strict=True)]
    return np.asarray(joined, dtype=object)


# ----------------------------------------------------------------------------------------
# NSCLC


def nsclc_tumour(rng: np.random.Generator, frame: pd.DataFrame, regions: Regions) -> None:
    n = len(frame)
    never = frame["smoking"].to_numpy() == "never"
    morph_probs = np.where(never[:, None], [0.85, 0.05, 0.02, 0.08], [0.52, 0.27, 0.03, 0.18])
    frame["morphology"] = choose(rng, ["8140/3", "8070/3", "8012/3", "8046/3"], morph_probs)
    sites = {
        "C34.1": 0.55,
        "C34.3": 0.30,
        "C34.2": 0.05,
        "C34.0": 0.04,
        "C34.8": 0.03,
        "C34.9": 0.03,
    }
    frame["topography"] = choose(rng, list(sites), np.array(list(sites.values())), n)
    frame["icd10"] = frame["topography"]
    frame["stage_system"] = "UICC8"
    frame["stage"] = stage_by_region(
        rng, [0.22, 0.09, 0.21, 0.48], frame["region_index"].to_numpy(), regions
    )
    detail = stage_details(
        rng,
        frame["stage"].to_numpy(),
        {
            "I": {"IA1": 0.15, "IA2": 0.30, "IA3": 0.25, "IB": 0.30},
            "II": {"IIA": 0.35, "IIB": 0.65},
            "III": {"IIIA": 0.50, "IIIB": 0.35, "IIIC": 0.15},
            "IV": {"IVA": 0.40, "IVB": 0.60},
        },
    )
    frame["stage_detail"] = detail
    frame["ct"], frame["cn"], frame["cm"] = tnm(
        rng,
        detail,
        {
            "IA1": ["T1a N0 M0"],
            "IA2": ["T1b N0 M0"],
            "IA3": ["T1c N0 M0"],
            "IB": ["T2a N0 M0"],
            "IIA": ["T2b N0 M0"],
            "IIB": ["T3 N0 M0", "T2a N1 M0", "T1c N1 M0"],
            "IIIA": ["T2a N2 M0", "T3 N1 M0", "T4 N0 M0"],
            "IIIB": ["T3 N2 M0", "T1c N3 M0"],
            "IIIC": ["T4 N3 M0", "T3 N3 M0"],
            "IVA": ["T2a N2 M1a", "T3 N1 M1b", "T4 N2 M1a", "T1c N0 M1b"],
            "IVB": ["T2b N2 M1c", "T4 N3 M1c", "T3 N2 M1c"],
        },
    )
    morph = frame["morphology"].to_numpy()
    grade_probs = mixture_rows(
        [morph == "8140/3", morph == "8070/3", morph == "8012/3"],
        [
            [0.15, 0.45, 0.30, 0.0, 0.10],
            [0.05, 0.50, 0.35, 0.0, 0.10],
            [0.0, 0.0, 0.60, 0.30, 0.10],
        ],
        [0.0, 0.05, 0.15, 0.0, 0.80],
    )
    frame["grade"] = choose(rng, ["1", "2", "3", "4", "X"], grade_probs)


def nsclc_biomarkers(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    n = len(frame)
    stage = frame["stage"].to_numpy()
    squamous = frame["morphology"].to_numpy() == "8070/3"
    never = frame["smoking"].to_numpy() == "never"
    female = frame["sex"].to_numpy() == "F"
    advanced = np.isin(stage, ["III", "IV"])
    tested = bernoulli(rng, np.where(squamous, 0.15, np.where(advanced, 0.88, 0.4)), n) == 1
    p_egfr = np.where(squamous, 0.02, np.where(never, 0.40, 0.07)) * np.where(female, 1.3, 1.0)
    egfr_m = tested & (rng.random(n) < p_egfr)
    alk_m = tested & ~egfr_m & (rng.random(n) < np.where(never, 0.12, 0.025))
    frame["egfr"] = np.where(tested, np.where(egfr_m, "M", "W"), "N")
    frame["alk"] = np.where(tested, np.where(alk_m, "M", "W"), "N")
    frame["brca"] = "N"
    pdl1_tested = rng.random(n) < np.where(advanced, 0.9, 0.3)
    level = categorical(rng, np.array([0.33, 0.32, 0.35]), n)
    tps = np.select(
        [level == 0, level == 1], [0.0, rng.integers(1, 50, n)], rng.integers(50, 101, n)
    ).astype(float)
    frame["pdl1_tps"] = np.where(pdl1_tested, tps, np.nan)


def nsclc_treatment(rng: np.random.Generator, frame: pd.DataFrame, regions: Regions) -> None:
    """First-line treatment by stage, fitness, biomarkers and regional immunotherapy uptake."""
    n = len(frame)
    u = rng.random((n, 6))
    stage = frame["stage"].to_numpy()
    ecog_ = frame["ecog"].to_numpy()
    age = frame["age_at_diagnosis"].to_numpy()
    uptake = regions.immunotherapy_uptake[frame["region_index"].to_numpy()]
    early, s3, s4 = np.isin(stage, ["I", "II"]), stage == "III", stage == "IV"
    fit = (ecog_ <= 1) & (age < 80)

    surgery = u[:, 0] < np.where(early, np.where(fit, 0.85, 0.3), np.where(s3 & fit, 0.18, 0.0))
    radio = early & ~surgery & (u[:, 1] < 0.75)
    chemo = surgery & (stage == "II") & (u[:, 2] < 0.45)
    crt = s3 & ~surgery & (u[:, 1] < np.where(ecog_ <= 2, 0.65, 0.2))
    chemo |= crt
    radio |= crt | (s3 & ~crt & ~surgery & (u[:, 3] < 0.4))
    immuno = crt & (u[:, 2] < 0.72 * uptake)  # durvalumab consolidation

    driver = (frame["egfr"].to_numpy() == "M") | (frame["alk"].to_numpy() == "M")
    targeted = s4 & driver & (ecog_ <= 3) & (u[:, 1] < 0.9)
    able = s4 & ~targeted & (ecog_ <= 2)
    high = frame["pdl1_tps"].to_numpy() >= 50
    p_io = np.where(ecog_ <= 1, np.where(high, 0.8, 0.6), 0.35) * uptake
    gets_io = able & (u[:, 2] < p_io)
    immuno |= gets_io
    chemo |= gets_io & (u[:, 3] < np.where(high, 0.35, 0.85))
    chemo |= s4 & ~targeted & ~gets_io & (u[:, 3] < np.where(ecog_ <= 2, 0.55, 0.12))
    radio |= s4 & (u[:, 4] < 0.3)

    _set_treatment(frame, surgery, radio, chemo, immuno, targeted)
    adeno_like = frame["morphology"].to_numpy() != "8070/3"
    chemo_atc = np.where(
        crt, "L01XA01+L01CA04", np.where(adeno_like, "L01XA02+L01BA04", "L01XA02+L01CD01")
    )
    io_atc = np.where(
        s3,
        "L01FF03",
        choose(rng, ["L01FF02", "L01FF01", "L01FF05"], np.array([0.75, 0.1, 0.15]), n),
    )
    tt_atc = np.where(frame["egfr"].to_numpy() == "M", "L01EB04", "L01ED03")
    frame["systemic_atc"] = join_atc(
        np.where(chemo, chemo_atc, ""), np.where(immuno, io_atc, ""), np.where(targeted, tt_atc, "")
    )


def _set_treatment(frame: pd.DataFrame, surgery, radio, chemo, immuno, targeted) -> None:
    flags = {
        "surgery": surgery,
        "radiotherapy": radio,
        "chemotherapy": chemo,
        "immunotherapy": immuno,
        "targeted_therapy": targeted,
    }
    for name, values in flags.items():
        frame[name] = np.asarray(values).astype(np.int64)
    frame["systemic_type"] = systemic_codes(
        frame["chemotherapy"].to_numpy(),
        frame["immunotherapy"].to_numpy(),
        frame["targeted_therapy"].to_numpy(),
    )


# ----------------------------------------------------------------------------------------
# Ovarian cancer


def ovarian_tumour(rng: np.random.Generator, frame: pd.DataFrame, regions: Regions) -> None:
    n = len(frame)
    morph = {
        "8461/3": 0.62,
        "8441/3": 0.05,
        "8380/3": 0.10,
        "8310/3": 0.08,
        "8480/3": 0.05,
        "8140/3": 0.10,
    }
    morphology = choose(rng, list(morph), np.array(list(morph.values())), n)
    frame["morphology"] = morphology
    frame["topography"] = "C56.9"
    frame["icd10"] = "C56"
    frame["stage_system"] = "FIGO2014"
    hgsc = morphology == "8461/3"
    region = frame["region_index"].to_numpy()
    stage = stage_by_region(rng, [0.19, 0.06, 0.58, 0.17], region, regions)
    # High-grade serous presents late, other histologies early: re-draw accordingly.
    other = ~hgsc & np.isin(stage, ["III", "IV"]) & (rng.random(n) < 0.3)
    stage[other] = choose(rng, ["I", "II"], np.array([0.78, 0.22]), other.sum())
    frame["stage"] = stage
    detail = stage_details(
        rng,
        stage,
        {
            "I": {"IA": 0.35, "IB": 0.05, "IC1": 0.25, "IC2": 0.15, "IC3": 0.20},
            "II": {"IIA": 0.35, "IIB": 0.65},
            "III": {"IIIA1": 0.05, "IIIA2": 0.05, "IIIB": 0.15, "IIIC": 0.75},
            "IV": {"IVA": 0.35, "IVB": 0.65},
        },
    )
    frame["stage_detail"] = detail
    frame["ct"], frame["cn"], frame["cm"] = tnm(
        rng,
        detail,
        {
            "IA": ["T1a N0 M0"],
            "IB": ["T1b N0 M0"],
            "IC1": ["T1c1 N0 M0"],
            "IC2": ["T1c2 N0 M0"],
            "IC3": ["T1c3 N0 M0"],
            "IIA": ["T2a N0 M0"],
            "IIB": ["T2b N0 M0"],
            "IIIA1": ["T2 N1 M0", "T1 N1 M0"],
            "IIIA2": ["T3a N0 M0", "T3a N1 M0"],
            "IIIB": ["T3b N0 M0", "T3b N1 M0"],
            "IIIC": ["T3c N0 M0", "T3c N1 M0"],
            "IVA": ["T3c N1 M1a", "T3b N0 M1a"],
            "IVB": ["T3c N1 M1b", "T3c N0 M1b"],
        },
    )
    grade_probs = mixture_rows(
        [hgsc, morphology == "8441/3", morphology == "8310/3"],
        [[0, 0, 0, 0, 1.0, 0], [0, 0, 0, 1.0, 0, 0], [0, 0, 1.0, 0, 0, 0]],
        [0.3, 0.35, 0.3, 0, 0, 0.05],
    )
    frame["grade"] = choose(rng, ["1", "2", "3", "L", "H", "X"], grade_probs)


def ovarian_biomarkers(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    n = len(frame)
    hgsc = frame["morphology"].to_numpy() == "8461/3"
    advanced = np.isin(frame["stage"].to_numpy(), ["III", "IV"])
    tested = rng.random(n) < np.where(hgsc & advanced, 0.9, 0.4)
    mutated = rng.random(n) < np.where(hgsc, 0.20, 0.05)
    frame["brca"] = np.where(tested, np.where(mutated, "M", "W"), "N")
    frame["egfr"] = "N"
    frame["alk"] = "N"
    frame["pdl1_tps"] = np.nan


def ovarian_treatment(rng: np.random.Generator, frame: pd.DataFrame, regions: Regions) -> None:
    """Debulking surgery, carboplatin-paclitaxel, PARP-inhibitor maintenance (BRCA-driven)."""
    n = len(frame)
    u = rng.random((n, 4))
    stage = frame["stage"].to_numpy()
    detail = frame["stage_detail"].to_numpy()
    fit = frame["ecog"].to_numpy() <= 2
    p_surgery = np.select([np.isin(stage, ["I", "II"]), stage == "III"], [0.95, 0.8], 0.55)
    surgery = u[:, 0] < p_surgery * np.where(fit, 1.0, 0.25)
    low_risk = np.isin(detail, ["IA", "IB"]) & np.isin(frame["grade"].to_numpy(), ["1", "L"])
    p_chemo = np.where(low_risk, 0.1, np.where(stage == "I", 0.6, 0.9))
    chemo = u[:, 1] < p_chemo * np.where(fit, 1.0, 0.45)
    brca = frame["brca"].to_numpy()
    p_parp = np.select([brca == "M", brca == "W"], [0.8, 0.3], 0.1)
    targeted = chemo & np.isin(stage, ["III", "IV"]) & (u[:, 2] < p_parp)
    radio = u[:, 3] < 0.01
    immuno = np.zeros(n, dtype=bool)
    _set_treatment(frame, surgery, radio, chemo, immuno, targeted)
    frame["systemic_atc"] = join_atc(
        np.where(chemo, "L01XA02+L01CD01", ""),
        np.where(targeted, np.where(brca == "M", "L01XK01", "L01XK02"), ""),
    )
