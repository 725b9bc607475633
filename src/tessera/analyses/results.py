"""Result objects: readable summaries, DataFrames and plots, as lifelines and statsmodels give.

They hold only what an analysis released to its recipient.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from tessera.analyses.kaplan_meier import median_survival, survival_at

_Z95 = 1.959963984540054


@dataclass(frozen=True)
class KaplanMeierResult:
    """Kaplan-Meier curves per group (time, at_risk, events, censored, survival, lower,
    upper) and, with two or more groups, the log-rank test."""

    curves: dict[str, pd.DataFrame]
    logrank: tuple[float, float] | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.concat(self.curves, names=["group", "row"]).reset_index(level="row", drop=True)

    def to_dict(self) -> dict:
        return {
            "groups": {
                label: {k: curve[k].tolist() for k in ("time", "survival", "at_risk", "events")}
                for label, curve in self.curves.items()
            },
            "logrank": None
            if self.logrank is None
            else {"statistic": self.logrank[0], "p_value": self.logrank[1]},
        }

    def __str__(self) -> str:
        lines = [f"{'group':<20}{'n':>8}{'events':>8}{'median':>9}  S(12)  S(36)  S(60)"]
        for label, curve in self.curves.items():
            n = int(curve["at_risk"].iloc[0]) if len(curve) else 0
            at = "  ".join(f"{survival_at(curve, m):.3f}" for m in (12, 36, 60))
            lines.append(
                f"{label:<20}{n:>8}{int(curve['events'].sum()):>8}"
                f"{median_survival(curve):>9.1f}  {at}"
            )
        if self.logrank is not None:
            lines.append(f"log-rank chi2 = {self.logrank[0]:.3f}, p = {self.logrank[1]:.4g}")
        return "\n".join(lines)

    def plot(self, ax=None, confidence: bool = True):
        """Step curves per group with their 95% bands."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 4.5))[1]
        for label, curve in self.curves.items():
            times = np.concatenate([[0.0], curve["time"]])
            line = ax.step(
                times, np.concatenate([[1.0], curve["survival"]]), where="post", label=str(label)
            )[0]
            if confidence:
                ax.fill_between(
                    times,
                    np.concatenate([[1.0], curve["lower"]]),
                    np.concatenate([[1.0], curve["upper"]]),
                    step="post",
                    alpha=0.15,
                    color=line.get_color(),
                )
        ax.set(xlabel="time", ylabel="survival", ylim=(0, 1.02))
        if self.logrank is not None:
            ax.set_title(f"log-rank p = {self.logrank[1]:.3g}")
        ax.legend()
        return ax


@dataclass(frozen=True)
class RegressionResult:
    """Coefficients with standard errors, Wald tests and 95% intervals; `hazard` marks a Cox
    model (exp(coef) is a hazard ratio) rather than a logistic one (an odds ratio)."""

    coefficients: dict[str, float]
    standard_errors: dict[str, float]
    n: int
    events: int | None = None
    log_likelihood: float | None = None
    hazard: bool = False
    epsilon: float | None = None  # differential privacy spent on a registry-spanning fit

    @classmethod
    def from_records(cls, record: dict, hazard: bool) -> RegressionResult:
        return cls(
            record["coefficients"],
            record["standard_errors"],
            record["n"],
            record.get("events"),
            record.get("log_likelihood"),
            hazard,
        )

    def to_frame(self) -> pd.DataFrame:
        coef = pd.Series(self.coefficients, name="coef")
        se = pd.Series(self.standard_errors, name="se(coef)")
        z = coef / se
        return pd.DataFrame(
            {
                "coef": coef,
                "exp(coef)": np.exp(coef),
                "se(coef)": se,
                "coef lower 95%": coef - _Z95 * se,
                "coef upper 95%": coef + _Z95 * se,
                "z": z,
                "p": 2 * stats.norm.sf(np.abs(z)),
            }
        )

    def to_dict(self) -> dict:
        out = {"coefficients": self.coefficients, "standard_errors": self.standard_errors}
        if self.log_likelihood is not None:
            out["log_likelihood"] = self.log_likelihood
        out["n"] = self.n
        if self.events is not None:
            out["events"] = self.events
        if self.epsilon is not None:
            out["epsilon"] = self.epsilon
        return out

    def __str__(self) -> str:
        kind = "Cox proportional hazards" if self.hazard else "Logistic regression"
        head = f"{kind}: n = {self.n}" + (f", events = {self.events}" if self.events else "")
        if self.log_likelihood is not None:
            head += f", log-likelihood = {self.log_likelihood:.3f}"
        if self.epsilon is not None:
            head += f", epsilon = {self.epsilon:g} (noisy estimates; se without the noise)"
        table = self.to_frame().to_string(float_format=lambda v: f"{v:.4g}")
        return f"{head}\n{table}"

    def plot(self, ax=None):
        """Forest plot of exp(coef) with 95% intervals (the constant left out)."""
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        frame = self.to_frame().drop(index="const", errors="ignore")
        ax = ax or plt.subplots(figsize=(6, 1.2 + 0.5 * len(frame)))[1]
        y = np.arange(len(frame))[::-1]
        ratio = np.exp(frame["coef"])
        low, high = np.exp(frame["coef lower 95%"]), np.exp(frame["coef upper 95%"])
        ax.errorbar(ratio, y, xerr=[ratio - low, high - ratio], fmt="o", color="black", capsize=3)
        ax.axvline(1.0, color="grey", lw=0.8, ls="--")
        ax.set(
            yticks=y,
            yticklabels=frame.index,
            xscale="log",
            xlabel="hazard ratio" if self.hazard else "odds ratio",
        )
        ax.xaxis.set_major_formatter(ScalarFormatter())  # after the log scale, which resets it
        ax.xaxis.set_minor_formatter(NullFormatter())
        low, high = ax.get_xlim()
        ax.set_xticks(
            [t for t in (0.25, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4) if low <= t <= high]
        )
        return ax


@dataclass(frozen=True)
class CrossTableResult:
    """Counts of patients by two categorical columns; a suppressed small cell is None."""

    rows: str
    cols: str
    cells: list[list]  # [[row level, column level, n or None], ...]

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.cells, columns=[self.rows, self.cols, "n"])
        return frame.pivot(index=self.rows, columns=self.cols, values="n")

    def to_dict(self) -> dict:
        return {"counts": self.cells}

    def __str__(self) -> str:
        shown = self.to_frame().map(lambda n: "<min" if n is None or pd.isna(n) else str(int(n)))
        return shown.to_string()

    def plot(self, ax=None):
        """Grouped bars; suppressed cells are left out (shown as gaps)."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 4))[1]
        frame = self.to_frame().astype(float)
        frame.plot.bar(ax=ax, rot=0)
        ax.set(ylabel="patients", xlabel=self.rows)
        return ax


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


@dataclass(frozen=True)
class HistogramResult:
    """Counts of a numeric column in public bins (None: withheld), and quantiles read off
    the counts by linear interpolation within a bin, as from grouped data; values outside
    the edges are not counted. `epsilon`: the privacy loss of the release (None: no noise)."""

    column: str
    edges: list[float]
    counts: list[int | None]
    epsilon: float | None
    quantiles: dict[float, float]

    @property
    def labels(self) -> list[str]:
        """[a, b) per bin, the last one [a, b] (numpy's bins)."""
        pairs = list(itertools.pairwise(self.edges))
        return [f"[{a:g}, {b:g}{']' if i == len(pairs) - 1 else ')'}" for i, (a, b) in
                enumerate(pairs)]  # fmt: skip

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
        text = f"Histogram of {self.column} ({privacy})\n{shown.to_string()}"
        return f"{text}\n{quantiles}" if quantiles else text

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 4))[1]
        heights = [np.nan if n is None else n for n in self.counts]
        ax.stairs(np.nan_to_num(heights), self.edges, fill=True, alpha=0.6)
        ax.set(xlabel=self.column, ylabel="patients")
        return ax


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


@dataclass(frozen=True)
class DescriptionResult:
    """Per numeric column: count, mean, standard deviation and quartiles of the joined
    patients; None where fewer than `min_count` were counted (nothing is released then)."""

    columns: dict[str, dict[str, float | None]]
    min_count: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame.from_dict(self.columns, orient="index")

    def to_dict(self) -> dict:
        return {"columns": self.columns}

    def __str__(self) -> str:
        hidden = f"<{self.min_count}"
        return self.to_frame().map(lambda v: _figure(v, hidden)).to_string()

    def plot(self, ax=None):
        """Each column's quartiles as a box (no whiskers: extremes are not released)."""
        import matplotlib.pyplot as plt

        shown = {c: f for c, f in self.columns.items() if f.get("q50") is not None}
        ax = ax or plt.subplots(figsize=(6, 1 + 0.6 * max(len(shown), 1)))[1]
        stats_ = [
            {"label": c, "q1": f["q25"], "med": f["q50"], "q3": f["q75"], "whislo": f["q25"],
             "whishi": f["q75"], "mean": f["mean"]}
            for c, f in shown.items()
        ]  # fmt: skip
        if stats_:
            ax.bxp(stats_, vert=False, showmeans=True, showfliers=False)
        return ax


def _figure(value: object, hidden: str) -> str:
    if value is None or pd.isna(value):
        return hidden
    return str(value) if isinstance(value, int) else f"{value:.4g}"
