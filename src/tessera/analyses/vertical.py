"""The joined table of a vertical analysis: columns held by different parties, rows aligned.

A `Plan` is public: which data party holds which column, the join column, and which
columns are numeric or categorical. Each party encodes only its own columns (numeric as
value + presence, categorical as one-hot over its own levels; missing = all zeros) and the
other parties' columns are aligned to the anchor party's rows inside MPC (`tessera.mpc.join`).
Analyses are `statistic(table, weight)` functions in `jax.numpy`; `Vertical` runs one in
MPC and `plaintext` runs the very same function on a pandas join, as its reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pandas as pd

from tessera.analyses.where import Filter
from tessera.mpc.join import align, align_reference, merge, merge_reference, pseudonym_keys
from tessera.sources.readers import read_file

Statistic = Callable[..., object]


@dataclass(frozen=True, eq=False)  # hashed by identity: JAX hashes what it compiles
class Plan:
    """Public description of a vertical analysis. The first party is the anchor: the joined
    table has its rows (a patient counts when every party holds them)."""

    parties: tuple[str, ...]
    join: str
    owners: Mapping[str, str]  # column -> data party holding it
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    order_by: str | None = None  # an anchor column the anchor sorts its own rows by
    where: Filter | None = None  # which joined patients count

    @cached_property
    def _local_comparisons(self) -> dict[int, str]:
        """The filter's comparisons one party evaluates alone, by index, with that party."""
        return self.where.local(self.owners) if self.where else {}

    @property
    def columns(self) -> tuple[str, ...]:
        """Every table column, including the comparisons a party evaluates alone ("where:i")."""
        local = (f"where:{i}" for i in self._local_comparisons)
        return (*self.numeric, *self.categorical, *local)

    def owner(self, column: str) -> str:
        if column.startswith("where:"):
            return self._local_comparisons[int(column.removeprefix("where:"))]
        return self.owners[column]

    @property
    def layout(self) -> tuple[tuple[str, str], ...]:
        keys = tuple((f"keys:{p}", p) for p in self.parties)
        return keys + tuple((f"col:{c}", self.owner(c)) for c in self.columns)

    def encode(self, party: str, frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict]:
        """This party's inputs (its own columns only) and its category labels (recipient only)."""
        side = 0 if party == self.parties[0] else 1
        if side == 0 and self.order_by is not None:
            frame = frame.sort_values(self.order_by, na_position="last", kind="stable")
        mine = (
            {f"keys:{party}": pseudonym_keys(frame[self.join], side)}
            if party in self.parties
            else {}
        )
        labels = {}
        for column in self.numeric:
            if self.owners[column] == party:
                values = pd.to_numeric(frame[column], errors="coerce").astype(float)
                if (values.isna() & frame[column].notna()).any():
                    # name the column, never the value: this message reaches the researcher
                    raise ValueError(f"column {column!r} at {party} is not numeric")
                present = values.notna().to_numpy()
                mine[f"col:{column}"] = np.stack([values.fillna(0).to_numpy(), present], axis=1)
        for column in self.categorical:
            if self.owners[column] == party:
                text = frame[column].astype("string")
                levels = sorted(text.dropna().unique().tolist())
                mine[f"col:{column}"] = np.stack(
                    [(text == level).fillna(False).to_numpy(float) for level in levels], axis=1
                ) if levels else np.zeros((len(frame), 0))  # fmt: skip
                labels[column] = levels
        for column in self.columns:
            if column.startswith("where:") and self.owner(column) == party:
                comparison = self.where.comparisons[int(column.removeprefix("where:"))]
                passed = comparison.on_frame(frame)
                mine[f"col:{column}"] = np.stack([passed, np.ones_like(passed)], axis=1)
        return mine, labels

    def assemble(
        self,
        inputs: Mapping[str, object],
        align_rows: Callable = align,
        merge_rows: Callable = merge,
    ):
        """(columns by name, weight): numeric columns come as (value, present); a row weighs
        1 when every party holds the patient. Rows are the anchor's, in its order; when the
        analysis has no `order_by`, the last join skips restoring that order (one sort less)
        and the table also has weight-0 rows of the last party."""
        anchor_keys = inputs[f"keys:{self.parties[0]}"]
        names, carried = self._block(inputs, self.parties[0], anchor_keys.shape[0])
        weight = jnp.ones(anchor_keys.shape[0])
        others = self.parties[1:]
        for i, party in enumerate(others):  # every party, with columns or not: all must hold a row
            own, stacked = self._block(inputs, party, inputs[f"keys:{party}"].shape[0])
            keys = inputs[f"keys:{party}"]
            if i == len(others) - 1 and self.order_by is None:
                with_weight = jnp.concatenate([weight[:, None], carried], axis=1)
                w, with_weight, taken = merge_rows(anchor_keys, keys, with_weight, stacked)
                weight, carried = w * with_weight[:, 0], with_weight[:, 1:]
            else:
                w, taken = align_rows(anchor_keys, keys, stacked)
                weight = weight * w
            names, carried = names + own, jnp.concatenate([carried, taken], axis=1)
        table, start = {}, 0
        for column, width in names:
            table[column] = carried[:, start : start + width]
            start += width
        if self.where is not None:
            weight = weight * self.where.evaluate(table)
        return table, weight

    def _block(self, inputs: Mapping[str, object], party: str, rows: int):
        """A party's encoded columns side by side, with their (name, width)."""
        own = [c for c in self.columns if self.owner(c) == party]
        names = [(c, inputs[f"col:{c}"].shape[1]) for c in own]
        if not own:
            return names, jnp.zeros((rows, 0))
        return names, jnp.concatenate([inputs[f"col:{c}"] for c in own], axis=1)


@dataclass(frozen=True, eq=False)  # hashed by identity: JAX hashes what it compiles
class Vertical:
    """A picklable MPC function: join the parties' columns, then apply the statistic."""

    plan: Plan
    statistic: Statistic
    options: Mapping[str, object] = field(default_factory=dict)

    @property
    def __name__(self) -> str:  # the SPU compiler names the program after the function
        return f"vertical_{getattr(self.statistic, '__module__', 'statistic').rsplit('.', 1)[-1]}"

    def __call__(self, *arrays):
        inputs = dict(zip((name for name, _ in self.plan.layout), arrays, strict=True))
        table, weight = self.plan.assemble(inputs)
        return self.statistic(table, weight, **self.options)


@dataclass(frozen=True)
class PartyFiles:
    """The job each party process runs: read its own file, encode its own columns."""

    plan: Plan
    paths: Mapping[str, str]

    def __call__(self, party: str) -> tuple[dict[str, np.ndarray], dict]:
        if party not in self.paths:  # the helper holds no data
            return {}, {}
        return self.plan.encode(party, read_file(Path(self.paths[party])))


def column_names(path: str | Path) -> list[str]:
    """A file's column names without reading its rows (they are public schema)."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq") and path.exists():
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    return list(read_file(path).columns)


def plaintext(plan: Plan, frames: Mapping[str, pd.DataFrame], statistic: Statistic, **options):
    """The reference: the same statistic on the same encodings, joined in the clear."""
    inputs: dict[str, np.ndarray] = {}
    labels: dict[str, list[str]] = {}
    for party, frame in frames.items():
        mine, own_labels = plan.encode(party, frame)
        inputs.update(mine)
        labels.update(own_labels)

    def clear(reference):
        def join(*arrays):
            return tuple(jnp.asarray(a) for a in reference(*(np.asarray(x) for x in arrays)))

        return join

    table, weight = plan.assemble(inputs, clear(align_reference), clear(merge_reference))
    return statistic(table, weight, **options), labels


def plan_for_files(
    paths: Mapping[str, str],
    join: str,
    numeric: tuple[str, ...] = (),
    categorical: tuple[str, ...] = (),
    order_by: str | None = None,
    where: str | None = None,
) -> Plan:
    """Resolve each column to the one party whose file holds it (schemas only, no rows).

    With `order_by`, the party holding that column becomes the anchor and sorts its rows.
    `where` filters the joined patients (`tessera.analyses.where`).
    """
    if len(paths) < 2:
        raise ValueError("a vertical analysis needs at least two parties: --party NAME=PATH")
    names = {party: column_names(path) for party, path in paths.items()}
    lacking = [party for party, columns in names.items() if join not in columns]
    if lacking:
        raise ValueError(f"join column {join!r} is missing at {', '.join(lacking)}")
    condition = Filter.parse(where) if where else None
    owners = {}
    for column in (*numeric, *categorical, *(condition.columns if condition else ())):
        holders = [p for p, columns in names.items() if column in columns]
        if not holders:
            raise ValueError(f"unknown column {column!r}: no party holds it")
        if len(holders) > 1:
            raise ValueError(
                f"column {column!r} is held by {' and '.join(holders)}: rename it at one party"
            )
        owners[column] = holders[0]
    if condition is not None:  # comparisons across parties need their values inside MPC
        local = condition.local(owners)
        for i, comparison in enumerate(condition.comparisons):
            for column in comparison.columns if i not in local else ():
                if column in categorical:
                    raise ValueError(f"--where compares {column!r} across parties: not numeric")
                numeric = numeric if column in numeric else (*numeric, column)
    parties = tuple(paths)
    if order_by is not None:
        anchor = owners[order_by]
        parties = (anchor, *(p for p in parties if p != anchor))
    return Plan(parties, join, owners, tuple(numeric), tuple(categorical), order_by, condition)


def run_vertical(
    plan: Plan,
    paths: Mapping[str, str],
    statistic: Statistic,
    helper: bool = False,
    accuracy: str = "fast",
    **options,
) -> tuple[list[np.ndarray], dict[str, list[str]]]:
    """Run `statistic` among one local process per party (plus a helper without data)."""
    from tessera.mpc import Accuracy, run_local

    parties = [*paths, "helper"] if helper else list(paths)
    if len(parties) != 3:
        hint = " (add --helper)" if len(parties) == 2 else ""
        raise ValueError(f"an MPC session needs 3 parties, got {len(parties)}{hint}")
    outputs, metadata = run_local(
        Vertical(plan, statistic, options), parties, plan.layout, PartyFiles(plan, paths),
        Accuracy.preset(accuracy),
    )  # fmt: skip
    labels = {column: levels for party in metadata.values() for column, levels in party.items()}
    return outputs, labels
