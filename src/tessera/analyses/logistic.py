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
    covariance_z = inverse_spd(hessian)  # x scale: see below
    k = len(features)
    transform = jnp.zeros((k + 1, k + 1))
    transform = transform.at[0, 0].set(1.0)
    transform = transform.at[0, 1:].set(-mean * inv_spread)
    transform = transform.at[1:, 1:].set(jnp.diag(inv_spread))
    beta = transform @ gamma
    # Standard errors times sqrt(scale): well inside fixed-point range. The scale is
    # public, so the recipient divides in the clear instead of losing precision here.
    scaled_se = jnp.sqrt(jnp.diag(transform @ covariance_z @ transform.T))
    return beta, scaled_se, total, jnp.asarray(scale)


def records(beta, scaled_se, total, scale, features: tuple[str, ...]) -> dict:
    names = ["const", *features]
    se = np.asarray(scaled_se, dtype=float) / np.sqrt(float(scale))
    return {
        "coefficients": {n: float(b) for n, b in zip(names, np.asarray(beta), strict=True)},
        "standard_errors": {n: float(s) for n, s in zip(names, se, strict=True)},
        "n": int(np.rint(total)),
    }
