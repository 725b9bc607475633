"""Local mode of the pooled protocol: the registries' tables in this process, each registry
its own thread over an in-memory board, the recipient here. The very steps the federation
runs (`tessera.protocol.pooled`), with nothing between the parties but the board.

Without noise (epsilon = inf) and without suppression, the released figures equal the pooled
data's: the reference the tests hold the protocol to. Only local mode accepts that setting.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from tessera.analyses.fits import Fit, converse
from tessera.analyses.registry import analysis
from tessera.crypto.threshold import KeyPair
from tessera.errors import InputError
from tessera.privacy.noise import NO_NOISE, Noise
from tessera.protocol import messages
from tessera.protocol.board import BoardClosed, MemoryStore, Threads
from tessera.protocol.pooled import Asker, PooledTask, RegistryParty, majority, read_release

RECIPIENT = "researcher"


def pool(
    name: str,
    frames: Mapping[str, pd.DataFrame],
    options: Mapping[str, object],
    noise: Noise = NO_NOISE,
    threshold: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    seed: int | None = None,
):
    """Run the pooled analysis `name` among the registries `frames` (name -> its table,
    numbered in this order) and return its result object. `threshold`: how many registries
    take part in decryption (default: a majority); `progress(round, rounds)` is told of
    each round of a model; `seed` makes the noise reproducible (for tests only)."""
    if not frames:
        raise InputError("a registry-spanning query needs at least one registry")
    entry = analysis(name)
    implementation = entry.implementation("pooled")
    resolved = implementation.options(entry.options("pooled", options), frames, noise)
    world = tuple(frames)
    threshold = threshold or majority(len(world))
    if not 1 <= threshold <= len(world):
        raise InputError(f"threshold {threshold}: between 1 and {len(world)} registries")
    key = KeyPair.generate()
    task = PooledTask(name, resolved, world, threshold, noise.epsilon, key.public, RECIPIENT)
    fit = isinstance(implementation, Fit)
    if fit:  # each registry's own rows, checked here, before any thread starts
        prepared = {n: implementation.rows(f, resolved) for n, f in frames.items()}
        if not sum(len(rows["x"]) for rows in prepared.values()):
            raise InputError("no complete rows among the selected patients: nothing to fit")
    else:
        prepared = {n: implementation.vector(f, resolved) for n, f in frames.items()}

    store = MemoryStore(world)

    def take_part(registry: str) -> dict:
        rng = None if seed is None else np.random.default_rng([seed, world.index(registry)])
        party = RegistryParty(store.view(registry), task, rng=rng)
        party.generate_key()
        if fit:
            return party.rounds(implementation, prepared[registry])
        return party.aggregate(prepared[registry])

    registries = Threads(store, {n: functools.partial(take_part, n) for n in world})
    try:
        if fit:
            with store.turn():
                result = _fit(store, task, implementation, key.secret, progress)
        outputs = registries.join()
        if not fit:
            sums = store.gather(messages.SUM, 1)[messages.HUB]
            released = read_release(task, sums, outputs, key.secret)
            epsilon = None if math.isinf(noise.epsilon) else noise.epsilon
            result = implementation.result(released, resolved, epsilon, len(world))
    except BoardClosed:
        if registries.failures:
            raise registries.failures[0] from None
        raise
    finally:
        store.fail("the recipient has stopped")
    return result


def _fit(store: MemoryStore, task: PooledTask, fit: Fit, secret: int, progress):
    asker = Asker(store.view(RECIPIENT), task, secret)
    rounds = int(task.options["rounds"])

    def answer(ask: dict):
        if progress:
            progress(ask["round"], rounds)
        return asker.answer(ask)

    try:
        return converse(fit, task.options, answer)
    finally:
        asker.finish()
