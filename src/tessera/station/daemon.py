"""The station: next to an organisation's data, it checks and runs the federation's tasks.

It keeps its own copy of the ledger (each new entry from the hub must continue it by every
rule, or the station stops trusting the hub), decides on each task it is asked to join by
its own copy and policy, and runs accepted tasks as one party of an MPC session with the
peer stations over mutually authenticated TLS (each peer's certificate pinned by its signed
`join` entry). Its output shares go sealed to the task's recipients: no station, and not
the hub, ever sees a result.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
from collections.abc import Mapping
from multiprocessing.process import BaseProcess

from tessera.analyses.registry import ANALYSES, analysis
from tessera.analyses.vertical import PartyFiles, Vertical, column_names
from tessera.audit.ledger import Ledger
from tessera.crypto.keys import Identity
from tessera.crypto.sealed import SealError, seal, unseal
from tessera.governance.studies import Federation, output_digest
from tessera.mpc.certificates import TlsFiles
from tessera.mpc.local import ENGINE_ABORT, EngineAborted, Launch, Spare, reap
from tessera.mpc.session import Accuracy, Party
from tessera.privacy.budget import Budget, BudgetExceeded
from tessera.protocol import messages, tasks
from tessera.protocol.board import HubBoard, encode
from tessera.protocol.connection import HubConnection, HubError
from tessera.protocol.pooled import RegistryParty
from tessera.sources.readers import read_file
from tessera.station.config import StationConfig
from tessera.station.policy import refusal

log = logging.getLogger("tessera.station")
# what a spare party process loads ahead of a task: the analyses that run by MPC
JOINT_MODULES = tuple(a.module for a in ANALYSES.values() if "joint" in a.modes)


class Station:
    def __init__(self, config: StationConfig, http=None):
        self.config = config
        self.identity = Identity.load(config.directory / "identity")
        self.name = self.identity.name
        self.hub = HubConnection(config.hub, self.identity, http=http)
        self.budget = Budget(config.directory / "privacy-budget.sqlite")
        self.copy = Ledger(config.directory / "ledger.jsonl")
        entries = self.copy.entries() if self.copy.path.exists() else []
        self.federation = Federation.replay(entries)
        self.paths = {  # each dataset's canonical table (format sources imported first)
            name: dataset.materialise(config.directory, name, log.info)
            for name, dataset in config.datasets.items()
        }
        self.schemas = {name: column_names(path) for name, path in self.paths.items()}
        self.running: set[str] = set()
        self.lock = threading.Lock()  # one MPC session at a time: one listening address
        self.stopping = threading.Event()
        self.spare: Spare | None = None  # a party process with the engine loaded, ready
        self.joint = False  # whether it has run MPC yet (a pooled-only station needs no spare)

    # -- the ledger copy --

    def sync(self) -> None:
        """Take the hub's new entries into the copy, each checked by every rule."""
        for entry in self.hub.entries(since=self.federation.chain.length):
            self.federation.admit(entry)  # raises if the hub's ledger contradicts the copy
            self.copy.add_checked(entry)

    # -- the loop --

    def serve(self) -> None:
        """Poll the hub until stopped; a station that was away picks up where it left."""
        self.publish()
        last = time.monotonic()
        while not self.stopping.is_set():
            try:
                self.ready()
                self.step()
                if time.monotonic() - last > 30:
                    self.publish()
                    last = time.monotonic()
            except HubError as error:
                log.warning("%s", error)
            self.stopping.wait(0.05)
        if self.spare is not None:
            self.spare.stop()

    def ready(self) -> None:
        """Keep a spare party process with the engine loaded, so that a task's session
        starts without its imports. Started by the serving thread (it must outlive the
        process) and only while no session runs (its imports would slow the session)."""
        if not self.joint or self.lock.locked():
            return
        if self.spare is None or not self.spare.process.is_alive():
            self.spare = Spare.start(JOINT_MODULES)

    def publish(self) -> None:
        self.hub.post(
            "/api/stations/me", {"address": self.config.address, "datasets": self.schemas}
        )

    def step(self) -> None:
        work = self.hub.get("/api/work", wait=self.config.poll_seconds)
        if not work["decide"] and not any(w["task"] not in self.running for w in work["run"]):
            return
        self.sync()
        for item in work["decide"]:
            self.decide(item)
        for item in work["run"]:
            if item["task"] not in self.running:
                self.running.add(item["task"])
                threading.Thread(target=self.run, args=(item,), daemon=True).start()

    def parameters(self, item: Mapping) -> dict:
        task = self.federation.tasks[item["task"]]
        sender = self.federation.members[task.researcher].public
        sealed = base64.b64decode(item["parameters"])
        context = messages.parameters_context(item["task"], self.name)
        return json.loads(unseal(sealed, self.identity, sender, context))

    def decide(self, item: Mapping) -> None:
        try:
            parameters = self.parameters(item)
            reason = refusal(
                self.name, parameters, self.federation, self.config.policy, self.schemas
            )
            if reason is None and parameters.get("mode") == "pooled":
                tasks.pooled_task(parameters)  # the public grid resolves: else refuse now
                reason = self.spend(item["task"], parameters)
            elif reason is None:
                tasks.plan_of(parameters)  # the columns resolve: else refuse now, not mid-session
        except (SealError, ValueError, KeyError) as error:
            reason = f"unreadable parameters ({error})"
        accept = reason is None
        log.info("task %s: %s", item["task"], "accepted" if accept else f"refused: {reason}")
        self.hub.write("decision", {"task": item["task"], "accept": accept, "reason": reason or ""})

    def spend(self, task: str, parameters: Mapping) -> str | None:
        """Charge a pooled task's epsilon to the budget of the dataset in the study, or say
        why not. Charged on acceptance, released or not: noise spent is spent."""
        study = self.federation.tasks[task].study
        dataset = str(parameters["datasets"][self.name])
        epsilon = float(parameters["epsilon"])
        try:
            self.budget.spend(dataset, study, epsilon, self.config.policy.epsilon_limit,
                              query=f"task {task}: {parameters['analysis']}")  # fmt: skip
        except BudgetExceeded as error:
            return f"privacy budget: {error}"
        return None

    # -- one task --

    def run(self, item: Mapping) -> None:
        """Join the task's session; release sealed outputs, or record why it failed."""
        task = item["task"]
        try:
            parameters = self.parameters(item)
            if parameters.get("mode") == "pooled":
                self.release(task, self.pooled(task, parameters))
            else:
                with self.lock:
                    shares, labels = self.compute(item, parameters)
                self.release(task, tasks.shares_message(parameters, shares, labels))
        except Exception as error:
            reason = (
                str(error)
                if isinstance(error, (ValueError, OSError, RuntimeError))
                else (f"internal error ({type(error).__name__})")
            )
            log.warning("task %s failed: %s", task, reason)
            body = {"task": task, "reason": reason[:500]}
            if isinstance(error, EngineAborted):
                body["aborted"] = True  # a crash, not a refusal: the researcher may retry
            try:
                self.hub.write("failure", body)
            except HubError as hub_error:
                log.warning("could not record the failure: %s", hub_error)

    def pooled(self, task: str, parameters: Mapping) -> bytes:
        """Take part in a pooled task over the hub's board, as one registry."""
        board = HubBoard(self.hub, task, self.identity, self._public,
                         running=lambda: not self.stopping.is_set())  # fmt: skip
        dataset = self.paths[str(parameters["datasets"][self.name])]
        output = RegistryParty(board, tasks.pooled_task(parameters), task).run(read_file(dataset))
        return tasks.pooled_message(encode(output), parameters)

    def _public(self, member: str):
        return self.federation.members[member].public

    def compute(self, item: Mapping, parameters: Mapping) -> tuple[list[bytes], dict]:
        reason = refusal(self.name, parameters, self.federation, self.config.policy, self.schemas)
        if reason is not None:
            raise ValueError(f"refused at run time: {reason}")
        entry = analysis(str(parameters["analysis"]))
        joint = entry.implementation("joint")
        plan = tasks.plan_of(parameters)
        world = tuple(parameters["world"])
        accuracy = Accuracy.preset(str(parameters.get("accuracy", entry.accuracy)))
        ring_bits = 128 if accuracy.field == "FM128" else 64
        datasets = parameters.get("datasets", {})
        mine = {self.name: str(self.paths[datasets[self.name]])} if (self.name in datasets) else {}
        files = PartyFiles(plan, mine, world, accuracy.fraction_bits)
        statistic = Vertical(
            plan, joint.statistic, joint.arguments(parameters["options"]), world, ring_bits
        )
        session = item["session"]
        tls = self.trust(session["id"], world)
        launch = Launch(
            session["id"],
            tuple(Party(n, session["peers"][n]) for n in world),
            self.name,
            tls,
            accuracy,
            statistic,
            plan.layout(world),
            files,
            exchange=files.exchange,
            timeout_ms=int(self.config.session_seconds * 1000),
        )
        return self.party(launch, item["task"])

    def trust(self, session: str, world: tuple[str, ...]) -> TlsFiles:
        """This station's TLS files, trusting exactly the session's peers' certificates as
        their signed `join` entries published them."""
        tls = self.config.directory / "tls"
        bundle = tls / f"peers-{session}.pem"
        bundle.write_text("".join(self.federation.members[n].tls_ca for n in world))
        return TlsFiles(bundle, tls / f"{self.name}.pem", tls / f"{self.name}.key")

    def party(self, launch: Launch, task: str) -> tuple[list[bytes], dict]:
        """Run this station's party in its own process (the engine stays out of the daemon,
        and a crash there fails the task, not the station): the spare one if it is ready.
        If another station fails the task meanwhile, stop at once rather than wait for the
        session's timeout."""
        self.joint = True
        spare, self.spare = self.spare, None
        if spare is None or not spare.process.is_alive():
            spare = Spare.start(JOINT_MODULES)  # from this thread, which waits for it to finish
        spare.run(launch)
        process, results = spare.process, spare.results
        deadline = time.monotonic() + self.config.session_seconds + 60
        try:
            while True:
                try:
                    _, status, payload = results.get(timeout=1.0)
                    break
                except queue.Empty:
                    self._check(process, deadline, task)
        except BaseException:
            process.kill()  # the task has failed: the party has nothing left to do
            raise
        finally:
            reap(process)
            launch.tls.ca.unlink(missing_ok=True)
        if status != "ok":
            raise RuntimeError(str(payload))
        return payload

    def _check(self, process: BaseProcess, deadline: float, task: str) -> None:
        """Raise if this station's party has stopped, ran out of time, or the task failed."""
        if process.exitcode == ENGINE_ABORT:
            raise EngineAborted(f"the MPC engine aborted (exit code {ENGINE_ABORT})")
        if process.exitcode is not None:
            raise RuntimeError(f"the MPC party stopped (exit code {process.exitcode})")
        if time.monotonic() > deadline:
            raise RuntimeError("the MPC session did not finish in time")
        if self.hub.get(f"/api/tasks/{task}")["status"] == "failed":
            raise RuntimeError("stopped: another station failed the task")

    def release(self, task: str, message: bytes) -> None:
        """Seal this station's output message to each recipient of the task."""
        state = self.federation.tasks[task]
        output = {}
        for recipient in state.recipients:
            public = self.federation.members[recipient].public
            context = messages.output_context(task, self.name, recipient)
            output[recipient] = base64.b64encode(
                seal(message, self.identity, public, context)
            ).decode()
        self.hub.write(
            "release", {"task": task, "digest": output_digest(output)}, {"output": output}
        )
        log.info("task %s: output released, sealed to %s", task, ", ".join(state.recipients))
