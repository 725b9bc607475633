"""The prime-order subgroup of Ed25519, as libsodium (through PyNaCl) implements it.

Threshold ElGamal needs a group in which discrete logarithms are hard and every element
that a party accepts has the large prime order L: a point of small order mixed into a
ciphertext or a key would leak bits of secrets (small-subgroup attacks). PyNaCl 1.6 has no
Ristretto255 bindings, so this module works in the order-L subgroup of Ed25519 and refuses
every other point: `Point.from_bytes` accepts only canonical encodings of points on the
curve in that subgroup (libsodium's `crypto_core_ed25519_is_valid_point`), or the identity.

libsodium's scalar multiplications fail on a zero scalar, on the identity and when the
result is the identity; `Point` handles those cases itself (0·P = k·O = O), so callers
never see libsodium's "Unexpected library error".
"""

from __future__ import annotations

import operator
import secrets

from nacl import bindings as _na

L = 2**252 + 27742317777372353535851937790883648493
"""The order of the group (a prime)."""

_IDENTITY_BYTES = b"\x01" + bytes(31)
_BASE_BYTES = bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666")


def _scalar_bytes(k: int) -> bytes:
    return k.to_bytes(32, "little")


class Point:
    """An element of the order-L subgroup of Ed25519, held as its canonical 32-byte encoding.

    Immutable and hashable; equal points have equal encodings. `Point(b)` validates like
    `Point.from_bytes(b)`; arithmetic results are valid by construction and skip the check.
    """

    __slots__ = ("_encoding",)
    _encoding: bytes

    def __init__(self, encoding: bytes) -> None:
        _validate(encoding)
        object.__setattr__(self, "_encoding", bytes(encoding))

    @classmethod
    def from_bytes(cls, encoding: bytes) -> Point:
        """The point `encoding` stands for; ValueError unless it is a valid group element."""
        return cls(encoding)

    @classmethod
    def _trusted(cls, encoding: bytes) -> Point:
        """A point from libsodium's own output, which is canonical and in the group."""
        point = object.__new__(cls)
        object.__setattr__(point, "_encoding", encoding)
        return point

    def to_bytes(self) -> bytes:
        return self._encoding

    @property
    def is_identity(self) -> bool:
        return self._encoding == _IDENTITY_BYTES

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Point is immutable")

    def __reduce__(self) -> tuple[type[Point], tuple[bytes]]:
        return (Point, (self._encoding,))  # unpickling validates again

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Point):
            return NotImplemented
        return self._encoding == other._encoding

    def __hash__(self) -> int:
        return hash(self._encoding)

    def __repr__(self) -> str:
        return f"Point({self._encoding.hex()})"

    def __add__(self, other: Point) -> Point:
        if not isinstance(other, Point):
            return NotImplemented
        return Point._trusted(_na.crypto_core_ed25519_add(self._encoding, other._encoding))

    def __sub__(self, other: Point) -> Point:
        if not isinstance(other, Point):
            return NotImplemented
        return Point._trusted(_na.crypto_core_ed25519_sub(self._encoding, other._encoding))

    def __neg__(self) -> Point:
        # −(x, y) = (−x, y): only the sign bit of x changes; the identity (x = 0) is its own
        # negative, and no other point of the subgroup has x = 0.
        if self.is_identity:
            return self
        last = self._encoding[31] ^ 0x80
        return Point._trusted(self._encoding[:31] + bytes((last,)))

    def __mul__(self, scalar: int) -> Point:
        if not isinstance(scalar, int):
            return NotImplemented
        k = scalar % L
        if k == 0 or self.is_identity:
            return IDENTITY
        if self._encoding == _BASE_BYTES:
            return base(k)
        # k ≠ 0 mod L and the point has order L, so the product is never the identity.
        return Point._trusted(
            _na.crypto_scalarmult_ed25519_noclamp(_scalar_bytes(k), self._encoding)
        )

    __rmul__ = __mul__


def _validate(encoding: bytes) -> None:
    if not isinstance(encoding, bytes | bytearray) or len(encoding) != 32:
        raise ValueError("a group element is encoded in exactly 32 bytes")
    if bytes(encoding) == _IDENTITY_BYTES:
        return
    if not _na.crypto_core_ed25519_is_valid_point(bytes(encoding)):
        raise ValueError(
            "not a valid group element: the encoding must be canonical and name a point "
            "on Ed25519 in its prime-order subgroup"
        )


IDENTITY = Point._trusted(_IDENTITY_BYTES)
"""The neutral element (0·G)."""

G = Point._trusted(_BASE_BYTES)
"""The base point of RFC 8032, a generator of the group."""


def base(k: int) -> Point:
    """k·G, with libsodium's fixed-base multiplication (about 6 times a variable base)."""
    k = operator.index(k) % L
    if k == 0:
        return IDENTITY
    return Point._trusted(_na.crypto_scalarmult_ed25519_base_noclamp(_scalar_bytes(k)))


def random_scalar() -> int:
    """A uniformly random scalar in [1, L), for keys, nonces and blinding factors."""
    return secrets.randbelow(L - 1) + 1
