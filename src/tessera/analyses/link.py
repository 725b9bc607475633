"""The result of record linkage itself: how many of the anchor's records were linked, and,
for evaluation in local mode only, which pairs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
        return {"matched": int(round(float(outputs[0])))}
    linked = np.asarray(outputs[0]) > 0.5
    rows = [np.rint(np.asarray(o)[linked]).astype(int) for o in outputs[1:]]
    ids = [np.asarray(labels[f"row:{party}"])[r] for party, r in zip(parties, rows, strict=True)]
    pairs = sorted(list(map(str, pair)) for pair in zip(*ids, strict=True))
    return {"matched": int(linked.sum()), "pairs": pairs}
