"""The browser pages (not in the OpenAPI document): sign-in by one-time link, then the
studies, approvals and audit pages for members, and the statistics page for anyone.
A page without a signed-in member redirects to `/login` rather than answering 401."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from tessera.audit.ledger import LedgerError
from tessera.governance.studies import Federation
from tessera.hub.deps import COOKIE, HubDep, TokensDep, Viewer
from tessera.hub.records import public_records, study_records, summary
from tessera.hub.tokens import LIFETIME
from tessera.web import pages as web
from tessera.web.statistics import statistics_page

router = APIRouter(include_in_schema=False)


def page(party: str | None, render: Callable[[str], str]) -> HTMLResponse | RedirectResponse:
    """`render(party)` for a signed-in member; otherwise off to sign in."""
    if party is None:
        return RedirectResponse("/login", status_code=303)
    return HTMLResponse(render(party))


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/studies", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login(hub: HubDep, tokens: TokensDep, code: str | None = None):
    if code is None:
        return web.login_page()
    party = hub.redeem(code)
    if party is None:
        return HTMLResponse(web.login_page("That sign-in link is spent or expired."), 401)
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


@router.get("/studies", response_class=HTMLResponse)
def studies_page(viewer: Viewer, hub: HubDep):
    return page(
        viewer,
        lambda party: web.studies_page(study_records(hub.federation), hub.tasks(), party),
    )


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(viewer: Viewer, hub: HubDep):
    def render(party: str) -> str:
        organisation = hub.federation.members[party].organisation
        mine = [s for s in study_records(hub.federation) if organisation in s["organisations"]]
        pending = [
            s for s in mine if s["status"] == "proposed" and organisation not in s["decided"]
        ]
        decided = [s for s in mine if s not in pending]
        return web.approvals_page(pending, decided, party)

    return page(viewer, render)


@router.get("/statistics", response_class=HTMLResponse)
def statistics(viewer: Viewer, hub: HubDep) -> HTMLResponse:
    return HTMLResponse(statistics_page(public_records(hub.federation), viewer))


@router.get("/audit", response_class=HTMLResponse)
def audit_page(viewer: Viewer, hub: HubDep):
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
        return web.audit_page(rows, verdict, ok, party)

    return page(viewer, render)
