"""The ledger over HTTP: read it, and append signed entries to it (a newcomer's `join`
included), since every governance step is a ledger entry signed by its author."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from tessera.hub.deps import HubDep, Reader, Signed
from tessera.hub.service import parse_entry

router = APIRouter()


class Submission(BaseModel):
    entry: str  # the entry's line, signed by its author
    attachment: dict = {}  # task: {"parameters": {station: base64}}; release: {"output": ...}


@router.get("/api/health")
def health(hub: HubDep) -> dict:
    return {"ok": True, "entries": len(hub.federation.entries)}


@router.get("/api/ledger/head")
def head(hub: HubDep) -> dict:
    """Public, so that a party can sign its `join` entry before it is a member."""
    return {"length": hub.federation.chain.length, "head": hub.federation.head}


@router.get("/api/ledger")
def ledger(party: Reader, hub: HubDep, since: int = 0) -> dict:
    return {"entries": hub.lines(max(since, 0))}


@router.post("/api/ledger/join")
def join(submission: Submission, hub: HubDep) -> dict:
    """A new party's `join` entry: signed by its new keys, carrying its one-time token."""
    entry = parse_entry(submission.entry)
    if entry.kind != "join":
        raise HTTPException(422, "only join entries come unsigned by a member")
    hub.append(entry, None)
    return {"index": entry.index}


@router.post("/api/ledger")
def append(submission: Submission, party: Signed, hub: HubDep) -> dict:
    entry = parse_entry(submission.entry)
    if entry.author != party:
        raise HTTPException(403, "an entry is submitted by its own author")
    hub.append(entry, submission.attachment)
    return {"index": entry.index}
