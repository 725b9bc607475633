"""Logistic regression by Newton's method on the joined table, with standard errors.

Inside MPC the features are standardised first (means and spreads stay secret), which keeps
every fixed-point quantity near 1; the Hessian is averaged over the public row count and
inverted by Newton–Schulz iterations (matrix products only, no secret pivoting); the
coefficients and their covariance are mapped back to the original scale before release.
An optional L2 penalty acts on the original-scale coefficients (not the intercept), as
scikit-learn's `C = 1 / l2` does.

Over registries (`POOLED`), the same model is fitted in rounds on the registries' pooled
gradients and Hessians (`tessera.analyses.fits`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from tessera.analyses import fits
from tessera.analyses.fits import (
    Ask,
    Fit,
    Rounds,
    clipped_rows,
    common_options,
    covariate_names,
    midpoints,
    pairs,
    reach_of,
    regression,
    square,
    standardised,
    triangle,
)
from tessera.analyses.newton import complete_rows, exact_scale, inverse_spd, standardise, values
from tessera.analyses.results import RegressionResult
from tessera.analyses.specs import Joint, Options
from tessera.privacy.noise import Noise


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


def _joint_result(outputs, labels, options: Options) -> RegressionResult:
    record = records(*outputs, tuple(options["features"]))
    return RegressionResult.from_records(record, hazard=False)


def _arguments(options: Options) -> dict:
    return {
        "target": options["target"],
        "features": tuple(options["features"]),
        "iterations": int(options.get("iterations", 8)),
        "l2": float(options.get("l2", 0.0)),
    }


JOINT = Joint(
    statistic, lambda o: {"numeric": (o["target"], *o["features"])}, _arguments, _joint_result
)


# -- over registries: fitted in rounds (`tessera.analyses.fits`) --


def _pooled_options(options: Options, frames, noise: Noise) -> dict:
    target = str(options["target"])
    resolved = common_options({**options, "covariates": list(options.get("features") or
                                                       options.get("covariates") or [])},
                       noise, [target], 0)  # fmt: skip
    return {**resolved, "target": target, "l2": float(options.get("l2") or 0.0)}


def _pooled_rows(frame: pd.DataFrame, options: Options) -> dict:
    rows = clipped_rows(frame, options)
    y = rows[options["target"]].to_numpy()
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{options['target']}: a logistic model's outcome must be 0 or 1")
    return {"x": rows[covariate_names(options)].to_numpy(), "y": y}


def _pooled_vector(rows: dict, options: Options, ask: Ask) -> np.ndarray:
    """Gradient, Hessian triangle and row count at the ask's coefficients."""
    x = np.column_stack([np.ones(len(rows["x"])), standardised(rows["x"], options, ask)])
    mu = 1.0 / (1.0 + np.exp(-(x @ np.asarray(ask["beta"]))))
    hessian = (x.T * (mu * (1 - mu))) @ x
    return np.r_[x.T @ (rows["y"] - mu), triangle(hessian), len(x)]


def _pooled_sensitivity(options: Options, ask: Ask) -> float:
    """|y - mu| <= 1 and mu(1 - mu) <= 1/4, with the constant's reach 1."""
    reach = np.r_[1.0, reach_of(options, ask)]
    return float(reach.sum()) + pairs(reach) / 4 + 1


def _pooled_researcher(options: Options) -> Rounds:
    """Newton's method; an L2 penalty acts on the slopes, as scikit-learn's C = 1/l2."""
    names = covariate_names(options)
    k = len(names) + 1
    centre = midpoints(options)
    penalty = np.r_[0.0, np.full(k - 1, float(options["l2"]))]
    steps, number = fits.newton(options, k), 0
    beta = next(steps)
    while True:
        total = yield {"round": number, "beta": beta.tolist(), "centre": centre}
        gradient = total[:k] - penalty * beta
        hessian = square(total[k:-1], k) + np.diag(penalty)
        try:
            beta = steps.send((gradient, hessian, max(int(np.rint(total[-1])), 0)))
        except StopIteration as done:
            beta, covariance, n = done.value
            break
        number += 1
    # back from the standardised covariates: b_j / scale_j, and the constant moves
    scale = np.asarray(options["scale"])
    back = np.diag(np.r_[1.0, 1.0 / scale])
    back[0, 1:] = -np.asarray(centre) / scale
    beta, covariance = back @ beta, back @ covariance @ back.T
    return regression(["const", *names], beta, covariance, n, options)


POOLED = Fit(_pooled_options, _pooled_rows, _pooled_vector, _pooled_sensitivity,
             _pooled_researcher, intercept=True)  # fmt: skip
