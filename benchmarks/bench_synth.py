"""Cohort generation speed: 1,000,000 patients must take under 2 minutes on 2 cores."""

from __future__ import annotations

import tempfile
import time

from tessera.synth import generate

SIZES = (10_000, 100_000, 1_000_000)
BUDGET_SECONDS = 120.0


def run() -> list[dict]:
    rows = []
    for patients in SIZES:
        started = time.perf_counter()
        cohort = generate("nsclc", patients, seed=1, pseudonyms=True)
        generated = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            cohort.write(out)
            written = time.perf_counter() - started
        rows.append(
            {
                "patients": f"{patients:,}",
                "gp rows": f"{len(cohort.gp):,}",
                "survey rows": f"{len(cohort.survey):,}",
                "generate (s)": round(generated, 1),
                "write (s)": round(written, 1),
                "total (s)": round(generated + written, 1),
                "share of 2-minute budget": f"{(generated + written) / BUDGET_SECONDS:.0%}",
            }
        )
    return rows
