"""Signed requests: every request that changes state names its author, is signed by it,
and is accepted once, within a few minutes of being made.

The signature covers the method, the path, the time, a random nonce and the SHA-256 of the
body, so no part can be changed or the request replayed elsewhere; the receiver refuses a
time outside its window and a nonce it has already seen within that window.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping

from tessera.crypto.keys import Identity, decode_signature, encode_signature, verify
from tessera.errors import TesseraError

WINDOW_SECONDS = 300
HEADERS = ("X-Tessera-Party", "X-Tessera-Time", "X-Tessera-Nonce", "X-Tessera-Signature")


class RequestRefused(TesseraError, ValueError):
    """Why a signed request is not accepted (never echoes the request's content)."""


def _message(method: str, path: str, moment: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join(("tessera-request-v1", method.upper(), path, moment, nonce, digest)).encode()


def sign_request(
    identity: Identity, method: str, path: str, body: bytes = b"", now: float | None = None
) -> dict[str, str]:
    """The headers that sign this request as `identity`'s."""
    moment = str(int(time.time() if now is None else now))
    nonce = secrets.token_urlsafe(18)
    signature = identity.sign(_message(method, path, moment, nonce, body))
    values = (identity.name, moment, nonce, encode_signature(signature))
    return dict(zip(HEADERS, values, strict=True))


class NonceStore:
    """The nonces seen within the window; each is accepted once. Thread-safe."""

    def __init__(self, window: int = WINDOW_SECONDS):
        self.window = window
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, party: str, nonce: str, now: float) -> bool:
        with self._lock:
            for key in [k for k, t in self._seen.items() if t < now - 2 * self.window]:
                del self._seen[key]
            key = f"{party}\n{nonce}"
            if key in self._seen:
                return False
            self._seen[key] = now
            return True


def verify_request(
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    signing_key: Callable[[str], str | None],
    nonces: NonceStore,
    now: float | None = None,
) -> str:
    """The author of a correctly signed, fresh, first-seen request; else `RequestRefused`.
    `signing_key(party)` gives a party's public signing key (None if unknown)."""
    now = time.time() if now is None else now
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        party, moment, nonce, signature = (lowered[h.lower()] for h in HEADERS)
    except KeyError:
        raise RequestRefused("the request is not signed") from None
    key = signing_key(party)
    if key is None:
        raise RequestRefused(f"unknown party {party!r}")
    if not moment.isdigit() or abs(now - int(moment)) > nonces.window:
        raise RequestRefused("the request's time is outside the accepted window")
    raw = decode_signature(signature)
    if raw is None:
        raise RequestRefused("malformed signature")
    if not verify(key, raw, _message(method, path, moment, nonce, body)):
        raise RequestRefused(f"the signature is not by {party!r}")
    if not nonces.first_use(party, nonce, now):
        raise RequestRefused("the request was already used (replay)")
    return party
