"""The hub's HTTP interface (FastAPI; OpenAPI at /docs and /openapi.json) and its pages.

`create_app` builds the service, keeps it on `app.state` for the routes' dependencies
(`tessera.hub.deps`), includes one router per concern (`tessera.hub.routes`) and maps the
service's refusals to HTTP statuses once (`tessera.hub.routes.errors`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from tessera.hub.records import public_records, study_records, summary
from tessera.hub.routes import ROUTERS, errors
from tessera.hub.service import Hub
from tessera.hub.tokens import TokenIssuer

__all__ = ["create_app", "public_records", "study_records", "summary"]


def create_app(
    url: str, directory: Path, genesis: str | None = None, deadline: float | None = None
) -> FastAPI:
    """The hub on database `url`, keeping its token key in `directory`."""
    hub = Hub(url, **({"deadline": deadline} if deadline else {}))
    if genesis is not None:
        hub.start(genesis)
    if not hub.federation.entries:
        raise ValueError("the hub has no ledger yet: start it once with --genesis FILE")
    app = FastAPI(title="Tessera hub", version="1", summary="Relays; reads nothing.")
    app.state.hub, app.state.tokens = hub, TokenIssuer(directory, "tessera-hub")
    errors.register(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
