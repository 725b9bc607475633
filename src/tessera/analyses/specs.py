"""What an analysis module provides for each mode it runs in (`tessera.analyses.registry`).

Options are plain JSON values: in the federation they travel sealed to the stations, and
every station and the recipient must read them alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tessera.privacy.noise import Noise

Options = Mapping[str, object]


@dataclass(frozen=True)
class Joint:
    """An MPC analysis over vertically split data. `columns(options)`: the plan's numeric,
    categorical and order_by columns; `arguments(options)`: the statistic's keyword
    arguments; `statistic(table, weight, **arguments)`: the `jax.numpy` function run inside
    MPC (and in the clear as its reference); `result(outputs, labels, options)`: the
    recipient's result object from the opened outputs."""

    statistic: Callable[..., object]
    columns: Callable[[Options], dict]
    arguments: Callable[[Options], dict]
    result: Callable[[list[np.ndarray], dict, Options], object]


@dataclass(frozen=True)
class Released:
    """What the recipient of a pooled aggregate reads: the values (NaN where suppressed)
    in the aggregate's shape."""

    values: np.ndarray
    suppressed: np.ndarray

    def counts(self) -> np.ndarray:
        """Released counts as objects: ints, None where suppressed; noise below 0 is 0."""
        out = np.empty(self.values.shape, dtype=object)
        for i, v in np.ndenumerate(self.values):
            out[i] = None if self.suppressed[i] else max(int(v), 0)
        return out


@dataclass(frozen=True)
class Pooled:
    """An aggregate over registries with one schema, in one round. `options(options,
    frames, noise)` resolves the public grid (levels, time bins): from the registries'
    frames only without noise, never in the federation (frames are empty there);
    `vector(frame, options)` is one registry's integer aggregate; `result(released,
    options, epsilon, registries)` the recipient's object. One patient changes the vector
    by at most `sensitivity` in L1 norm (or `options["sensitivity"]`, once resolved)."""

    options: Callable[[Options, Mapping[str, pd.DataFrame], Noise], dict]
    vector: Callable[[pd.DataFrame, Options], np.ndarray]
    result: Callable[[Released, Options, float | None, int], object]
    sensitivity: int = 1

    def sensitivity_of(self, options: Options) -> int:
        """The L1 sensitivity with these resolved options."""
        return int(options.get("sensitivity", self.sensitivity))
