"""What the regressions share inside MPC: complete rows, standardised features, exact scaling,
and a matrix inverse made of products only."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def complete_rows(table, weight, columns):
    """The weight of rows that are joined and have every named column present."""
    for name in columns:
        weight = weight * table[name][:, 1]
    return weight


def values(table, columns):
    """The named numeric columns side by side (n x k)."""
    return jnp.stack([table[name][:, 0] for name in columns], axis=1)


def exact_scale(rows: int) -> float:
    """A power of two near the row count. Averaging by it is exact in fixed point, where
    1/rows is not (a covariance would inherit that rounding)."""
    return float(2.0 ** np.round(np.log2(max(rows, 1))))


SHRINK = 2.0**-10


def standardise(x, weight):
    """(total weight, weighted means, 1 / weighted spreads): keeps fixed point near 1.

    A sum of products is formed in the ring before it is truncated once: 60,000 calendar
    years came to 2^62.9 in the 64-bit ring, where truncation fails at random (wrong
    fits now and then). So sums run over values shrunk by 2^-10 (and squares of values
    shrunk by 2^-5), and are scaled back after. The fit does not depend on the exact
    centre and spread, as long as the same ones map the coefficients back.
    """
    total = jnp.sum(weight)
    mean = (weight @ (x * SHRINK)) / total / SHRINK
    spread = jnp.sqrt((weight @ (((x - mean) * SHRINK**0.5) ** 2)) / total / SHRINK)
    return total, mean, 1.0 / spread


def inverse_spd(a, iterations: int = 30):
    """Newton–Schulz inverse of a symmetric positive definite matrix: X ← X(2I − AX),
    started at I / trace(A) so that it converges for any SPD A."""
    eye = jnp.eye(a.shape[0])
    return jax.lax.fori_loop(
        0, iterations, lambda _, x: x @ (2.0 * eye - a @ x), eye / jnp.trace(a)
    )
