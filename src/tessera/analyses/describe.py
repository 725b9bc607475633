"""Count, mean, standard deviation and quartiles of numeric columns over the joined table.

A row counts when every party holds the patient and the column's value is present.
Quartiles come from one oblivious sort per column (rows that do not count sort last) and
are interpolated linearly between order statistics, as numpy and pandas do. Minimum and
maximum are not released: they are single patients' values. A column counted on fewer
than `min_count` patients releases nothing but that fact; the check happens inside MPC, so
a withheld figure never leaves it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tessera.analyses.results import DescriptionResult
from tessera.analyses.specs import Joint, Options

QUANTILES = (0.25, 0.5, 0.75)
LARGEST = 2.0**24  # values at or above this sort among the rows that do not count
FIELDS = ("count", "mean", "sd", *(f"q{round(q * 100)}" for q in QUANTILES))


def statistic(table, weight, columns: tuple[str, ...], min_count: int = 10):
    rows = []
    for column in columns:
        value, present = table[column][:, 0], table[column][:, 1]
        w = weight * present
        n = jnp.round(jnp.sum(w))
        mean = jnp.sum(w * value) / jnp.maximum(n, 1.0)
        centred = (value - mean) * w
        variance = jnp.sum(centred * centred) / jnp.maximum(n - 1.0, 1.0)
        figures = jnp.stack([n, mean, jnp.sqrt(variance), *_quantiles(value, w, n)])
        rows.append(jnp.where(n >= min_count, figures, -1.0))
    return jnp.stack(rows)


def _quantiles(value, w, n):
    """Linear interpolation between order statistics (numpy's default) of the counted rows."""
    key = value * w + LARGEST * (1.0 - w)
    ordered = jax.lax.sort(key)
    position = jnp.arange(ordered.shape[0], dtype=ordered.dtype)
    following = jnp.concatenate([ordered[1:], ordered[-1:]])
    results = []
    for q in QUANTILES:
        h = (n - 1.0) * q
        below = (position <= h).astype(ordered.dtype)  # rows 0 .. floor(h)
        at = below - jnp.concatenate([below[1:], jnp.zeros(1, ordered.dtype)])  # floor(h)
        lower = jnp.sum(at * ordered)
        upper = jnp.sum(at * following)
        fraction = h - (jnp.sum(below) - 1.0)
        results.append(lower + fraction * (upper - lower))
    return results


def records(result: np.ndarray, columns: tuple[str, ...]) -> dict[str, dict[str, float | None]]:
    """Per column its figures; all None when fewer than the minimum count were counted."""
    out = {}
    for column, row in zip(columns, np.asarray(result, dtype=float), strict=True):
        if row[0] < 0:
            out[column] = dict.fromkeys(FIELDS)
        elif row[0] < 0.5:  # nobody counted: nothing to average
            out[column] = dict.fromkeys(FIELDS) | {"count": 0}
        else:
            out[column] = {"count": int(np.rint(row[0]))} | {
                name: float(v) for name, v in zip(FIELDS[1:], row[1:], strict=True)
            }
    return out


def _columns(options: Options) -> tuple[str, ...]:
    return tuple(str(c) for c in options["columns"])


def _result(outputs, labels, options: Options) -> DescriptionResult:
    minimum = int(options.get("min_count", 10))
    return DescriptionResult(records(outputs[0], _columns(options)), minimum)


JOINT = Joint(
    statistic,
    lambda o: {"numeric": _columns(o)},
    lambda o: {"columns": _columns(o), "min_count": int(o.get("min_count", 10))},
    _result,
)
