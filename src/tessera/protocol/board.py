"""The message board of a pooled task: where its parties leave messages for one another.

The pooled protocol (`tessera.protocol.pooled`) is written once against `Board`; two boards
carry it. `MemoryBoard` keeps the messages in this process, for local mode, where every
party is one user's thread. `HubBoard` keeps them at the hub, for the federation: the hub
relays and adds up ciphertexts it cannot read, and whatever must stay between two parties
is sealed to the receiver (HPKE, bound to its context). Both add up a kind's contributions
once every registry has sent one, with the same `add_up`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from tessera.crypto.keys import Identity, PublicIdentity
from tessera.crypto.sealed import seal, unseal
from tessera.crypto.threshold import (
    Ciphertext,
    add_all,
    pack_ciphertexts,
    pack_points,
    unpack_ciphertexts,
    unpack_points,
)
from tessera.errors import TesseraError
from tessera.protocol import messages
from tessera.protocol.connection import HubConnection, HubError

WAIT_SECONDS = 30.0  # one long poll of the hub for a kind's messages


class BoardClosed(TesseraError, RuntimeError):
    """The task stopped (failed, ended, or this party is shutting down) while waiting."""


class Board(Protocol):
    """One party's view of a task's board. `gather` waits until `count` messages of `kind`
    are there and returns them by sender; `find` returns what is there now. `seal` and
    `open` protect a body between this party and one other, bound to `context`. Bodies are
    dicts whose "ciphertexts", "switch" and "points" hold ciphertexts and points."""

    me: str

    def post(self, kind: str, body: Mapping) -> None: ...

    def gather(self, kind: str, count: int) -> dict[str, dict]: ...

    def find(self, kind: str) -> dict[str, dict]: ...

    def seal(self, receiver: str, context: str, body: Mapping) -> object: ...

    def open(self, sender: str, context: str, sealed: object) -> dict: ...


def add_up(parts: Sequence[Sequence[Ciphertext]]) -> list[Ciphertext]:
    """The hub's `sum`: the registries' contributions added cell by cell, under encryption
    (the hub can add the ciphertexts, not read them)."""
    return [add_all(cells) for cells in zip(*parts, strict=True)]


CIPHERTEXT_FIELDS, POINT_FIELDS = ("ciphertexts", "switch"), ("points",)


def encode(body: Mapping) -> dict:
    """A message or output as JSON: its ciphertexts and points packed (base64)."""
    out = dict(body)
    for name in CIPHERTEXT_FIELDS:
        if name in out:
            out[name] = pack_ciphertexts(out[name])
    for name in POINT_FIELDS:
        if name in out:
            out[name] = pack_points(out[name])
    return out


def decode(body: Mapping) -> dict:
    """`encode` undone, every point checked to be on the curve (the sender is not trusted)."""
    out = dict(body)
    for name in CIPHERTEXT_FIELDS:
        if name in out:
            out[name] = unpack_ciphertexts(str(out[name]))
    for name in POINT_FIELDS:
        if name in out:
            out[name] = unpack_points(str(out[name]))
    return out


class MemoryStore:
    """A task's messages in this process, for the registries `world`; `fail` stops every
    party waiting on it (a thread that raised must not leave the others waiting).

    The parties take turns: each holds `turn()` while it computes and lets go only while it
    waits for a message, so one runs at a time, as on separate machines each would run
    alone. (Threads computing at once only fight over the interpreter: a third slower.)"""

    def __init__(self, world: Sequence[str]):
        self.world = list(world)
        self.kinds: dict[str, dict[str, dict]] = {}
        self.changed = threading.Condition(threading.RLock())
        self.failure: str | None = None

    def turn(self) -> threading.Condition:
        """Hold it (`with store.turn():`) while computing; waiting on the board lets go."""
        return self.changed

    def view(self, me: str) -> MemoryBoard:
        return MemoryBoard(self, me)

    def post(self, sender: str, kind: str, body: Mapping) -> None:
        with self.changed:
            found = self.kinds.setdefault(kind, {})
            if sender in found:
                raise ValueError(f"{sender} has already sent its {kind}")
            found[sender] = dict(body)
            contributions = kind.startswith(messages.CONTRIBUTION)
            if contributions and set(found) == set(self.world):
                total = add_up([found[n]["ciphertexts"] for n in self.world])
                self.kinds.setdefault(messages.sum_of(kind), {})[messages.HUB] = {
                    "ciphertexts": total
                }
            self.changed.notify_all()

    def gather(self, kind: str, count: int) -> dict[str, dict]:
        with self.changed:
            while len(self.kinds.get(kind, {})) < count:
                if self.failure is not None:
                    raise BoardClosed(f"stopped: {self.failure}")
                self.changed.wait(1.0)
            return dict(self.kinds[kind])

    def fail(self, reason: str) -> None:
        with self.changed:
            self.failure = self.failure or reason
            self.changed.notify_all()


class Threads:
    """Each party's `work` in a thread of its own, holding its turn on `store` while it
    computes; `join` gives what each returned, or raises the first failure (a failing
    party fails the store, so the others stop waiting for it)."""

    def __init__(self, store: MemoryStore, work: Mapping[str, Callable[[], object]]):
        self.store, self.results, self.failures = store, {}, []
        self.threads = [
            threading.Thread(target=self._run, args=(name, call), daemon=True)
            for name, call in work.items()
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, name: str, call: Callable[[], object]) -> None:
        try:
            with self.store.turn():
                self.results[name] = call()
        except BaseException as error:
            self.failures.append(error)
            self.store.fail(f"{name} failed ({error})")

    def join(self) -> dict:
        for thread in self.threads:
            thread.join()
        if self.failures:
            raise self.failures[0]
        return self.results


class MemoryBoard:
    """A party's view of a `MemoryStore`. Nothing crosses a process boundary, so messages
    stay objects and sealing only encodes (the federation's `HubBoard` encrypts)."""

    def __init__(self, store: MemoryStore, me: str):
        self.store, self.me = store, me

    def post(self, kind: str, body: Mapping) -> None:
        self.store.post(self.me, kind, body)

    def gather(self, kind: str, count: int) -> dict[str, dict]:
        return self.store.gather(kind, count)

    def find(self, kind: str) -> dict[str, dict]:
        with self.store.changed:
            return dict(self.store.kinds.get(kind, {}))

    def seal(self, receiver: str, context: str, body: Mapping) -> object:
        return dict(body)

    def open(self, sender: str, context: str, sealed: object) -> dict:
        return dict(sealed)  # type: ignore[call-overload]


class HubBoard:
    """A party's view of a task's board at the hub. `members`: the parties' public keys as
    this party's own verified ledger copy holds them; `running()` says whether to go on
    waiting (the station is not stopping); the task's end stops the wait at once."""

    def __init__(
        self,
        hub: HubConnection,
        task: str,
        identity: Identity,
        members: Callable[[str], PublicIdentity],
        running: Callable[[], bool] = lambda: True,
    ):
        self.hub, self.task, self.identity, self.members = hub, task, identity, members
        self.me, self.running = identity.name, running

    def post(self, kind: str, body: Mapping) -> None:
        self.hub.post(messages.board_path(self.task, kind), encode(body))

    def find(self, kind: str) -> dict[str, dict]:
        found = self.hub.get(messages.board_path(self.task, kind))
        return {m["sender"]: decode(m["body"]) for m in found}

    def gather(self, kind: str, count: int) -> dict[str, dict]:
        path = messages.board_path(self.task, kind)
        while True:
            found = self.hub.get(path, wait=WAIT_SECONDS, count=count)
            if len(found) >= count:
                return {m["sender"]: decode(m["body"]) for m in found}
            state = self.hub.get(f"/api/tasks/{self.task}")
            if state["status"] != "ready" or not self.running():
                reason = f" ({state['reason']})" if state.get("reason") else ""
                raise BoardClosed(f"stopped: task {self.task} is {state['status']}{reason}")
            time.sleep(0.05)

    def seal(self, receiver: str, context: str, body: Mapping) -> object:
        data = json.dumps(encode(body)).encode()
        sealed = seal(data, self.identity, self.members(receiver), context)
        return base64.b64encode(sealed).decode()

    def open(self, sender: str, context: str, sealed: object) -> dict:
        data = unseal(base64.b64decode(str(sealed)), self.identity, self.members(sender), context)
        return decode(json.loads(data))


__all__ = [
    "Board",
    "BoardClosed",
    "HubBoard",
    "HubError",
    "MemoryBoard",
    "MemoryStore",
    "Threads",
    "add_up",
    "decode",
    "encode",
]
