"""The researcher's SDK (and the data steward's and operator's): one `Client` per identity.

    client = Client("http://hub:8000", "~/.tessera/alice")
    study = client.propose("Survival by stage", "DUO:0000007",
                           {"registry": ["registry"], "gp": ["gp"], "helper": []},
                           analyses=["kaplan-meier", "cox"])
    task = client.submit(study, "kaplan-meier", {"registry": "registry", "gp": "gp"},
                         helper="helper", join="pseudonym", time="survival_months",
                         event="vital_status", by="stage")
    result = client.wait(task)          # a KaplanMeierResult: print it, .plot() it

The client keeps its own verified copy of the ledger state: the stations' keys it seals
parameters to and checks outputs from come from signed entries, not from the hub's word.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from tessera.analyses.fits import Fit
from tessera.analyses.registry import analysis
from tessera.client.pooled import pooled_key, pooled_result
from tessera.crypto.keys import Identity
from tessera.crypto.sealed import seal, unseal
from tessera.errors import TesseraError
from tessera.governance import publications
from tessera.governance.studies import Federation, Study
from tessera.mpc.session import Accuracy, reconstruct
from tessera.protocol import messages, tasks
from tessera.protocol.connection import HubConnection, HubError
from tessera.protocol.enrolment import invite

STAGES = {"pending": "awaiting the stations' decisions", "ready": "stations computing (MPC)"}


class TaskFailed(TesseraError, RuntimeError):
    """The task ended without a result; the message gives each station's reason.
    `retryable`: a station's MPC engine aborted (a rare crash in its link layer, see
    `tessera.mpc.local.EngineAborted`), so the same task submitted again may well run."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class Client:
    def __init__(
        self, hub: str, identity: Identity | str | Path, passphrase: bytes | None = None, http=None
    ):
        if not isinstance(identity, Identity):
            identity = Identity.load(Path(identity).expanduser(), passphrase)
        self.identity = identity
        self.name = identity.name
        self.hub = HubConnection(hub, identity, http=http)
        self.federation = Federation()
        self.token: str | None = None
        self.fits: dict[str, dict] = {}  # model tasks this client asks the rounds of
        self.fitted: dict[str, object] = {}  # and their results

    def close(self) -> None:
        self.hub.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sync(self) -> Federation:
        """Bring the local, verified ledger state up to date with the hub's."""
        for entry in self.hub.entries(since=self.federation.chain.length):
            self.federation.admit(entry)
        return self.federation

    def login(self) -> str:
        """A short-lived ID token (OIDC-shaped claims) for reading, e.g. from a script."""
        self.token = self.hub.post("/api/auth/token")["id_token"]
        return self.token

    def sign_in_link(self) -> str:
        """A one-time link that signs a browser in to the hub's pages (five minutes)."""
        return self.hub.url + self.hub.post("/api/auth/sign-in")["path"]

    # -- looking around --

    def stations(self) -> pd.DataFrame:
        """The stations, their organisations and their datasets' columns (public schema)."""
        rows = self.hub.get("/api/stations")
        return pd.DataFrame(rows).set_index("name") if rows else pd.DataFrame()

    def studies(self) -> pd.DataFrame:
        """The studies, one row each, indexed by id: status, purpose, stations, approvals."""
        rows = self.hub.get("/api/studies")
        return pd.DataFrame(rows).set_index("id") if rows else pd.DataFrame()

    # -- the operator --

    def invite(self, party: str, role: str, organisation: str) -> str:
        """Record an invitation; the returned one-time token goes to the party."""
        return invite(self.hub, party, role, organisation)

    # -- governance --

    def propose(
        self,
        title: str,
        purpose: str,
        stations: Mapping[str, Sequence[str]],
        analyses: Sequence[str],
        recipients: Sequence[str] | None = None,
        expires: str | dt.date | None = None,
        public: bool = False,
    ) -> str:
        """Propose a study; returns its id. Each involved organisation's steward decides.
        With `public`, approving it also approves publishing its releases (`publish`)."""
        if expires is None:
            expires = dt.date.today() + dt.timedelta(days=90)
        study = Study(
            title,
            purpose,
            {s: tuple(d) for s, d in stations.items()},
            tuple(analyses),
            tuple(recipients or (self.name,)),
            str(expires),
            public,
        )
        self.hub.write("study", study.body())
        return study.id

    def approve(self, study: str, reason: str = "") -> None:
        self.hub.write("approve", {"study": study, "reason": reason})

    def refuse(self, study: str, reason: str) -> None:
        if not reason.strip():
            raise ValueError("give the researcher a reason for the refusal")
        self.hub.write("refuse", {"study": study, "reason": reason})

    # -- analyses --

    def submit(
        self,
        study: str,
        name: str,
        datasets: Mapping[str, str],
        helper: str | None = None,
        join: str | None = None,
        link: Mapping[str, object] | None = None,
        where: str | None = None,
        recipients: Sequence[str] | None = None,
        accuracy: str | None = None,
        **options,
    ) -> str:
        """Submit analysis `name` (`tessera.analyses.registry`) over `datasets` (station ->
        dataset; the first anchors the join), with `helper` as the third party if only two
        stations hold data. Parameters go sealed to each station."""
        analysis(name).defaults("joint")  # says so if it does not run over joined data
        self.sync()
        parameters = tasks.joint_parameters(
            study, name, datasets, self._columns(datasets), options,
            list(recipients or (self.name,)), helper, join, link, where, accuracy,
        )  # fmt: skip
        return self._send_task(parameters)

    def _columns(self, datasets: Mapping[str, str]) -> dict[str, list[str]]:
        """The column names each station publishes for its dataset of the task: the
        stations refuse a task made for columns they no longer have."""
        schemas = {row["name"]: row["datasets"] for row in self.hub.get("/api/stations")}
        columns = {}
        for station, dataset in datasets.items():
            if dataset not in schemas.get(station, {}):
                raise ValueError(
                    f"station {station!r} publishes no dataset {dataset!r} (is it running?)"
                )
            columns[station] = schemas[station][dataset]
        return columns

    def _send_task(self, parameters: dict) -> str:
        """Seal the parameters to each station and sign the task entry."""
        task, world, plain = parameters["task"], parameters["world"], json.dumps(parameters)
        sealed = {
            station: base64.b64encode(
                seal(
                    plain.encode(),
                    self.identity,
                    self.federation.members[station].public,
                    messages.parameters_context(task, station),
                )
            ).decode()
            for station in world
        }
        body = {
            "task": task,
            "study": parameters["study"],
            "stations": world,
            "recipients": parameters["recipients"],
            "digest": tasks.digest(parameters),
            **({"mode": "pooled"} if parameters.get("mode") == "pooled" else {}),
        }
        self.hub.write("task", body, {"parameters": sealed})
        return task

    def query(
        self,
        study: str,
        name: str,
        datasets: Mapping[str, str],
        epsilon: float,
        threshold: int | None = None,
        **options,
    ) -> str:
        """Submit an analysis over registries (one that runs "pooled" in
        `tessera.analyses.registry`: counts, kaplan-meier, ..., or the models logistic and
        cox) over `datasets` (registry station -> dataset), each registry adding noise for
        `epsilon` and charging it to its budget. The result is key-switched to a key only
        this identity can derive (`pooled_key`), so this identity is the one recipient; a
        model's rounds are asked by `wait`, which must run in this client."""
        entry = analysis(name)
        entry.defaults("pooled")  # says so if it does not run over registries
        self.sync()
        task = secrets.token_hex(8)
        target = pooled_key(self.identity, task).public
        parameters = tasks.pooled_parameters(
            study, name, datasets, self._columns(datasets), options, epsilon, self.name,
            target, threshold, task,
        )  # fmt: skip
        if isinstance(entry.implementation("pooled"), Fit):  # its rounds are asked by `wait`
            self.fits[task] = parameters
        return self._send_task(parameters)

    def status(self, task: str, wait: float = 0.0) -> dict:
        """The task's status; with `wait`, the hub answers once it is done or failed (or
        after `wait` seconds)."""
        return self.hub.get(f"/api/tasks/{task}", **({"wait": wait} if wait else {}))

    def run(
        self,
        study: str,
        name: str,
        datasets: Mapping[str, str],
        retries: int = 1,
        progress: bool = True,
        **settings,
    ):
        """`submit` then `wait`; a task the MPC engine aborted (a rare crash in its link
        layer, see `tessera.mpc.local.EngineAborted`) is submitted again, `retries` times."""
        for attempt in range(retries + 1):
            task = self.submit(study, name, datasets, **settings)
            try:
                return self.wait(task, progress=progress)
            except TaskFailed as failure:
                if not failure.retryable or attempt == retries:
                    raise

    def wait(self, task: str, timeout: float = 1800.0, progress: bool = True):
        """Wait for the task, showing its stage; then its result object."""
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        deadline = time.monotonic() + timeout
        columns = (
            SpinnerColumn(),
            TextColumn("task {task.fields[task]}: {task.description}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, disable=not progress, transient=True) as bar:
            shown = bar.add_task("pending", task=task)
            while True:
                state = self.status(task, wait=5.0)
                stage = STAGES.get(state["status"], state["status"])
                bar.update(shown, description=stage)
                if state["status"] == "ready" and task in self.fits and task not in self.fitted:
                    bar.update(shown, description="asking the registries' rounds")
                    self.fitted[task] = pooled_result(self, task, self.fits[task], None)
                if state["status"] in ("done", "failed"):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"task {task} is still {state['status']} after {timeout} s")
        return self.result(task, state)

    def result(self, task: str, state: Mapping | None = None):
        """The result object of a finished task: opened from the stations' sealed output
        shares and reconstructed here, the only place it ever exists in the clear."""
        state = state or self.status(task)
        if state["status"] == "failed":
            retry = bool(state.get("retryable"))
            raise TaskFailed(f"task {task} failed: {state['reason']}", retryable=retry)
        if state["status"] != "done":
            raise HubError(409, f"task {task} is {state['status']}: wait for it")
        self.sync()
        released = {}
        for station in state["stations"]:
            sealed = base64.b64decode(state["output"][station])
            sender = self.federation.members[station].public
            context = messages.output_context(task, station, self.name)
            released[station] = json.loads(unseal(sealed, self.identity, sender, context))
        analysed = {json.dumps(m["analysis"], sort_keys=True) for m in released.values()}
        if len(analysed) != 1:
            raise ValueError(f"the stations of task {task} disagree on what they computed")
        what = next(iter(released.values()))["analysis"]
        if "pooled" in next(iter(released.values())):
            outputs = {n: m["pooled"] for n, m in released.items()}
            if task not in self.fitted:
                self.fitted[task] = pooled_result(self, task, what, outputs)
            return self.fitted[task]
        shares = [[base64.b64decode(s) for s in released[n]["shares"]] for n in what["world"]]
        labels = {k: v for m in released.values() for k, v in m["labels"].items()}
        outputs = reconstruct(shares, Accuracy.preset(what["accuracy"]))
        joint = analysis(what["name"]).implementation("joint")
        return joint.result(outputs, labels, what["options"])

    def publish(self, task: str, title: str) -> dict:
        """Publish a complete task's result under `title` on the hub's public statistics, for
        anyone to read: only a recipient holds it in the clear, so only a recipient can, and
        only in a study its stewards approved as public. Returns the signed entry's body."""
        result = self.result(task)
        kind, shaped = publications.shaped(result)
        self.sync()
        body = {
            "task": task,
            "title": title,
            "kind": kind,
            "epsilon": publications.epsilon_of(result),
            "released": self.federation.released_on(task),
            "result": shaped,
        }
        problem = publications.problem(body, body["released"])  # the ledger's rule, first here
        if problem:
            raise ValueError(problem)
        self.hub.write("publish", body)
        return body
