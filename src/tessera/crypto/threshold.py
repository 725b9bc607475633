"""Threshold, additively homomorphic (exponential) ElGamal over the Ed25519 prime-order group.

Stations encrypt their counts and sums under a collective key Y that no single party knows;
the hub adds ciphertexts without learning anything, and the aggregate is never decrypted by
the stations: t of them *switch* it to the researcher's own ElGamal key, so only the
researcher reads the result, and only the aggregate.

- Encryption of m under Y: (k·G, m·G + k·Y). Ciphertexts add (Enc(a) + Enc(b) = Enc(a + b))
  and scale by known integers. Decryption yields m·G; `DiscreteLog` recovers small |m|.
- Keys: Pedersen's distributed key generation with Feldman's verifiable secret sharing,
  t-of-n, no dealer. Every party i deals a random polynomial f_i of degree t − 1, publishes
  a_ik·G for its coefficients and sends f_i(j) to party j, sealed (`tessera.crypto.sealed`).
  Party j's share is x_j = Σ_i f_i(j) and Y = Σ_i a_i0·G; x = Σ_i a_i0 is never formed.
  As usual for this DKG, a dishonest dealer can bias Y's distribution somewhat (Gennaro et
  al., 1999), which does not help it decrypt. The dealings must reach everyone unchanged:
  parties should compare a digest of all dealings before using the key.
- Key switch: each of t participants i sends (k_i·G, −λ_i·x_i·C1 + k_i·T) for the target key
  T; summed and added to C2 they give an encryption of m under T. The researcher holds T's
  secret; the stations never see m·G.
- A blinded membership test lets stations learn only whether a plaintext lies in a small
  public set (e.g. counts 1..9 for small-cell suppression): Enc(m − v) for each v is
  shuffled, scaled by a secret nonzero factor and re-randomised by every participant in turn,
  then threshold-decrypted: the identity appears iff m = v, elsewhere a random point.

Security model: honest-but-curious parties for confidentiality as long as fewer than t
collude. Shares of a key switch, partial decryptions and mixes carry no proofs of
correctness, so a malicious station can spoil (though not read) a result.
"""

from __future__ import annotations

import base64
import math
import operator
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nacl import bindings as _na

from tessera.crypto.group import IDENTITY, L, Point, base, random_scalar

# --------------------------------------------------------------------------- ciphertexts


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


def _check_key(public: Point, what: str = "public key") -> None:
    if not isinstance(public, Point):
        raise TypeError(f"the {what} must be a Point")
    if public.is_identity:
        raise ValueError(f"the {what} is the identity: encrypting to it would reveal m")


def encrypt(public: Point, m: int, *, k: int | None = None) -> Ciphertext:
    """Enc(m) under `public`; negative m is m mod L (decrypts to a negative with `DiscreteLog`).

    `k` fixes the randomness for known-answer tests only: reusing a k reveals plaintext
    differences, so callers leave it to `secrets`.
    """
    _check_key(public)
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


# ------------------------------------------------------------- distributed key generation


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
        _sum_points(d.commitments[k] for d in dealings) for k in range(threshold)
    ]  # commitments to Σ_i f_i, whose value at j is x_j
    if aggregate[0].is_identity:
        raise ValueError("the dealings add up to the identity: not a usable key")
    verification = {j: _horner(aggregate, j) for j in parties}
    return KeyShare(index, threshold, secret, aggregate[0], verification)


def _sum_points(points: Iterable[Point]) -> Point:
    total = IDENTITY
    for p in points:
        total = total + p
    return total


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


def _weighted_secret(key: KeyShare, participants: Sequence[int]) -> int:
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


# ----------------------------------------------------------------------------- key switch


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
    _check_key(target, "target key")
    w = -_weighted_secret(key, participants) % L
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
    return Ciphertext(_sum_points(s.c1 for s in shares), ct.c2 + _sum_points(s.c2 for s in shares))


def decrypt_point(secret: int, ct: Ciphertext) -> Point:
    """m·G for a ciphertext under the key `secret`·G."""
    return ct.c2 - ct.c1 * secret


def decrypt(secret: int, ct: Ciphertext, bound: int, dlog: DiscreteLog | None = None) -> int:
    """The plaintext m (|m| <= bound) of a ciphertext under the key `secret`·G."""
    return (dlog or DiscreteLog()).solve(decrypt_point(secret, ct), bound)


# ------------------------------------------------------------------ threshold decryption


def partial_decrypts(
    key: KeyShare, participants: Sequence[int], cts: Sequence[Ciphertext]
) -> list[Point]:
    """λ_i·x_i·C1 for each of `cts`: this station's part of a threshold decryption."""
    w = _weighted_secret(key, participants)
    return [ct.c1 * w for ct in cts]


def partial_decrypt(key: KeyShare, participants: Sequence[int], ct: Ciphertext) -> Point:
    """λ_i·x_i·C1: this station's part of the threshold decryption of `ct`. Only for blinded
    tests (see `mix`): results are key-switched to the researcher instead."""
    return partial_decrypts(key, participants, [ct])[0]


def combine_partials(ct: Ciphertext, partials: Sequence[Point]) -> Point:
    """C2 − Σ partials = m·G, from the partial decryptions of one participant set."""
    if not partials:
        raise ValueError("no partial decryptions")
    return ct.c2 - _sum_points(partials)


# ------------------------------------------------------------- blinded membership test


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


# -------------------------------------------------------------------------- discrete log

# The table of j·G is built in pure Python: a mixed addition in extended twisted Edwards
# coordinates costs 7 multiplications and one batch inversion normalises all points, which
# beats 2**16 calls to libsodium (17 µs each, mostly decompressing points). It handles only
# public multiples of G, so it need not be constant time; a check against libsodium guards it.
_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_GX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_GY = 46316835694926478169428394003475163141307993866256225615783033603165251855960

try:  # gmpy2, when present, roughly halves the build time; plain ints give the same table
    from gmpy2 import mpz as _fast_int
except ImportError:  # pragma: no cover - depends on the environment
    _fast_int = int


def _build_table(size: int, number: type = _fast_int) -> dict[bytes, int]:
    """{encoding of y(j·G): ±j} for j in [0, size): y identifies ±j·G, the sign is that of
    x(j·G), so one entry serves both j and −j."""
    p = number(_P)
    ymx, ypx = number((_GY - _GX) % _P), number((_GY + _GX) % _P)
    t2d = number(2 * _D * _GX * _GY % _P)
    x, y, z, t = number(0), number(1), number(1), number(0)
    xs, ys, zs = [x] * size, [y] * size, [z] * size
    for j in range(size):
        xs[j], ys[j], zs[j] = x, y, z
        a = (y - x) * ymx % p
        b = (y + x) * ypx % p
        c = t * t2d % p
        d = z + z
        e, f, g, h = b - a, d - c, d + c, b + a
        x, y, t, z = e * f % p, g * h % p, e * h % p, f * g % p
    prefix = [number(1)] * size  # prefix[j] = z_0·…·z_{j−1}, for Montgomery's batch inversion
    acc = number(1)
    for j in range(size):
        prefix[j] = acc
        acc = acc * zs[j] % p
    inv = pow(acc, -1, p)  # 1 / (z_0·…·z_{size−1})
    table: dict[bytes, int] = {}
    for j in range(size - 1, -1, -1):
        z_inv = inv * prefix[j] % p
        inv = inv * zs[j] % p
        key = int(ys[j] * z_inv % p).to_bytes(32, "little")
        table[key] = -j if int(xs[j] * z_inv % p) & 1 else j
    return table


def _lookup(table: dict[bytes, int], encoding: bytes) -> int | None:
    signed = table.get(encoding[:31] + bytes((encoding[31] & 0x7F,)))
    if signed is None:
        return None
    return -signed if encoding[31] & 0x80 else signed


_TABLES: dict[int, dict[bytes, int]] = {}
_TABLES_LOCK = threading.Lock()


def _table(bits: int) -> dict[bytes, int]:
    with _TABLES_LOCK:
        table = _TABLES.get(bits)
        if table is None:
            size = 1 << bits
            table = _build_table(size)
            for j in {1, size // 3, size - 1}:
                if _lookup(table, base(j).to_bytes()) != j:
                    raise RuntimeError("the discrete-log table disagrees with libsodium")
            _TABLES[bits] = table
        return table


class DiscreteLog:
    """Baby-step giant-step for m·G with small signed m.

    The baby steps j·G, |j| < 2**table_bits, sit in a table built once per process (about
    0.2–0.5 s for the default 16 bits; 2**16 entries, some 10 MB). Giant steps of
    2**(table_bits + 1) − 1 go both ways from the point, one point addition (about 17 µs)
    each, so |m| <= 2**22 takes at most 64 of them.
    """

    def __init__(self, table_bits: int = 16) -> None:
        if not 1 <= table_bits <= 24:
            raise ValueError("table_bits must be between 1 and 24")
        self.table_bits = table_bits
        self._reach = (1 << table_bits) - 1  # the table covers −reach..reach
        self._stride = 2 * self._reach + 1
        self._giant = base(self._stride).to_bytes()

    def solve(self, point: Point, bound: int) -> int:
        """The m with point = m·G and |m| <= bound; ValueError when there is none."""
        if not 0 <= bound < L // 2:
            raise ValueError("the bound must be between 0 and L/2")
        table = _table(self.table_bits)
        here = point.to_bytes()
        m = _lookup(table, here)
        if m is None:
            up = down = here
            add, sub, giant = _na.crypto_core_ed25519_add, _na.crypto_core_ed25519_sub, self._giant
            for i in range(1, (bound + self._reach) // self._stride + 1):
                up = sub(up, giant)  # point − i·stride·G
                s = _lookup(table, up)
                if s is not None:
                    m = i * self._stride + s
                    break
                down = add(down, giant)  # point + i·stride·G
                s = _lookup(table, down)
                if s is not None:
                    m = -i * self._stride + s
                    break
        if m is None or abs(m) > bound:
            raise ValueError(
                f"the plaintext is not within ±{bound}: it is out of range, or the point "
                "was not decrypted with the right key"
            )
        return m


# -------------------------------------------------------------------------- fixed point


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


# -- as messages carry them --


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
