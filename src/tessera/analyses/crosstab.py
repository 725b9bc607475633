"""Cross-table of two categorical columns, with small cells suppressed before release.

Inside MPC: counts = (weighted one-hot rows)ᵀ · (one-hot columns). Cells below the minimum
size are replaced by -1 *inside* the computation, so a suppressed count never leaves it.
(Secondary suppression, so that margins cannot give a cell back, is issue 6's.)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def statistic(table, weight, rows: str, cols: str, min_cell: int = 10):
    counts = (table[rows] * weight[:, None]).T @ table[cols]
    counts = jnp.round(counts)
    return jnp.where(counts >= min_cell, counts, -1.0)


def records(counts: np.ndarray, row_levels: list[str], col_levels: list[str]) -> list[list]:
    """[[row, col, n or None], ...] with suppressed cells as None."""
    return [
        [r, c, None if counts[i, j] < 0 else int(np.rint(counts[i, j]))]
        for i, r in enumerate(row_levels)
        for j, c in enumerate(col_levels)
    ]
