"""Registry-spanning aggregation: K registries with one schema, none revealing its figures.

Each registry computes its local aggregate, a vector of integers (counts per cell, events
per time bin, fixed-point limbs of a model's gradient), adds its share of the differential
privacy noise, and encrypts the vector under the collective ElGamal key that the registries
generated together (`tessera.crypto.threshold`: any t of the K can use it, none holds it).
The hub adds the ciphertexts, which it cannot read. Before anything is decrypted, t
registries run a blinded membership test on the noisy sums that tells them only which
cells are small (1..min_cell-1) and which are zero; they choose the complementary cells
(`tessera.privacy.disclosure`) and switch the key of the cells that may be released to the
researcher's own key, so the researcher alone reads them. A suppressed cell is never
decrypted, by anyone.

What each party learns: a registry, its own vector and noise share, and the suppression
pattern (which the release shows anyway); the hub, ciphertexts and the pattern; the
researcher, the released noisy sums. The model is semi-honest: parties follow the protocol
(there are no proofs of correct encryption or decryption).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tessera.crypto.group import Point
from tessera.crypto.threshold import (
    Ciphertext,
    Dealing,
    DiscreteLog,
    FixedPoint,
    KeyPair,
    KeyShare,
    add_all,
    combine,
    combine_partials,
    combine_switch,
    deal,
    decrypt_point,
    encrypt_many,
    is_member,
    membership_ciphertexts,
    mix,
    partial_decrypt,
    public_key,
    switch_shares,
)
from tessera.privacy import disclosure
from tessera.privacy.noise import calibrate, noise_shares

COUNT_BOUND = 1 << 40  # a released sum's magnitude, noise included, that decryption accepts


def majority(parties: int) -> int:
    """The default threshold: more than half of the registries must take part to decrypt."""
    return parties // 2 + 1


@dataclass(frozen=True)
class Noise:
    """Discrete Laplace noise for an integer query with this L1 sensitivity, produced in
    shares by `parties` registries; epsilon = inf means none (local mode only)."""

    epsilon: float
    sensitivity: int = 1

    @property
    def scale(self) -> float:
        return 0.0 if math.isinf(self.epsilon) else calibrate(self.epsilon, self.sensitivity)


NO_NOISE = Noise(math.inf)


@dataclass
class Registry:
    """One registry's part of the protocol. It sends only ciphertexts, dealings (each share
    for one other registry's eyes), blinded tests and key-switch shares."""

    name: str
    index: int
    key: KeyShare | None = field(default=None, repr=False)

    def deal(self, threshold: int, indices: Sequence[int]) -> tuple[Dealing, dict[int, int]]:
        return deal(self.index, threshold, indices)

    def join(self, dealings: Sequence[Dealing], shares: Mapping[int, int]) -> None:
        """Take the dealings and the shares dealt to this registry: its key share."""
        self.key = combine(self.index, dealings, shares)

    @property
    def public(self) -> Point:
        return self._key.public

    @property
    def _key(self) -> KeyShare:
        if self.key is None:
            raise RuntimeError(f"{self.name} has no key share yet: run the key generation first")
        return self.key

    def encrypt(self, values: np.ndarray, noise: Noise, parties: int) -> list[Ciphertext]:
        """Its vector plus its share of the noise, encrypted under the collective key."""
        values = np.asarray(values, dtype=np.int64).ravel()
        if noise.scale:
            values = values + noise_shares(noise.scale, parties, values.size)
        return encrypt_many(self._key.public, [int(v) for v in values])

    def encrypt_fixed(
        self, values: np.ndarray, codec: FixedPoint, noise: Noise, parties: int
    ) -> list[Ciphertext]:
        """Real values in fixed point, each plus its noise share in the codec's units, as
        limbs (`FixedPoint`) encrypted under the collective key: limb sums decode exactly."""
        units = [codec.units(float(v)) for v in np.ravel(values)]
        if noise.scale:
            shares = noise_shares(noise.scale, parties, len(units))
            units = [u + int(e) for u, e in zip(units, shares, strict=True)]
        return encrypt_many(self._key.public, [limb for u in units for limb in codec.limbs_of(u)])

    def mix(self, tests: list[list[Ciphertext]]) -> list[list[Ciphertext]]:
        return mix(self._key.public, tests)

    def partials(self, cts: Sequence[Ciphertext], participants: Sequence[int]) -> list[Point]:
        return [partial_decrypt(self._key, participants, ct) for ct in cts]

    def switch(
        self, cts: Sequence[Ciphertext], participants: Sequence[int], target: Point
    ) -> list[Ciphertext]:
        return switch_shares(self._key, participants, cts, target)


def generate_key(registries: Sequence[Registry], threshold: int | None = None) -> Point:
    """Distributed key generation among the registries (no dealer): returns the collective
    public key. Here each share goes straight to its registry; the stations seal them."""
    indices = [r.index for r in registries]
    threshold = threshold or majority(len(registries))
    if not 1 <= threshold <= len(registries):
        raise ValueError(f"threshold {threshold}: between 1 and {len(registries)} registries")
    dealt = [r.deal(threshold, indices) for r in registries]
    dealings = [d for d, _ in dealt]
    for registry in registries:
        registry.join(dealings, {d.dealer: shares[registry.index] for d, shares in dealt})
    return public_key(dealings)


@dataclass(frozen=True)
class Released:
    """What the researcher reads: the values (NaN where suppressed) in the query's shape."""

    values: np.ndarray
    suppressed: np.ndarray

    def counts(self) -> np.ndarray:
        """Released counts as objects: ints, None where suppressed; noise below 0 is 0."""
        out = np.empty(self.values.shape, dtype=object)
        for i, v in np.ndenumerate(self.values):
            out[i] = None if self.suppressed[i] else max(int(v), 0)
        return out


class Aggregation:
    """One aggregation round among the registries, the hub and the researcher, run in one
    process (`tessera local query`); the federation runs the same steps over the hub."""

    def __init__(self, registries: Sequence[Registry], threshold: int | None = None):
        if not registries:
            raise ValueError("a registry-spanning query needs at least one registry")
        self.registries = list(registries)
        self.threshold = threshold or majority(len(registries))
        self.public = generate_key(self.registries, self.threshold)
        self.researcher = KeyPair.generate()

    @property
    def participants(self) -> list[Registry]:
        """The registries that take part in tests and key switches: the first t."""
        return self.registries[: self.threshold]

    def run(
        self,
        vectors: Mapping[str, np.ndarray],
        noise: Noise = NO_NOISE,
        min_cell: int = 0,
        bound: int = COUNT_BOUND,
    ) -> Released:
        """Sum the registries' integer arrays (all of one shape), noised, with small cells
        and their complements suppressed, and released to the researcher alone."""
        shape = _one_shape(vectors, [r.name for r in self.registries])
        parties = len(self.registries)
        contributions = [r.encrypt(vectors[r.name], noise, parties) for r in self.registries]
        sums = [add_all(cells) for cells in zip(*contributions, strict=True)]  # the hub
        mask = self.suppression(sums, shape, min_cell)
        released = [i for i, hidden in enumerate(mask.ravel()) if not hidden]
        values = np.full(len(sums), np.nan)
        values[released] = self.reveal([sums[i] for i in released], bound)
        return Released(values.reshape(shape), mask)

    def suppression(self, sums: list[Ciphertext], shape: tuple, min_cell: int) -> np.ndarray:
        """Which cells are withheld (see `tests_for` and `withheld`)."""
        if min_cell <= 1:
            return np.zeros(shape, dtype=bool)
        tests = tests_for(sums, min_cell)
        for registry in self.participants:
            tests = registry.mix(tests)
        indices = [r.index for r in self.participants]
        flat = [ct for item in tests for ct in item]
        partials = [r.partials(flat, indices) for r in self.participants]
        return withheld(tests, partials, shape)

    def reveal(self, sums: Sequence[Ciphertext], bound: int) -> list[int]:
        """Key-switch `sums` to the researcher, who alone decrypts them."""
        indices = [r.index for r in self.participants]
        shares = [r.switch(sums, indices, self.researcher.public) for r in self.participants]
        return read(sums, shares, self.researcher.secret, bound)

    def run_fixed(
        self, vectors: Mapping[str, np.ndarray], codec: FixedPoint, noise: Noise = NO_NOISE
    ) -> np.ndarray:
        """Sum real-valued arrays in fixed point (limbs, see `FixedPoint`), exactly but for
        the noise (in the codec's units); no suppression: for the sums inside a model fit."""
        names = [r.name for r in self.registries]
        shape = _one_shape(vectors, names)
        parties = len(names)
        contributions = [r.encrypt_fixed(vectors[r.name], codec, noise, parties)
                         for r in self.registries]  # fmt: skip
        sums = [add_all(cells) for cells in zip(*contributions, strict=True)]  # the hub
        limbs = self.reveal(sums, codec.limb_bound(parties))
        return read_fixed(limbs, codec, parties).reshape(shape)


MIX_CHUNKS = 16  # the mix chain is pipelined: each participant passes on a chunk at a time


def chunks(tests: Sequence[Sequence], count: int = MIX_CHUNKS) -> list[slice]:
    """The tests in up to `count` contiguous chunks of whole items, with about as many
    ciphertexts each: the next participant mixes chunk c while this one mixes chunk c + 1,
    so a chain of t participants takes about (1 + (t − 1)/count) times one's mixing."""
    total = np.cumsum([len(item) for item in tests])
    if not len(total):
        return []
    goals = total[-1] * np.arange(1, count) / count
    edges = sorted({0, *np.searchsorted(total, goals, side="right").tolist(), len(tests)})
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def tests_for(sums: Sequence[Ciphertext], min_cell: int) -> list[list[Ciphertext]]:
    """The blinded test's inputs: per cell, Enc(n - v) for v in 1..min_cell-1 (small), then
    per cell Enc(n) (zero). The participants mix them in turn (`Registry.mix`)."""
    small = [membership_ciphertexts(ct, list(range(1, min_cell))) for ct in sums]
    return small + [membership_ciphertexts(ct, [0]) for ct in sums]


def withheld(
    tests: list[list[Ciphertext]], partials: Sequence[Sequence[Point]], shape: tuple
) -> np.ndarray:
    """The suppression mask from the mixed tests and every participant's partial
    decryptions of them (in order): the small cells and their complements, which are chosen
    from the pattern alone and never among zeros (`tessera.privacy.disclosure`)."""
    flat = [ct for item in tests for ct in item]
    points = [combine_partials(ct, list(p)) for ct, *p in zip(flat, *partials, strict=True)]
    hits, start = [], 0
    for item in tests:
        hits.append(is_member(points[start : start + len(item)]))
        start += len(item)
    cells = len(tests) // 2
    small = np.array(hits[:cells]).reshape(shape)
    zero = np.array(hits[cells:]).reshape(shape)
    return disclosure.secondary(small, eligible=~zero & ~small)


def read(
    sums: Sequence[Ciphertext],
    shares: Sequence[Sequence[Ciphertext]],
    secret: int,
    bound: int = COUNT_BOUND,
) -> list[int]:
    """The researcher's side of the key switch: combine the participants' shares and
    decrypt with the researcher's own secret."""
    if not sums:
        return []
    switched = [combine_switch(ct, list(s)) for ct, *s in zip(sums, *shares, strict=True)]
    log = DiscreteLog()
    return [log.solve(decrypt_point(secret, ct), bound) for ct in switched]


def read_fixed(limb_sums: Sequence[int], codec: FixedPoint, summands: int) -> np.ndarray:
    """The sums of `summands` registries' `Registry.encrypt_fixed` vectors, from their
    decrypted limb sums."""
    rows = np.asarray(limb_sums, dtype=object).reshape(-1, codec.limbs)
    return np.array([codec.decode(list(row), summands) for row in rows], dtype=float)


def _one_shape(vectors: Mapping[str, np.ndarray], names: Sequence[str]) -> tuple:
    missing = [n for n in names if n not in vectors]
    if missing:
        raise ValueError(f"no aggregate from {', '.join(missing)}")
    shapes = {np.shape(vectors[n]) for n in names}
    if len(shapes) != 1:
        raise ValueError(f"the registries' aggregates differ in shape: {sorted(shapes)}")
    return shapes.pop()
