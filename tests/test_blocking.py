"""Blocking finds nearly every true pair among few candidates, from keyed tags alone."""

from __future__ import annotations

import secrets

import numpy as np
import pandas as pd
import pytest

from tessera.linkage import normalise
from tessera.linkage.blocking import KEYS, candidate_pairs, key_values, tags
from tessera.synth import generate


@pytest.fixture(scope="module")
def blocked():
    """Registry and GP of a synthetic cohort (identifier errors included), their candidate
    pairs under one shared key, and the true pairs (same pseudonym)."""
    cohort = generate("nsclc", 5_000, seed=21, pseudonyms=True)
    registry, gp = cohort.registry.reset_index(drop=True), cohort.gp.reset_index(drop=True)
    key = secrets.token_bytes(32)
    left = key_values(normalise(registry))
    right = key_values(normalise(gp))
    row = pd.Series(np.arange(len(registry)), index=registry["pseudonym"])
    truth = {(int(row[p]), j) for j, p in enumerate(gp["pseudonym"]) if p in row.index}
    candidates = candidate_pairs(tags(left, key), tags(right, key))
    return left, right, candidates, truth


def test_nearly_every_true_pair_is_a_candidate_among_few(blocked):
    left, _, candidates, truth = blocked
    found = {tuple(map(int, pair)) for pair in candidates}
    assert len(truth) > 2_500
    assert len(found & truth) / len(truth) >= 0.995
    assert len(found) <= 5 * len(truth)
    for name in KEYS:  # small blocks: little for a frequency attack
        assert left[name].value_counts().max() <= 15


def test_the_matcher_pairs_exactly_the_records_sharing_a_key_value(blocked):
    left, right, candidates, _ = blocked
    expected = set()
    for name in KEYS:
        a = pd.DataFrame({"v": left[name], "i": range(len(left))}).dropna()
        b = pd.DataFrame({"v": right[name], "j": range(len(right))}).dropna()
        joined = a.merge(b, on="v")
        expected |= set(zip(joined["i"], joined["j"], strict=True))
    assert {tuple(map(int, pair)) for pair in candidates} == expected


def test_tags_depend_on_the_key_and_on_which_blocking_key():
    values = pd.DataFrame({"dob": ["1950-03-25", "1950-03-25", None],
                           "surname+year": ["1950-03-25", "jansen|1950", None]},
                          dtype="string")  # fmt: skip
    key = secrets.token_bytes(32)
    first, again = tags(values, key), tags(values, key)
    assert (first[0, 0] == first[1, 0]).all() and (first[:2] == again[:2]).all()
    assert not (first[0, 0] == first[0, 1]).all()  # same text, different blocking key
    assert not (tags(values, secrets.token_bytes(32))[0, 0] == first[0, 0]).all()
    assert not (first[2] == again[2]).all()  # missing: random every time
    assert len(candidate_pairs(first[2:], again[2:])) == 0
    with pytest.raises(ValueError, match="at least 16 bytes"):
        tags(values, b"short")
