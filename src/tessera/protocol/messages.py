"""The names things travel under: a pooled task's message kinds, where the hub keeps them,
and the context string every sealed payload is bound to.

A seal's context (`tessera.crypto.sealed`) is authenticated with it, so a payload sealed
for one purpose (one task, one round, one receiver) cannot be replayed as another. Every
sender and receiver builds contexts here, so they cannot drift apart.
"""

from __future__ import annotations

import re

# What the registries of a pooled task send (`tessera.protocol.pooled`), in protocol order
DEALING = "dealing"  # DKG commitments, each share sealed to its one receiver
CONTRIBUTION = "contribution"  # encrypted aggregate plus noise share (":r" in round r)
SUM = "sum"  # the hub's sum of every contribution of a kind (":r" likewise)
MIX = "mix"  # "mix:i:c": participant i's mixed chunk c of the blinded small-cell tests
PARTIAL = "partial"  # partial decryptions of the mixed tests
SWITCH = "switch"  # "switch:r": key-switch shares of round r's sum, sealed to the recipient
ROUND = "round"  # "round:r": the recipient's ask of round r, sealed to each station
HUB = "hub"  # the sender of the hub's own messages (sums)

STATION_KINDS = re.compile(
    r"dealing|contribution(:\d{1,3})?|partial|switch:\d{1,3}|mix:\d{1,3}(:\d{1,3})?"
)
RECIPIENT_KINDS = re.compile(r"round:\d{1,3}")


def numbered(kind: str, *numbers: int) -> str:
    """`kind:n[:m]`, e.g. `contribution:3` or `mix:1:7`."""
    return ":".join([kind, *map(str, numbers)])


def sum_of(kind: str) -> str:
    """The kind of the hub's sum of a contribution kind: contribution:2 -> sum:2."""
    return kind.replace(CONTRIBUTION, SUM, 1)


def board_path(task: str, kind: str | None = None) -> str:
    """Where the hub keeps a task's messages (of one kind)."""
    base = f"/api/tasks/{task}/messages"
    return base if kind is None else f"{base}/{kind}"


# -- seal contexts --


def parameters_context(task: str, station: str) -> str:
    return f"task {task} parameters for {station}"


def output_context(task: str, station: str, recipient: str) -> str:
    return f"task {task} output of {station} for {recipient}"


def key_share_context(task: str, receiver: str) -> str:
    return f"task {task} key share for {receiver}"


def ask_context(task: str, number: int, station: str) -> str:
    return f"task {task} round {number} for {station}"


def switch_context(task: str, number: int, recipient: str) -> str:
    return f"task {task} round {number} switch for {recipient}"
