"""Counts of a numeric column in public bins [edge_i, edge_i+1) (the last bin closed, as
numpy's), with quantiles read off the counts as from grouped data.

Joint (MPC over data split by columns): a row counts when every party holds the patient and
the value is present; bins below `min_cell` are withheld inside MPC. Pooled (registries):
each registry bins its own rows; small bins are withheld with their complements.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
import pandas as pd

from tessera.analyses.grid import column, selected
from tessera.analyses.results import HistogramResult
from tessera.analyses.specs import Joint, Options, Pooled, Released
from tessera.privacy.noise import Noise


def edges_of(options: Options) -> list[float]:
    """The bin edges, checked: at least two, increasing."""
    edges = [float(e) for e in options["edges"]]
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError("a histogram needs at least two increasing bin edges")
    return edges


def statistic(table, weight, column: str, edges: tuple[float, ...], min_cell: int = 10):
    """Counts per bin [edges[i], edges[i+1]) (the last bin includes its upper edge)."""
    value, present = table[column][:, 0], table[column][:, 1]
    w = weight * present
    at_least = [(value >= e).astype(w.dtype) for e in edges[:-1]] + [
        (value > edges[-1]).astype(w.dtype)
    ]
    counts = jnp.round(jnp.stack([jnp.sum(w * a) for a in at_least]))
    counts = counts[:-1] - counts[1:]
    return jnp.where(counts >= min_cell, counts, -1.0)


def _joint_result(outputs, labels, options: Options) -> HistogramResult:
    edges = edges_of(options)
    counts = [None if n < 0 else int(np.rint(n)) for n in np.asarray(outputs[0])]
    numbers = [np.nan if n is None else n for n in counts]
    qs = [float(q) for q in options.get("quantiles") or []]
    return HistogramResult(str(options["column"]), edges, counts, None,
                           grouped_quantiles(edges, numbers, qs))  # fmt: skip


def _arguments(options: Options) -> dict:
    edges = tuple(edges_of(options))
    return {
        "column": options["column"],
        "edges": edges,
        "min_cell": int(options.get("min_cell", 10)),
    }


JOINT = Joint(statistic, lambda o: {"numeric": (o["column"],)}, _arguments, _joint_result)


def grouped_quantiles(edges: Sequence[float], counts: Sequence[float], qs) -> dict:
    """Quantiles of grouped data: interpolate linearly within the bin that crosses q·n."""
    counts = np.clip(np.nan_to_num(np.asarray(counts, float)), 0, None)
    total, cumulative = counts.sum(), np.concatenate([[0.0], np.cumsum(counts)])
    out = {}
    for q in qs:
        if not 0 <= q <= 1:
            raise ValueError(f"quantile {q}: between 0 and 1")
        if total <= 0:
            out[float(q)] = float("nan")
            continue
        target = q * total
        i = int(np.clip(np.searchsorted(cumulative, target, side="left") - 1, 0, len(counts) - 1))
        inside = (target - cumulative[i]) / counts[i] if counts[i] else 0.0
        out[float(q)] = float(edges[i] + inside * (edges[i + 1] - edges[i]))
    return out


def _pooled_options(options: Options, frames, noise: Noise) -> dict:
    if options.get("by"):
        raise ValueError("a histogram counts one column: leave out --by")
    qs = [float(q) for q in options.get("quantiles") or []]
    return {**options, "edges": edges_of(options), "quantiles": qs,
            "min_cell": int(options.get("min_cell", 10))}  # fmt: skip


def _pooled_vector(frame: pd.DataFrame, options: Options) -> np.ndarray:
    rows = selected(frame, options.get("where"))
    values = pd.to_numeric(column(rows, str(options["column"])), errors="coerce").dropna()
    return np.histogram(values.to_numpy(float), bins=options["edges"])[0].astype(np.int64)


def _pooled_result(released: Released, options: Options, epsilon, registries: int):
    counts = released.counts()
    numbers = [np.nan if n is None else n for n in counts]
    quantiles = grouped_quantiles(options["edges"], numbers, options["quantiles"])
    return HistogramResult(str(options["column"]), list(options["edges"]), list(counts),
                           epsilon, quantiles)  # fmt: skip


POOLED = Pooled(_pooled_options, _pooled_vector, _pooled_result)
