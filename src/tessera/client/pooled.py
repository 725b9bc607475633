"""The recipient's side of a pooled task (`tessera.station.pooled`): the task's own key,
decrypting the released sums, and a model's rounds, which the recipient asks for.

Only the recipient can derive the key the stations switch the sums to (`pooled_key`), so
whatever the hub relays (sums, key-switch shares, asks) it cannot read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from tessera.client.connection import HubError
from tessera.crypto.keys import Identity
from tessera.crypto.sealed import seal, unseal

if TYPE_CHECKING:
    from tessera.client.client import Client

WAIT_SECONDS = 30.0  # one long poll for a round's messages


def pooled_key(identity: Identity, task: str):
    """This identity's ElGamal key pair for pooled task `task`, derived from its private
    encryption key (HMAC-SHA512): nothing to store, and nobody else can derive it."""
    from cryptography.hazmat.primitives import serialization

    from tessera.crypto.group import L, base
    from tessera.crypto.threshold import KeyPair

    raw = identity.encryption_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    mac = hmac.new(raw, f"tessera pooled task {task}".encode(), hashlib.sha512).digest()
    secret = int.from_bytes(mac, "little") % L or 1
    return KeyPair(secret, base(secret))


def released(client: Client, task: str, what: Mapping, outputs: Mapping[str, Mapping]):
    """Decrypt a pooled query's released sums: the hub's sum of the contributions, and the
    first t registries' key-switch shares (in their sealed outputs) towards the task key."""
    from tessera.analyses.horizontal import Released, read
    from tessera.analyses.queries import POOLED
    from tessera.crypto.threshold import unpack_ciphertexts as unpack
    from tessera.station.pooled import resolved

    world, threshold = list(what["world"]), int(what["threshold"])
    participants = world[:threshold]
    masks = {json.dumps(outputs[n].get("mask")) for n in participants}
    if len(masks) != 1 or any("switch" not in outputs[n] for n in participants):
        raise ValueError(f"the registries of task {task} disagree on what they withheld")
    first = outputs[participants[0]]
    shape, mask = tuple(first["shape"]), np.array(first["mask"], dtype=bool)
    found = client.hub.get(f"/api/tasks/{task}/messages/sum")
    sums = unpack(found[0]["body"]["ciphertexts"])
    shown = [ct for ct, hidden in zip(sums, mask, strict=True) if not hidden]
    shares = [unpack(outputs[n]["switch"]) for n in participants]
    values = np.full(len(sums), np.nan)
    values[~mask] = read(shown, shares, pooled_key(client.identity, task).secret)
    entry = POOLED[str(what["analysis"])]
    result = Released(values.reshape(shape), mask.reshape(shape))
    return entry.result(result, resolved(what), float(what["epsilon"]), len(world))


class Rounds:
    """A model's rounds as its recipient runs them: ask (sealed to each station), wait for
    the sum and the participants' key-switch shares, decrypt, take the step. Run while the
    task is running it asks; run again later it reads the same rounds from the hub's
    messages and returns the same result."""

    def __init__(self, client: Client, task: str, what: Mapping):
        from tessera.station.pooled import resolved

        self.client, self.task, self.what = client, task, what
        self.world = [str(n) for n in what["world"]]
        self.participants = self.world[: int(what["threshold"])]
        self.options = resolved(what)

    def run(self):
        from tessera.analyses.fits import FITS, converse

        fit = FITS[str(self.what["analysis"])]
        asked = [0]

        def answer(ask: dict) -> np.ndarray:
            asked[0] = ask["round"] + 1
            return self.answer(ask)

        try:
            return converse(fit, self.options, answer)
        finally:  # done early (converged, or the noise was too much): release the stations
            if asked[0] < int(self.options["rounds"]):
                self.post(f"round:{asked[0]}", {"done": True})

    def path(self, kind: str) -> str:
        return f"/api/tasks/{self.task}/messages/{kind}"

    def post(self, kind: str, body: dict) -> None:
        """Post, unless it is there already (a second run reads the first one's rounds)."""
        if self.client.hub.get(self.path(kind)):
            return
        try:
            self.client.hub.post(self.path(kind), body)
        except HubError as error:
            if error.status != 409:  # 409: the task has ended, or the round is there
                raise

    def receive(self, kind: str, count: int) -> dict[str, dict]:
        from tessera.client.client import TaskFailed

        while True:
            found = self.client.hub.get(self.path(kind), wait=WAIT_SECONDS, count=count)
            if len(found) >= count:
                return {m["sender"]: m["body"] for m in found}
            state = self.client.status(self.task)
            if state["status"] == "failed":
                raise TaskFailed(f"task {self.task} failed: {state['reason']}")
            if state["status"] == "done":
                raise TaskFailed(f"task {self.task} ended before its round {kind} was answered")
            time.sleep(0.05)

    def answer(self, ask: dict) -> np.ndarray:
        from tessera.analyses.fits import CODEC
        from tessera.analyses.horizontal import read, read_fixed
        from tessera.crypto.threshold import unpack_ciphertexts as unpack

        client, number = self.client, int(ask["round"])
        members = client.federation.members
        text = json.dumps(ask).encode()
        sealed = {}
        for station in self.world:
            context = f"task {self.task} round {number} for {station}"
            mine = seal(text, client.identity, members[station].public, context)
            sealed[station] = base64.b64encode(mine).decode()
        self.post(f"round:{number}", {"sealed": sealed})
        sums = unpack(self.receive(f"sum:{number}", 1)["hub"]["ciphertexts"])
        switched = self.receive(f"switch:{number}", len(self.participants))
        shares = []
        for name in self.participants:
            context = f"task {self.task} round {number} switch for {client.name}"
            opened = unseal(base64.b64decode(switched[name]["sealed"]), client.identity,
                            members[name].public, context)  # fmt: skip
            shares.append(unpack(opened.decode()))
        limbs = read(sums, shares, pooled_key(client.identity, self.task).secret,
                     CODEC.limb_bound(len(self.world)))  # fmt: skip
        return read_fixed(limbs, CODEC, len(self.world))
