"""A task's parameters, as the researcher seals them to each station and the ledger hashes
them, and what a station releases for a task: one definition for everyone who reads them.

`joint` tasks run MPC among exactly three stations (vertically split data); `pooled` tasks
add up the encrypted aggregates of two or more registries with one schema. Parameters carry
a random nonce, so the hash the ledger records reveals nothing guessable about them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
from collections.abc import Mapping, Sequence

from tessera.analyses.registry import analysis
from tessera.audit.ledger import canonical
from tessera.crypto.group import Point
from tessera.errors import InputError
from tessera.privacy.noise import Noise
from tessera.protocol.pooled import PooledTask, majority


def digest(parameters: Mapping) -> str:
    """What a task entry records of its parameters."""
    return hashlib.sha256(canonical(parameters)).hexdigest()


def joint_parameters(
    study: str,
    name: str,
    datasets: Mapping[str, str],
    columns: Mapping[str, Sequence[str]],
    options: Mapping[str, object],
    recipients: Sequence[str],
    helper: str | None = None,
    join: str | None = None,
    link: Mapping[str, object] | None = None,
    where: str | None = None,
    accuracy: str | None = None,
) -> dict:
    """An MPC task over `datasets` (station -> dataset; the first anchors the join), with
    `helper` as the third party if only two stations hold data. Checked here as the
    stations will check it, so a mistake fails before anything is sent."""
    entry = analysis(name)
    options = entry.options("joint", options)
    parameters = {
        "nonce": secrets.token_hex(16),
        "task": secrets.token_hex(8),
        "study": study,
        "analysis": name,
        "options": options,
        "datasets": dict(datasets),
        "columns": {k: list(v) for k, v in columns.items()},
        "world": [*datasets, *([helper] if helper else [])],
        "match": {"join": join, **({"link": dict(link)} if link is not None else {})},
        "where": where,
        "accuracy": accuracy or entry.accuracy,
        "recipients": list(recipients),
    }
    plan_of(parameters)
    return parameters


def plan_of(parameters: Mapping):
    """The public plan of a joint task (`tessera.analyses.vertical.Plan`): which party
    holds which column, how rows are matched."""
    from tessera.analyses.vertical import plan_for_columns

    joint = analysis(str(parameters["analysis"])).implementation("joint")
    match = dict(parameters["match"])
    columns = joint.columns(parameters["options"])
    return plan_for_columns(
        parameters["columns"], where=parameters.get("where"), **columns, **match
    )


def pooled_parameters(
    study: str,
    name: str,
    datasets: Mapping[str, str],
    columns: Mapping[str, Sequence[str]],
    options: Mapping[str, object],
    epsilon: float,
    recipient: str,
    target: Point,
    threshold: int | None = None,
    task: str | None = None,
) -> dict:
    """A pooled task over the registries `datasets` (station -> dataset), each adding noise
    for `epsilon`, released to `recipient` under its task key `target`."""
    entry = analysis(name)
    if not 0 < float(epsilon) < math.inf:
        raise InputError("a pooled release needs a finite, positive epsilon")
    world = list(datasets)
    parameters = {
        "nonce": secrets.token_hex(16),
        "task": task or secrets.token_hex(8),
        "study": study,
        "mode": "pooled",
        "analysis": name,
        "options": entry.options("pooled", options),
        "datasets": dict(datasets),
        "columns": {k: list(v) for k, v in columns.items()},
        "world": world,
        "epsilon": float(epsilon),
        "threshold": int(threshold or majority(len(world))),
        "target": target.to_bytes().hex(),
        "recipients": [recipient],
    }
    pooled_task(parameters)
    return parameters


def resolved(parameters: Mapping) -> dict:
    """A pooled task's options with its public grid (levels, time bins), as every station
    and the recipient resolve them alike: from the parameters alone, never from data."""
    pooled = analysis(str(parameters["analysis"])).implementation("pooled")
    return pooled.options(dict(parameters["options"]), {}, Noise(float(parameters["epsilon"])))


def pooled_task(parameters: Mapping, target: Point | None = None) -> PooledTask:
    """The run every party of a pooled task agrees on; `target`: the recipient's task key,
    if the parameters do not carry it (the recipient's own reading)."""
    world = tuple(str(n) for n in parameters["world"])
    threshold = int(parameters["threshold"])
    if not 1 <= threshold <= len(world):
        raise InputError(f"threshold {threshold}: between 1 and {len(world)} registries")
    if target is None:
        target = Point.from_bytes(bytes.fromhex(str(parameters["target"])))
    recipients = parameters.get("recipients") or [""]
    epsilon = float(parameters["epsilon"])
    name = str(parameters["analysis"])
    return PooledTask(name, resolved(parameters), world, threshold, epsilon, target, recipients[0])


# -- what a station releases --


def shares_message(parameters: Mapping, shares: list[bytes], labels: dict) -> bytes:
    """A joint task's release: this party's output shares, with what they are outputs of."""
    what = {k: parameters[k] for k in ("world", "options", "accuracy")}
    return json.dumps(
        {
            "shares": [base64.b64encode(s).decode() for s in shares],
            "labels": labels,
            "analysis": {"name": parameters["analysis"], **what},
            "nonce": secrets.token_hex(8),
        }
    ).encode()


def pooled_message(output: Mapping, parameters: Mapping) -> bytes:
    """A pooled task's release: this registry's output, and what it is an output of."""
    what = {k: parameters[k] for k in ("analysis", "options", "world", "epsilon", "threshold")}
    return json.dumps({"pooled": dict(output), "analysis": what}).encode()
