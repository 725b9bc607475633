"""Tasks over HTTP: a task's status for those with a part in it, and the relay of a pooled
task's protocol messages between its stations (ciphertexts the hub cannot read)."""

from __future__ import annotations

from fastapi import APIRouter

from tessera.hub.deps import HubDep, Reader, Signed

router = APIRouter()


@router.get("/api/tasks/{task_id}")
def task(task_id: str, party: Reader, hub: HubDep, wait: float = 0.0) -> dict:
    """A task's status; with `wait`, held open until it changes from `pending` or
    `ready` to done or failed (long poll)."""
    answer = hub.task(task_id, party)
    start = answer["status"]

    def changed() -> bool:
        answer.update(hub.task(task_id, party))
        return answer["status"] != start

    if start in ("pending", "ready"):
        hub.wait(changed, wait)
    return answer


@router.post("/api/tasks/{task_id}/messages/{kind}")
def post_message(task_id: str, kind: str, body: dict, party: Signed, hub: HubDep) -> dict:
    """A station's message in a pooled task's protocol (ciphertexts, commitments, shares
    sealed to one station): the hub stores and relays it, and adds up contributions."""
    hub.post_message(task_id, party, kind, body)
    return {"ok": True}


@router.get("/api/tasks/{task_id}/messages/{kind}")
def messages(
    task_id: str, kind: str, party: Signed, hub: HubDep, wait: float = 0.0, count: int = 1
) -> list[dict]:
    """A pooled task's messages of one kind; with `wait`, held open until `count` of
    them are there (long poll)."""
    answer: list[dict] = []

    def ready() -> bool:
        answer[:] = hub.messages(task_id, party, kind)
        return len(answer) >= count or hub.task(task_id, party)["status"] == "failed"

    hub.wait(ready, wait)
    return answer
