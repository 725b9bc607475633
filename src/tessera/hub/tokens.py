"""Short-lived ID tokens for users, shaped like OpenID Connect ID tokens (iss, sub, aud,
iat, exp, plus the party's role and organisation), signed by the hub with EdDSA.

They let a browser or a script read; every change still needs a signed request. Because the
claims follow OIDC, an external identity provider can issue them instead later.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

AUDIENCE = "tessera"
LIFETIME = 900  # seconds


class TokenIssuer:
    """The hub's token key, kept owner-only in its directory (made on first start)."""

    def __init__(self, directory: Path, issuer: str):
        self.issuer = issuer
        path = directory / "token-signing.pem"
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
        self.key = serialization.load_pem_private_key(path.read_bytes(), None)

    def issue(self, party: str, role: str, organisation: str) -> str:
        moment = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": party,
            "aud": AUDIENCE,
            "iat": moment,
            "exp": moment + LIFETIME,
            "role": role,
            "organisation": organisation,
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA")

    def subject(self, token: str) -> str | None:
        """The party a valid, unexpired token names; None otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["EdDSA"],
                audience=AUDIENCE,
                issuer=self.issuer,
            )
        except jwt.PyJWTError:
            return None
        return str(claims["sub"])
