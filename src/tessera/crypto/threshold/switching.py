"""Key switching: t stations turn a ciphertext under the collective key into one under the
researcher's key, so the researcher alone reads the aggregate and the stations never see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tessera.crypto.group import L, Point, base, random_scalar
from tessera.crypto.threshold.dkg import KeyShare, weighted_secret
from tessera.crypto.threshold.elgamal import Ciphertext, check_key, sum_points


@dataclass(frozen=True)
class KeyPair:
    """A researcher's ElGamal key pair, the target of a key switch."""

    secret: int = field(repr=False)
    public: Point

    @classmethod
    def generate(cls) -> KeyPair:
        secret = random_scalar()
        return cls(secret, base(secret))


def switch_shares(
    key: KeyShare, participants: Sequence[int], cts: Sequence[Ciphertext], target: Point
) -> list[Ciphertext]:
    """This station's key-switch share of each of `cts` towards `target`:
    (k·G, −λ_i·x_i·C1 + k·target), with fresh k each. Reveals nothing about m to anyone
    but the holder of `target`'s secret."""
    check_key(target, "target key")
    w = -weighted_secret(key, participants) % L
    out = []
    for ct in cts:
        k = random_scalar()
        out.append(Ciphertext(base(k), ct.c1 * w + target * k))
    return out


def switch_share(
    key: KeyShare, participants: Sequence[int], ct: Ciphertext, target: Point
) -> Ciphertext:
    """This station's key-switch share of `ct` towards `target` (see `switch_shares`)."""
    return switch_shares(key, participants, [ct], target)[0]


def combine_switch(ct: Ciphertext, shares: Sequence[Ciphertext]) -> Ciphertext:
    """`ct`'s plaintext encrypted under the target key, from the shares of all participants
    (the same participant set each share was computed for)."""
    if not shares:
        raise ValueError("no key-switch shares")
    return Ciphertext(sum_points(s.c1 for s in shares), ct.c2 + sum_points(s.c2 for s in shares))
