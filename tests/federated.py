"""The in-process hub (`tessera.testing.inprocess`) populated for tests: three stations,
their stewards, a researcher and a proposed study; stand-in releases and public studies.

No MPC runs here: these tests exercise who may do what. `tests/test_federation.py` runs a
whole federation of processes.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from tessera.crypto.sealed import seal
from tessera.governance.studies import output_digest
from tessera.protocol import messages
from tessera.testing.inprocess import URL, InProcessHub

__all__ = ["URL", "InProcessHub"]
SCHEMAS = {
    "registry": {"registry": ["pseudonym", "stage", "survival_months", "vital_status"]},
    "gp": {"gp": ["pseudonym", "smoking", "copd"]},
    "helper": {},
}


def populated(directory: Path, database: str | None = None, **settings) -> dict:
    """A federation of three stations, their stewards and a researcher, with one proposed
    study (`study`) that is not yet approved."""
    federation = InProcessHub(directory, database, **settings)
    parties = {"federation": federation}
    for name, organisation in (("registry", "Registry"), ("gp", "GP"), ("helper", "Helper")):
        parties[name] = federation.station(name, organisation, SCHEMAS[name])
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
        messages.output_context(task, station, "researcher"),
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
