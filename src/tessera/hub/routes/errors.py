"""The one place where the service's refusals become HTTP statuses, as exception handlers
that `create_app` registers, so routes call the service and let its exceptions rise.

Only the hub's own refusals map here: what a request brought that the hub could not parse
is `Malformed` (the service marks the methods that parse requests, `service.untrusted`),
so a stray `ValueError` in the hub's own code stays a 500 and is not passed off as the
client's fault. FastAPI's request validation keeps its usual 422.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.responses import Response

from tessera.audit.ledger import LedgerError
from tessera.hub.service import Conflict, Forbidden, Malformed, NotFound

Handler = Callable[[Request, Exception], Awaitable[Response]]


def status(code: int) -> Handler:
    """A handler answering `code` with the exception's message, as `HTTPException` would."""

    async def handle(request: Request, error: Exception) -> Response:
        return await http_exception_handler(request, HTTPException(code, str(error)))

    return handle


HANDLERS: dict[type[Exception], Handler] = {
    Conflict: status(409),
    Forbidden: status(403),
    LedgerError: status(403),
    NotFound: status(404),
    Malformed: status(422),
}


def register(app: FastAPI) -> None:
    """Install the handlers on `app`."""
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)
