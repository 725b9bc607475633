"""Oblivious alignment of two parties' rows on a shared pseudonym, inside MPC.

Nobody learns which records matched, nor how many: the result is the anchor party's rows
in the anchor's own order, a *secret* 0/1 weight per row (1 = the other party has this
patient) and the other party's columns aligned to those rows (zeros where unmatched).
Analyses multiply by the weight instead of dropping rows, so no count leaks unless an
analysis releases it.

How: append both key columns, tagged by side, and sort obliviously by (key, side); a match
is an anchor row directly followed by an other-side row with the same key, which then
hands its columns to the anchor row. A second sort on the anchor's original row numbers
brings the anchor rows back into place; analyses that ignore row order skip it (`merge`).
SPU's sort shuffles secretly before it compares, and the compound keys are distinct (a
pseudonym occurs once per source), so the comparisons it opens reveal nothing but a random
permutation.
"""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

KEY_BITS = 56  # collision chance for 10^6 x 10^6 records ~ 10^12 / 2^56 ~ 1e-5


def pseudonym_keys(pseudonyms: pd.Series, side: int = 0) -> np.ndarray:
    """Integers for the join, identical at every party for the same pseudonym.

    A hash, so any pseudonym format works. Missing pseudonyms get distinct negative keys
    that can never match: odd ones on side 0 (the anchor), even ones on side 1.
    """
    keys = np.empty(len(pseudonyms), dtype=np.int64)
    missing = pseudonyms.isna().to_numpy()
    for i, value in enumerate(pseudonyms.to_numpy()):
        if not missing[i]:
            digest = hashlib.blake2b(str(value).encode(), digest_size=8).digest()
            keys[i] = int.from_bytes(digest) >> (64 - KEY_BITS)
    keys[missing] = -1 - side - 2 * np.arange(missing.sum())
    return keys


def _merge_sorted(anchor_keys, other_keys, anchor_columns, other_columns):
    """Sort both sides' rows together by (key, side) and hand each matched anchor row the
    columns of the other-side row that follows it. Returns, per merged row: the secret
    match flag, the original position, the anchor columns and the taken other columns.

    One comparison per compare: key and side are packed as 2 * key + side (keys < 2^56).
    """
    n, m = anchor_keys.shape[0], other_keys.shape[0]
    q, p = anchor_columns.shape[1], other_columns.shape[1]
    packed = jnp.concatenate([anchor_keys * 2, other_keys * 2 + 1])
    side = jnp.concatenate([jnp.zeros(n, packed.dtype), jnp.ones(m, packed.dtype)])
    position = jnp.arange(n + m, dtype=packed.dtype)
    payload = jnp.concatenate([
        jnp.concatenate([anchor_columns, jnp.zeros((n, p), anchor_columns.dtype)], axis=1),
        jnp.concatenate([jnp.zeros((m, q), other_columns.dtype), other_columns], axis=1),
    ])  # fmt: skip
    sorted_ = jax.lax.sort((packed, side, position, *payload.T), num_keys=1, is_stable=False)
    k, s, pos = sorted_[:3]
    columns = jnp.stack(sorted_[3:], axis=1) if q + p else jnp.zeros((n + m, 0), payload.dtype)
    # an anchor row (side 0) directly followed by the other side's row of the same key
    follows = (k[1:] - k[:-1] == 1).astype(payload.dtype) * (1 - s[:-1]).astype(payload.dtype)
    match = jnp.concatenate([follows, jnp.zeros(1, payload.dtype)])
    taken = jnp.concatenate([columns[1:, q:], jnp.zeros((1, p), columns.dtype)]) * match[:, None]
    return match, pos, columns[:, :q], taken


def align(anchor_keys: jnp.ndarray, other_keys: jnp.ndarray, other_columns: jnp.ndarray):
    """(weight[n], other_columns aligned to the n anchor rows [n, p]), in the anchor's order.

    Unmatched anchor rows get weight 0 and zero columns. Missing keys must be negatives
    that no other row shares, on either side (`pseudonym_keys` with side 0 and 1).
    """
    n, p = anchor_keys.shape[0], other_columns.shape[1]
    none = jnp.zeros((n, 0), other_columns.dtype)
    match, pos, _, taken = _merge_sorted(anchor_keys, other_keys, none, other_columns)
    back = jax.lax.sort((pos, match, *taken.T), num_keys=1, is_stable=False)
    weight = back[1][:n]
    aligned = jnp.stack(back[2:], axis=1)[:n] if p else jnp.zeros((n, 0), other_columns.dtype)
    return weight, aligned


def merge(anchor_keys, other_keys, anchor_columns, other_columns):
    """Like `align` without restoring the anchor's row order: one sort instead of two, for
    analyses that do not depend on row order. Returns (weight, anchor columns, other
    columns), each with n + m rows in a secret order; only matched anchor rows weigh 1."""
    match, _, anchor, taken = _merge_sorted(anchor_keys, other_keys, anchor_columns, other_columns)
    return match, anchor, taken


def align_reference(anchor_keys: np.ndarray, other_keys: np.ndarray, other_columns: np.ndarray):
    """The plaintext meaning of `align`, for tests: a left join on the keys."""
    lookup = {int(k): i for i, k in enumerate(other_keys) if k >= 0}
    rows = np.array([lookup.get(int(k), -1) for k in anchor_keys])
    weight = (rows >= 0).astype(float)
    aligned = np.where(weight[:, None] == 1, other_columns[np.maximum(rows, 0)], 0.0)
    return weight, aligned


def merge_reference(anchor_keys, other_keys, anchor_columns, other_columns):
    """The plaintext meaning of `merge`: `align_reference` plus m rows of weight 0."""
    weight, aligned = align_reference(anchor_keys, other_keys, other_columns)
    m = len(other_keys)
    pad = np.zeros((m, anchor_columns.shape[1]))
    return (np.concatenate([weight, np.zeros(m)]), np.concatenate([anchor_columns, pad]),
            np.concatenate([aligned, np.zeros((m, aligned.shape[1]))]))  # fmt: skip
