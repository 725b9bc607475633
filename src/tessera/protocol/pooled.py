"""The pooled protocol, written once: K registries with one schema, none revealing its figures.

Over a task's board (`tessera.protocol.board`: in memory for local mode, the hub for the
federation) the registries run, in order:

1. `dealing`: each deals a share of a fresh collective ElGamal key to every other
   (Pedersen's DKG: public commitments, each share sealed to its one receiver);
2. `contribution`: each encrypts its local aggregate plus its share of the differential
   privacy noise (`tessera.privacy.noise`); the board adds them up as the hub's `sum`;
3. `mix:i:c`, `partial` (only with suppression): the first t registries mix the blinded
   small-cell and zero tests in turn, chunk by chunk (a pipeline), and post partial
   decryptions of them, so they learn which cells to withhold and nothing else; the
   complements are chosen from that pattern alone (`tessera.privacy.disclosure`);
4. the first t registries' outputs carry key-switch shares of the released sums towards the
   recipient's task key, so the recipient alone decrypts them. A withheld cell is never
   decrypted, by anyone.

A model (`tessera.analyses.fits`) runs in rounds after step 1: the recipient asks
(`round:r`, sealed to each registry: the coefficients are its intermediate results), each
registry answers with its noisy sums (`contribution:r`, added up as `sum:r`), and the first
t send key-switch shares of the sum sealed to the recipient (`switch:r`). A registry answers
at most the rounds its budget was charged for, and checks each ask (`fits.check_ask`).

What each party learns: a registry, its own aggregate and noise share and the suppression
pattern (which the release shows anyway); the hub, ciphertexts and the pattern; the
recipient, the released noisy sums. The model is semi-honest: there are no proofs of
correct encryption or decryption.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tessera.analyses.fits import CODEC, Fit, check_ask, round_noise
from tessera.analyses.registry import analysis
from tessera.analyses.specs import Pooled, Released
from tessera.crypto.group import Point
from tessera.crypto.threshold import (
    Ciphertext,
    Dealing,
    DiscreteLog,
    FixedPoint,
    KeyShare,
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
    switch_shares,
)
from tessera.privacy import disclosure
from tessera.privacy.noise import Noise, noise_shares
from tessera.protocol import messages
from tessera.protocol.board import Board

COUNT_BOUND = 1 << 40  # a released sum's magnitude, noise included, that decryption accepts
MIX_CHUNKS = 16  # the mix chain is pipelined: each participant passes on a chunk at a time


def majority(parties: int) -> int:
    """The default threshold: more than half of the registries must take part to decrypt."""
    return parties // 2 + 1


@dataclass(frozen=True)
class PooledTask:
    """What every party of a pooled task reads alike from its parameters: the analysis, its
    resolved options (public grid included), the registries in order (numbered 1..K), how
    many take part in decryption (the first t), epsilon, and the recipient's task key."""

    analysis: str
    options: Mapping[str, object]
    world: tuple[str, ...]
    threshold: int
    epsilon: float
    target: Point
    recipient: str

    @property
    def participants(self) -> tuple[str, ...]:
        return self.world[: self.threshold]

    @property
    def implementation(self) -> Pooled | Fit:
        return analysis(self.analysis).implementation("pooled")

    @property
    def min_cell(self) -> int:
        """The smallest count released (0: the analysis withholds no cells)."""
        option = analysis(self.analysis).small_cells
        return int(self.options.get(option, 0)) if option else 0

    def noise(self) -> Noise:
        pooled = self.implementation
        return Noise(self.epsilon, pooled.sensitivity_of(self.options))


class RegistryParty:
    """One registry's side of a pooled task over `board`. It sends only ciphertexts,
    dealings (each share sealed to one other registry), blinded tests, partial decryptions
    and key-switch shares."""

    def __init__(
        self,
        board: Board,
        task: PooledTask,
        task_id: str = "local",
        rng: np.random.Generator | None = None,
    ) -> None:
        """`task_id` binds the seals to the task; `rng` draws the noise shares (tests seed
        it; otherwise each draw takes fresh randomness from the OS)."""
        self.board, self.task, self.task_id, self.rng = board, task, task_id, rng
        self.name = board.me
        self.index = {name: i for i, name in enumerate(task.world, start=1)}
        self.key: KeyShare | None = None

    @property
    def participant(self) -> bool:
        return self.name in self.task.participants

    def run(self, frame) -> dict:
        """Take part with this registry's own rows; return what it releases to the
        recipient (its index, and as a participant the mask and its key-switch shares)."""
        self.generate_key()
        pooled = self.task.implementation
        if isinstance(pooled, Fit):
            return self.rounds(pooled, pooled.rows(frame, self.task.options))
        return self.aggregate(pooled.vector(frame, self.task.options))

    # -- the collective key --

    def generate_key(self) -> None:
        """Pedersen's DKG among the registries: no dealer, any t of them can decrypt."""
        dealing, shares = deal(
            self.index[self.name], self.task.threshold, list(self.index.values())
        )
        sealed = {
            name: self.board.seal(name, self._context(name), {"share": str(shares[i])})
            for name, i in self.index.items()
        }
        commitments = [p.to_bytes().hex() for p in dealing.commitments]
        self.board.post(messages.DEALING, {"commitments": commitments, "shares": sealed})
        dealings, mine = [], {}
        for sender, body in self.board.gather(messages.DEALING, len(self.index)).items():
            points = tuple(Point.from_bytes(bytes.fromhex(c)) for c in body["commitments"])
            dealings.append(Dealing(self.index[sender], points))
            opened = self.board.open(sender, self._context(self.name), body["shares"][self.name])
            mine[self.index[sender]] = int(opened["share"])
        dealings.sort(key=lambda d: d.dealer)
        self.key = combine(self.index[self.name], dealings, mine)

    def _context(self, receiver: str) -> str:
        return messages.key_share_context(self.task_id, receiver)

    @property
    def _key(self) -> KeyShare:
        if self.key is None:
            raise RuntimeError(f"{self.name} has no key share yet: run the key generation first")
        return self.key

    @property
    def _indices(self) -> list[int]:
        return [self.index[n] for n in self.task.participants]

    # -- one aggregate --

    def aggregate(self, vector: np.ndarray) -> dict:
        """Contribute the vector plus noise; as a participant, decide the suppression with
        the others and switch the released sums to the recipient."""
        task = self.task
        self.board.post(messages.CONTRIBUTION, {"ciphertexts": self.encrypt(vector, task.noise())})
        sums = self.board.gather(messages.SUM, 1)[messages.HUB]["ciphertexts"]
        if not self.participant:
            return {"index": self.index[self.name]}
        shape = np.shape(vector)
        mask = self.suppression(sums, shape, task.min_cell)
        released = [ct for ct, hidden in zip(sums, mask.ravel(), strict=True) if not hidden]
        shares = switch_shares(self._key, self._indices, released, task.target)
        return {
            "index": self.index[self.name],
            "shape": list(shape),
            "mask": mask.ravel().tolist(),
            "switch": shares,
        }

    def encrypt(self, vector: np.ndarray, noise: Noise) -> list[Ciphertext]:
        """The integer vector plus this registry's noise share, under the collective key."""
        values = np.asarray(vector, dtype=np.int64).ravel()
        if noise.scale:
            values = values + noise_shares(noise.scale, len(self.index), values.size, self.rng)
        return encrypt_many(self._key.public, [int(v) for v in values])

    def encrypt_fixed(
        self, values: np.ndarray, codec: FixedPoint, noise: Noise
    ) -> list[Ciphertext]:
        """Real values in fixed point, each plus its noise share in the codec's units, as
        limbs (`FixedPoint`) under the collective key: limb sums decode exactly."""
        units = [codec.units(float(v)) for v in np.ravel(values)]
        if noise.scale:
            shares = noise_shares(noise.scale, len(self.index), len(units), self.rng)
            units = [u + int(e) for u, e in zip(units, shares, strict=True)]
        limbs = [limb for u in units for limb in codec.limbs_of(u)]
        return encrypt_many(self._key.public, limbs)

    def suppression(self, sums: list[Ciphertext], shape: tuple, min_cell: int) -> np.ndarray:
        """Which cells are withheld: the participants mix the blinded tests in turn (a
        pipeline of chunks), decrypt them partially together, and read the pattern."""
        if min_cell <= 1:
            return np.zeros(shape, dtype=bool)
        participants = self.task.participants
        position = participants.index(self.name)
        tests = tests_for(sums, min_cell)
        parts = chunks(tests)
        for c, part in enumerate(parts):  # the next one starts on chunk 0 at once
            chunk = tests[part]
            if position:
                kind = messages.numbered(messages.MIX, position - 1, c)
                body = self.board.gather(kind, 1)[participants[position - 1]]
                chunk = _unpack_lists(body, chunk)
            mixed = mix(self._key.public, chunk)
            self.board.post(messages.numbered(messages.MIX, position, c), _pack_lists(mixed))
        mixed = []
        for c, part in enumerate(parts):
            kind = messages.numbered(messages.MIX, len(participants) - 1, c)
            mixed += _unpack_lists(self.board.gather(kind, 1)[participants[-1]], tests[part])
        flat = [ct for item in mixed for ct in item]
        mine = [partial_decrypt(self._key, self._indices, ct) for ct in flat]
        self.board.post(messages.PARTIAL, {"points": mine})
        partials = self.board.gather(messages.PARTIAL, len(participants))
        ordered = [partials[n]["points"] for n in participants]
        return withheld(mixed, ordered, shape)

    # -- a model's rounds --

    def rounds(self, fit: Fit, rows: dict) -> dict:
        """Answer the recipient's rounds until it is done or the rounds charged are spent."""
        task, options = self.task, self.task.options
        answered = 0
        for number in range(int(options["rounds"])):
            body = self.board.gather(messages.numbered(messages.ROUND, number), 1).get(
                task.recipient
            )
            if body is None:
                raise ValueError(f"round {number} was not asked by {task.recipient}")
            if body.get("done"):
                break
            context = messages.ask_context(self.task_id, number, self.name)
            opened = self.board.open(task.recipient, context, body["sealed"][self.name])
            ask = check_ask(fit, options, opened, number)
            vector = fit.vector(rows, options, ask)
            noise = round_noise(fit, options, ask, vector.size)
            kind = messages.numbered(messages.CONTRIBUTION, number)
            self.board.post(kind, {"ciphertexts": self.encrypt_fixed(vector, CODEC, noise)})
            answered += 1
            if not self.participant:
                continue
            body = self.board.gather(messages.sum_of(kind), 1)[messages.HUB]
            shares = switch_shares(self._key, self._indices, body["ciphertexts"], task.target)
            context = messages.switch_context(self.task_id, number, task.recipient)
            sealed = self.board.seal(task.recipient, context, {"switch": shares})
            self.board.post(messages.numbered(messages.SWITCH, number), {"sealed": sealed})
        return {"index": self.index[self.name], "rounds": answered}


# -- the recipient's side --


def read_release(
    task: PooledTask, sums: Mapping, outputs: Mapping[str, Mapping], secret: int
) -> Released:
    """Decrypt an aggregate's released sums: the board's `sum`, and the participants'
    key-switch shares from their outputs, towards the task key whose `secret` only the
    recipient holds."""
    participants = task.participants
    masks = {json.dumps(outputs[n].get("mask")) for n in participants}
    if len(masks) != 1 or any("switch" not in outputs[n] for n in participants):
        raise ValueError("the registries disagree on what they withheld")
    first = outputs[participants[0]]
    shape, mask = tuple(first["shape"]), np.array(first["mask"], dtype=bool)
    cts = list(sums["ciphertexts"])
    shown = [ct for ct, hidden in zip(cts, mask, strict=True) if not hidden]
    shares = [outputs[n]["switch"] for n in participants]
    values = np.full(len(cts), np.nan)
    values[~mask] = read(shown, shares, secret)
    return Released(values.reshape(shape), mask.reshape(shape))


class Asker:
    """The recipient's side of a model's rounds over `board`: ask (sealed to each
    registry), wait for the sum and the participants' key-switch shares, decrypt. Run
    again after the task (a second reading), it finds its asks on the board and reads the
    same rounds."""

    def __init__(self, board: Board, task: PooledTask, secret: int, task_id: str = "local"):
        self.board, self.task, self.secret, self.task_id = board, task, secret, task_id
        self.asked = 0

    def answer(self, ask: Mapping) -> np.ndarray:
        number = int(ask["round"])
        self.asked = number + 1
        sealed = {
            name: self.board.seal(name, messages.ask_context(self.task_id, number, name), ask)
            for name in self.task.world
        }
        self._post_once(messages.numbered(messages.ROUND, number), {"sealed": sealed})
        sums = self.board.gather(messages.numbered(messages.SUM, number), 1)[messages.HUB]
        switched = self.board.gather(
            messages.numbered(messages.SWITCH, number), len(self.task.participants)
        )
        shares = []
        for name in self.task.participants:
            context = messages.switch_context(self.task_id, number, self.board.me)
            shares.append(self.board.open(name, context, switched[name]["sealed"])["switch"])
        parties = len(self.task.world)
        limbs = read(sums["ciphertexts"], shares, self.secret, CODEC.limb_bound(parties))
        return read_fixed(limbs, CODEC, parties)

    def finish(self) -> None:
        """Release the registries from the rounds not asked (converged, or stopped)."""
        if self.asked < int(self.task.options["rounds"]):
            self._post_once(messages.numbered(messages.ROUND, self.asked), {"done": True})

    def _post_once(self, kind: str, body: Mapping) -> None:
        if not self.board.find(kind):
            self.board.post(kind, body)


# -- the steps both sides share --


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
    per cell Enc(n) (zero). The participants mix them in turn."""
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
    """The recipient's side of the key switch: combine the participants' shares and decrypt
    with the recipient's own secret."""
    if not sums:
        return []
    switched = [combine_switch(ct, list(s)) for ct, *s in zip(sums, *shares, strict=True)]
    log = DiscreteLog()
    return [log.solve(decrypt_point(secret, ct), bound) for ct in switched]


def read_fixed(limb_sums: Sequence[int], codec: FixedPoint, summands: int) -> np.ndarray:
    """The sums of `summands` registries' `encrypt_fixed` vectors, from their decrypted
    limb sums."""
    rows = np.asarray(limb_sums, dtype=object).reshape(-1, codec.limbs)
    return np.array([codec.decode(list(row), summands) for row in rows], dtype=float)


def _pack_lists(tests) -> dict:
    return {"ciphertexts": [ct for item in tests for ct in item]}


def _unpack_lists(body: Mapping, like) -> list:
    """The mixed tests from a message, in the shape of `like` (same lengths per item)."""
    flat, out, start = list(body["ciphertexts"]), [], 0
    if len(flat) != sum(len(item) for item in like):
        raise ValueError("a mix message has the wrong number of ciphertexts")
    for item in like:
        out.append(flat[start : start + len(item)])
        start += len(item)
    return out
