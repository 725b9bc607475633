"""The true outcome models of a synthetic cohort, and the design matrix they are defined on.

A coefficient name is either a numeric column (`age_at_diagnosis`) or a dummy `column[level]`
against a stated reference level. The same `design_matrix` generates the outcomes and builds
the inputs of the reference fits in the tests, so truth and estimate cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

_DUMMY = re.compile(r"^(?P<column>[^\[\]]+)\[(?P<level>[^\[\]]+)\]$")


def design_matrix(frame: pd.DataFrame, names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """One float column per coefficient name: the numeric column, or a 0/1 dummy.

    Rows where a needed value is missing stay missing (NaN), so a complete-case fit drops them
    instead of reading them as the reference level.
    """
    columns = {}
    for name in names:
        match = _DUMMY.match(name)
        if match:
            source = frame[match["column"]]
            dummy = (source.astype("string") == match["level"]).astype("float64")
            columns[name] = dummy.where(source.notna())
        else:
            columns[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
    return pd.DataFrame(columns, index=frame.index)


def source_columns(names: list[str] | tuple[str, ...]) -> list[str]:
    """The data columns that a list of coefficient names refers to, in order, once each."""
    seen: dict[str, None] = {}
    for name in names:
        match = _DUMMY.match(name)
        seen[match["column"] if match else name] = None
    return list(seen)


@dataclass(frozen=True)
class SurvivalModel:
    """Weibull proportional hazards: S(t | x) = exp(-(t / scale)^shape * exp((x - x0)·beta))."""

    shape: float
    scale_months: float
    coefficients: dict[str, float]
    reference_levels: dict[str, str] = field(default_factory=dict)
    centre: dict[str, float] = field(default_factory=dict)  # x0: the covariates of scale_months

    def linear_predictor(self, frame: pd.DataFrame) -> np.ndarray:
        names = list(self.coefficients)
        x = design_matrix(frame, names).to_numpy()
        x0 = np.array([self.centre.get(n, 0.0) for n in names])
        return (x - x0) @ np.array([self.coefficients[n] for n in names])

    def sample_months(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Event times by inversion: T = scale * (E * exp(-lp))^(1/shape), E ~ Exp(1)."""
        lp = self.linear_predictor(frame)
        return self.scale_months * (rng.exponential(size=len(frame)) * np.exp(-lp)) ** (
            1.0 / self.shape
        )

    def to_truth(self, time: str, event: str, sources: dict[str, str]) -> dict:
        return {
            "time": time,
            "event": event,
            "distribution": "weibull",
            **asdict(self),
            "sources": sources,
        }


@dataclass(frozen=True)
class LogisticModel:
    """P(target = 1 | x) = 1 / (1 + exp(-(const + x·beta)))."""

    target: str
    coefficients: dict[str, float]  # includes "const"
    reference_levels: dict[str, str] = field(default_factory=dict)

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        names = [n for n in self.coefficients if n != "const"]
        x = design_matrix(frame, names).to_numpy()
        eta = self.coefficients.get("const", 0.0) + x @ np.array(
            [self.coefficients[n] for n in names]
        )
        return 1.0 / (1.0 + np.exp(-eta))

    def to_truth(self, sources: dict[str, str]) -> dict:
        return {**asdict(self), "sources": sources}
