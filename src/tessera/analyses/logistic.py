"""Logistic regression by Newton's method on the joined table, with standard errors.

Inside MPC the features are standardised first (means and spreads stay secret), which keeps
every fixed-point quantity near 1; the Hessian is averaged over the public row count and
inverted by Newton–Schulz iterations (matrix products only, no secret pivoting); the
coefficients and their covariance are mapped back to the original scale before release.
An optional L2 penalty acts on the original-scale coefficients (not the intercept), as
scikit-learn's `C = 1 / l2` does.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tessera.analyses.newton import complete_rows, exact_scale, inverse_spd, standardise, values


def statistic(table, weight, target: str, features: tuple[str, ...], iterations: int = 8,
              l2: float = 0.0):  # fmt: skip
    y = table[target][:, 0]
    w = complete_rows(table, weight, (target, *features))
    x = values(table, features)
    rows = x.shape[0]
    scale = exact_scale(rows)
    total, mean, inv_spread = standardise(x, w)
    z = jnp.concatenate([jnp.ones((rows, 1)), (x - mean) * inv_spread], axis=1)
    penalty = jnp.concatenate([jnp.zeros(1), l2 * inv_spread**2]) / scale

    def newton_step(_, gamma):
        p = jax.nn.sigmoid(z @ gamma)
        gradient = (z.T @ (w * (y - p))) / scale - penalty * gamma
        hessian = (z.T * (w * p * (1.0 - p))) @ z / scale + jnp.diag(penalty)
        return gamma + inverse_spd(hessian) @ gradient

    gamma = jax.lax.fori_loop(0, iterations, newton_step, jnp.zeros(z.shape[1]))
    p = jax.nn.sigmoid(z @ gamma)
    hessian = (z.T * (w * p * (1.0 - p))) @ z / scale + jnp.diag(penalty)
    c = inverse_spd(hessian)  # covariance of gamma, times scale
    shift = -mean * inv_spread  # the intercept at x = 0 moves by these times the slopes
    beta = jnp.concatenate([gamma[:1] + shift @ gamma[1:], gamma[1:] * inv_spread])
    # Variances times the public scale; the recipient takes roots and divides in the clear.
    # The intercept's variance grows with the features' distance from zero (a calendar
    # year: ~1e7 here), so each product is formed where fixed point can hold it (below
    # ~1e8 in the 64-bit ring): shift_j shift_k first, then times c_jk; no square root
    # of a large secret.
    intercept = c[0, 0] + 2.0 * shift @ c[0, 1:] + jnp.sum(jnp.outer(shift, shift) * c[1:, 1:])
    variances = jnp.concatenate([intercept[None], inv_spread**2 * jnp.diag(c)[1:]])
    return beta, variances, total, jnp.asarray(scale)


def records(beta, scaled_variances, total, scale, features: tuple[str, ...]) -> dict:
    names = ["const", *features]
    se = np.sqrt(np.maximum(np.asarray(scaled_variances, dtype=float), 0.0) / float(scale))
    return {
        "coefficients": {n: float(b) for n, b in zip(names, np.asarray(beta), strict=True)},
        "standard_errors": {n: float(s) for n, s in zip(names, se, strict=True)},
        "n": int(np.rint(total)),
    }
