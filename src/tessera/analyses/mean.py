"""Sums and means over registries of a numeric column clipped to public bounds, per cell
of the `--by` columns: one noise of L1 sensitivity 2B splits epsilon between the count and
the sum. The noise alone protects a mean (cells are not withheld by size)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tessera.analyses.counts import POOLED as COUNTS
from tessera.analyses.grid import column, count_cells, selected
from tessera.analyses.results import MeanResult
from tessera.analyses.specs import Options, Pooled, Released
from tessera.privacy.noise import Noise


def _options(options: Options, frames, noise: Noise) -> dict:
    """The sum travels in units of `resolution`, the count scaled by the largest bound in
    those units, so one noise of L1 sensitivity 2B splits epsilon evenly between them.
    Cells are not suppressed by size (the scaled counts are no test's small numbers): the
    noise alone protects a mean, so ask with a finite epsilon."""
    low, high = (float(b) for b in options["bounds"])
    resolution = float(options.get("resolution", 0.25))
    if not (low < high and resolution > 0):
        raise ValueError("--bounds LOW,HIGH with LOW < HIGH, and a positive --resolution")
    scale = math.ceil(max(abs(low), abs(high)) / resolution)
    counted = COUNTS.options({**options, "min_cell": options.get("min_cell", 10)}, frames, noise)
    return {**counted, "bounds": [low, high], "resolution": resolution, "scale": scale,
            "sensitivity": 2 * scale}  # fmt: skip


def _vector(frame: pd.DataFrame, options: Options) -> np.ndarray:
    rows = selected(frame, options.get("where"))
    values = pd.to_numeric(column(rows, str(options["column"])), errors="coerce")
    rows = rows[values.notna()]
    units = np.rint(values.dropna().clip(*options["bounds"]) / options["resolution"])
    counts = count_cells(rows, options["levels"]) * options["scale"]
    sums = count_cells(rows.assign(_units=units.to_numpy()), options["levels"], "_units")
    return np.stack([counts, sums], axis=-1).astype(np.int64)


def _result(released: Released, options: Options, epsilon, registries: int):
    by, grid = options["by"], options["levels"]
    values, hidden = released.values, released.suppressed[..., 0]
    cells = []
    for index in np.ndindex(values.shape[:-1]):
        levels = [grid[b][i] for b, i in zip(by, index, strict=True)]
        if hidden[index]:
            cells.append([*levels, None, None, None])
            continue
        n = max(round(values[index][0] / options["scale"]), 0)
        total = values[index][1] * options["resolution"]
        cells.append([*levels, n, total, total / n if n else None])
    return MeanResult(str(options["column"]), tuple(by), cells, epsilon)


POOLED = Pooled(_options, _vector, _result)
