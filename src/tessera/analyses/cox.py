"""Cox proportional hazards by Newton's method, Efron (default) or Breslow ties.

The anchor party holds time and event and has sorted its rows by time, so every risk set
is a suffix of the rows. Risk-set sums are suffix sums read at the first row of each tie
group; tie-group sums and Efron's within-tie fractions come from segmented fills. All of
them are associative scans (log n rounds in MPC). Only joined, complete rows count
(weight 0 elsewhere), so unmatched patients never enter a risk set. Features are
standardised inside MPC; coefficients and standard errors are mapped back before release.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tessera.analyses.newton import complete_rows, exact_scale, inverse_spd, standardise, values
from tessera.analyses.scans import fill, prefix_sum, suffix_sum


def _next_start(values, first):
    """Per row, `values` at the first row of the *next* tie group (0 after the last)."""
    shifted = jnp.concatenate([values[1:], jnp.zeros_like(values[:1])])
    flags = jnp.concatenate([first[1:], jnp.ones(1)])
    return fill(shifted, flags, reverse=True)


def _group_total(values, first):
    """Per row, the sum of `values` over its tie group."""
    after = suffix_sum(values)
    return fill(after, first) - _next_start(after, first)


def _derivatives(z, gamma, use, dead, first, efron: bool):
    """Log partial likelihood, gradient and Hessian at gamma (standardised scale).

    The second-moment term is regrouped per row, sum_i d_i S2_i / D_i = Z' diag(a c) Z with
    c_j = sum of d_i / D_i over the event times at or before t_j (Efron: minus this tie
    group's share), so only 1 + k columns are ever scanned, never k^2.
    """
    eta = z @ gamma
    risk = use * jnp.exp(eta)
    stacked = jnp.concatenate([risk[:, None], risk[:, None] * z], axis=1)
    sums = fill(suffix_sum(stacked), first)  # over everyone with time >= t_i
    if efron:
        tied = _group_total(stacked * dead[:, None], first)  # this time's events only
        count = _group_total(dead, first)
        before = prefix_sum(dead) - dead  # joined events earlier in row order
        before = before - fill(before, first)  # ... earlier within this tie group
        fraction = before / jnp.maximum(count, 1.0)
        sums = sums - fraction[:, None] * tied
    denominator = jnp.where(dead > 0, sums[:, 0], 1.0)
    share = dead / denominator
    mean = sums[:, 1:] * (1.0 / denominator)[:, None]
    loglik = jnp.sum(dead * (eta - jnp.log(denominator)))
    gradient = dead @ (z - mean)
    last = jnp.concatenate([first[1:], jnp.ones(1)])
    up_to = fill(prefix_sum(share), last, reverse=True)  # through the end of j's tie group
    if efron:
        up_to = up_to - dead * _group_total(share * fraction, first)
    hessian = (z.T * (risk * up_to)) @ z - (mean.T * dead) @ mean
    return loglik, gradient, hessian


def statistic(table, weight, time: str, event: str, covariates: tuple[str, ...],
              ties: str = "efron", iterations: int = 8):  # fmt: skip
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be efron or breslow, not {ties!r}")
    t, e = table[time][:, 0], table[event][:, 0]
    use = complete_rows(table, weight, (time, event, *covariates))
    x = values(table, covariates)
    scale = exact_scale(x.shape[0])
    total, mean, inv_spread = standardise(x, use)
    z = (x - mean) * inv_spread * use[:, None]
    first = jnp.concatenate([jnp.ones(1), (t[1:] != t[:-1]).astype(t.dtype)])
    efron = ties == "efron"

    def newton_step(_, gamma):
        _, gradient, hessian = _derivatives(z, gamma, use, use * e, first, efron)
        return gamma + inverse_spd(hessian / scale) @ (gradient / scale)

    # A loop, not unrolled Python: the engine compiles the body once.
    gamma = jax.lax.fori_loop(0, iterations, newton_step, jnp.zeros(len(covariates)))
    loglik, _, hessian = _derivatives(z, gamma, use, use * e, first, efron)
    scaled_se = jnp.sqrt(jnp.diag(inverse_spd(hessian / scale))) * inv_spread
    return gamma * inv_spread, scaled_se, loglik, total, jnp.sum(use * e), jnp.asarray(scale)


def records(beta, scaled_se, loglik, total, events, scale, covariates: tuple[str, ...]) -> dict:
    se = np.asarray(scaled_se, dtype=float) / np.sqrt(float(scale))
    return {
        "coefficients": {n: float(b) for n, b in zip(covariates, np.asarray(beta), strict=True)},
        "standard_errors": {n: float(s) for n, s in zip(covariates, se, strict=True)},
        "log_likelihood": float(loglik),
        "n": int(np.rint(total)),
        "events": int(np.rint(events)),
    }
