"""Kaplan-Meier survival: the plaintext reference.

The secure protocol computes the same per-time-point event and at-risk counts inside MPC;
this module is what it is held against, and what a station uses on its own data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Survival table at each distinct event or censoring time.

    Columns: time, at_risk (just before time), events, censored, survival (product-limit).
    Ties: events happen before censorings at the same time, as in lifelines and R.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    if time.shape != event.shape:
        raise ValueError("time and event must have the same length")
    if np.isnan(time).any() or (time < 0).any():
        raise ValueError("times must be known and not negative")
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    times, first, counts = np.unique(t, return_index=True, return_counts=True)
    events = np.add.reduceat(e.astype(np.int64), first) if len(t) else np.array([], np.int64)
    at_risk = len(t) - first
    survival, _, _ = product_limit(at_risk, events)
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk,
            "events": events,
            "censored": counts - events,
            "survival": survival,
        }
    )


def product_limit(at_risk: np.ndarray, events: np.ndarray):
    """(survival, lower, upper) from at-risk and event counts per time: the product-limit
    estimate with 95% Greenwood limits on the log(-log) scale, as lifelines computes them."""
    at_risk, events = np.asarray(at_risk, float), np.asarray(events, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - events / at_risk)
        greenwood = np.cumsum(events / (at_risk * (at_risk - events)))
        spread = 1.959963984540054 * np.sqrt(greenwood) / np.log(survival)
    return survival, survival ** np.exp(-spread), survival ** np.exp(spread)


def survival_at(table: pd.DataFrame, when: float) -> float:
    """S(when) from a `kaplan_meier` table (1.0 before the first time)."""
    before = table["time"].to_numpy() <= when
    return float(table["survival"].to_numpy()[before][-1]) if before.any() else 1.0


def median_survival(table: pd.DataFrame) -> float:
    """The first time at which survival is 0.5 or below (inf if never), as lifelines and R."""
    below = table["survival"].to_numpy() <= 0.5
    return float(table["time"].to_numpy()[below][0]) if below.any() else float("inf")
