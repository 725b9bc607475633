"""Re-derive the Weibull shape, scale and stage effects of a synthetic cohort.

The survival constants in `tessera.synth.cohort` make the *marginal* stage-specific survival
of the whole mixture (every other covariate included) meet registry targets. Run this after
changing anything that moves the covariate mix (treatment rates, stage mix, effects):

    .venv/bin/python scripts/calibrate_survival.py nsclc
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.optimize import least_squares

from tessera.synth import clinical, cohort
from tessera.synth.models import design_matrix

# (group, months, target survival) — sources in docs/synthetic-data.md
TARGETS = {
    "nsclc": [
        ("I", 60, 0.65),
        ("II", 60, 0.53),
        ("III", 60, 0.30),
        ("IV chemo", 7.5, 0.5),
        ("IV chemo", 60, 0.04),
    ],
    "ovarian": [
        ("I", 60, 0.87),
        ("II", 60, 0.69),
        ("III", 60, 0.34),
        ("IV", 60, 0.16),
        ("IV", 24, 0.40),
    ],
}


def calibrate(cancer: str, patients: int = 200_000, seed: int = 1) -> None:
    spec = cohort.CANCERS[cancer]
    rng = np.random.default_rng(seed)
    frame = cohort._patients(rng, spec, patients, clinical.Regions.draw(rng, 4))
    model = spec.survival
    others = [n for n in model.coefficients if not n.startswith("stage[")]
    x = design_matrix(frame, others).to_numpy() - [model.centre.get(n, 0.0) for n in others]
    lp_others = x @ np.array([model.coefficients[n] for n in others])
    stage = frame["stage"].to_numpy()
    groups = {s: stage == s for s in ("I", "II", "III", "IV")}
    groups["IV chemo"] = groups["IV"] & (frame["systemic_type"].to_numpy() == "CH")

    def survival(p: np.ndarray, group: str, months: float) -> float:
        log_scale, shape, b2, b3, b4 = p
        lp = lp_others + b2 * groups["II"] + b3 * groups["III"] + b4 * groups["IV"]
        rows = groups[group]
        return float(np.mean(np.exp(-((months / np.exp(log_scale)) ** shape) * np.exp(lp[rows]))))

    start = [
        np.log(model.scale_months),
        model.shape,
        *(model.coefficients[f"stage[{s}]"] for s in ("II", "III", "IV")),
    ]
    fit = least_squares(
        lambda p: [survival(p, g, t) - s for g, t, s in TARGETS[cancer]],
        start,
        bounds=([0, 0.4, 0, 0, 0], [8, 2, 4, 5, 6]),
    )
    log_scale, shape, *stage_effects = fit.x
    print(
        f"{cancer}: scale_months={np.exp(log_scale):.1f} shape={shape:.3f} "
        f"stage[II..IV]={np.round(stage_effects, 3).tolist()}"
    )
    for group, months, target in TARGETS[cancer]:
        print(
            f"  S({months:g} months | {group}) = {survival(fit.x, group, months):.3f} "
            f"(target {target})"
        )


if __name__ == "__main__":
    for name in sys.argv[1:] or list(cohort.CANCERS):
        calibrate(name)
