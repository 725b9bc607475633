"""A hub inside this process, on FastAPI's TestClient, with an operator who enrols parties:
for tests of who may do what, and of the pages, without processes or MPC.

    federation = InProcessHub(tmp_path)
    researcher = federation.join("alice", "researcher", "University")
    registry = federation.station("registry", "Registry", {"registry": ["stage", ...]})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from fastapi.testclient import TestClient

from tessera.audit.ledger import genesis_entry
from tessera.client import Client
from tessera.crypto.keys import Identity
from tessera.hub.app import create_app
from tessera.protocol.enrolment import enrol

URL = "http://testserver"


class InProcessHub:
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

    def station(
        self, name: str, organisation: str, datasets: Mapping[str, Sequence[str]]
    ) -> Client:
        """A station that published `datasets` (name -> its column names)."""
        station = self.join(name, "station", organisation)
        address = f"127.0.0.1:{9000 + len(self.hub.federation.members)}"
        schemas = {k: list(v) for k, v in datasets.items()}
        station.hub.post("/api/stations/me", {"address": address, "datasets": schemas})
        return station
