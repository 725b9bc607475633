"""Ciphertexts and points as messages carry them: validated lists in one base64 text."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

from tessera.crypto.group import Point
from tessera.crypto.threshold.elgamal import Ciphertext


def _join(items: Sequence[Ciphertext] | Sequence[Point]) -> str:
    return base64.b64encode(b"".join(item.to_bytes() for item in items)).decode()


def _split(text: str, size: int, parse: Callable, what: str) -> list:
    raw = base64.b64decode(text, validate=True)
    if len(raw) % size:
        raise ValueError(f"not a list of {what} ({size} bytes each)")
    return [parse(raw[i : i + size]) for i in range(0, len(raw), size)]


def pack_ciphertexts(cts: Sequence[Ciphertext]) -> str:
    """Ciphertexts as one base64 text, 64 bytes each."""
    return _join(cts)


def unpack_ciphertexts(text: str) -> list[Ciphertext]:
    """The ciphertexts of `pack_ciphertexts`, each validated."""
    return _split(text, 64, Ciphertext.from_bytes, "ciphertexts")


def pack_points(points: Sequence[Point]) -> str:
    """Points as one base64 text, 32 bytes each."""
    return _join(points)


def unpack_points(text: str) -> list[Point]:
    """The points of `pack_points`, each validated."""
    return _split(text, 32, Point.from_bytes, "points")
