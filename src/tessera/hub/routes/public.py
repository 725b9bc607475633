"""Public statistics, with no login: what recipients of public studies chose to publish."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from tessera.hub.deps import HubDep
from tessera.hub.records import public_records

router = APIRouter()


@router.get("/api/public")
def public(hub: HubDep) -> list[dict]:
    """What recipients of public studies published, for anyone: each with its study, ε
    (null: no noise), release date and result. The hub vouches for who published and
    that the stewards approved a public study, not for the figures (it cannot read them)."""
    return public_records(hub.federation)


@router.get("/api/public/{task_id}")
def public_one(task_id: str, hub: HubDep) -> dict:
    found = [p for p in public_records(hub.federation) if p["task"] == task_id]
    if not found:
        raise HTTPException(404, f"nothing was published for task {task_id!r}")
    return found[0]
