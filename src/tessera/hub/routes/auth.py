"""Signing in: a signed request buys an ID token for scripts, or a one-time sign-in link
for the browser pages (redeemed at `/login`)."""

from __future__ import annotations

from fastapi import APIRouter

from tessera.hub.deps import HubDep, Signed, TokensDep
from tessera.hub.tokens import LIFETIME

router = APIRouter()


@router.post("/api/auth/token")
def token(party: Signed, hub: HubDep, tokens: TokensDep) -> dict:
    found = hub.federation.members[party]
    issued = tokens.issue(party, found.role, found.organisation)
    return {"id_token": issued, "token_type": "Bearer", "expires_in": LIFETIME}


@router.post("/api/auth/sign-in")
def sign_in(party: Signed, hub: HubDep) -> dict:
    return {"path": f"/login?code={hub.sign_in_code(party)}"}
