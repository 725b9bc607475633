"""The catalogue of vertical analyses a station may run: what each needs from the joined
table, the MPC statistic, and the result object its recipient builds from the outputs.

The same entry serves `tessera local` (one user's processes) and the federation (stations
run the statistic; the researcher's SDK builds the result), so both give the same answer.
Options are plain JSON values, because in the federation they travel sealed to stations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from tessera.analyses import cox, crosstab, logistic, survival
from tessera.analyses.results import CrossTableResult, KaplanMeierResult, RegressionResult

Options = Mapping[str, object]


@dataclass(frozen=True)
class Analysis:
    """`columns(options)`: the plan's numeric, categorical and order_by columns;
    `arguments(options)`: the statistic's keyword arguments; `result(outputs, labels,
    options)`: the result object."""

    name: str
    statistic: Callable[..., object]
    columns: Callable[[Options], dict]
    arguments: Callable[[Options], dict]
    result: Callable[[list[np.ndarray], dict, Options], object]
    accuracy: str = "fast"


def _crosstab_result(outputs, labels, options) -> CrossTableResult:
    rows, cols = str(options["rows"]), str(options["cols"])
    return CrossTableResult(rows, cols, crosstab.records(outputs[0], labels[rows], labels[cols]))


def _km_result(outputs, labels, options) -> KaplanMeierResult:
    by = options.get("by")
    curves = survival.from_counts(*outputs, labels[by] if by else ["all"])
    if not any(len(c) for c in curves.values()):
        raise ValueError("no patient is in every party's data: nothing to estimate")
    test = survival.logrank(outputs[0], outputs[2], outputs[3]) if by else None
    return KaplanMeierResult(curves, test)


def _logistic_result(outputs, labels, options) -> RegressionResult:
    record = logistic.records(*outputs, tuple(options["features"]))
    return RegressionResult.from_records(record, hazard=False)


def _cox_result(outputs, labels, options) -> RegressionResult:
    record = cox.records(*outputs, tuple(options["covariates"]))
    if record["events"] == 0:
        raise ValueError("no events among the joined patients: a Cox model needs events")
    return RegressionResult.from_records(record, hazard=True)


def _ties(options: Options) -> str:
    ties = str(options.get("ties", "efron"))
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties {ties!r}: use efron or breslow")
    return ties


CATALOGUE: dict[str, Analysis] = {
    analysis.name: analysis
    for analysis in (
        Analysis(
            "crosstab",
            crosstab.statistic,
            lambda o: {"categorical": (o["rows"], o["cols"])},
            lambda o: {
                "rows": o["rows"],
                "cols": o["cols"],
                "min_cell": int(o.get("min_cell", 10)),
            },
            _crosstab_result,
        ),
        Analysis(
            "kaplan-meier",
            survival.statistic,
            lambda o: {
                "numeric": (o["time"], o["event"]),
                "order_by": o["time"],
                "categorical": (o["by"],) if o.get("by") else (),
            },
            lambda o: {"time": o["time"], "event": o["event"], "group": o.get("by")},
            _km_result,
        ),
        Analysis(
            "logistic",
            logistic.statistic,
            lambda o: {"numeric": (o["target"], *o["features"])},
            lambda o: {
                "target": o["target"],
                "features": tuple(o["features"]),
                "iterations": int(o.get("iterations", 8)),
                "l2": float(o.get("l2", 0.0)),
            },
            _logistic_result,
        ),
        Analysis(
            "cox",
            cox.statistic,
            lambda o: {"numeric": (o["time"], o["event"], *o["covariates"]), "order_by": o["time"]},
            lambda o: {
                "time": o["time"],
                "event": o["event"],
                "covariates": tuple(o["covariates"]),
                "ties": _ties(o),
                "iterations": int(o.get("iterations", 8)),
            },
            _cox_result,
            accuracy="precise",
        ),
    )
}


def analysis(name: str) -> Analysis:
    if name not in CATALOGUE:
        raise ValueError(f"unknown analysis {name!r}: choose from {', '.join(CATALOGUE)}")
    return CATALOGUE[name]
