"""What the hub's routes depend on, as FastAPI dependencies: the `Hub` service and the
`TokenIssuer` that `create_app` keeps on `app.state`, and who is asking.

Reads need a party: an ID token (Bearer header or the pages' cookie) or a signed request.
Every change is a signed request (`tessera.crypto.requests`), its nonce kept in the database
so a replay is refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from tessera.crypto.requests import RequestRefused, verify_request
from tessera.hub.service import Hub
from tessera.hub.tokens import TokenIssuer

COOKIE = "tessera_token"


def hub(request: Request) -> Hub:
    """The hub service this app serves."""
    return request.app.state.hub


def tokens(request: Request) -> TokenIssuer:
    """The issuer of this hub's ID tokens."""
    return request.app.state.tokens


async def signed(request: Request) -> str:
    """The author of a correctly signed, fresh, first-seen request."""
    service = hub(request)

    def member(party: str) -> str | None:
        found = service.federation.members.get(party)
        return found.signing_key if found else None

    body = await request.body()
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        return verify_request(request.headers, request.method, target, body, member, service.nonces)
    except RequestRefused as refused:
        raise HTTPException(401, str(refused)) from None


async def reader(request: Request) -> str:
    """A party with an ID token (Bearer header or the pages' cookie), or a signed request."""
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
    token = token or request.cookies.get(COOKIE)
    if token:
        party = tokens(request).subject(token)
        if party is None or party not in hub(request).federation.members:
            raise HTTPException(401, "the token is invalid or expired: sign in again")
        return party
    return await signed(request)


def viewer(request: Request) -> str | None:
    """The member signed in to the pages by cookie, if any (pages redirect, never 401)."""
    party = tokens(request).subject(request.cookies.get(COOKIE, ""))
    return party if party in hub(request).federation.members else None


HubDep = Annotated[Hub, Depends(hub)]
TokensDep = Annotated[TokenIssuer, Depends(tokens)]
Signed = Annotated[str, Depends(signed)]
Reader = Annotated[str, Depends(reader)]
Viewer = Annotated[str | None, Depends(viewer)]
