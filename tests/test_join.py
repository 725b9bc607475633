"""Oblivious alignment on a pseudonym equals a plaintext left join, and reveals nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import spu.utils.simulation as simulation

from tessera.mpc.join import align, align_reference, merge, merge_reference, pseudonym_keys
from tessera.mpc.session import Accuracy


def simulate(function, *args):
    """Run a jax function under SPU's in-process ABY3 simulator (same protocol, one process)."""
    simulator = simulation.Simulator(3, Accuracy().runtime_config("test"))
    return simulation.sim_jax(simulator, function)(*args)


def test_alignment_equals_a_left_join_on_the_keys():
    rng = np.random.default_rng(4)
    pool = rng.choice(2**50, 3_000, replace=False)
    anchor = pool[:1_500]
    other = rng.permutation(np.concatenate([pool[700:1_500], pool[2_000:2_600]]))
    columns = rng.normal(size=(len(other), 3))
    weight, aligned = simulate(align, anchor, other, columns)
    expected_weight, expected = align_reference(anchor, other, columns)
    assert np.array_equal(np.round(weight), expected_weight) and expected_weight.sum() == 800
    np.testing.assert_allclose(aligned, expected, atol=1e-4)


def test_missing_pseudonyms_never_match():
    anchor = pseudonym_keys(pd.Series(["a", None, "b", None]), side=0)
    other = pseudonym_keys(pd.Series([None, "b", None, "c"]), side=1)
    assert not set(anchor[anchor < 0]) & set(other[other < 0])
    assert (anchor[[1, 3]] < 0).all() and anchor[0] == pseudonym_keys(pd.Series(["a"]))[0]
    weight, _ = simulate(align, anchor, other, np.ones((4, 1)))
    assert np.round(weight).tolist() == [0, 0, 1, 0]


def test_keys_are_the_same_at_every_party_and_fit_the_ring():
    values = pd.Series([f"{i:016x}" for i in range(1_000)])
    keys = pseudonym_keys(values)
    assert np.array_equal(keys, pseudonym_keys(values.copy()))
    assert len(set(keys)) == 1_000 and (keys >= 0).all() and (keys < 2**56).all()


def test_alignment_without_columns_still_gives_the_match_weights():
    anchor = np.array([5, 7, 9], dtype=np.int64)
    other = np.array([9, 4, 5], dtype=np.int64)
    weight, aligned = simulate(align, anchor, other, np.zeros((3, 0)))
    assert np.round(weight).tolist() == [1, 0, 1] and aligned.shape == (3, 0)


def test_merging_without_restoring_order_gives_the_same_weighted_rows():
    rng = np.random.default_rng(5)
    pool = rng.choice(2**50, 600, replace=False)
    anchor, other = pool[:300], rng.permutation(np.concatenate([pool[100:300], pool[400:500]]))
    mine, theirs = rng.normal(size=(300, 2)), rng.normal(size=(300, 3))
    weight, anchor_columns, aligned = simulate(merge, anchor, other, mine, theirs)
    expected = merge_reference(anchor, other, mine, theirs)
    assert weight.shape == (600,) and np.round(weight).sum() == 200

    def weighted_rows(weight, *blocks):
        rows = np.concatenate(blocks, axis=1)[np.round(weight) == 1]
        return rows[np.lexsort(rows.T)]

    np.testing.assert_allclose(
        weighted_rows(weight, anchor_columns, aligned), weighted_rows(*expected), atol=1e-4
    )
