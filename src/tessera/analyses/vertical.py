"""The joined table of a vertical analysis: columns held by different parties, rows aligned.

A `Plan` is public: which data party holds which column, the join column, and which
columns are numeric or categorical. Each party encodes only its own columns (numeric as
value + presence, categorical as one-hot over its own levels; missing = all zeros); before
MPC the parties align the other parties' rows to the anchor party's (`tessera.mpc.join`),
and inside MPC those columns become secret shares on the anchor's rows. Analyses are
`statistic(table, weight)` functions in `jax.numpy`; `Vertical` runs one in MPC and
`plaintext` runs the very same function on a join in the clear, as its reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from tessera.analyses.where import Filter
from tessera.linkage.protocol import ByIdentifiers
from tessera.mpc import join as alignment
from tessera.sources.readers import read_file

Statistic = Callable[..., object]
RANKED_ROWS = 2**21  # row numbers and ranks share a sort key: each must stay below this


@dataclass(frozen=True, eq=False)  # hashed by identity: JAX hashes what it compiles
class Plan:
    """Public description of a vertical analysis. The first party is the anchor: the joined
    table has its rows (a patient counts when every party holds them). Rows are matched on
    the `join` column, or with `link` by private record linkage of the identifiers."""

    parties: tuple[str, ...]
    join: str | None
    owners: Mapping[str, str]  # column -> data party holding it
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    order_by: str | None = None  # its holder adds its ranks, by which `in_order` sorts
    where: Filter | None = None  # which joined patients count
    link: ByIdentifiers | None = None
    row_numbers: bool = False  # each party adds "row:PARTY", its row numbers (evaluation)

    @property
    def matching(self) -> alignment.Matching:
        return self.link or alignment.ByPseudonym()

    @cached_property
    def _local_comparisons(self) -> dict[int, str]:
        """The filter's comparisons one party evaluates alone, by index, with that party."""
        return self.where.local(self.owners) if self.where else {}

    @property
    def columns(self) -> tuple[str, ...]:
        """Every table column, including the comparisons a party evaluates alone ("where:i")
        and the ranks of the `order_by` column ("rank:NAME")."""
        local = (f"where:{i}" for i in self._local_comparisons)
        rank = (f"rank:{self.order_by}",) if self.order_by else ()
        rows = tuple(f"row:{party}" for party in self.parties) if self.row_numbers else ()
        return (*self.numeric, *self.categorical, *local, *rank, *rows)

    def owner(self, column: str) -> str:
        if column.startswith("row:"):
            return column.removeprefix("row:")
        if column.startswith("where:"):
            return self._local_comparisons[int(column.removeprefix("where:"))]
        return self.owners[column.removeprefix("rank:")]

    def pairs(self, world: Sequence[str]) -> tuple[alignment.Pairing, ...]:
        return alignment.pairings(self.parties, world)

    def layout(self, world: Sequence[str]) -> tuple[tuple[str, str], ...]:
        """The MPC inputs (name, owner) in a session among `world`."""
        return alignment.layout(
            self.pairs(world), self.columns, {c: self.owner(c) for c in self.columns}
        )

    def encode(self, party: str, frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict]:
        """What this party matches on ("keys": pseudonyms, or identifiers to link), its
        encoded columns ("col:NAME"), and its category labels (for the recipient only)."""
        keys = self.link.prepare(frame) if self.link else frame[self.join].to_numpy(dtype=object)
        mine: dict[str, np.ndarray] = {"keys": keys}
        labels: dict[str, list] = {}
        if self.row_numbers:
            mine[f"col:row:{party}"] = np.arange(len(frame), dtype=float)[:, None]
            if "record_id" not in frame.columns:
                raise ValueError(f"revealing pairs needs a record_id column at {party}")
            labels[f"row:{party}"] = frame["record_id"].astype(str).tolist()
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
        if self.order_by is not None and self.owners[self.order_by] == party:
            if len(frame) > RANKED_ROWS:
                raise ValueError(f"{party} has more than {RANKED_ROWS:,} rows to order by")
            values = pd.to_numeric(frame[self.order_by], errors="coerce")
            ranks = values.rank(method="dense").fillna(1.0).to_numpy() - 1.0
            mine[f"col:rank:{self.order_by}"] = ranks[:, None]
        return mine, labels

    def assemble(self, inputs: Mapping[str, object], ring_bits: int = 64):
        """Inside MPC: (columns by name, weight) on the anchor's rows. Numeric columns come
        as (value, present); a row weighs 1 when every party holds the patient and it
        passes the filter."""
        table = {
            column: inputs[f"col:{column}"]
            if f"col:{column}" in inputs
            else alignment.unmasked(
                inputs[f"aligned:{column}"], inputs[f"unmask:{column}"], ring_bits
            )
            for column in self.columns
        }
        weight = None
        for party in self.parties[1:]:
            matched = inputs[f"matched:{party}"]
            weight = matched if weight is None else weight * matched
        return self.filtered(table, weight)

    def filtered(self, table: dict, weight):
        if self.where is not None:
            weight = weight * self.where.evaluate(table)
        return table, weight


def in_order(table: Mapping[str, object], use, column: str):
    """(table, use): the rows sorted by `column`, the rows that count (use 1) first.

    The sort key is the holder's rank of the value, then the row number, so keys are
    distinct and the comparisons the engine's sort opens show a random permutation only.
    `use` comes back exactly 0 or 1.
    """
    rows = use.shape[0]
    if rows > RANKED_ROWS:
        raise ValueError(f"more than {RANKED_ROWS:,} rows to order by {column!r}")
    counted = (use > 0.5).astype(jnp.int64)
    # integers: a fixed-point product with a large constant would overflow the ring
    rank = (table[f"rank:{column}"][:, 0] + 0.5).astype(jnp.int64)
    key = rank * RANKED_ROWS + jnp.arange(rows, dtype=jnp.int64) + (1 - counted) * 2**43
    counted = counted.astype(use.dtype)
    names = list(table)
    stacked = jnp.concatenate([*(table[name] for name in names), counted[:, None]], axis=1)
    ordered = jnp.stack(jax.lax.sort((key, *stacked.T), num_keys=1)[1:], axis=1)
    result, start = {}, 0
    for name in names:
        width = table[name].shape[1]
        result[name], start = ordered[:, start : start + width], start + width
    return result, ordered[:, -1]


@dataclass(frozen=True, eq=False)  # hashed by identity: JAX hashes what it compiles
class Vertical:
    """A picklable MPC function: the joined table, then the statistic."""

    plan: Plan
    statistic: Statistic
    options: Mapping[str, object] = field(default_factory=dict)
    world: tuple[str, ...] = ()  # the session's parties (data parties, maybe a helper)
    ring_bits: int = 64

    @property
    def __name__(self) -> str:  # the SPU compiler names the program after the function
        return f"vertical_{getattr(self.statistic, '__module__', 'statistic').rsplit('.', 1)[-1]}"

    def __call__(self, *arrays):
        names = (name for name, _ in self.plan.layout(self.world))
        table, weight = self.plan.assemble(dict(zip(names, arrays, strict=True)), self.ring_bits)
        return self.statistic(table, weight, **self.options)


@dataclass(frozen=True)
class PartyFiles:
    """The job each party process runs: read and encode its own file, then align."""

    plan: Plan
    paths: Mapping[str, str]
    world: tuple[str, ...]
    fraction_bits: int

    def __call__(self, party: str) -> tuple[dict[str, np.ndarray], dict]:
        if party not in self.paths:  # the helper holds no data
            return {}, {}
        return self.plan.encode(party, read_file(Path(self.paths[party])))

    def exchange(self, party: str, peers: alignment.Peers, mine: dict[str, np.ndarray]):
        """This party's side of the alignment (`tessera.mpc.join`): its MPC inputs."""
        columns = {k.removeprefix("col:"): v for k, v in mine.items() if k.startswith("col:")}
        pairs = self.plan.pairs(self.world)
        return alignment.align(
            peers, party, pairs, mine.get("keys"), columns, self.fraction_bits, self.plan.matching
        )


def column_names(path: str | Path) -> list[str]:
    """A file's column names without reading its rows (they are public schema)."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq") and path.exists():
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    return list(read_file(path).columns)


def plaintext(plan: Plan, frames: Mapping[str, pd.DataFrame], statistic: Statistic, **options):
    """The reference: the same statistic on the same encodings, joined in the clear."""
    pseudonyms, columns, labels = {}, {}, {}
    for party in plan.parties:
        mine, own_labels = plan.encode(party, frames[party])
        pseudonyms[party] = mine.pop("keys")
        columns[party] = {k.removeprefix("col:"): v for k, v in mine.items()}
        labels.update(own_labels)
    table, weight = alignment.left_join(plan.parties[0], pseudonyms, columns)
    table, weight = plan.filtered(
        {k: jnp.asarray(v) for k, v in table.items()}, jnp.asarray(weight)
    )
    return statistic(table, weight, **options), labels


def plan_for_files(
    paths: Mapping[str, str],
    join: str | None = None,
    numeric: tuple[str, ...] = (),
    categorical: tuple[str, ...] = (),
    order_by: str | None = None,
    where: str | None = None,
    link: Mapping[str, object] | None = None,
    row_numbers: bool = False,
) -> Plan:
    """Resolve each column to the one party whose file holds it (schemas only, no rows)."""
    if len(paths) < 2:
        raise ValueError("a vertical analysis needs at least two parties: --party NAME=PATH")
    names = {party: column_names(path) for party, path in paths.items()}
    return plan_for_columns(names, join, numeric, categorical, order_by, where, link,
                            row_numbers)  # fmt: skip


def plan_for_columns(
    names: Mapping[str, Sequence[str]],
    join: str | None = None,
    numeric: tuple[str, ...] = (),
    categorical: tuple[str, ...] = (),
    order_by: str | None = None,
    where: str | None = None,
    link: Mapping[str, object] | None = None,
    row_numbers: bool = False,
) -> Plan:
    """Resolve each column to the one party whose schema (`names`: party -> its column
    names) holds it.

    The first party anchors the join: on the `join` column, or, given `link` (the fields
    and threshold of `ByIdentifiers.for_columns`), by private record linkage. With
    `order_by`, the column's holder also sends its ranks, for analyses that sort by it
    (`in_order`). `where` filters the joined patients (`tessera.analyses.where`).
    """
    if (join is None) == (link is None):
        raise ValueError("match the parties' rows with either --join COLUMN or --link identifiers")
    linkage = ByIdentifiers.for_columns(names, **link) if link is not None else None
    lacking = [party for party, columns in names.items() if join and join not in columns]
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
    return Plan(tuple(names), join, owners, tuple(numeric), tuple(categorical), order_by,
                condition, linkage, row_numbers)  # fmt: skip


def run_vertical(
    plan: Plan,
    paths: Mapping[str, str],
    statistic: Statistic,
    helper: bool = False,
    accuracy: str = "fast",
    session: Mapping[str, object] | None = None,
    **options,
) -> tuple[list[np.ndarray], dict[str, list[str]]]:
    """Run `statistic` among one local process per party (plus a helper without data).
    `session` passes settings on to `run_local` (timeout, reach)."""
    from tessera.mpc import Accuracy, run_local

    world = (*paths, "helper") if helper else tuple(paths)
    if len(world) != 3:
        hint = " (add --helper)" if len(world) == 2 else ""
        raise ValueError(f"an MPC session needs 3 parties, got {len(world)}{hint}")
    settings = Accuracy.preset(accuracy)
    ring_bits = 128 if settings.field == "FM128" else 64
    files = PartyFiles(plan, paths, world, settings.fraction_bits)
    outputs, metadata = run_local(
        Vertical(plan, statistic, options, world, ring_bits), world, plan.layout(world), files,
        settings, exchange=files.exchange, **(session or {}),
    )  # fmt: skip
    labels = {column: levels for party in metadata.values() for column, levels in party.items()}
    return outputs, labels
