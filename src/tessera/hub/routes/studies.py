"""Studies over HTTP, for members: each with its purpose, stations, analyses and the
stewards' decisions, as replayed from the ledger."""

from __future__ import annotations

from fastapi import APIRouter

from tessera.hub.deps import HubDep, Reader
from tessera.hub.records import study_records

router = APIRouter()


@router.get("/api/studies")
def studies(party: Reader, hub: HubDep) -> list[dict]:
    return study_records(hub.federation)
