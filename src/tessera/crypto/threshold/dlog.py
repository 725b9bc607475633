"""Discrete logarithms of m·G for small signed m: the last step of every decryption.

Exponential ElGamal decrypts to m·G, not m; `DiscreteLog` recovers m by baby-step giant-step
from a table of j·G built once per process, in pure Python (see below for why).
"""

from __future__ import annotations

import threading

from nacl import bindings as _na

from tessera.crypto.group import L, Point, base

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


def build_table(size: int, number: type = _fast_int) -> dict[bytes, int]:
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


def lookup(table: dict[bytes, int], encoding: bytes) -> int | None:
    """The signed j whose j·G has the encoding `encoding`, if `table` holds it, else None."""
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
            table = build_table(size)
            for j in {1, size // 3, size - 1}:
                if lookup(table, base(j).to_bytes()) != j:
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
        m = lookup(table, here)
        if m is None:
            up = down = here
            add, sub, giant = _na.crypto_core_ed25519_add, _na.crypto_core_ed25519_sub, self._giant
            for i in range(1, (bound + self._reach) // self._stride + 1):
                up = sub(up, giant)  # point − i·stride·G
                s = lookup(table, up)
                if s is not None:
                    m = i * self._stride + s
                    break
                down = add(down, giant)  # point + i·stride·G
                s = lookup(table, down)
                if s is not None:
                    m = -i * self._stride + s
                    break
        if m is None or abs(m) > bound:
            raise ValueError(
                f"the plaintext is not within ±{bound}: it is out of range, or the point "
                "was not decrypted with the right key"
            )
        return m
