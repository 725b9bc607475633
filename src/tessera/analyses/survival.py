"""Kaplan-Meier curves by group and the log-rank test, on vertically partitioned data.

Inside MPC (`statistic`): one oblivious sort puts the joined, complete rows first, in time
order (`in_order`); suffix sums then give, per row, how many of them in each group are
still at risk and how many events lie ahead. Only the first row of each distinct time is
released, the others are zeros: row positions say no more than the released counts do.
The recipient gets only those counts — times, at-risk and events ahead per group — and
computes survival, Greenwood intervals and the log-rank test from them in the clear
(`from_counts`, `logrank`), exactly as lifelines does.

Over registries (`POOLED`): each registry counts its events and departures per public time
bin (`tessera.analyses.grid.TimeGrid`) and group; the recipient reads the same curves off
the pooled counts.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy import stats

from tessera.analyses.grid import TimeGrid, column, domain, numeric_rows, selected, time_grid
from tessera.analyses.kaplan_meier import product_limit
from tessera.analyses.newton import complete_rows
from tessera.analyses.results import KaplanMeierResult
from tessera.analyses.scans import suffix_sum
from tessera.analyses.specs import Joint, Options, Pooled, Released
from tessera.analyses.vertical import in_order
from tessera.privacy.noise import Noise


def statistic(table, weight, time: str, event: str, group: str | None = None):
    rows = weight.shape[0]
    groups = jnp.ones((rows, 1)) if group is None else table[group]
    use = complete_rows(table, weight, (time, event)) * jnp.sum(groups, axis=1)
    table, use = in_order(table, use, time)
    t, e = table[time][:, 0], table[event][:, 0]
    groups = jnp.ones((rows, 1)) if group is None else table[group]
    at = use[:, None] * groups
    at_risk = suffix_sum(at)
    ahead = suffix_sum(at * e[:, None])
    first = jnp.concatenate([jnp.ones(1), (t[1:] != t[:-1]).astype(t.dtype)]) * use
    return first, t * first, at_risk * first[:, None], ahead * first[:, None]


def _counts(valid, at_risk, ahead) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kept rows, at-risk, events) per released time: events are the difference of
    consecutive events-ahead counts."""
    keep = np.asarray(valid) > 0.5
    at_risk, ahead = np.rint(np.asarray(at_risk)[keep]), np.rint(np.asarray(ahead)[keep])
    events = ahead - np.vstack([ahead[1:], np.zeros((1, ahead.shape[1]))])
    return keep, at_risk, events


def from_counts(valid, times, at_risk, ahead, labels: list[str]) -> dict[str, pd.DataFrame]:
    """Per group: the Kaplan-Meier table (with 95% log-log Greenwood limits, as lifelines)."""
    keep, at_risk, events = _counts(valid, at_risk, ahead)
    times = np.asarray(times)[keep]
    leaving = at_risk - np.vstack([at_risk[1:], np.zeros((1, at_risk.shape[1]))])
    curves = {}
    for j, label in enumerate(labels):
        rows = leaving[:, j] > 0
        n, d = at_risk[rows, j], events[rows, j]
        survival, lower, upper = product_limit(n, d)
        curves[label] = pd.DataFrame({
            "time": times[rows], "at_risk": n.astype(int), "events": d.astype(int),
            "censored": (leaving[rows, j] - d).astype(int), "survival": survival,
            "lower": lower, "upper": upper,
        })  # fmt: skip
    return curves


def logrank(valid, at_risk, ahead) -> tuple[float, float]:
    """The log-rank test of equal survival across groups: (chi-square statistic, p-value)."""
    _, n_g, d_g = _counts(valid, at_risk, ahead)
    n, d = n_g.sum(axis=1), d_g.sum(axis=1)
    use = (d > 0) & (n > 0)
    n_g, d_g, n, d = n_g[use], d_g[use], n[use], d[use]
    share = n_g / n[:, None]
    observed_minus_expected = (d_g - d[:, None] * share).sum(axis=0)
    factor = d * (n - d) / np.maximum(n - 1, 1)
    variance = np.einsum("k,kg->g", factor, share)[:, None] * np.eye(share.shape[1]) - np.einsum(
        "k,kg,kh->gh", factor, share, share
    )
    z = observed_minus_expected[:-1]
    chi2 = float(z @ np.linalg.solve(variance[:-1, :-1], z))
    return chi2, float(stats.chi2.sf(chi2, share.shape[1] - 1))


def _joint_result(outputs, labels, options: Options) -> KaplanMeierResult:
    by = options.get("by")
    curves = from_counts(*outputs, labels[by] if by else ["all"])
    if not any(len(c) for c in curves.values()):
        raise ValueError("no patient is in every party's data: nothing to estimate")
    test = logrank(outputs[0], outputs[2], outputs[3]) if by else None
    return KaplanMeierResult(curves, test)


JOINT = Joint(
    statistic,
    lambda o: {
        "numeric": (o["time"], o["event"]),
        "order_by": o["time"],
        "categorical": (o["by"],) if o.get("by") else (),
    },
    lambda o: {"time": o["time"], "event": o["event"], "group": o.get("by")},
    _joint_result,
)


# -- over registries --


def survival_bins(frame, time: str, event: str, group: str | None, levels, grid: TimeGrid):
    """One registry's events and departures per time bin and group: (bins, groups, 2)."""
    names = [time, event]
    labels = levels[group] if group else ["all"]
    rows = numeric_rows(frame, names)
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


def _pooled_options(options: Options, frames, noise: Noise) -> dict:
    by = options.get("by")
    groups = domain([by], frames, dict(options.get("levels") or {}), noise) if by else {}
    step, horizon = float(options.get("step", 1.0)), options.get("horizon")
    grid = time_grid(frames, str(options["time"]), step, horizon, noise)
    return {**options, "levels": groups, "step": grid.step, "horizon": grid.horizon}


def _pooled_vector(frame: pd.DataFrame, options: Options) -> np.ndarray:
    grid = TimeGrid(options["step"], options["horizon"])
    rows = selected(frame, options.get("where"))
    return survival_bins(rows, options["time"], options["event"], options.get("by"),
                         options["levels"], grid)  # fmt: skip


def _pooled_result(released: Released, options: Options, epsilon, registries: int):
    grid = TimeGrid(options["step"], options["horizon"])
    values = released.values
    events, leaving = np.clip(values[..., 0], 0, None), np.clip(values[..., 1], 0, None)
    events = np.minimum(events, leaving)  # noise can make them disagree: post-processing
    at_risk = leaving[::-1].cumsum(axis=0)[::-1]
    ahead = events[::-1].cumsum(axis=0)[::-1]
    by = options.get("by")
    labels = options["levels"][by] if by else ["all"]
    valid = np.ones(grid.bins)
    curves = from_counts(valid, grid.times, at_risk, ahead, labels)
    if not any(len(c) for c in curves.values()):
        raise ValueError("no patient with follow-up among the selected rows: nothing to estimate")
    test = logrank(valid, at_risk, ahead) if by else None
    return KaplanMeierResult(curves, test)


POOLED = Pooled(_pooled_options, _pooled_vector, _pooled_result, sensitivity=2)
