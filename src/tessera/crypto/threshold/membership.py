"""The blinded membership test: stations learn whether an encrypted value lies in a small
public set (say counts 1..9, for small-cell suppression) and nothing else about it.

Enc(m − v) for each v in the set is shuffled, blinded and re-randomised by each participant in
turn (`mix`), then threshold-decrypted: the identity appears iff m = v. This is the only place
the stations decrypt anything themselves; results go to the researcher by key switching.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from tessera.crypto.group import Point, base, random_scalar
from tessera.crypto.threshold.dkg import KeyShare, weighted_secret
from tessera.crypto.threshold.elgamal import Ciphertext, rerandomise, sum_points


def membership_ciphertexts(ct: Ciphertext, values: Sequence[int]) -> list[Ciphertext]:
    """Enc(m − v) for each v in `values`: one of them encrypts 0 iff m is in the set."""
    if not values:
        raise ValueError("the set to test membership in is empty")
    return [Ciphertext(ct.c1, ct.c2 - base(v)) for v in values]


def mix(public: Point, cts_per_item: list[list[Ciphertext]]) -> list[list[Ciphertext]]:
    """One station's mixing step: each item's list shuffled, every ciphertext scaled by a
    fresh secret nonzero factor (0 stays 0, anything else becomes a random point) and
    re-randomised. After t stations, no coalition below t knows where the zero went."""
    rng = secrets.SystemRandom()
    mixed = []
    for cts in cts_per_item:
        shuffled = list(cts)
        rng.shuffle(shuffled)
        mixed.append([rerandomise(public, ct * random_scalar()) for ct in shuffled])
    return mixed


def is_member(points: Sequence[Point]) -> bool:
    """Whether the decrypted, mixed list of one item contains the identity (m − v = 0)."""
    return any(p.is_identity for p in points)


def partial_decrypts(
    key: KeyShare, participants: Sequence[int], cts: Sequence[Ciphertext]
) -> list[Point]:
    """λ_i·x_i·C1 for each of `cts`: this station's part of a threshold decryption."""
    w = weighted_secret(key, participants)
    return [ct.c1 * w for ct in cts]


def partial_decrypt(key: KeyShare, participants: Sequence[int], ct: Ciphertext) -> Point:
    """λ_i·x_i·C1: this station's part of the threshold decryption of `ct`. Only for blinded
    tests (see `mix`): results are key-switched to the researcher instead."""
    return partial_decrypts(key, participants, [ct])[0]


def combine_partials(ct: Ciphertext, partials: Sequence[Point]) -> Point:
    """C2 − Σ partials = m·G, from the partial decryptions of one participant set."""
    if not partials:
        raise ValueError("no partial decryptions")
    return ct.c2 - sum_points(partials)
