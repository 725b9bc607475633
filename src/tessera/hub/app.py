"""The hub's HTTP interface (FastAPI; OpenAPI at /docs and /openapi.json) and its pages.

Reads need a party: an ID token (Bearer header or the pages' cookie) or a signed request.
Every change is a signed request (`tessera.crypto.requests`), its nonce kept in the database
so a replay is refused; and every governance step is a ledger entry signed by its author.
"""

from __future__ import annotations

import binascii
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from tessera.audit.ledger import Entry, LedgerError
from tessera.crypto.requests import RequestRefused, verify_request
from tessera.governance.studies import PURPOSES, Federation, now
from tessera.hub.service import Conflict, Forbidden, Hub, NotFound
from tessera.hub.tokens import LIFETIME, TokenIssuer
from tessera.web import pages
from tessera.web.statistics import statistics_page

COOKIE = "tessera_token"


async def signed(request: Request) -> str:
    """The author of a correctly signed, fresh, first-seen request."""
    hub: Hub = request.app.state.hub

    def member(party: str) -> str | None:
        found = hub.federation.members.get(party)
        return found.signing_key if found else None

    body = await request.body()
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        return verify_request(request.headers, request.method, target, body, member, hub.nonces)
    except RequestRefused as refused:
        raise HTTPException(401, str(refused)) from None


async def reader(request: Request) -> str:
    """A party with an ID token (Bearer header or the pages' cookie), or a signed request."""
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
    token = token or request.cookies.get(COOKIE)
    if token:
        party = request.app.state.tokens.subject(token)
        if party is None or party not in request.app.state.hub.federation.members:
            raise HTTPException(401, "the token is invalid or expired: sign in again")
        return party
    return await signed(request)


Signed = Annotated[str, Depends(signed)]
Reader = Annotated[str, Depends(reader)]


class Submission(BaseModel):
    entry: str  # the entry's line, signed by its author
    attachment: dict = {}  # task: {"parameters": {station: base64}}; release: {"output": ...}


class Publication(BaseModel):
    address: str
    datasets: dict[str, list[str]]


def create_app(
    url: str, directory: Path, genesis: str | None = None, deadline: float | None = None
) -> FastAPI:
    """The hub on database `url`, keeping its token key in `directory`."""
    hub = Hub(url, **({"deadline": deadline} if deadline else {}))
    if genesis is not None:
        hub.start(genesis)
    if not hub.federation.entries:
        raise ValueError("the hub has no ledger yet: start it once with --genesis FILE")
    tokens = TokenIssuer(directory, "tessera-hub")
    app = FastAPI(title="Tessera hub", version="1", summary="Relays; reads nothing.")
    app.state.hub, app.state.tokens = hub, tokens

    def refusing(call, *args):
        try:
            return call(*args)
        except Conflict as error:
            raise HTTPException(409, str(error)) from None
        except (Forbidden, LedgerError) as error:
            raise HTTPException(403, str(error)) from None
        except NotFound as error:
            raise HTTPException(404, str(error)) from None
        except (ValueError, KeyError, binascii.Error) as error:
            raise HTTPException(422, f"malformed request ({type(error).__name__})") from None

    @app.get("/api/health")
    def health() -> dict:
        return {"ok": True, "entries": len(hub.federation.entries)}

    @app.get("/api/ledger/head")
    def head() -> dict:
        """Public, so that a party can sign its `join` entry before it is a member."""
        return {"length": hub.federation.chain.length, "head": hub.federation.head}

    @app.get("/api/ledger")
    def ledger(party: Reader, since: int = 0) -> dict:
        return {"entries": hub.lines(max(since, 0))}

    @app.post("/api/ledger/join")
    def join(submission: Submission) -> dict:
        """A new party's `join` entry: signed by its new keys, carrying its one-time token."""
        entry = refusing(Entry.from_line, submission.entry)
        if entry.kind != "join":
            raise HTTPException(422, "only join entries come unsigned by a member")
        refusing(hub.append, entry, None)
        return {"index": entry.index}

    @app.post("/api/ledger")
    def append(submission: Submission, party: Signed) -> dict:
        entry = refusing(Entry.from_line, submission.entry)
        if entry.author != party:
            raise HTTPException(403, "an entry is submitted by its own author")
        refusing(hub.append, entry, submission.attachment)
        return {"index": entry.index}

    @app.post("/api/stations/me")
    def publish(publication: Publication, party: Signed) -> dict:
        refusing(hub.publish, party, publication.address, publication.datasets)
        return {"ok": True}

    @app.get("/api/stations")
    def stations(party: Reader) -> list[dict]:
        return hub.stations()

    @app.get("/api/work")
    def work(party: Signed, wait: float = 0.0) -> dict:
        """This station's queue; with `wait`, held open until there is work (long poll)."""
        if hub.federation.role(party) != "station":
            raise HTTPException(403, f"{party!r} is not a station")
        answer: dict = {}

        def ready() -> bool:
            answer.update(hub.work(party))
            return bool(answer["decide"] or answer["run"])

        hub.wait(ready, wait)
        return answer

    @app.get("/api/tasks/{task_id}")
    def task(task_id: str, party: Reader, wait: float = 0.0) -> dict:
        """A task's status; with `wait`, held open until it changes from `pending` or
        `ready` to done or failed (long poll)."""
        answer = refusing(hub.task, task_id, party)
        start = answer["status"]

        def changed() -> bool:
            answer.update(hub.task(task_id, party))
            return answer["status"] != start

        if start in ("pending", "ready"):
            hub.wait(changed, wait)
        return answer

    @app.post("/api/tasks/{task_id}/messages/{kind}")
    def post_message(task_id: str, kind: str, body: dict, party: Signed) -> dict:
        """A station's message in a pooled task's protocol (ciphertexts, commitments, shares
        sealed to one station): the hub stores and relays it, and adds up contributions."""
        refusing(hub.post_message, task_id, party, kind, body)
        return {"ok": True}

    @app.get("/api/tasks/{task_id}/messages/{kind}")
    def messages(task_id: str, kind: str, party: Signed, wait: float = 0.0,
                 count: int = 1) -> list[dict]:  # fmt: skip
        """A pooled task's messages of one kind; with `wait`, held open until `count` of
        them are there (long poll)."""
        answer: list[dict] = []

        def ready() -> bool:
            answer[:] = refusing(hub.messages, task_id, party, kind)
            return len(answer) >= count or hub.task(task_id, party)["status"] == "failed"

        hub.wait(ready, wait)
        return answer

    @app.get("/api/studies")
    def studies(party: Reader) -> list[dict]:
        return study_records(hub.federation)

    @app.post("/api/auth/token")
    def token(party: Signed) -> dict:
        found = hub.federation.members[party]
        issued = tokens.issue(party, found.role, found.organisation)
        return {"id_token": issued, "token_type": "Bearer", "expires_in": LIFETIME}

    @app.post("/api/auth/sign-in")
    def sign_in(party: Signed) -> dict:
        return {"path": f"/login?code={hub.sign_in_code(party)}"}

    # -- public statistics: no login --

    @app.get("/api/public")
    def public() -> list[dict]:
        """What recipients of public studies published, for anyone: each with its study, ε
        (null: no noise), release date and result. The hub vouches for who published and
        that the stewards approved a public study, not for the figures (it cannot read them)."""
        return public_records(hub.federation)

    @app.get("/api/public/{task_id}")
    def public_one(task_id: str) -> dict:
        found = [p for p in public_records(hub.federation) if p["task"] == task_id]
        if not found:
            raise HTTPException(404, f"nothing was published for task {task_id!r}")
        return found[0]

    # -- pages --

    def viewer(request: Request) -> str | None:
        party = tokens.subject(request.cookies.get(COOKIE, ""))
        return party if party in hub.federation.members else None

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/studies", status_code=303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(code: str | None = None):
        if code is None:
            return pages.login_page()
        party = hub.redeem(code)
        if party is None:
            return HTMLResponse(pages.login_page("That sign-in link is spent or expired."), 401)
        found = hub.federation.members[party]
        response = RedirectResponse("/studies", status_code=303)
        response.set_cookie(
            COOKIE,
            tokens.issue(party, found.role, found.organisation),
            max_age=LIFETIME,
            httponly=True,
            samesite="strict",
        )
        return response

    def page(request: Request, render) -> HTMLResponse | RedirectResponse:
        party = viewer(request)
        if party is None:
            return RedirectResponse("/login", status_code=303)
        return HTMLResponse(render(party))

    @app.get("/studies", response_class=HTMLResponse, include_in_schema=False)
    def studies_page(request: Request):
        return page(
            request,
            lambda party: pages.studies_page(study_records(hub.federation), hub.tasks(), party),
        )

    @app.get("/approvals", response_class=HTMLResponse, include_in_schema=False)
    def approvals_page(request: Request):
        def render(party: str) -> str:
            organisation = hub.federation.members[party].organisation
            mine = [s for s in study_records(hub.federation) if organisation in s["organisations"]]
            pending = [
                s for s in mine if s["status"] == "proposed" and organisation not in s["decided"]
            ]
            decided = [s for s in mine if s not in pending]
            return pages.approvals_page(pending, decided, party)

        return page(request, render)

    @app.get("/statistics", response_class=HTMLResponse, include_in_schema=False)
    def statistics(request: Request) -> HTMLResponse:
        return HTMLResponse(statistics_page(public_records(hub.federation), viewer(request)))

    @app.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_page(request: Request):
        def render(party: str) -> str:
            entries = list(hub.federation.entries)
            try:
                head = Federation.replay(entries).head
                verdict, ok = f"{len(entries)} entries verified; head {head}", True
            except LedgerError as error:
                verdict, ok = str(error), False
            rows = [
                {
                    "index": e.index,
                    "time": e.time,
                    "author": e.author,
                    "kind": e.kind,
                    "summary": summary(e),
                }
                for e in entries
            ]
            return pages.audit_page(rows, verdict, ok, party)

        return page(request, render)

    return app


def study_records(federation: Federation) -> list[dict]:
    """The studies as the API and the pages show them."""
    moment = now()
    records = []
    for study_id, state in federation.studies.items():
        study = state.study
        records.append(
            {
                "id": study_id,
                "title": study.title,
                "purpose": study.purpose,
                "purpose_label": PURPOSES[study.purpose],
                "proposer": state.proposer,
                "stations": {s: list(d) for s, d in study.stations.items()},
                "analyses": list(study.analyses),
                "recipients": list(study.recipients),
                "expires": study.expires,
                "public": study.public,
                "status": federation.status(study_id, moment),
                "organisations": federation.organisations(study),
                "decided": sorted(state.decisions),
                "approvals": [
                    {"organisation": org, "decision": d, "steward": who, "reason": why, "time": t}
                    for org, (d, who, why, t) in state.decisions.items()
                ],
            }
        )
    return records


def public_records(federation: Federation) -> list[dict]:
    """The publications as `GET /api/public` and the statistics page show them, in ledger
    order, each with its study's title."""
    publications = list(federation.publications.values())  # one C call: safe beside a writer
    return [
        {
            "task": p["task"],
            "study": p["study"],
            "study_title": federation.studies[p["study"]].study.title,
            "title": p["title"],
            "kind": p["kind"],
            "epsilon": p["epsilon"],
            "released": p["released"],
            "publisher": p["publisher"],
            "published": p["published"],
            "entry": p["entry"],
            "result": p["result"],
        }
        for p in publications
    ]


def summary(entry: Entry) -> str:
    """One line per ledger entry for the audit page: what happened, not any content."""
    body = entry.body
    keys = ("party", "role", "organisation", "study", "title", "task", "accept", "reason")
    return ", ".join(f"{k}={body[k]}" for k in keys if k in body)
