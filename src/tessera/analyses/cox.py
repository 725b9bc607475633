"""Cox proportional hazards by Newton's method, Efron (default) or Breslow ties.

One oblivious sort puts the joined, complete rows first, in time order (`in_order`), so
every risk set is a suffix of the rows. Risk-set sums are suffix sums read at the first
row of each tie group; tie-group sums and Efron's within-tie fractions come from segmented
fills. All of them are associative scans (log n rounds in MPC). Only joined, complete rows count
(weight 0 elsewhere), so unmatched patients never enter a risk set. Features are
standardised inside MPC; coefficients and standard errors are mapped back before release.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from tessera.analyses import fits
from tessera.analyses.fits import (
    Ask,
    Fit,
    Rounds,
    box,
    clipped_rows,
    common_options,
    covariate_names,
    midpoints,
    noise_spread,
    outer_rows,
    pairs,
    reach_of,
    regression,
    square,
    standardised,
)
from tessera.analyses.grid import TimeGrid, time_grid
from tessera.analyses.newton import complete_rows, exact_scale, inverse_spd, standardise, values
from tessera.analyses.results import RegressionResult
from tessera.analyses.scans import fill, prefix_sum, suffix_sum
from tessera.analyses.specs import Joint, Options
from tessera.analyses.vertical import in_order
from tessera.privacy.noise import Noise


def _group_total(values, first, last):
    """Per row, the sum of `values` over its tie group: the running sum from the group's
    first row on, minus what lies beyond its last row."""
    after = suffix_sum(values)
    return fill(after, first) - fill(after - values, last, reverse=True)


def _derivatives(z, gamma, use, dead, first, last, fraction, final=True):
    """Log partial likelihood, gradient and Hessian at gamma (standardised scale).

    `fraction` is Efron's within-tie share of each event (None for Breslow); the
    log-likelihood is computed only when `final` (a logarithm per row is dear in MPC). The
    second-moment term is regrouped per row, sum_i d_i S2_i / D_i = Z' diag(a c) Z with
    c_j = sum of d_i / D_i over the event times at or before t_j (Efron: minus this tie
    group's share), so only 1 + k columns are ever scanned, never k^2. Columns that
    follow the same scan travel together: six scans per evaluation with Efron, four with
    Breslow.
    """
    k = z.shape[1]
    eta = z @ gamma
    risk = use * jnp.exp(eta)
    stacked = jnp.concatenate([risk[:, None], risk[:, None] * z], axis=1)
    if fraction is None:
        sums = fill(suffix_sum(stacked), first)  # over everyone with time >= t_i
    else:
        events = stacked * dead[:, None]  # this time's events only
        after = suffix_sum(jnp.concatenate([stacked, events], axis=1))
        at_first = fill(after, first)
        tied = at_first[:, 1 + k :] - fill(after[:, 1 + k :] - events, last, reverse=True)
        sums = at_first[:, : 1 + k] - fraction[:, None] * tied
    denominator = jnp.where(dead > 0, sums[:, 0], 1.0)
    inverse = 1.0 / denominator
    share = dead * inverse
    mean = sums[:, 1:] * inverse[:, None]
    loglik = jax.lax.cond(
        final, lambda: jnp.sum(dead * (eta - jnp.log(denominator))), lambda: jnp.zeros(())
    )
    gradient = dead @ (z - mean)
    if fraction is None:
        up_to = fill(prefix_sum(share), last, reverse=True)  # through the end of j's tie group
    else:
        weighted = share * fraction
        running = prefix_sum(jnp.stack([share, weighted], axis=1))
        at_last = fill(running, last, reverse=True)
        tie_share = at_last[:, 1] - fill(running[:, 1] - weighted, first)
        up_to = at_last[:, 0] - dead * tie_share
    hessian = (z.T * (risk * up_to)) @ z - (mean.T * dead) @ mean
    return loglik, gradient, hessian


def statistic(table, weight, time: str, event: str, covariates: tuple[str, ...],
              ties: str = "efron", iterations: int = 8):  # fmt: skip
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be efron or breslow, not {ties!r}")
    use = complete_rows(table, weight, (time, event, *covariates))
    table, use = in_order(table, use, time)
    t, e = table[time][:, 0], table[event][:, 0]
    x = values(table, covariates)
    scale = exact_scale(x.shape[0])
    total, mean, inv_spread = standardise(x, use)
    z = (x - mean) * inv_spread * use[:, None]
    dead = use * e
    changes = (t[1:] != t[:-1]).astype(t.dtype)
    first = jnp.concatenate([jnp.ones(1), changes])
    last = jnp.concatenate([changes, jnp.ones(1)])
    fraction = None
    if ties == "efron":  # the tie structure does not change between iterations
        before = prefix_sum(dead) - dead  # joined events earlier in row order
        before = before - fill(before, first)  # ... earlier within this tie group
        fraction = before / jnp.maximum(_group_total(dead, first, last), 1.0)

    def newton_step(i, state):
        gamma, final = state[0], i == iterations - 1  # public: the loop counter
        loglik, gradient, hessian = _derivatives(z, gamma, use, dead, first, last, fraction, final)
        return gamma + inverse_spd(hessian / scale) @ (gradient / scale), loglik, hessian

    # A loop, not unrolled Python: the engine compiles the body once. The log-likelihood
    # and Hessian released are those of the last-but-one iterate, which Newton's quadratic
    # convergence leaves indistinguishable from the last (one evaluation, compiled once).
    k = len(covariates)
    start = (jnp.zeros(k), jnp.zeros(()), jnp.eye(k))
    gamma, loglik, hessian = jax.lax.fori_loop(0, iterations, newton_step, start)
    # variances times the public scale: the recipient takes roots and divides in the clear
    variances = jnp.diag(inverse_spd(hessian / scale)) * inv_spread**2
    return gamma * inv_spread, variances, loglik, total, jnp.sum(dead), jnp.asarray(scale)


def records(beta, scaled_variances, loglik, total, events, scale, covariates: tuple[str, ...]):
    se = np.sqrt(np.maximum(np.asarray(scaled_variances, dtype=float), 0.0) / float(scale))
    return {
        "coefficients": {n: float(b) for n, b in zip(covariates, np.asarray(beta), strict=True)},
        "standard_errors": {n: float(s) for n, s in zip(covariates, se, strict=True)},
        "log_likelihood": float(loglik),
        "n": int(np.rint(total)),
        "events": int(np.rint(events)),
    }


def _joint_result(outputs, labels, options: Options) -> RegressionResult:
    record = records(*outputs, tuple(options["covariates"]))
    if record["events"] == 0:
        raise ValueError("no events among the joined patients: a Cox model needs events")
    return RegressionResult.from_records(record, hazard=True)


def _ties(options: Options) -> str:
    ties = str(options.get("ties", "efron"))
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties {ties!r}: use efron or breslow")
    return ties


def _arguments(options: Options) -> dict:
    return {
        "time": options["time"],
        "event": options["event"],
        "covariates": tuple(options["covariates"]),
        "ties": _ties(options),
        "iterations": int(options.get("iterations", 8)),
    }


def _columns(options: Options) -> dict:
    numeric = (options["time"], options["event"], *options["covariates"])
    return {"numeric": numeric, "order_by": options["time"]}


JOINT = Joint(statistic, _columns, _arguments, _joint_result)


# -- over registries: Breslow's ties on a public time grid, fitted in rounds --


def _pooled_options(options: Options, frames, noise: Noise) -> dict:
    time, event = str(options["time"]), str(options["event"])
    resolved = common_options(options, noise, [time, event], 1)
    if not resolved["covariates"]:
        raise ValueError("a Cox model needs at least one covariate")
    step = float(options.get("step") or 1.0)
    grid = time_grid(frames, time, step, options.get("horizon"), noise)
    return {**resolved, "time": time, "event": event, "step": grid.step, "horizon": grid.horizon}


def _grid(options: Options) -> TimeGrid:
    return TimeGrid(float(options["step"]), float(options["horizon"]))


def _pooled_rows(frame: pd.DataFrame, options: Options) -> dict:
    rows = clipped_rows(frame, options)
    where, dead = _grid(options).place(rows[options["time"]].to_numpy(),
                                       rows[options["event"]].to_numpy())  # fmt: skip
    return {"x": rows[covariate_names(options)].to_numpy(), "bin": where, "dead": dead}


def _pooled_vector(rows: dict, options: Options, ask: Ask) -> np.ndarray:
    """Round 0: the row count, Σ x, and per time bin the events and the events' Σ x; later
    rounds: per bin of departure Σ exp(x'b), Σ x exp(x'b) and Σ x x' exp(x'b)."""
    bins, x = _grid(options).bins, standardised(rows["x"], options, ask)
    where, dead = rows["bin"], rows["dead"]
    if ask["round"] == 0:
        died = np.zeros(bins)
        np.add.at(died, where, dead.astype(float))
        dead_x = np.zeros((bins, x.shape[1]))
        np.add.at(dead_x, where[dead], x[dead])
        return np.r_[len(x), x.sum(axis=0), died, dead_x.ravel()]
    risk = np.exp(x @ np.asarray(ask["beta"]))
    parts = np.column_stack([risk, x * risk[:, None], outer_rows(x) * risk[:, None]])
    per_bin = np.zeros((bins, parts.shape[1]))
    np.add.at(per_bin, where, parts)
    return per_bin.ravel()


def _pooled_sensitivity(options: Options, ask: Ask) -> float:
    """A patient sits in one bin: round 0 moves n, Σ x, one bin's events and Σ x; later
    rounds one bin's risk sums, which the largest exp(x'b) on the clipped box bounds."""
    reach = reach_of(options, ask)
    if ask["round"] == 0:
        return 2 * (1 + float(reach.sum()))
    low, high = box(options, ask)
    beta = np.asarray(ask["beta"])
    largest = math.exp(float(np.sum(np.maximum(beta * low, beta * high))))
    return largest * (1 + float(reach.sum()) + pairs(reach))


def _pooled_researcher(options: Options) -> Rounds:
    """Round 0 gives n, the covariates' means and the events per bin; then Newton's method
    on the partial likelihood, whose risk sets are the suffix sums of the bins' sums.
    Covariates are centred on the bounds' midpoints, or without bounds on their pooled
    means (estimates unchanged)."""
    names = covariate_names(options)
    k, bins = len(names), _grid(options).bins
    start, bounded = midpoints(options), set(options["clip"]) == set(names)
    total = yield {"round": 0, "beta": [0.0] * k, "centre": start}
    n = max(int(np.rint(total[0])), 0)
    scale = np.asarray(options["scale"])
    means = np.asarray(start) + scale * total[1 : 1 + k] / max(n, 1)
    centre = start if bounded else [float(c) for c in means]
    died = np.maximum(total[1 + k : 1 + k + bins], 0.0)
    if math.isinf(float(options["epsilon"])):
        died = np.rint(died)
    moved = (np.asarray(centre) - np.asarray(start)) / scale
    dead_x = total[1 + k + bins :].reshape(bins, k) - died[:, None] * moved
    if not died.sum() > 0:
        raise ValueError("no events among the selected patients: a Cox model needs events")
    steps, number = fits.newton(options, k), 1
    beta = next(steps)
    while True:
        ask = {"round": number, "beta": beta.tolist(), "centre": centre}
        sums = yield ask
        suffix = sums.reshape(bins, -1)[::-1].cumsum(axis=0)[::-1]
        spread = noise_spread(POOLED, options, ask, sums.size) * np.sqrt(np.arange(bins, 0, -1))
        use = (died > 0) & (suffix[:, 0] > 10 * spread)  # risk sets clear of their noise
        if not use.any():
            raise ValueError("the noise drowns every risk set: give a larger epsilon, wider "
                             "--time-step bins or a shorter --horizon")  # fmt: skip
        s0, s1 = suffix[use, 0], suffix[use, 1 : 1 + k]
        s2 = np.array([square(row, k) for row in suffix[use, 1 + k :]])
        d = died[use]
        loglik = float(np.sum(dead_x[use] @ beta) - np.sum(d * np.log(s0)))
        ratio = s1 / s0[:, None]
        gradient = dead_x[use].sum(axis=0) - d @ ratio
        hessian = np.einsum("b,bij->ij", d, s2 / s0[:, None, None]) - np.einsum(
            "b,bi,bj->ij", d, ratio, ratio
        )
        try:
            beta = steps.send((gradient, hessian, loglik))
        except StopIteration as done:
            beta, covariance, loglik = done.value
            break
        number += 1
    back = np.diag(1.0 / scale)
    events = round(float(died.sum()))
    return regression(names, back @ beta, back @ covariance @ back.T, n, options,
                       events=events, log_likelihood=loglik, hazard=True)  # fmt: skip


POOLED = Fit(_pooled_options, _pooled_rows, _pooled_vector, _pooled_sensitivity,
             _pooled_researcher)  # fmt: skip
