"""Running sums and segmented fills as associative scans: log n rounds in MPC.

Never `jnp.cumsum` inside an MPC program: it lowers to a reduce_window that SPU evaluates
with a round per row (Cox on 4,000 rows: 116 s with it, 16 s with these).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def prefix_sum(values):
    return jax.lax.associative_scan(jnp.add, values, axis=0)


def suffix_sum(values):
    """Sums from each row to the end."""
    return jax.lax.associative_scan(jnp.add, values, reverse=True, axis=0)


def fill(values, flags, reverse: bool = False):
    """Each row takes the value of the nearest flagged row at or before it (at or after it,
    if `reverse`); `flags` are 0/1 per row, `values` one value or a vector per row."""

    def combine(a, b):
        (a_value, a_flag), (b_value, b_flag) = a, b
        keep = b_flag[..., None] if b_value.ndim > b_flag.ndim else b_flag
        # one product per value, not two: a + keep (b - a)
        return a_value + keep * (b_value - a_value), a_flag + b_flag - a_flag * b_flag

    return jax.lax.associative_scan(combine, (values, flags), reverse=reverse, axis=0)[0]
