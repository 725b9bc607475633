"""A vertical analysis within one test process: each party's alignment runs in its own
thread with in-memory message queues, then SPU's in-process ABY3 simulator runs the MPC."""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping

import numpy as np
import pandas as pd
import spu.utils.simulation as simulation

from tessera.analyses.vertical import PartyFiles, Plan, Vertical
from tessera.mpc.session import Accuracy


class Mailboxes:
    """Ordered messages between named parties, as `Session.send`/`receive` carry them, and
    MPC steps as `Session.run_for` runs them (here on SPU's simulator, once all are in)."""

    def __init__(self, parties: tuple[str, ...], accuracy: Accuracy | None = None):
        self.boxes = {(a, b): queue.Queue() for a in parties for b in parties if a != b}
        self.sent: dict[str, list[bytes]] = {party: [] for party in parties}
        self.config = (accuracy or Accuracy()).runtime_config("test")
        self.inputs: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(len(parties), timeout=120)
        self.failed = threading.Event()  # a party raised: the others stop waiting at once

    def fail(self) -> None:
        self.failed.set()
        self.barrier.abort()

    def run_for(self, me: str, recipient: str, function, layout, mine) -> list | None:
        with self.lock:
            self.inputs.update(mine)
        self.barrier.wait()  # every party's inputs are in
        result = None
        if me == recipient:
            simulator = simulation.Simulator(3, self.config)
            outputs = simulation.sim_jax(simulator, function)(*(self.inputs[n] for n, _ in layout))
            result = [np.asarray(o) for o in (outputs if isinstance(outputs, tuple | list)
                                              else (outputs,))]  # fmt: skip
            self.inputs.clear()
        self.barrier.wait()  # nobody starts the next step before this one is done
        return result

    def peers(self, me: str) -> _Peers:
        return _Peers(self, me)


class _Peers:
    def __init__(self, mailboxes: Mailboxes, me: str):
        self.mailboxes, self.me = mailboxes, me

    def send(self, party: str, data: bytes) -> None:
        self.mailboxes.sent[self.me].append(data)
        self.mailboxes.boxes[(self.me, party)].put(data)

    def receive(self, party: str) -> bytes:
        box = self.mailboxes.boxes[(party, self.me)]
        for _ in range(600):  # at most 60 s, unless another party failed first
            if self.mailboxes.failed.is_set():
                raise RuntimeError(f"{self.me} stops: another party failed")
            try:
                return box.get(timeout=0.1)
            except queue.Empty:
                continue
        raise TimeoutError(f"{self.me} had no message from {party} within 60 s")

    def run_for(self, recipient: str, function, layout, mine) -> list | None:
        return self.mailboxes.run_for(self.me, recipient, function, layout, mine)


def exchange_all(world: tuple[str, ...], run) -> tuple[dict[str, dict], dict[str, list[bytes]]]:
    """Run `run(party, peers)` for every party at once: each one's result, and the
    messages each one sent."""
    mailboxes = Mailboxes(world)
    results: dict[str, dict] = {}
    errors: list[BaseException] = []

    def target(party: str) -> None:
        try:
            results[party] = run(party, mailboxes.peers(party))
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
            mailboxes.fail()

    threads = [threading.Thread(target=target, args=(party,)) for party in world]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results, mailboxes.sent


def simulate(
    plan: Plan,
    frames: Mapping[str, pd.DataFrame],
    statistic,
    accuracy: str = "fast",
    helper: bool = True,
    sent: dict[str, list[bytes]] | None = None,
    **options,
):
    """The statistic on the parties' frames, aligned and computed as in a real session;
    `sent`, if given, receives every message each party sent."""
    settings = Accuracy.preset(accuracy)
    world = (*plan.parties, "helper") if helper else tuple(plan.parties)
    files = PartyFiles(plan, {}, world, settings.fraction_bits)

    def party(name: str, peers) -> dict[str, np.ndarray]:
        mine = plan.encode(name, frames[name])[0] if name in frames else {}
        return files.exchange(name, peers, mine)

    inputs = {}
    results, messages = exchange_all(world, party)
    for mine in results.values():
        inputs.update(mine)
    if sent is not None:
        sent.update(messages)
    simulator = simulation.Simulator(3, settings.runtime_config("test"))
    ring_bits = 128 if settings.field == "FM128" else 64
    function = Vertical(plan, statistic, options, world, ring_bits)
    return simulation.sim_jax(simulator, function)(*(inputs[n] for n, _ in plan.layout(world)))
