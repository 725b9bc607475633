"""Kaplan-Meier curves by group and the log-rank test, on vertically partitioned data.

Inside MPC (`statistic`): the anchor party holds time and event and has sorted its rows by
time; suffix sums give, per row, how many joined patients of each group are still at risk
and how many events lie ahead; a secret "first row of its time" flag and one oblivious
sort compact that to one row per distinct time. Times at which no joined patient leaves the
risk set are zeroed before release. The recipient gets only the published counts — times,
at-risk and events per group — and computes survival, Greenwood intervals and the log-rank
test from them in the clear (`from_counts`, `logrank`), exactly as lifelines does.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy import stats

from tessera.analyses.kaplan_meier import product_limit
from tessera.analyses.newton import complete_rows
from tessera.analyses.scans import suffix_sum


def statistic(table, weight, time: str, event: str, group: str | None = None):
    t, e = table[time][:, 0], table[event][:, 0]
    n = t.shape[0]
    groups = jnp.ones((n, 1)) if group is None else table[group]
    use = complete_rows(table, weight, (time, event)) * jnp.sum(groups, axis=1)
    at = use[:, None] * groups
    at_risk = suffix_sum(at)
    ahead = suffix_sum(at * e[:, None])
    first = jnp.concatenate([jnp.ones(1), (t[1:] != t[:-1]).astype(t.dtype)])
    key = (1.0 - first) * n + jnp.arange(n)
    g = groups.shape[1]
    packed = jax.lax.sort((key, first, t, *at_risk.T, *ahead.T), num_keys=1)
    first_k, t_k = packed[1], packed[2]
    at_risk_k = jnp.stack(packed[3 : 3 + g], axis=1) * first_k[:, None]
    ahead_k = jnp.stack(packed[3 + g :], axis=1) * first_k[:, None]
    events = ahead_k - jnp.concatenate([ahead_k[1:], jnp.zeros((1, g))])
    leaving = at_risk_k - jnp.concatenate([at_risk_k[1:], jnp.zeros((1, g))])
    valid = first_k * (jnp.sum(leaving, axis=1) > 0.5)
    return valid, t_k * valid, at_risk_k * valid[:, None], events * valid[:, None]


def from_counts(valid, times, at_risk, events, labels: list[str]) -> dict[str, pd.DataFrame]:
    """Per group: the Kaplan-Meier table (with 95% log-log Greenwood limits, as lifelines)."""
    keep = np.asarray(valid) > 0.5
    times = np.asarray(times)[keep]
    at_risk, events = np.rint(np.asarray(at_risk)[keep]), np.rint(np.asarray(events)[keep])
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


def logrank(valid, at_risk, events) -> tuple[float, float]:
    """The log-rank test of equal survival across groups: (chi-square statistic, p-value)."""
    keep = np.asarray(valid) > 0.5
    n_g = np.rint(np.asarray(at_risk)[keep])
    d_g = np.rint(np.asarray(events)[keep])
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
