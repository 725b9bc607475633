"""A hub in this process for tests: FastAPI's TestClient, parties enrolled by the operator.

No MPC runs here: these tests exercise who may do what. `tests/test_federation.py` runs a
whole federation of processes.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from tessera.audit.ledger import genesis_entry
from tessera.client import Client
from tessera.crypto.keys import Identity
from tessera.crypto.sealed import seal
from tessera.governance.studies import output_digest
from tessera.hub.app import create_app
from tessera.station.enrol import enrol

URL = "http://testserver"
SCHEMAS = {
    "registry": {"registry": ["pseudonym", "stage", "survival_months", "vital_status"]},
    "gp": {"gp": ["pseudonym", "smoking", "copd"]},
    "helper": {},
}


class Federation:
    """A hub on `database` (SQLite in `directory` by default) with an operator."""

    def __init__(self, directory: Path, database: str | None = None, **settings):
        self.directory = directory
        self.operator_identity = Identity.generate("operator")
        url = database or f"sqlite:///{directory / 'hub.db'}"
        genesis = genesis_entry(self.operator_identity).line()
        self.app = create_app(url, directory / "hub", genesis, **settings)
        self.http = TestClient(self.app)
        self.operator = Client(URL, self.operator_identity, http=self.http)

    @property
    def hub(self):
        return self.app.state.hub

    def join(self, name: str, role: str, organisation: str) -> Client:
        token = self.operator.invite(name, role, organisation)
        identity = enrol(URL, token, self.directory / "parties" / name, http=self.http)
        return Client(URL, identity, http=self.http)

    def station(self, name: str, organisation: str) -> Client:
        station = self.join(name, "station", organisation)
        address = f"127.0.0.1:{9000 + len(self.hub.federation.members)}"
        station.hub.post("/api/stations/me", {"address": address, "datasets": SCHEMAS[name]})
        return station


def populated(directory: Path, database: str | None = None, **settings) -> dict:
    """A federation of three stations, their stewards and a researcher, with one proposed
    study (`study`) that is not yet approved."""
    federation = Federation(directory, database, **settings)
    parties = {"federation": federation}
    for name, organisation in (("registry", "Registry"), ("gp", "GP"), ("helper", "Helper")):
        parties[name] = federation.station(name, organisation)
        parties[f"steward-{name}"] = federation.join(f"steward-{name}", "steward", organisation)
    parties["researcher"] = federation.join("researcher", "researcher", "University")
    parties["study"] = parties["researcher"].propose(
        "Survival by stage",
        "DUO:0000007",
        {"registry": ["registry"], "gp": ["gp"], "helper": []},
        ["crosstab", "kaplan-meier"],
        expires=dt.date.today() + dt.timedelta(days=30),
    )
    return parties


def approve(parties: dict) -> None:
    for name in ("registry", "gp", "helper"):
        parties[f"steward-{name}"].approve(parties["study"], "ok")


CROSSTAB = {
    "name": "crosstab",
    "datasets": {"registry": "registry", "gp": "gp"},
    "helper": "helper",
    "join": "pseudonym",
    "rows": "stage",
    "cols": "smoking",
    "min_cell": 10,
}

STATIONS = ("registry", "gp", "helper")


def release(parties: dict, station: str, task: str) -> None:
    """A station's release of a (stand-in) output sealed to the researcher."""
    client = parties[station]
    sealed = seal(
        b"output shares",
        client.identity,
        parties["researcher"].identity.public,
        f"task {task} output of {station} for researcher",
    )
    output = {"researcher": base64.b64encode(sealed).decode()}
    client.hub.write("release", {"task": task, "digest": output_digest(output)}, {"output": output})


def completed(parties: dict, study: str, releases: int = 3) -> str:
    """A task in `study` that every station accepted and `releases` of them released."""
    task = parties["researcher"].submit(study, **CROSSTAB)
    for name in STATIONS:
        parties[name].hub.write("decision", {"task": task, "accept": True, "reason": ""})
    for name in STATIONS[:releases]:
        release(parties, name, task)
    return task


def public_study(parties: dict) -> str:
    study = parties["researcher"].propose(
        "Incidence by stage",
        "DUO:0000007",
        {"registry": ["registry"], "gp": ["gp"], "helper": []},
        ["crosstab"],
        expires=dt.date.today() + dt.timedelta(days=30),
        public=True,
    )
    for name in STATIONS:
        parties[f"steward-{name}"].approve(study, "publish the incidence")
    return study
