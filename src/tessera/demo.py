"""`tessera demo`: a whole federation on one machine, each party its own process.

A hub and four stations (`tessera.testing.processes`) start with a synthetic NSCLC cohort
split between them, a researcher proposes a study, every organisation's data steward
approves it, and the researcher runs Kaplan-Meier by stage with the log-rank test, a
cross-table and a Cox model whose covariates sit at the registry and the GP network.
Results print and go into an HTML report with plots; then everything stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tessera.testing.processes import RESEARCHER, STEWARDS, federation


def run_demo(
    workdir: Path, patients: int = 5000, seed: int = 7, say: Callable[[str], None] = print
) -> dict[str, object]:
    """The whole demo; returns the results by heading (also written to DIR/report.html)."""
    from tessera.web.report import save_report

    workdir = Path(workdir)
    with federation(workdir, patients, seed, say) as (_, clients):
        researcher = clients[RESEARCHER]
        study = researcher.propose(
            "Survival of NSCLC by stage, smoking and comorbidity",
            "DUO:0000007",
            {"registry": ["registry"], "gp": ["gp"], "survey": ["survey"], "helper": []},
            analyses=["kaplan-meier", "crosstab", "cox"],
        )
        say(f"proposed study {study}")
        for steward in STEWARDS:
            clients[steward].approve(study, "fits our data-use agreement")
        say("every organisation's data steward approved it")
        jobs = {
            "Kaplan-Meier by stage (registry × GP network)": dict(
                name="kaplan-meier",
                datasets={"registry": "registry", "gp": "gp"},
                helper="helper",
                time="survival_months",
                event="vital_status",
                by="stage",
            ),
            "Stage by smoking among survey respondents (registry × GP × survey)": dict(
                name="crosstab",
                datasets={"registry": "registry", "gp": "gp", "survey": "survey"},
                rows="stage",
                cols="smoking",
                min_cell=10,
            ),
            "Cox model: age and ECOG status (registry), COPD and Charlson index (GP)": dict(
                name="cox",
                datasets={"registry": "registry", "gp": "gp"},
                helper="helper",
                time="survival_months",
                event="vital_status",
                covariates=["age_at_diagnosis", "ecog", "copd", "charlson_index"],
            ),
        }
        results = {}
        for heading, job in jobs.items():
            started = time.monotonic()
            results[heading] = researcher.run(study, join="pseudonym", **job)
            say(f"\n{heading}  [{time.monotonic() - started:.1f} s]")
            say(str(results[heading]))
        report = save_report(
            workdir / "report.html",
            "Tessera demo: NSCLC survival across a registry, a GP network and a survey",
            list(results.items()),
            note=f"Study {study}; computed by MPC among the stations; only the researcher "
            "could open these results.",
        )
        say(f"\nreport: {report}")
    return results
