"""Cross-table of two categorical columns, with small cells suppressed before release.

Inside MPC: counts = (weighted one-hot rows)ᵀ · (one-hot columns). Cells below the minimum
size are replaced by -1 *inside* the computation, so a suppressed count never leaves it.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from tessera.analyses.results import CrossTableResult
from tessera.analyses.specs import Joint, Options


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


def _result(outputs, labels, options: Options) -> CrossTableResult:
    rows, cols = str(options["rows"]), str(options["cols"])
    return CrossTableResult(rows, cols, records(outputs[0], labels[rows], labels[cols]))


JOINT = Joint(
    statistic,
    lambda o: {"categorical": (o["rows"], o["cols"])},
    lambda o: {"rows": o["rows"], "cols": o["cols"], "min_cell": int(o.get("min_cell", 10))},
    _result,
)
