"""A registry station's part in a pooled task: `tessera.analyses.horizontal` over the hub.

The stations of the task are registries with one schema. Through the hub's message board
(`/api/tasks/{id}/messages/{kind}`) they run, in order:

1. `dealing`: each deals a share of a fresh collective key to every other (Pedersen's
   DKG): public commitments, and each share sealed to its one receiver;
2. `contribution`: each encrypts its local aggregate plus its noise share; the hub adds
   the contributions up (its own `sum` message: ciphertexts it cannot read);
3. `mix:i:c` and `partial` (only with suppression): the first t stations, in turn, mix the
   blinded small-cell and zero tests, chunk by chunk (a pipeline); then each posts its
   partial decryptions of them, so each of them learns which cells to withhold, and
   nothing else;
4. the first t stations' release carries their key-switch shares of the released sums,
   sealed to the recipient, who alone can decrypt them (`tessera.client.Client.result`).

A model (`tessera.analyses.fits`) runs in rounds after step 1: the recipient asks
(`round:r`, sealed to each station: the coefficients are its intermediate results), each
station sends its noisy sums at them (`contribution:r`, added up by the hub as `sum:r`),
and the first t stations send key-switch shares of the sum sealed to the recipient
(`switch:r`). A station answers at most the rounds its budget was charged for.

A station that cannot go on fails the task; the others stop waiting at once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from tessera.analyses.fits import CODEC, FITS, check_ask, round_noise
from tessera.analyses.horizontal import Noise, Registry, chunks, tests_for, withheld
from tessera.analyses.queries import POOLED, sensitivity
from tessera.crypto.group import Point
from tessera.crypto.sealed import seal, unseal
from tessera.crypto.threshold import Dealing, pack_points, unpack_points
from tessera.crypto.threshold import pack_ciphertexts as pack
from tessera.crypto.threshold import unpack_ciphertexts as unpack
from tessera.sources.readers import read_file

if TYPE_CHECKING:
    from tessera.station.daemon import Station

WAIT_SECONDS = 30.0  # one long poll; a task's whole deadline is the hub's


def resolved(parameters: Mapping) -> dict:
    """The analysis's options with its public grid (levels, time bins), as every station and
    the recipient resolve them alike: from the parameters alone, never from data."""
    name, epsilon = str(parameters["analysis"]), float(parameters["epsilon"])
    if name in FITS:
        return FITS[name].options(dict(parameters["options"]), {}, Noise(epsilon))
    if name not in POOLED:
        raise ValueError(f"{name!r} is not an analysis over registries")
    entry = POOLED[name]
    return entry.options(dict(parameters["options"]), {}, Noise(epsilon, entry.sensitivity))


class PooledTask:
    """One run of a pooled task at `station`."""

    def __init__(self, station: Station, task: str, parameters: Mapping):
        self.station, self.task, self.parameters = station, task, parameters
        self.world = [str(n) for n in parameters["world"]]
        self.index = {name: i for i, name in enumerate(self.world, start=1)}
        self.threshold = int(parameters["threshold"])
        self.participants = self.world[: self.threshold]
        self.registry = Registry(station.name, self.index[station.name])
        self.fit = FITS.get(str(parameters["analysis"]))
        self.entry = POOLED.get(str(parameters["analysis"]))
        self.options = resolved(parameters)
        self.recipient = str(parameters["recipients"][0])

    # -- the message board --

    def path(self, kind: str) -> str:
        return f"/api/tasks/{self.task}/messages/{kind}"

    def send(self, kind: str, body: Mapping) -> None:
        self.station.hub.post(self.path(kind), dict(body))

    def receive(self, kind: str, count: int) -> dict[str, dict]:
        """The `count` messages of `kind`, by sender, waiting for them as long as the task
        runs; the other stations' failure ends the wait."""
        while True:
            found = self.station.hub.get(self.path(kind), wait=WAIT_SECONDS, count=count)
            if len(found) >= count:
                return {m["sender"]: m["body"] for m in found}
            status = self.station.hub.get(f"/api/tasks/{self.task}")["status"]
            if status != "ready" or self.station.stopping.is_set():
                raise RuntimeError(f"stopped: the task is {status}")

    # -- the protocol --

    def run(self) -> dict:
        """Take part; return what this station releases to the recipient."""
        self.generate_key()
        if self.fit is not None:
            return self.rounds()
        self.contribute()
        sums = unpack(self.receive("sum", 1)["hub"]["ciphertexts"])
        if self.station.name not in self.participants:
            return {"index": self.registry.index}
        shape = np.shape(self.vector)
        min_cell = int(self.options.get("min_cell", 0)) if self.entry.suppressed else 0
        mask = self.suppression(sums, shape, min_cell)
        released = [ct for ct, hidden in zip(sums, mask.ravel(), strict=True) if not hidden]
        target = Point.from_bytes(bytes.fromhex(str(self.parameters["target"])))
        indices = [self.index[n] for n in self.participants]
        shares = self.registry.switch(released, indices, target)
        return {
            "index": self.registry.index,
            "shape": list(shape),
            "mask": mask.ravel().tolist(),
            "switch": pack(shares),
        }

    def generate_key(self) -> None:
        station, members = self.station, self.station.federation.members
        dealing, shares = self.registry.deal(self.threshold, list(self.index.values()))
        sealed = {
            name: base64.b64encode(
                seal(
                    str(shares[i]).encode(),
                    station.identity,
                    members[name].public,
                    self.context(f"key share for {name}"),
                )
            ).decode()
            for name, i in self.index.items()
        }
        commitments = [p.to_bytes().hex() for p in dealing.commitments]
        self.send("dealing", {"commitments": commitments, "shares": sealed})
        dealings, mine = [], {}
        for sender, body in self.receive("dealing", len(self.world)).items():
            i = self.index[sender]
            points = tuple(Point.from_bytes(bytes.fromhex(c)) for c in body["commitments"])
            dealings.append(Dealing(i, points))
            sealed = base64.b64decode(body["shares"][station.name])
            context = self.context(f"key share for {station.name}")
            text = unseal(sealed, station.identity, members[sender].public, context)
            mine[i] = int(text.decode())
        self.registry.join(sorted(dealings, key=lambda d: d.dealer), mine)

    def context(self, what: str) -> str:
        return f"task {self.task} {what}"

    def frame(self):
        datasets = self.parameters.get("datasets", {})
        return read_file(self.station.config.datasets[str(datasets[self.station.name])])

    def contribute(self) -> None:
        self.vector = self.entry.vector(self.frame(), self.options)
        noise = Noise(float(self.parameters["epsilon"]), sensitivity(self.entry, self.options))
        cts = self.registry.encrypt(self.vector, noise, len(self.world))
        self.send("contribution", {"ciphertexts": pack(cts)})

    def rounds(self) -> dict:
        """A model's rounds, until the recipient is done or the rounds charged are spent."""
        fit, options, station = self.fit, self.options, self.station
        rows = fit.rows(self.frame(), options)
        sender = station.federation.members[self.recipient].public
        target = Point.from_bytes(bytes.fromhex(str(self.parameters["target"])))
        indices = [self.index[n] for n in self.participants]
        answered = 0
        for number in range(int(options["rounds"])):
            body = self.receive(f"round:{number}", 1).get(self.recipient)
            if body is None:
                raise ValueError(f"round {number} was not asked by {self.recipient}")
            if body.get("done"):
                break
            sealed = base64.b64decode(body["sealed"][station.name])
            context = self.context(f"round {number} for {station.name}")
            ask = check_ask(fit, options, json.loads(unseal(sealed, station.identity, sender,
                                                            context)), number)  # fmt: skip
            vector = fit.vector(rows, options, ask)
            noise = round_noise(fit, options, ask, vector.size)
            cts = self.registry.encrypt_fixed(vector, CODEC, noise, len(self.world))
            self.send(f"contribution:{number}", {"ciphertexts": pack(cts)})
            answered += 1
            if station.name not in self.participants:
                continue
            sums = unpack(self.receive(f"sum:{number}", 1)["hub"]["ciphertexts"])
            shares = pack(self.registry.switch(sums, indices, target)).encode()
            what = self.context(f"round {number} switch for {self.recipient}")
            mine = seal(shares, station.identity, station.federation.members[self.recipient]
                        .public, what)  # fmt: skip
            self.send(f"switch:{number}", {"sealed": base64.b64encode(mine).decode()})
        return {"index": self.registry.index, "rounds": answered}

    def suppression(self, sums, shape: tuple, min_cell: int) -> np.ndarray:
        if min_cell <= 1:
            return np.zeros(shape, dtype=bool)
        position = self.participants.index(self.station.name)
        tests = tests_for(sums, min_cell)
        parts = chunks(tests)
        for c, part in enumerate(parts):  # pipelined: the next one starts on chunk 0 at once
            chunk = tests[part]
            if position:
                earlier = self.participants[position - 1]
                chunk = _unpack_lists(self.receive(f"mix:{position - 1}:{c}", 1)[earlier], chunk)
            self.send(f"mix:{position}:{c}", _pack_lists(self.registry.mix(chunk)))
        last = self.participants[-1]
        mixed = []
        for c, part in enumerate(parts):
            body = self.receive(f"mix:{len(self.participants) - 1}:{c}", 1)[last]
            mixed += _unpack_lists(body, tests[part])
        tests = mixed
        indices = [self.index[n] for n in self.participants]
        flat = [ct for item in tests for ct in item]
        mine = self.registry.partials(flat, indices)
        self.send("partial", {"points": pack_points(mine)})
        partials = self.receive("partial", len(self.participants))
        ordered = [unpack_points(partials[n]["points"]) for n in self.participants]
        return withheld(tests, ordered, shape)


def _pack_lists(tests) -> dict:
    return {"ciphertexts": pack([ct for item in tests for ct in item])}


def _unpack_lists(body: Mapping, like) -> list:
    """The mixed tests from a message, in the shape of `like` (same lengths per item)."""
    flat, out, start = unpack(str(body["ciphertexts"])), [], 0
    if len(flat) != sum(len(item) for item in like):
        raise ValueError("a mix message has the wrong number of ciphertexts")
    for item in like:
        out.append(flat[start : start + len(item)])
        start += len(item)
    return out


def release_message(output: Mapping, parameters: Mapping) -> bytes:
    """What a station seals to the recipient: its output and what it is an output of."""
    what = {k: parameters[k] for k in ("analysis", "options", "world", "epsilon", "threshold")}
    return json.dumps({"pooled": dict(output), "analysis": what}).encode()
