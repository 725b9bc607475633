"""A readable summary of a generated cohort: who is where, and survival by stage.

This reads the files `tessera synth` wrote, in the clear: it is a developer's check of the
synthetic data (the truth file included), never something a station would run on real data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tessera.analyses.kaplan_meier import kaplan_meier, median_survival, survival_at

STAGES = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class CohortSummary:
    cancer: str
    counts: dict[str, int]
    by_stage: pd.DataFrame  # stage, patients, share, survival_1y, survival_5y, median_months
    stage_iv_treatment: dict[str, float]  # share of stage IV patients per first-line therapy

    def to_dict(self) -> dict:
        return {
            "cancer": self.cancer,
            "counts": self.counts,
            "by_stage": self.by_stage.to_dict(orient="records"),
            "stage_iv_treatment": self.stage_iv_treatment,
        }

    def __str__(self) -> str:
        c = self.counts
        lines = [
            f"Synthetic {self.cancer.upper()} cohort: {c['registry']:,} registry patients",
            f"  GP network   {c['gp']:>9,} records; {c['registry_in_gp']:,} of the registry's "
            f"patients ({c['registry_in_gp'] / c['registry']:.0%}) and "
            f"{c['gp_without_cancer']:,} people without cancer",
            f"  QoL survey   {c['survey']:>9,} respondents "
            f"({c['registry_in_survey'] / c['registry']:.0%} of the registry); "
            f"{c['registry_in_gp_and_survey']:,} in all three sources",
            "",
            "  stage   patients   share   1-year   5-year   median (months)",
        ]
        for row in self.by_stage.itertuples():
            lines.append(
                f"  {row.stage:<6}{row.patients:>10,}{row.share:>8.0%}{row.survival_1y:>9.0%}"
                f"{row.survival_5y:>9.0%}{row.median_months:>12.1f}"
            )
        treatment = ", ".join(f"{k} {v:.0%}" for k, v in self.stage_iv_treatment.items() if v)
        lines += ["", f"  stage IV first line: {treatment}"]
        return "\n".join(lines)

    def plot(self, directory: str | Path, ax=None):
        """Kaplan-Meier curves by stage from the registry file in `directory`."""
        import matplotlib.pyplot as plt

        registry = pd.read_parquet(Path(directory) / "registry.parquet")
        ax = ax or plt.subplots(figsize=(7, 4.5))[1]
        for stage in STAGES:
            rows = registry[registry["stage"] == stage]
            table = kaplan_meier(rows["survival_months"], rows["vital_status"])
            ax.step(table["time"], table["survival"], where="post", label=f"stage {stage}")
        ax.set(xlabel="months since diagnosis", ylabel="survival", ylim=(0, 1.02), xlim=(0, 120))
        ax.set_title(f"Synthetic {self.cancer.upper()} cohort: survival by stage")
        ax.legend()
        return ax


def summarise(directory: str | Path) -> CohortSummary:
    """Summarise the cohort that `tessera synth` wrote into `directory`."""
    directory = Path(directory)
    truth_path, registry_path = directory / "truth.json", directory / "registry.parquet"
    for path in (truth_path, registry_path):
        if not path.exists():
            raise FileNotFoundError(f"no {path.name} in {directory}: run `tessera synth` first")
    truth = json.loads(truth_path.read_text())
    registry = pd.read_parquet(registry_path)
    rows = []
    for stage in STAGES:
        group = registry[registry["stage"] == stage]
        table = kaplan_meier(group["survival_months"], group["vital_status"])
        rows.append(
            {
                "stage": stage,
                "patients": len(group),
                "share": len(group) / len(registry),
                "survival_1y": survival_at(table, 12),
                "survival_5y": survival_at(table, 60),
                "median_months": median_survival(table),
            }
        )
    stage_iv = registry[registry["stage"] == "IV"]
    therapy = stage_iv["systemic_type"].fillna("none").map(_THERAPY_GROUP).fillna("other")
    shares = therapy.value_counts(normalize=True)
    return CohortSummary(
        cancer=truth["cancer"],
        counts=truth["counts"],
        by_stage=pd.DataFrame(rows),
        stage_iv_treatment={k: float(shares.get(k, 0.0)) for k in _THERAPY_ORDER},
    )


_THERAPY_GROUP = {
    "CH": "chemotherapy only",
    "IM": "immunotherapy",
    "CI": "immunotherapy",
    "CIZ": "immunotherapy",
    "IZ": "immunotherapy",
    "ZS": "targeted",
    "CZ": "targeted",
    "none": "none",
}
_THERAPY_ORDER = ("immunotherapy", "targeted", "chemotherapy only", "none", "other")
