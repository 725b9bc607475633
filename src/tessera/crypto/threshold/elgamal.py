"""Exponential ElGamal over Ed25519: the ciphertexts, their homomorphic arithmetic, encryption
and decryption under a key whose secret is known (the researcher's, after a key switch).

Everything else in the package builds on `Ciphertext`; the collective key that no one knows
comes from `dkg`, and getting plaintexts out of it from `switching` and `membership`.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass

from tessera.crypto.group import IDENTITY, L, Point, base, random_scalar
from tessera.crypto.threshold.dlog import DiscreteLog


@dataclass(frozen=True)
class Ciphertext:
    """An exponential ElGamal ciphertext (C1, C2) = (k·G, m·G + k·Y)."""

    c1: Point
    c2: Point

    def __post_init__(self) -> None:
        if not isinstance(self.c1, Point) or not isinstance(self.c2, Point):
            raise TypeError("a ciphertext is made of two group elements (Point)")

    def __add__(self, other: Ciphertext) -> Ciphertext:
        if not isinstance(other, Ciphertext):
            return NotImplemented
        return Ciphertext(self.c1 + other.c1, self.c2 + other.c2)

    def __sub__(self, other: Ciphertext) -> Ciphertext:
        if not isinstance(other, Ciphertext):
            return NotImplemented
        return Ciphertext(self.c1 - other.c1, self.c2 - other.c2)

    def __neg__(self) -> Ciphertext:
        return Ciphertext(-self.c1, -self.c2)

    def __mul__(self, scalar: int) -> Ciphertext:
        if not isinstance(scalar, int):
            return NotImplemented
        return Ciphertext(self.c1 * scalar, self.c2 * scalar)

    __rmul__ = __mul__

    def to_bytes(self) -> bytes:
        """64 bytes: the encodings of C1 and C2."""
        return self.c1.to_bytes() + self.c2.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Ciphertext:
        """The ciphertext `data` encodes; ValueError unless both halves are group elements."""
        if len(data) != 64:
            raise ValueError(f"a ciphertext is encoded in 64 bytes, not {len(data)}")
        return cls(Point.from_bytes(bytes(data[:32])), Point.from_bytes(bytes(data[32:])))


def zero_ciphertext() -> Ciphertext:
    """(O, O): the trivial encryption of 0, where sums start."""
    return Ciphertext(IDENTITY, IDENTITY)


def add_all(cts: Iterable[Ciphertext]) -> Ciphertext:
    """The homomorphic sum of `cts` (an encryption of the sum of their plaintexts)."""
    c1, c2 = IDENTITY, IDENTITY
    for ct in cts:
        c1, c2 = c1 + ct.c1, c2 + ct.c2
    return Ciphertext(c1, c2)


def sum_points(points: Iterable[Point]) -> Point:
    """The sum of `points` (the identity for none)."""
    total = IDENTITY
    for p in points:
        total = total + p
    return total


def check_key(public: Point, what: str = "public key") -> None:
    """TypeError or ValueError unless `public` is a key that may be encrypted to."""
    if not isinstance(public, Point):
        raise TypeError(f"the {what} must be a Point")
    if public.is_identity:
        raise ValueError(f"the {what} is the identity: encrypting to it would reveal m")


def encrypt(public: Point, m: int, *, k: int | None = None) -> Ciphertext:
    """Enc(m) under `public`; negative m is m mod L (decrypts to a negative with `DiscreteLog`).

    `k` fixes the randomness for known-answer tests only: reusing a k reveals plaintext
    differences, so callers leave it to `secrets`.
    """
    check_key(public)
    m = operator.index(m)  # a float would silently lose its fraction
    if k is None:
        k = random_scalar()
    elif k % L == 0:
        raise ValueError("the encryption randomness must be nonzero mod L")
    mask = public * k
    return Ciphertext(base(k), mask if m % L == 0 else base(m) + mask)


def encrypt_many(public: Point, values: Iterable[int]) -> list[Ciphertext]:
    """Each of `values` encrypted under `public` with independent randomness."""
    return [encrypt(public, operator.index(v)) for v in values]


def rerandomise(public: Point, ct: Ciphertext) -> Ciphertext:
    """The same plaintext under fresh randomness: unlinkable to `ct` without the key."""
    return ct + encrypt(public, 0)


def decrypt_point(secret: int, ct: Ciphertext) -> Point:
    """m·G for a ciphertext under the key `secret`·G."""
    return ct.c2 - ct.c1 * secret


def decrypt(secret: int, ct: Ciphertext, bound: int, dlog: DiscreteLog | None = None) -> int:
    """The plaintext m (|m| <= bound) of a ciphertext under the key `secret`·G."""
    return (dlog or DiscreteLog()).solve(decrypt_point(secret, ct), bound)
