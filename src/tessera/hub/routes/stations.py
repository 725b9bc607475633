"""Stations over HTTP: a station publishes where it listens and what it holds, members list
the stations, and a station long-polls its queue of tasks to decide on and sessions to run."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from tessera.hub.deps import HubDep, Reader, Signed

router = APIRouter()


class Publication(BaseModel):
    address: str
    datasets: dict[str, list[str]]


@router.post("/api/stations/me")
def publish(publication: Publication, party: Signed, hub: HubDep) -> dict:
    hub.publish(party, publication.address, publication.datasets)
    return {"ok": True}


@router.get("/api/stations")
def stations(party: Reader, hub: HubDep) -> list[dict]:
    return hub.stations()


@router.get("/api/work")
def work(party: Signed, hub: HubDep, wait: float = 0.0) -> dict:
    """This station's queue; with `wait`, held open until there is work (long poll)."""
    if hub.federation.role(party) != "station":
        raise HTTPException(403, f"{party!r} is not a station")
    answer: dict = {}

    def ready() -> bool:
        answer.update(hub.work(party))
        return bool(answer["decide"] or answer["run"])

    hub.wait(ready, wait)
    return answer
