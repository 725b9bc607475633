"""Run an MPC session among separate local processes, exactly as stations will run it.

Each party is its own OS process with its own TLS identity and only its own inputs; the
launcher (the researcher) receives nothing but the output shares and reconstructs them.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import multiprocessing
import os
import queue
import secrets
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

import numpy as np

from tessera.errors import TesseraError
from tessera.mpc.certificates import TlsFiles, issue_session_certificates
from tessera.mpc.gate import free_ports
from tessera.mpc.session import Accuracy, Party, Session

# Runs inside party `name`'s process: its own input values, and metadata for the recipient
# only (e.g. the labels of its categories). It must not read any other party's data.
PartyJob = Callable[[str], tuple[dict[str, np.ndarray], dict]]
# Runs inside party `name`'s process once the links are up, before MPC: may exchange
# messages with the peers (`Session.send`/`receive`) and returns the party's MPC inputs.
Exchange = Callable[[str, Session, dict[str, np.ndarray]], dict[str, np.ndarray]]


class SessionFailed(TesseraError, RuntimeError):
    """A party process failed; the message names the party and its error (no data)."""


class EngineAborted(SessionFailed):
    """The engine aborted a party process (exit status 255: a brpc CHECK on a link).

    It strikes about one run in ten of the linkage protocol on 1,500 patients, early in
    the session, and never reproduced under instrumentation; no party has released
    anything by then, so `run_local` starts the session once more from scratch."""


ENGINE_ABORT = 255


@dataclass(frozen=True)
class Launch:
    session: str
    parties: tuple[Party, ...]
    me: str
    tls: TlsFiles
    accuracy: Accuracy
    function: Callable[..., object]
    layout: tuple[tuple[str, str], ...]
    job: PartyJob
    connect_seconds: float = 30.0
    timeout_ms: int = 120_000
    exchange: Exchange | None = None
    gate: bool | None = None  # see Session


def _die_with_parent() -> None:
    """Linux: end this party process if whoever started it dies (a station killed
    mid-task must not leave a party running on its data)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _quiet() -> None:
    """The engine's C++ logs (brpc, spdlog) are diagnostics, not results: a party's failure
    reaches the user through the launcher. Keep them with TESSERA_DEBUG=1."""
    if os.environ.get("TESSERA_DEBUG") != "1":
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
    else:
        os.dup2(2, 1)


def party_main(launch: Launch, results: multiprocessing.Queue) -> None:
    """A party process: load own inputs, join the session, hand back only output shares."""
    _die_with_parent()
    _quiet()
    try:
        mine, metadata = launch.job(launch.me)
        session = Session(
            launch.session,
            launch.parties,
            launch.me,
            launch.tls,
            launch.accuracy,
            connect_seconds=launch.connect_seconds,
            timeout_ms=launch.timeout_ms,
            gate=launch.gate,
        )
        try:
            if launch.exchange is not None:
                mine = launch.exchange(launch.me, session, mine)
            shares = session.run(launch.function, launch.layout, mine)
            session.settle()
            # Hand the shares over, flushed, before the links close: the engine sometimes
            # aborts the process while closing them (see `EngineAborted`), and every party
            # has its outputs by now (the settle barrier), so that abort must cost nothing.
            results.put((launch.me, "ok", (shares, metadata)))
            results.close()
            results.join_thread()
        finally:
            session.close()
    except (ValueError, KeyError, OSError) as exc:  # our own messages: name things, not data
        _report(results, launch.me, f"{type(exc).__name__}: {exc}")
    except BaseException as exc:  # anything else may quote data: only its type leaves
        traceback.print_exc()  # to the party's own stderr, kept only with TESSERA_DEBUG=1
        detail = f"internal error ({type(exc).__name__}); rerun with TESSERA_DEBUG=1 for details"
        _report(results, launch.me, detail)


def spare_main(
    inbox: multiprocessing.Queue, results: multiprocessing.Queue, preload: Sequence[str]
) -> None:
    """A party process started before its task: it loads the engine (1-2.5 s of imports)
    and the `preload` modules (the analyses it may run) while its station is idle, then
    runs the first `Launch` it is sent (None: stop)."""
    _die_with_parent()
    _quiet()
    for module in ("tessera.mpc.session", *preload):  # spu, jax, ...
        importlib.import_module(module)
    launch = inbox.get()
    if launch is not None:
        party_main(launch, results)


@dataclass
class Spare:
    """A `spare_main` process and its two queues."""

    process: BaseProcess
    inbox: multiprocessing.Queue
    results: multiprocessing.Queue

    @classmethod
    def start(cls, preload: Sequence[str] = ()) -> Spare:
        """Start one that imports `preload` too. Linux ends it when the *thread* that
        started it ends (see `_die_with_parent`), so start it from a thread that outlives
        its use."""
        context = multiprocessing.get_context("spawn")
        inbox, results = context.Queue(), context.Queue()
        arguments = (inbox, results, tuple(preload))
        process = context.Process(target=spare_main, args=arguments, daemon=True)
        process.start()
        return cls(process, inbox, results)

    def run(self, launch: Launch) -> None:
        self.inbox.put(launch)

    def stop(self) -> None:
        self.inbox.put(None)
        reap(self.process, grace=2.0)


def _report(results: multiprocessing.Queue, me: str, detail: str) -> None:
    """Send a failure, unless the outputs were already handed over (the queue is closed)."""
    with contextlib.suppress(ValueError, OSError):
        results.put((me, "error", detail))


def run_local(
    function: Callable[..., object],
    parties: Sequence[str],
    layout: Sequence[tuple[str, str]],
    job: PartyJob,
    accuracy: Accuracy | None = None,
    timeout: float = 600.0,
    reach: Callable[[str, str], str] | None = None,
    exchange: Exchange | None = None,
) -> tuple[list[np.ndarray], dict[str, dict]]:
    """Run `function` among `parties` (3 names), each in its own process.

    `layout` lists the function's inputs in order as (name, owner); `job(name)` runs in
    party `name`'s process and loads that party's own inputs; `exchange`, if given, then
    turns them into its MPC inputs with messages to the peers. Returns the outputs and each
    party's metadata for the recipient (the launcher).

    `reach(name, address)` may give the address at which the other parties reach party
    `name`, which listens on `address`: e.g. a relay in between, as a network path has
    (tests record the traffic there). By default they connect to `address` directly.
    A session the engine aborts (see `EngineAborted`) runs once more, with fresh keys.
    """
    accuracy = accuracy or Accuracy()
    if len(parties) != 3:
        raise ValueError(f"an MPC session needs 3 parties, got {len(parties)}: add --helper")
    try:
        return _run_once(function, parties, layout, job, accuracy, timeout, reach, exchange)
    except EngineAborted as abort:
        logging.getLogger(__name__).warning("%s; running the session again", abort)
        return _run_once(function, parties, layout, job, accuracy, timeout, reach, exchange)


def _run_once(
    function: Callable[..., object],
    parties: Sequence[str],
    layout: Sequence[tuple[str, str]],
    job: PartyJob,
    accuracy: Accuracy,
    timeout: float,
    reach: Callable[[str, str], str] | None,
    exchange: Exchange | None,
) -> tuple[list[np.ndarray], dict[str, dict]]:
    from tessera.mpc.session import reconstruct

    session = secrets.token_hex(8)
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = context.Queue()
    # libspu's matmul asks for 4 OpenMP threads each; 3 parties on 2 cores thrash without this.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    with tempfile.TemporaryDirectory(prefix="tessera-session-") as directory:
        tls = issue_session_certificates(session, list(parties), Path(directory))
        ports = free_ports(len(parties))
        listen = {n: f"127.0.0.1:{p}" for n, p in zip(parties, ports, strict=True)}
        public = {n: reach(n, a) for n, a in listen.items()} if reach else listen

        def members(me: str) -> tuple[Party, ...]:  # a party listens on its own address
            return tuple(Party(n, listen[n] if n == me else public[n]) for n in parties)

        processes = [
            context.Process(
                target=party_main,
                args=(
                    Launch(
                        session,
                        members(name),
                        name,
                        tls[name],
                        accuracy,
                        function,
                        tuple(layout),
                        job,
                        exchange=exchange,
                    ),
                    results,
                ),
                name=f"tessera-{name}",
                daemon=True,
            )
            for name in parties
        ]
        for process in processes:
            process.start()
        try:
            answers = _collect(results, dict(zip(parties, processes, strict=True)), timeout)
        finally:
            for process in processes:
                reap(process)
    outputs = reconstruct([answers[name][0] for name in parties], accuracy)
    return outputs, {name: answers[name][1] for name in parties}


def reap(process: BaseProcess, grace: float = 0.5) -> None:
    """End a party process that has answered (or failed). It has handed over its shares,
    flushed, after the barrier all parties pass once done, so what is left is closing
    links, where the engine sometimes hangs for seconds: give it a moment, then kill it."""
    process.join(timeout=grace)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)


def _collect(
    results: multiprocessing.Queue, processes: dict[str, BaseProcess], timeout: float
) -> dict:
    """Each party's answer; fails at once, naming it, when a party process dies without one
    (the engine aborts the process on some link errors: waiting out the timeout helps nobody).
    """
    shares: dict[str, tuple[list[bytes], dict]] = {}
    deadline = time.monotonic() + timeout
    while len(shares) < len(processes):
        try:
            name, status, payload = results.get(timeout=1.0)
        except queue.Empty:
            for name, process in processes.items():
                if name not in shares and process.exitcode not in (None, 0):
                    failure = EngineAborted if process.exitcode == ENGINE_ABORT else SessionFailed
                    raise failure(
                        f"party {name} stopped unexpectedly (exit code {process.exitcode}); "
                        "rerun with TESSERA_DEBUG=1 for the engine's log"
                    ) from None
            if time.monotonic() > deadline:
                missing = ", ".join(p for p in processes if p not in shares)
                raise SessionFailed(f"no answer from {missing} within {timeout:.0f} s") from None
            continue
        if status != "ok":
            raise SessionFailed(f"party {name} failed: {payload}")
        shares[name] = payload
    return shares
