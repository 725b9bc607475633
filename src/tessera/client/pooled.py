"""The recipient's side of a pooled task (`tessera.protocol.pooled`) in the federation: the
task's own key, the released sums, and a model's rounds, which the recipient asks.

Only the recipient can derive the key the registries switch the sums to (`pooled_key`), so
whatever the hub relays (sums, key-switch shares, asks) it cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from tessera.analyses.fits import Fit, converse
from tessera.crypto.group import L, base
from tessera.crypto.keys import Identity
from tessera.crypto.threshold import KeyPair
from tessera.protocol import messages, tasks
from tessera.protocol.board import BoardClosed, HubBoard, decode
from tessera.protocol.connection import HubError
from tessera.protocol.pooled import Asker, read_release

if TYPE_CHECKING:
    from tessera.client.client import Client


def pooled_key(identity: Identity, task: str) -> KeyPair:
    """This identity's ElGamal key pair for pooled task `task`, derived from its private
    encryption key (HMAC-SHA512): nothing to store, and nobody else can derive it."""
    raw = identity.encryption_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    mac = hmac.new(raw, f"tessera pooled task {task}".encode(), hashlib.sha512).digest()
    secret = int.from_bytes(mac, "little") % L or 1
    return KeyPair(secret, base(secret))


def pooled_result(client: Client, task: str, what: Mapping, outputs: Mapping | None):
    """The result of pooled task `task` (`what`: the parameters, or what the registries say
    they computed): a model's rounds are asked here, or read once asked; an aggregate is
    decrypted from the board's sum and the registries' `outputs`."""
    from tessera.client.client import TaskFailed

    key = pooled_key(client.identity, task)
    run = tasks.pooled_task({**what, "recipients": [client.name]}, key.public)
    board = HubBoard(client.hub, task, client.identity, _members(client))
    epsilon = float(what["epsilon"])
    try:
        if isinstance(run.implementation, Fit):
            asker = Asker(board, run, key.secret, task)
            try:
                return converse(run.implementation, run.options, asker.answer)
            finally:  # done early (converged, or the noise was too much): release the stations
                _finish(asker)
        sums = board.find(messages.SUM)[messages.HUB]
        released = read_release(run, sums, {n: decode(o) for n, o in outputs.items()}, key.secret)
        return run.implementation.result(released, run.options, epsilon, len(run.world))
    except BoardClosed as closed:
        raise TaskFailed(f"task {task}: {closed}") from None
    except ValueError as error:  # e.g. the noise drowned the risk sets: say so plainly
        raise TaskFailed(f"task {task}: {error}") from None


def _finish(asker: Asker) -> None:
    try:
        asker.finish()
    except HubError as error:
        if error.status != 409:  # 409: the task has ended already; nothing to release
            raise


def _members(client: Client):
    def public(name: str):
        return client.federation.members[name].public

    return public
