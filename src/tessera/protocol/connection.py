"""A party's connection to the hub: every request signed, every ledger entry its own.

Shared by the researcher's SDK, the data stewards' and operator's commands and the station
daemon. Entries are signed against the hub's current head; when another party's entry got
there first (409) the entry is signed again against the new head.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlencode

import httpx

from tessera.audit.ledger import Entry, sign_entry
from tessera.crypto.keys import Identity
from tessera.crypto.requests import sign_request
from tessera.errors import TesseraError


class HubError(TesseraError, RuntimeError):
    """The hub refused a request; the message is the hub's reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"the hub refused ({status}): {reason}")
        self.status, self.reason = status, reason


class HubConnection:
    def __init__(
        self,
        url: str,
        identity: Identity | None,
        timeout: float = 90.0,
        http: httpx.Client | None = None,
    ):
        """`http`: a client to send through instead (tests pass FastAPI's TestClient)."""
        self.url = url.rstrip("/")
        self.identity = identity
        self.http = http or httpx.Client(base_url=self.url, timeout=timeout)
        self.owned = http is None

    def close(self) -> None:
        if self.owned:
            self.http.close()

    def _send(
        self, method: str, path: str, payload: object = None, signed: bool = True, **query
    ) -> object:
        target = path + (f"?{urlencode(query)}" if query else "")
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = {"content-type": "application/json"} if payload is not None else {}
        if signed and self.identity is not None:
            headers |= sign_request(self.identity, method, target, body)
        try:
            response = self.http.request(method, target, content=body, headers=headers)
        except httpx.TransportError as error:
            raise HubError(0, f"cannot reach the hub at {self.url} ({error})") from None
        if response.status_code >= 400:
            try:
                reason = response.json().get("detail", response.text)
            except ValueError:
                reason = response.text
            raise HubError(response.status_code, str(reason))
        return response.json()

    def get(self, path: str, signed: bool = True, **query) -> object:
        return self._send("GET", path, None, signed, **query)

    def post(self, path: str, payload: object = None) -> object:
        return self._send("POST", path, payload if payload is not None else {})

    def write(
        self,
        kind: str,
        body: Mapping[str, object],
        attachment: Mapping[str, object] | None = None,
        attempts: int = 20,
    ) -> Entry:
        """Sign `body` as the next ledger entry and submit it (again, if the head moved)."""
        assert self.identity is not None
        for _ in range(attempts):
            head = self.get("/api/ledger/head", signed=False)
            entry = sign_entry(self.identity, head["length"], head["head"], kind, body)
            path = "/api/ledger/join" if kind == "join" else "/api/ledger"
            payload = {"entry": entry.line(), "attachment": dict(attachment or {})}
            try:
                self._send("POST", path, payload, signed=kind != "join")
                return entry
            except HubError as error:
                if error.status != 409:
                    raise
        raise HubError(409, "the ledger kept moving; try again")

    def entries(self, since: int = 0) -> list[Entry]:
        lines = self.get("/api/ledger", since=since)["entries"]
        return [Entry.from_line(line) for line in lines]
