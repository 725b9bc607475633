"""Count, mean and standard deviation of numeric columns over the joined table.

A row counts when every party holds the patient and the column's value is present.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def statistic(table, weight, columns: tuple[str, ...]):
    rows = []
    for column in columns:
        value, present = table[column][:, 0], table[column][:, 1]
        w = weight * present
        n = jnp.sum(w)
        total = jnp.sum(w * value)
        mean = total / jnp.maximum(n, 1.0)
        centred = (value - mean) * w
        variance = jnp.sum(centred * centred) / jnp.maximum(n - 1.0, 1.0)
        rows.append(jnp.stack([n, mean, jnp.sqrt(variance)]))
    return jnp.stack(rows)


def records(result: np.ndarray, columns: tuple[str, ...]) -> dict[str, dict[str, float]]:
    return {
        column: {"count": int(np.rint(row[0])), "mean": float(row[1]), "sd": float(row[2])}
        for column, row in zip(columns, np.asarray(result), strict=True)
    }
