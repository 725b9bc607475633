"""The one place where the service's refusals become HTTP statuses, as exception handlers
that `create_app` registers, so routes call the service and let its exceptions rise.

FastAPI's own request validation raises `RequestValidationError`, which is not a
`ValueError`, so it keeps FastAPI's usual 422; only what route code raises maps here.
Starlette picks the handler of the nearest class in the exception's MRO, so `Conflict` and
`LedgerError` (both `ValueError`s) keep their own statuses.
"""

from __future__ import annotations

import binascii
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.responses import Response

from tessera.audit.ledger import LedgerError
from tessera.hub.service import Conflict, Forbidden, NotFound

Handler = Callable[[Request, Exception], Awaitable[Response]]


def status(code: int) -> Handler:
    """A handler answering `code` with the exception's message, as `HTTPException` would."""

    async def handle(request: Request, error: Exception) -> Response:
        return await http_exception_handler(request, HTTPException(code, str(error)))

    return handle


async def malformed(request: Request, error: Exception) -> Response:
    """A request the service could not parse: name the error's kind, never its content."""
    detail = f"malformed request ({type(error).__name__})"
    return await http_exception_handler(request, HTTPException(422, detail))


HANDLERS: dict[type[Exception], Handler] = {
    Conflict: status(409),
    Forbidden: status(403),
    LedgerError: status(403),
    NotFound: status(404),
    ValueError: malformed,
    KeyError: malformed,
    binascii.Error: malformed,
}


def register(app: FastAPI) -> None:
    """Install the handlers on `app`."""
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)
