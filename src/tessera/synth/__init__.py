"""Synthetic NSCLC and ovarian cohorts with known truth, split over registry, GP and survey."""

from tessera.synth.cohort import CANCERS, Cohort, generate
from tessera.synth.summary import CohortSummary, summarise

__all__ = ["CANCERS", "Cohort", "CohortSummary", "generate", "summarise"]
