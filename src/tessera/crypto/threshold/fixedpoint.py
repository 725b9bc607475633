"""Real numbers under exponential ElGamal: a fixed-point codec into small signed limbs, so
that encrypted sums of reals decrypt with one small discrete logarithm per limb.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from tessera.crypto.group import Point
from tessera.crypto.threshold.dlog import DiscreteLog
from tessera.crypto.threshold.elgamal import Ciphertext, decrypt_point, encrypt_many


@dataclass(frozen=True)
class FixedPoint:
    """Real numbers as `limbs` small signed integers, so that encrypted sums decrypt with a
    small discrete logarithm per limb.

    A value v is q = round(v·2**fraction_bits) (ties to even), which must satisfy
    |q| <= 2**(limb_bits·limbs) − 1 − C, C as below (`max_units`; as a value `max_abs`,
    0x7FFF7FFF7FFF7FFF / 2**16 ≈ 1.4e14 with the defaults 16/16/4, in steps of 2**−16).
    Offset encoding: u = q + C with C = Σ_k 2**(limb_bits − 1)·2**(limb_bits·k), so that
    0 <= u < 2**(limb_bits·limbs); u's base-2**limb_bits digits, least significant first,
    each minus 2**(limb_bits − 1), are the limbs. They lie in [−2**(limb_bits−1),
    2**(limb_bits−1)) and Σ_k limb_k·2**(limb_bits·k) = q, so limb sums decode by the same
    weighted sum, without the offset, for any number of summands. Small values have small
    limbs (5.0 → [0, 5, 0, 0], −5.0 → [0, −5, 0, 0]), so their sums solve quickly; over up to
    N summands each limb sum lies within ±N·2**(limb_bits − 1) (`limb_bound`): 2**25 for
    2**10 summands with the defaults.
    """

    fraction_bits: int = 16
    limb_bits: int = 16
    limbs: int = 4

    def __post_init__(self) -> None:
        if not 0 <= self.fraction_bits <= 64:
            raise ValueError("fraction_bits must be between 0 and 64")
        if not 1 <= self.limb_bits <= 32 or not 1 <= self.limbs <= 8:
            raise ValueError("limb_bits must be between 1 and 32, limbs between 1 and 8")

    @property
    def _offset(self) -> int:
        half = 1 << (self.limb_bits - 1)
        return sum(half << (self.limb_bits * k) for k in range(self.limbs))

    @property
    def max_units(self) -> int:
        """The largest |q| = |round(v·2**fraction_bits)| that encodes."""
        return (1 << (self.limb_bits * self.limbs)) - 1 - self._offset

    @property
    def max_abs(self) -> float:
        """The largest magnitude that encodes (rounded down to a float if need be)."""
        value = self.max_units / (1 << self.fraction_bits)
        while round(value * (1 << self.fraction_bits)) > self.max_units:
            value = math.nextafter(value, 0.0)
        return value

    def limb_bound(self, summands: int) -> int:
        """The discrete-log bound for one limb of a sum of `summands` encodings."""
        return summands << (self.limb_bits - 1)

    def units(self, value: float) -> int:
        """q = round(value·2**fraction_bits); ValueError outside ±max_abs."""
        if isinstance(value, int) or hasattr(value, "__index__"):
            q = operator.index(value) << self.fraction_bits
        else:
            v = float(value)
            if not math.isfinite(v):
                raise ValueError(f"{value} cannot be encoded: not a finite number")
            q = round(v * (1 << self.fraction_bits))
        if abs(q) > self.max_units:
            raise ValueError(
                f"{value} is outside the encodable range ±{self.max_abs} "
                f"({self.limbs} limbs of {self.limb_bits} bits, {self.fraction_bits} "
                "fraction bits)"
            )
        return q

    def encode(self, value: float) -> list[int]:
        """The limbs of `value`, least significant first."""
        return self.limbs_of(self.units(value))

    def limbs_of(self, units: int) -> list[int]:
        """The limbs of q = `units` (a value already in units of 2**−fraction_bits)."""
        if abs(units) > self.max_units:
            raise ValueError(f"{units} units are outside the encodable range ±{self.max_units}")
        u = units + self._offset
        mask, half = (1 << self.limb_bits) - 1, 1 << (self.limb_bits - 1)
        return [((u >> (self.limb_bits * k)) & mask) - half for k in range(self.limbs)]

    def decode_units(self, limb_sums: Sequence[int], summands: int) -> int:
        """Σ q over the summands, exactly, from the limb-wise sums of their encodings."""
        if len(limb_sums) != self.limbs:
            raise ValueError(f"expected {self.limbs} limb sums, got {len(limb_sums)}")
        if summands < 1:
            raise ValueError("a sum has at least one summand")
        half = 1 << (self.limb_bits - 1)
        low, high = -summands * half, summands * (half - 1)
        if any(not low <= s <= high for s in limb_sums):
            raise ValueError(
                f"a limb sum is outside [{low}, {high}]: not a sum of {summands} encodings"
            )
        return sum(s << (self.limb_bits * k) for k, s in enumerate(limb_sums))

    def decode(self, limb_sums: Sequence[int], summands: int) -> float:
        """The sum of the encoded values (correctly rounded to a float; exact whenever the
        sum in units of 2**−fraction_bits is below 2**53 in magnitude)."""
        return self.decode_units(limb_sums, summands) / (1 << self.fraction_bits)


def encrypt_fixed(public: Point, value: float, codec: FixedPoint) -> list[Ciphertext]:
    """The limbs of `value` encrypted under `public`, to be summed limb by limb."""
    return encrypt_many(public, codec.encode(value))


def decrypt_fixed(
    secret: int,
    cts: Sequence[Ciphertext],
    summands: int,
    codec: FixedPoint,
    dlog: DiscreteLog | None = None,
) -> float:
    """The sum behind limb-wise sums of `summands` values' `encrypt_fixed` ciphertexts."""
    solver = dlog or DiscreteLog()
    bound = codec.limb_bound(summands)
    sums = [solver.solve(decrypt_point(secret, ct), bound) for ct in cts]
    return codec.decode(sums, summands)
