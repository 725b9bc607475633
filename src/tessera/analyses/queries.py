"""Registry-spanning queries: what each registry computes on its own rows, and what the
researcher makes of the sums (`tessera.analyses.horizontal` adds them up under encryption).

Every registry holds the same schema, so a query is the same local computation at each:
counts per cell of `--by` columns among the rows `--where` selects, events and departures
per time bin for Kaplan-Meier (models, fitted in rounds, are `tessera.analyses.fits`).
The cells must not depend on the data where noise protects them (a level that exists at one
registry only would give a person away), so levels come from the schema's code lists, from
`--levels`, or, without noise only, from the registries' own values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tessera.analyses.horizontal import Aggregation, Noise, Registry, Released
from tessera.analyses.where import Filter
from tessera.schema.tables import TABLES

Options = Mapping[str, object]
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


@dataclass(frozen=True)
class CountResult:
    """Counts by the `by` columns across registries: `cells` rows are [level, ..., n] with
    n None where suppressed; `epsilon` is the privacy loss of the release (None: no noise)."""

    by: tuple[str, ...]
    cells: list[list]
    epsilon: float | None
    min_cell: int
    registries: int

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.cells, columns=[*self.by, "n"])
        return frame.set_index(list(self.by)) if self.by else frame

    def to_dict(self) -> dict:
        return {"counts": self.cells, "epsilon": self.epsilon}

    def __str__(self) -> str:
        privacy = "no noise" if self.epsilon is None else f"epsilon = {self.epsilon:g}"
        head = (
            f"Counts across {self.registries} registries ({privacy}, cells below "
            f"{self.min_cell} suppressed with their complements, shown as <min)"
        )
        frame = self.to_frame()
        shown = frame["n"].map(lambda n: "<min" if n is None or pd.isna(n) else str(int(n)))
        table = shown.unstack(self.by[-1]).to_string() if len(self.by) >= 2 else shown.to_string()
        return f"{head}\n{table}"

    def plot(self, ax=None):
        """Bars per level of the first `by` column, grouped by the last; gaps are
        suppressed cells."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 4))[1]
        frame = self.to_frame()["n"].astype(float)
        if len(self.by) >= 2:
            frame = frame.unstack(self.by[-1])
        frame.plot.bar(ax=ax, rot=0)
        ax.set(ylabel="patients", xlabel=" × ".join(self.by[:-1] or self.by))
        return ax


def count(
    frames: Mapping[str, pd.DataFrame],
    by: Sequence[str],
    where: str | None = None,
    noise: Noise | None = None,
    min_cell: int = 10,
    levels: Mapping[str, list[str]] | None = None,
    aggregation: Aggregation | None = None,
) -> CountResult:
    """Counts (a cross-table if `by` names several columns) across the registries."""
    options = {"by": list(by), "where": where, "min_cell": min_cell, "levels": levels or {}}
    return pooled("counts", frames, options, noise, aggregation)


def _count_options(options: Options, frames, noise: Noise) -> dict:
    by = [str(b) for b in options.get("by") or []]
    if not by:
        raise ValueError("name the columns to count by, e.g. --by stage,sex")
    levels = domain(by, frames, dict(options.get("levels") or {}), noise)
    return {**options, "by": by, "levels": levels, "min_cell": int(options.get("min_cell", 10))}


def _count_vector(frame: pd.DataFrame, options: Options) -> np.ndarray:
    return count_cells(selected(frame, options.get("where")), options["levels"])


def _count_result(released: Released, options: Options, epsilon, registries: int):
    by, grid = options["by"], options["levels"]
    cells = [
        [*(grid[b][i] for b, i in zip(by, index, strict=True)), n]
        for index, n in np.ndenumerate(released.counts())
    ]
    return CountResult(tuple(by), cells, epsilon, options["min_cell"], registries)


def registries(frames: Mapping[str, pd.DataFrame]) -> list[Registry]:
    """One protocol party per registry, numbered 1..K in the order given."""
    return [Registry(name, i) for i, name in enumerate(frames, start=1)]


def _complete(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
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


def survival_bins(frame, time: str, event: str, group: str | None, levels, grid: TimeGrid):
    """One registry's events and departures per time bin and group: (bins, groups, 2)."""
    names = [time, event]
    labels = levels[group] if group else ["all"]
    rows = _complete(frame, names)
    if group:
        codes = pd.Categorical(column(frame, group).astype("string"), categories=labels).codes
        codes = pd.Series(codes, index=frame.index).loc[rows.index].to_numpy()
    else:
        codes = np.zeros(len(rows), dtype=np.int64)
    keep = codes >= 0
    bins, events = grid.place(rows[time].to_numpy()[keep], rows[event].to_numpy()[keep])
    out = np.zeros((grid.bins, len(labels), 2), dtype=np.int64)
    np.add.at(out, (bins, codes[keep], 0), events.astype(np.int64))
    np.add.at(out, (bins, codes[keep], 1), 1)
    return out


def kaplan_meier(
    frames: Mapping[str, pd.DataFrame],
    time: str,
    event: str,
    by: str | None = None,
    where: str | None = None,
    step: float = 1.0,
    horizon: float | None = None,
    noise: Noise | None = None,
    levels: Mapping[str, list[str]] | None = None,
    aggregation: Aggregation | None = None,
):
    """Kaplan-Meier curves per group, with the log-rank test, from the pooled events and
    departures per time bin (`TimeGrid`)."""
    options = {"time": time, "event": event, "by": by, "where": where, "step": step,
               "horizon": horizon, "levels": levels or {}}  # fmt: skip
    return pooled("kaplan-meier", frames, options, noise, aggregation)


def _km_options(options: Options, frames, noise: Noise) -> dict:
    by = options.get("by")
    groups = domain([by], frames, dict(options.get("levels") or {}), noise) if by else {}
    step, horizon = float(options.get("step", 1.0)), options.get("horizon")
    grid = time_grid(frames, str(options["time"]), step, horizon, noise)
    return {**options, "levels": groups, "step": grid.step, "horizon": grid.horizon}


def _km_vector(frame: pd.DataFrame, options: Options) -> np.ndarray:
    grid = TimeGrid(options["step"], options["horizon"])
    rows = selected(frame, options.get("where"))
    return survival_bins(rows, options["time"], options["event"], options.get("by"),
                         options["levels"], grid)  # fmt: skip


def _km_result(released: Released, options: Options, epsilon, registries: int):
    from tessera.analyses import survival
    from tessera.analyses.results import KaplanMeierResult

    grid = TimeGrid(options["step"], options["horizon"])
    values = released.values
    events, leaving = np.clip(values[..., 0], 0, None), np.clip(values[..., 1], 0, None)
    events = np.minimum(events, leaving)  # noise can make them disagree: post-processing
    at_risk = leaving[::-1].cumsum(axis=0)[::-1]
    ahead = events[::-1].cumsum(axis=0)[::-1]
    by = options.get("by")
    labels = options["levels"][by] if by else ["all"]
    valid = np.ones(grid.bins)
    curves = survival.from_counts(valid, grid.times, at_risk, ahead, labels)
    if not any(len(c) for c in curves.values()):
        raise ValueError("no patient with follow-up among the selected rows: nothing to estimate")
    test = survival.logrank(valid, at_risk, ahead) if by else None
    return KaplanMeierResult(curves, test)


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


@dataclass(frozen=True)
class HistogramResult:
    """Counts of a numeric column in public bins [edge_i, edge_i+1) across registries (None:
    withheld), and quantiles read off the pooled histogram by linear interpolation within
    a bin, as from grouped data; values outside the edges are not counted."""

    column: str
    edges: list[float]
    counts: list[int | None]
    epsilon: float | None
    quantiles: dict[float, float]

    @property
    def labels(self) -> list[str]:
        return [f"[{a:g}, {b:g})" for a, b in itertools.pairwise(self.edges)]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"bin": self.labels, "n": self.counts}).set_index("bin")

    def to_dict(self) -> dict:
        return {
            "counts": [[label, n] for label, n in zip(self.labels, self.counts, strict=True)],
            "edges": self.edges,
            "quantiles": {f"{q:g}": v for q, v in self.quantiles.items()},
            "epsilon": self.epsilon,
        }

    def __str__(self) -> str:
        privacy = "no noise" if self.epsilon is None else f"epsilon = {self.epsilon:g}"
        shown = self.to_frame()["n"].map(lambda n: "<min" if n is None else str(n))
        quantiles = ", ".join(f"q{q:g} = {v:.4g}" for q, v in self.quantiles.items())
        return f"Histogram of {self.column} ({privacy})\n{shown.to_string()}\n{quantiles}"

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 4))[1]
        heights = [np.nan if n is None else n for n in self.counts]
        ax.stairs(np.nan_to_num(heights), self.edges, fill=True, alpha=0.6)
        ax.set(xlabel=self.column, ylabel="patients")
        return ax


def grouped_quantiles(edges: Sequence[float], counts: Sequence[float], qs) -> dict:
    """Quantiles of grouped data: interpolate linearly within the bin that crosses q·n."""
    counts = np.clip(np.nan_to_num(np.asarray(counts, float)), 0, None)
    total, cumulative = counts.sum(), np.concatenate([[0.0], np.cumsum(counts)])
    out = {}
    for q in qs:
        if not 0 <= q <= 1:
            raise ValueError(f"quantile {q}: between 0 and 1")
        if total <= 0:
            out[float(q)] = float("nan")
            continue
        target = q * total
        i = int(np.clip(np.searchsorted(cumulative, target, side="left") - 1, 0, len(counts) - 1))
        inside = (target - cumulative[i]) / counts[i] if counts[i] else 0.0
        out[float(q)] = float(edges[i] + inside * (edges[i + 1] - edges[i]))
    return out


def _histogram_options(options: Options, frames, noise: Noise) -> dict:
    if options.get("by"):
        raise ValueError("a histogram counts one column: leave out --by")
    edges = [float(e) for e in options["edges"]]
    if len(edges) < 2:
        raise ValueError("a histogram needs at least two bin edges")
    qs = [float(q) for q in options.get("quantiles") or []]
    return {
        **options,
        "edges": edges,
        "quantiles": qs,
        "min_cell": int(options.get("min_cell", 10)),
    }


def _histogram_vector(frame: pd.DataFrame, options: Options) -> np.ndarray:
    rows = selected(frame, options.get("where"))
    values = pd.to_numeric(column(rows, str(options["column"])), errors="coerce").dropna()
    return np.histogram(values.to_numpy(float), bins=options["edges"])[0].astype(np.int64)


def _histogram_result(released: Released, options: Options, epsilon, registries: int):
    counts = released.counts()
    numbers = [np.nan if n is None else n for n in counts]
    quantiles = grouped_quantiles(options["edges"], numbers, options["quantiles"])
    return HistogramResult(str(options["column"]), list(options["edges"]), list(counts),
                           epsilon, quantiles)  # fmt: skip


@dataclass(frozen=True)
class MeanResult:
    """Per cell of the `by` columns: how many rows, the sum and the mean of `column`, its
    values clipped to the public `bounds` and rounded to `resolution` (None: withheld)."""

    column: str
    by: tuple[str, ...]
    cells: list[list]  # [level, ..., n, sum, mean]
    epsilon: float | None

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.cells, columns=[*self.by, "n", "sum", "mean"])
        return frame.set_index(list(self.by)) if self.by else frame

    def to_dict(self) -> dict:
        return {"means": self.cells, "epsilon": self.epsilon}

    def __str__(self) -> str:
        privacy = "no noise" if self.epsilon is None else f"epsilon = {self.epsilon:g}"
        return f"Mean of {self.column} ({privacy})\n{self.to_frame().to_string()}"

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 4))[1]
        self.to_frame()["mean"].astype(float).plot.bar(ax=ax, rot=0)
        ax.set(ylabel=f"mean {self.column}")
        return ax


def _mean_options(options: Options, frames, noise: Noise) -> dict:
    """The sum travels in units of `resolution`, the count scaled by the largest bound in
    those units, so one noise of L1 sensitivity 2B splits epsilon evenly between them.
    Cells are not suppressed by size (the scaled counts are no test's small numbers): the
    noise alone protects a mean, so ask with a finite epsilon."""
    low, high = (float(b) for b in options["bounds"])
    resolution = float(options.get("resolution", 0.25))
    if not (low < high and resolution > 0):
        raise ValueError("--bounds LOW,HIGH with LOW < HIGH, and a positive --resolution")
    scale = math.ceil(max(abs(low), abs(high)) / resolution)
    counted = _count_options({**options, "min_cell": options.get("min_cell", 10)}, frames, noise)
    return {**counted, "bounds": [low, high], "resolution": resolution, "scale": scale,
            "sensitivity": 2 * scale}  # fmt: skip


def _mean_vector(frame: pd.DataFrame, options: Options) -> np.ndarray:
    rows = selected(frame, options.get("where"))
    values = pd.to_numeric(column(rows, str(options["column"])), errors="coerce")
    rows = rows[values.notna()]
    units = np.rint(values.dropna().clip(*options["bounds"]) / options["resolution"])
    counts = count_cells(rows, options["levels"]) * options["scale"]
    sums = count_cells(rows.assign(_units=units.to_numpy()), options["levels"], "_units")
    return np.stack([counts, sums], axis=-1).astype(np.int64)


def _mean_result(released: Released, options: Options, epsilon, registries: int):
    by, grid = options["by"], options["levels"]
    values, hidden = released.values, released.suppressed[..., 0]
    cells = []
    for index in np.ndindex(values.shape[:-1]):
        levels = [grid[b][i] for b, i in zip(by, index, strict=True)]
        if hidden[index]:
            cells.append([*levels, None, None, None])
            continue
        n = max(round(values[index][0] / options["scale"]), 0)
        total = values[index][1] * options["resolution"]
        cells.append([*levels, n, total, total / n if n else None])
    return MeanResult(str(options["column"]), tuple(by), cells, epsilon)


@dataclass(frozen=True)
class Pooled:
    """A registry-spanning analysis of one aggregation round. `options(options, frames,
    noise)` resolves the public grid (levels, time bins) — from the registries' frames only
    without noise, never in the federation; `vector(frame, options)` is one registry's
    aggregate; `result(released, options, epsilon, registries)` the recipient's object.
    One patient changes the vector by at most `sensitivity` in L1 norm."""

    name: str
    options: Callable[[Options, Mapping[str, pd.DataFrame], Noise], dict]
    vector: Callable[[pd.DataFrame, Options], np.ndarray]
    result: Callable[[Released, Options, float | None, int], object]
    sensitivity: int
    suppressed: bool  # whether small cells are withheld (counts; not survival bins)


POOLED: dict[str, Pooled] = {
    "counts": Pooled("counts", _count_options, _count_vector, _count_result, 1, True),
    "kaplan-meier": Pooled("kaplan-meier", _km_options, _km_vector, _km_result, 2, False),
    "histogram": Pooled(
        "histogram", _histogram_options, _histogram_vector, _histogram_result, 1, True
    ),
    "mean": Pooled("mean", _mean_options, _mean_vector, _mean_result, 1, False),
}


def sensitivity(entry: Pooled, options: Options) -> int:
    """The L1 sensitivity of the analysis with these (resolved) options."""
    return int(options.get("sensitivity", entry.sensitivity))


def pooled(
    name: str,
    frames: Mapping[str, pd.DataFrame],
    options: Options,
    noise: Noise | None = None,
    aggregation: Aggregation | None = None,
):
    """Run a `POOLED` analysis among the registries in this process."""
    entry = POOLED[name]
    noise = noise or Noise(math.inf)
    if not math.isinf(noise.epsilon):
        noise = Noise(noise.epsilon, entry.sensitivity)
    options = entry.options(options, frames, noise)
    noise = Noise(noise.epsilon, sensitivity(entry, options))
    vectors = {registry: entry.vector(frame, options) for registry, frame in frames.items()}
    aggregation = aggregation or Aggregation(registries(frames))
    min_cell = int(options.get("min_cell", 0)) if entry.suppressed else 0
    released = aggregation.run(vectors, noise, min_cell)
    epsilon = None if math.isinf(noise.epsilon) else noise.epsilon
    return entry.result(released, options, epsilon, len(frames))
