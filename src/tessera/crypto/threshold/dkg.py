"""Pedersen's distributed key generation with Feldman's verifiable secret sharing.

Each party deals a polynomial, publishes commitments to its coefficients and sends every other
party a share; `combine` checks the shares against the commitments and forms a `KeyShare` of
the collective key Y, whose secret no party ever holds. `lagrange` and `weighted_secret` let
any t of the parties use their shares together (key switching, partial decryption).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tessera.crypto.group import IDENTITY, L, Point, base, random_scalar
from tessera.crypto.threshold.elgamal import sum_points


class DealingError(ValueError):
    """A dealer's share or commitments are inconsistent: the dealer is to be disqualified."""

    def __init__(self, dealer: int, reason: str) -> None:
        super().__init__(f"dealer {dealer}: {reason}")
        self.dealer = dealer


def _check_indices(indices: Iterable[int]) -> list[int]:
    out = [operator.index(j) for j in indices]
    if any(not 0 < j < L for j in out):
        raise ValueError("party indices are positive integers (1..n)")
    if len(set(out)) != len(out):
        raise ValueError(f"party indices must be distinct: {sorted(out)}")
    return out


def _horner(points: Sequence[Point], x: int) -> Point:
    """Σ_k x^k·points[k]: a committed polynomial evaluated "in the exponent" at x."""
    acc = points[-1]
    for point in reversed(points[:-1]):
        acc = acc * x + point
    return acc


@dataclass(frozen=True)
class Dealing:
    """One dealer's public contribution: commitments a_k·G to its polynomial's coefficients."""

    dealer: int
    commitments: tuple[Point, ...]

    def __post_init__(self) -> None:
        if not 0 < self.dealer < L:
            raise ValueError("the dealer's index is a positive integer")
        if not self.commitments or not all(isinstance(c, Point) for c in self.commitments):
            raise ValueError("a dealing commits to at least one coefficient, as Points")

    @property
    def threshold(self) -> int:
        return len(self.commitments)

    def share_point(self, index: int) -> Point:
        """f(index)·G, which the share sent to party `index` must match (Feldman)."""
        return _horner(self.commitments, index)


def deal(dealer: int, threshold: int, indices: Sequence[int]) -> tuple[Dealing, dict[int, int]]:
    """A dealer's contribution to a t-of-n key: the public dealing and the secret share f(j)
    for each party j (to be sealed to j; the dealer keeps its own)."""
    parties = _check_indices(indices)
    if dealer not in parties:
        raise ValueError(f"the dealer {dealer} is not one of the parties {sorted(parties)}")
    if not 1 <= threshold <= len(parties):
        raise ValueError(f"the threshold must be between 1 and {len(parties)}, not {threshold}")
    coefficients = [random_scalar() for _ in range(threshold)]
    dealing = Dealing(dealer, tuple(base(a) for a in coefficients))
    shares = {}
    for j in parties:
        value = 0
        for a in reversed(coefficients):
            value = (value * j + a) % L
        shares[j] = value
    return dealing, shares


@dataclass(frozen=True)
class KeyShare:
    """Party `index`'s share x_index of the collective key, with what everyone may know:
    the collective key Y = x·G and each party's verification key x_j·G."""

    index: int
    threshold: int
    secret: int = field(repr=False)
    public: Point
    verification: dict[int, Point]


def public_key(dealings: Sequence[Dealing]) -> Point:
    """The collective key Y = Σ_i a_i0·G of the dealings."""
    if not dealings:
        raise ValueError("no dealings")
    y = IDENTITY
    for d in dealings:
        y = y + d.commitments[0]
    if y.is_identity:
        raise ValueError("the dealings add up to the identity: not a usable key")
    return y


def combine(
    index: int,
    dealings: Sequence[Dealing],
    shares: Mapping[int, int],
    indices: Sequence[int] | None = None,
) -> KeyShare:
    """Party `index`'s key share from all dealings and the share each dealer sent it.

    Every share is checked against its dealer's commitments; a bad or missing one raises
    `DealingError` naming the dealer (who is then disqualified and the DKG rerun without
    it). `indices` are the parties holding shares (by default the dealers).
    """
    if not dealings:
        raise ValueError("no dealings")
    dealers = _check_indices(d.dealer for d in dealings)
    parties = dealers if indices is None else _check_indices(indices)
    if index not in parties:
        raise ValueError(f"party {index} is not one of the parties {sorted(parties)}")
    unknown = set(shares) - set(dealers)
    if unknown:
        raise ValueError(f"shares from parties that did not deal: {sorted(unknown)}")
    threshold = dealings[0].threshold
    if not threshold <= len(parties):
        raise ValueError(f"a threshold of {threshold} needs at least as many parties")
    secret = 0
    for d in dealings:
        if d.threshold != threshold:
            raise DealingError(
                d.dealer, f"commits to {d.threshold} coefficients, the others to {threshold}"
            )
        share = shares.get(d.dealer)
        if share is None:
            raise DealingError(d.dealer, f"sent no share to party {index}")
        if not isinstance(share, int) or not 0 <= share < L:
            raise DealingError(d.dealer, f"sent party {index} a share that is not a scalar")
        if base(share) != d.share_point(index):
            raise DealingError(
                d.dealer, f"the share sent to party {index} does not match its commitments"
            )
        secret = (secret + share) % L
    aggregate = [
        sum_points(d.commitments[k] for d in dealings) for k in range(threshold)
    ]  # commitments to Σ_i f_i, whose value at j is x_j
    if aggregate[0].is_identity:
        raise ValueError("the dealings add up to the identity: not a usable key")
    verification = {j: _horner(aggregate, j) for j in parties}
    return KeyShare(index, threshold, secret, aggregate[0], verification)


def lagrange(index: int, participants: Sequence[int]) -> int:
    """λ_index: the Lagrange coefficient at 0 for the set `participants`, mod L, so that
    Σ_i λ_i·f(i) = f(0) for a polynomial of degree below len(participants)."""
    parties = _check_indices(participants)
    if index not in parties:
        raise ValueError(f"party {index} is not among the participants {sorted(parties)}")
    num, den = 1, 1
    for j in parties:
        if j != index:
            num = num * j % L
            den = den * (j - index) % L
    return num * pow(den, -1, L) % L


def weighted_secret(key: KeyShare, participants: Sequence[int]) -> int:
    """λ_i·x_i for this participant set, after checking the set can use the key."""
    parties = _check_indices(participants)
    if len(parties) < key.threshold:
        raise ValueError(
            f"{len(parties)} participants cannot use a key with threshold {key.threshold}"
        )
    strangers = set(parties) - set(key.verification)
    if strangers:
        raise ValueError(f"not parties of this key: {sorted(strangers)}")
    return lagrange(key.index, parties) * key.secret % L
