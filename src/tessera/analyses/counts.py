"""Counts over registries: patients per cell of one or more columns (a cross-table when
several), among the rows `--where` selects, small cells withheld with their complements."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tessera.analyses.grid import count_cells, domain, selected
from tessera.analyses.results import CountResult
from tessera.analyses.specs import Options, Pooled, Released
from tessera.privacy.noise import Noise


def _options(options: Options, frames, noise: Noise) -> dict:
    given = options.get("by") or []
    by = [given] if isinstance(given, str) else [str(b) for b in given]  # one column, or several
    if not by:
        raise ValueError("name the columns to count by, e.g. --by stage,sex")
    levels = domain(by, frames, dict(options.get("levels") or {}), noise)
    return {**options, "by": by, "levels": levels, "min_cell": int(options.get("min_cell", 10))}


def _vector(frame: pd.DataFrame, options: Options) -> np.ndarray:
    return count_cells(selected(frame, options.get("where")), options["levels"])


def _result(released: Released, options: Options, epsilon, registries: int) -> CountResult:
    by, grid = options["by"], options["levels"]
    cells = [
        [*(grid[b][i] for b, i in zip(by, index, strict=True)), n]
        for index, n in np.ndenumerate(released.counts())
    ]
    return CountResult(tuple(by), cells, epsilon, options["min_cell"], registries)


POOLED = Pooled(_options, _vector, _result)
