"""The hub's HTTP routes, one `APIRouter` per concern, included in order by `create_app`."""

from __future__ import annotations

from fastapi import APIRouter

from tessera.hub.routes import auth, ledger, pages, public, stations, studies, tasks

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router for module in (ledger, stations, tasks, studies, auth, public, pages)
)
