"""The public grid of a query over registries, and what every registry reads off its rows
alike: columns (with `<date>_year`), `--where` selections, levels, cell counts, time bins.

The cells must not depend on the data where noise protects them (a level that exists at one
registry only would give a person away), so levels come from the schema's code lists, from
`--levels`, or, without noise only, from the registries' own values; likewise the time
grid's horizon.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tessera.analyses.where import Filter
from tessera.privacy.noise import Noise
from tessera.schema.tables import TABLES

YEAR_SUFFIX = "_year"  # `diagnosis_year`: the year of `diagnosis_date`


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column, or the year of a date column for `<stem>_year` (`diagnosis_year`)."""
    if name in frame.columns:
        return frame[name]
    stem = name.removesuffix(YEAR_SUFFIX)
    for source in (f"{stem}_date", stem):
        if name.endswith(YEAR_SUFFIX) and source in frame.columns:
            dates = pd.to_datetime(frame[source], errors="coerce")
            return dates.dt.year.astype("Int64")
    raise ValueError(f"no column {name!r}; the registries hold {', '.join(frame.columns)}")


def selected(frame: pd.DataFrame, where: str | None) -> pd.DataFrame:
    """The rows a `--where` filter keeps, evaluated by the registry on its own rows."""
    if not where:
        return frame
    condition = Filter.parse(where)
    table = {
        f"where:{i}": c.on_frame(_with_years(frame, c.columns))[:, None]
        for i, c in enumerate(condition.comparisons)
    }
    return frame[np.asarray(condition.evaluate(table)) > 0.5]


def _with_years(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    missing = [n for n in names if n not in frame.columns]
    return frame.assign(**{n: column(frame, n) for n in missing}) if missing else frame


def public_levels(name: str) -> list[str] | None:
    """A column's levels from the schema's code lists, if it has one."""
    for table in TABLES.values():
        if name in table.column_names and table[name].codes is not None:
            return list(table[name].codes)
    return None


def parse_levels(specs: Sequence[str]) -> dict[str, list[str]]:
    """`--levels COLUMN=A,B,C` or `COLUMN=LOW..HIGH` (integers, both included)."""
    levels: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        low, dots, high = text.partition("..")
        if not sep or not name or not text:
            raise ValueError(f"--levels {spec!r}: write COLUMN=A,B,C or COLUMN=LOW..HIGH")
        if dots:
            try:
                levels[name] = [str(v) for v in range(int(low), int(high) + 1)]
            except ValueError:
                raise ValueError(f"--levels {spec!r}: LOW..HIGH takes integers") from None
        else:
            levels[name] = [v.strip() for v in text.split(",") if v.strip()]
    return levels


def domain(
    by: Sequence[str],
    frames: Mapping[str, pd.DataFrame],
    given: Mapping[str, list[str]],
    noise: Noise,
) -> dict[str, list[str]]:
    """The levels of each `--by` column: given, from the schema, or (without noise only)
    the union of the registries' values, which is data and is refused with noise."""
    out = {}
    for name in by:
        levels = given.get(name) or public_levels(name)
        if levels is None:
            if not math.isinf(noise.epsilon):
                raise ValueError(
                    f"{name!r} has no public list of levels, and with noise the cells must not "
                    f"depend on the data: give them, e.g. --levels {name}=2015..2024"
                )
            seen = {str(v) for f in frames.values() for v in column(f, name).dropna().unique()}
            levels = sorted(seen, key=_natural)
        out[name] = levels
    return out


def _natural(text: str) -> tuple:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def count_cells(
    frame: pd.DataFrame, levels: Mapping[str, list[str]], weight: str | None = None
) -> np.ndarray:
    """One registry's counts per cell of the `levels` grid (rows outside it not counted),
    or the sums of the integer column `weight`."""
    shape = tuple(len(v) for v in levels.values())
    codes = []
    for name, values in levels.items():
        series = column(frame, name).astype("string")
        codes.append(pd.Categorical(series, categories=values).codes)
    if not codes:
        return np.array(len(frame), dtype=np.int64)
    stacked = np.vstack(codes)
    inside = (stacked >= 0).all(axis=0)
    flat = np.ravel_multi_index(stacked[:, inside], shape)
    weights = None if weight is None else frame[weight].to_numpy(float)[inside]
    sums = np.bincount(flat, weights, minlength=math.prod(shape))
    return np.rint(sums).reshape(shape).astype(np.int64)


def numeric_rows(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Rows with every named column present, those columns as floats."""
    values = pd.DataFrame({n: pd.to_numeric(column(frame, n), errors="coerce") for n in names})
    bad = [n for n in names if (values[n].isna() & column(frame, n).notna()).any()]
    if bad:
        raise ValueError(f"{', '.join(bad)}: not numeric; a model takes numeric columns")
    return values.dropna().astype(float)


@dataclass(frozen=True)
class TimeGrid:
    """Public time bins: an event or censoring at time t counts at the grid point
    ceil(t / step) * step; follow-up beyond `horizon` is censored there."""

    step: float
    horizon: float

    def __post_init__(self):
        if not (self.step > 0 and self.horizon > 0):
            raise ValueError("--time-step and --horizon must be positive")

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.bins) * self.step

    @property
    def bins(self) -> int:
        return math.ceil(self.horizon / self.step - 1e-9) + 1

    def place(self, time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's bin and whether it is an event there (not past the horizon)."""
        if (time < 0).any():
            raise ValueError("follow-up times must not be negative")
        late = time > self.horizon + 1e-9
        bins = np.minimum(np.ceil(time / self.step - 1e-9), self.bins - 1).astype(np.int64)
        return bins, (event > 0.5) & ~late

    def reference(self, time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Times and events as the grid sees them: what a pooled reference fit must use."""
        bins, events = self.place(np.asarray(time, float), np.asarray(event, float))
        return bins * self.step, events.astype(int)


def time_grid(frames, time: str, step: float, horizon: float | None, noise: Noise) -> TimeGrid:
    """The grid: `horizon` given, or (without noise only) the longest follow-up seen."""
    if horizon is None:
        if not math.isinf(noise.epsilon):
            raise ValueError("with noise the time bins must not depend on the data: give --horizon")
        longest = [pd.to_numeric(column(f, time), errors="coerce").max() for f in frames.values()]
        horizon = float(np.nanmax([v for v in longest if pd.notna(v)] or [step]))
    return TimeGrid(step, max(horizon, step))


def parse_edges(text: str) -> list[float]:
    """`--bins LOW..HIGH/WIDTH` (equal widths) or `--bins A,B,C,...` (the edges)."""
    span, slash, width = text.partition("/")
    low, dots, high = span.partition("..")
    try:
        if dots and slash:
            count = round((float(high) - float(low)) / float(width))
            edges = list(np.linspace(float(low), float(high), count + 1))
        else:
            edges = [float(v) for v in text.split(",") if v.strip()]
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"--bins {text!r}: write LOW..HIGH/WIDTH or A,B,C") from None
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"--bins {text!r}: give at least two increasing edges")
    return edges
