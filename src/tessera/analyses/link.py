"""The result of record linkage itself: how many of the anchor's records were linked, and,
for evaluation in local mode only, which pairs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np


def statistic(table, weight, parties: Sequence[str] = (), reveal_pairs: bool = False):
    """The number of linked records; with `reveal_pairs`, also each anchor row's weight and
    the row numbers of both records (zero where unlinked)."""
    if not reveal_pairs:
        return jnp.sum(weight)
    return (weight, *(table[f"row:{party}"][:, 0] * weight for party in parties))


def records(
    outputs: Sequence[np.ndarray], labels: Mapping[str, list[str]], parties: Sequence[str]
) -> dict:
    """{"matched": n}, with "pairs" of record ids when the rows were revealed."""
    if len(outputs) == 1:
        return {"matched": round(float(outputs[0]))}
    linked = np.asarray(outputs[0]) > 0.5
    rows = [np.rint(np.asarray(o)[linked]).astype(int) for o in outputs[1:]]
    ids = [np.asarray(labels[f"row:{party}"])[r] for party, r in zip(parties, rows, strict=True)]
    pairs = sorted(list(map(str, pair)) for pair in zip(*ids, strict=True))
    return {"matched": int(linked.sum()), "pairs": pairs}


@dataclass(frozen=True)
class LinkResult:
    """How many of the anchor's records were linked; the pairs only when revealed."""

    matched: int
    pairs: list[list[str]] | None = None

    def to_dict(self) -> dict:
        return {"matched": self.matched} | ({"pairs": self.pairs} if self.pairs is not None else {})

    def __str__(self) -> str:
        lines = [f"{self.matched:,} records linked"]
        lines += ["  ".join(pair) for pair in self.pairs or ()]
        return "\n".join(lines)


def run_link(
    paths: Mapping[str, str],
    fields: Sequence[str] | None = None,
    threshold: float | None = None,
    reveal_pairs: bool = False,
    session: Mapping[str, object] | None = None,
) -> LinkResult:
    """Link the parties' records privately among local processes (a helper joins two
    parties). `reveal_pairs` is for evaluation in local mode: it opens the record ids."""
    from tessera.analyses.vertical import plan_for_files, run_vertical

    link = {"fields": fields, "threshold": threshold}
    plan = plan_for_files(paths, link=link, row_numbers=reveal_pairs)
    outputs, labels = run_vertical(
        plan, paths, statistic, helper=len(paths) == 2, session=session,
        parties=plan.parties, reveal_pairs=reveal_pairs,
    )  # fmt: skip
    return LinkResult(**records(outputs, labels, plan.parties))
