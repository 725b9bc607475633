"""Joining the federation: keys made locally, a one-time token spent, a signed `join` entry.

The operator's invitation (a ledger entry) names the party, its role and organisation and
the hash of a token; the token itself travels to the party out of band. The party creates
its key pairs (and, for a station, the TLS certificate its peers will pin), then signs a
`join` entry with them carrying the token. Private keys never leave the party's directory.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from tessera.audit.ledger import token_hash
from tessera.crypto.keys import Identity
from tessera.mpc.certificates import issue_session_certificates
from tessera.protocol.connection import HubConnection


@dataclass(frozen=True)
class Invitation:
    """What a token tells its holder; the secret makes it unguessable."""

    party: str
    role: str
    organisation: str
    secret: str

    def token(self) -> str:
        text = json.dumps([self.party, self.role, self.organisation, self.secret])
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> Invitation:
        try:
            text = base64.urlsafe_b64decode(token.strip() + "=" * (-len(token.strip()) % 4))
            party, role, organisation, secret = json.loads(text)
        except (ValueError, TypeError):
            raise ValueError("that is not an enrolment token: copy it whole") from None
        return cls(str(party), str(role), str(organisation), str(secret))

    @classmethod
    def new(cls, party: str, role: str, organisation: str) -> Invitation:
        return cls(party, role, organisation, secrets.token_urlsafe(24))

    def body(self) -> dict:
        """The operator's `invite` entry: the token's hash, never the token."""
        return {
            "party": self.party,
            "role": self.role,
            "organisation": self.organisation,
            "token_hash": token_hash(self.token()),
        }


def invite(connection: HubConnection, party: str, role: str, organisation: str) -> str:
    """As the operator: record an invitation and return its one-time token."""
    invitation = Invitation.new(party, role, organisation)
    connection.write("invite", invitation.body())
    return invitation.token()


def enrol(hub: str, token: str, directory: Path, host: str = "127.0.0.1", http=None) -> Identity:
    """Create this party's keys in `directory` and join with `token`. A station also makes
    its TLS certificate for `host` (its MPC links), which the `join` entry publishes.
    (`http`: an httpx client to send through, as `HubConnection` takes.)"""
    invitation = Invitation.from_token(token)
    if (directory / "identity" / "signing.pem").exists():
        raise ValueError(f"{directory} already holds an identity: enrol into a new directory")
    identity = Identity.generate(invitation.party)
    body = {
        "party": invitation.party,
        "role": invitation.role,
        "organisation": invitation.organisation,
        "signing_key": identity.public.signing,
        "encryption_key": identity.public.encryption,
        "token": token.strip(),
    }
    if invitation.role == "station":
        tls = issue_session_certificates(
            f"station {invitation.party}", [invitation.party], directory / "tls", hosts=(host,)
        )
        body["tls_ca"] = tls[invitation.party].ca.read_text()
    identity.save(directory / "identity")
    connection = HubConnection(hub, identity, http=http)
    try:
        connection.write("join", body)
    finally:
        connection.close()
    return identity
