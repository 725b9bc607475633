"""The one list of analyses: what each is called, in which modes it runs, its defaults, its
disclosure rule, whether its releases may be published, and what result it gives.

Governance (what a study may name), station policy (what a station allows, which cell size
binds), the SDK, the command line and the pages all read this list, so they cannot disagree.
It is light on purpose: the hub imports it, and must not load the MPC engine or SciPy. The
implementation of each mode lives in the analysis's own module, loaded when it runs:

- `JOINT` (a `tessera.analyses.specs.Joint`): the MPC statistic over vertically split data;
- `POOLED` (a `specs.Pooled` aggregate, or a `tessera.analyses.fits.Fit` model fitted in
  rounds): the registries' sums under threshold encryption.

Adding an analysis is a module with those attributes and one entry below
(docs/architecture.md shows it).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tessera.errors import InputError

MODES = ("joint", "pooled")
DEFAULT_MIN_CELL = 10  # the smallest count released when a task does not say


@dataclass(frozen=True)
class Analysis:
    """One analysis of the catalogue. `joint`/`pooled`: the mode's option defaults (None:
    the analysis does not run in that mode); `small_cells`: the option holding the smallest
    count it releases (stations hold it to their own minimum); `publishes`: the kind of
    public statistic its releases become (None: not publishable); `result`: the name of
    its result class in `tessera.analyses.results`."""

    name: str
    summary: str
    module: str
    result: str
    joint: Mapping[str, object] | None = None
    pooled: Mapping[str, object] | None = None
    small_cells: str | None = None
    publishes: str | None = None
    accuracy: str = "fast"  # the fixed-point setting of its MPC session, unless a task says
    _modes: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(m for m in MODES if getattr(self, m) is not None)

    def defaults(self, mode: str) -> dict:
        self._check(mode)
        return dict(getattr(self, mode))

    def options(self, mode: str, given: Mapping[str, object]) -> dict:
        """`given` over the mode's defaults, and the smallest released count made explicit,
        so that a task's sealed parameters (which the ledger hashes) say what binds."""
        options = {**self.defaults(mode), **{k: v for k, v in given.items() if v is not None}}
        if self.small_cells is not None:
            options[self.small_cells] = int(options.get(self.small_cells, DEFAULT_MIN_CELL))
        return options

    def implementation(self, mode: str):
        """The mode's implementation (`JOINT` or `POOLED` of the analysis's module)."""
        self._check(mode)
        if mode not in self._modes:
            self._modes[mode] = getattr(importlib.import_module(self.module), mode.upper())
        return self._modes[mode]

    def _check(self, mode: str) -> None:
        if mode not in self.modes:
            hint = "data split by columns (MPC)" if mode == "joint" else "registries (pooled)"
            raise InputError(f"{self.name} does not run over {hint}; it runs {self.modes}")


_CATALOGUE: dict[str, Analysis] = {
    a.name: a
    for a in (
        Analysis(
            "crosstab",
            "patients by two categorical columns, small cells withheld",
            "tessera.analyses.crosstab",
            "CrossTableResult",
            joint={"min_cell": DEFAULT_MIN_CELL},
            small_cells="min_cell",
            publishes="crosstab",
        ),
        Analysis(
            "describe",
            "count, mean, standard deviation and quartiles of numeric columns",
            "tessera.analyses.describe",
            "DescriptionResult",
            joint={"min_count": DEFAULT_MIN_CELL},
            small_cells="min_count",
        ),
        Analysis(
            "histogram",
            "counts of a numeric column in public bins",
            "tessera.analyses.histogram",
            "HistogramResult",
            joint={"min_cell": DEFAULT_MIN_CELL},
            pooled={"min_cell": DEFAULT_MIN_CELL, "quantiles": []},
            small_cells="min_cell",
        ),
        Analysis(
            "kaplan-meier",
            "survival curves by group with the log-rank test",
            "tessera.analyses.survival",
            "KaplanMeierResult",
            joint={},
            pooled={"step": 1.0},
            publishes="kaplan-meier",
        ),
        Analysis(
            "logistic",
            "logistic regression with standard errors",
            "tessera.analyses.logistic",
            "RegressionResult",
            joint={"iterations": 8, "l2": 0.0},
            pooled={"l2": 0.0},
        ),
        Analysis(
            "cox",
            "Cox proportional hazards with standard errors",
            "tessera.analyses.cox",
            "RegressionResult",
            joint={"ties": "efron", "iterations": 8},
            pooled={"step": 1.0},
            accuracy="precise",
        ),
        Analysis(
            "counts",
            "patients per cell of one or more columns, small cells withheld",
            "tessera.analyses.counts",
            "CountResult",
            pooled={"min_cell": DEFAULT_MIN_CELL},
            small_cells="min_cell",
            publishes="counts",
        ),
        Analysis(
            "mean",
            "sums and means of a clipped numeric column per cell",
            "tessera.analyses.mean",
            "MeanResult",
            pooled={"resolution": 0.25},
        ),
    )
}
# read-only for everyone; the catalogue above is the one place an analysis is added
ANALYSES: Mapping[str, Analysis] = MappingProxyType(_CATALOGUE)


def analysis(name: str) -> Analysis:
    """The analysis called `name`, or an error listing the ones there are."""
    if name not in ANALYSES:
        raise InputError(f"unknown analysis {name!r}: choose from {', '.join(ANALYSES)}")
    return ANALYSES[name]


def names(mode: str | None = None) -> tuple[str, ...]:
    """The analyses' names, in catalogue order; with `mode`, those that run in it."""
    return tuple(n for n, a in ANALYSES.items() if mode is None or mode in a.modes)
