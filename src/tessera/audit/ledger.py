"""The audit ledger: an append-only file of entries, each signed by its author and chained
to the one before by its hash, so that any change, deletion, insertion or reordering shows.

An entry is one line of JSON: its position, time, author, kind and body, the SHA-256 of the
previous entry, and the author's Ed25519 signature over all of that. Who may author entries
is itself in the ledger:

- entry 0, `genesis`, holds the operator's public keys and is signed with them;
- an `enrol` entry by the operator adds a party (a station, a user) with its public keys;
- any other entry must be signed by the operator or by a party enrolled before it.

`verify` checks every rule and names the first entry that breaks one. A ledger cut short
after some entry is still a valid ledger; that shows only against another copy (`compare`),
which is why every station keeps one, or against a head hash published elsewhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tessera.crypto.keys import (
    Identity,
    PublicIdentity,
    decode_signature,
    encode_signature,
    fingerprint,
    verify,
)

START = "0" * 64  # the "previous hash" of entry 0
OPERATOR = "operator"


class LedgerError(ValueError):
    """The first entry (by line) that breaks a rule, and which rule."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"entry {line}: {reason}")
        self.line, self.reason = line, reason


@dataclass(frozen=True)
class Entry:
    index: int
    time: str  # ISO 8601, UTC
    author: str
    kind: str
    body: Mapping[str, object]
    previous: str  # SHA-256 hex of the previous entry's line
    signature: str = ""  # base64 of the author's Ed25519 signature over `signed_bytes`

    def signed_bytes(self) -> bytes:
        fields = asdict(self)
        del fields["signature"]
        return canonical(fields)

    def line(self) -> str:
        return canonical(asdict(self)).decode()

    def digest(self) -> str:
        return hashlib.sha256(self.line().encode()).hexdigest()


def canonical(value: object) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 (floats are not allowed)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _signed(author: Identity, entry: Entry) -> Entry:
    signature = encode_signature(author.sign(entry.signed_bytes()))
    return Entry(**{**asdict(entry), "signature": signature})


class Ledger:
    """A ledger file, appended to by one writer (the hub, or a station for its copy)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, path: Path, operator: Identity) -> Ledger:
        """A new ledger whose genesis entry names the operator's public keys."""
        if Path(path).exists():
            raise ValueError(f"{path} exists: a ledger is never started twice")
        ledger = cls(path)
        ledger._write(_signed(operator, Entry(0, _now(), OPERATOR, "genesis",
                                              _keys(operator.public), START)))  # fmt: skip
        return ledger

    def entries(self) -> list[Entry]:
        return read(self.path)

    def append(self, author: Identity, kind: str, body: Mapping[str, object]) -> Entry:
        """Sign and add an entry after the last one; the author must be allowed to write."""
        entries = self.entries()
        last = entries[-1]
        entry = _signed(author, Entry(last.index + 1, _now(), author.name, kind, dict(body),
                                      last.digest()))  # fmt: skip
        verify_ledger([*entries, entry])  # refuse to write what a verifier would reject
        self._write(entry)
        return entry

    def enrol(self, operator: Identity, party: PublicIdentity, role: str) -> Entry:
        return self.append(operator, "enrol", {**_keys(party), "party": party.name, "role": role})

    def _write(self, entry: Entry) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(entry.line() + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _keys(identity: PublicIdentity) -> dict[str, str]:
    return {"signing_key": identity.signing, "encryption_key": identity.encryption}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def read(path: Path) -> list[Entry]:
    """The entries of a ledger file; a line that is not an entry is an error naming it."""
    entries = []
    for number, text in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        try:
            entries.append(Entry(**json.loads(text)))
        except (json.JSONDecodeError, TypeError) as error:
            raise LedgerError(number, f"not a ledger entry ({type(error).__name__})") from None
    if not entries:
        raise LedgerError(0, "the ledger is empty")
    return entries


def verify_ledger(entries: Sequence[Entry], operator: str | None = None) -> str:
    """Check every rule; return the head hash. `operator`, if given, is the fingerprint the
    genesis key must have (else the genesis entry is trusted as found)."""
    signers: dict[str, str] = {}
    previous = START
    for line, entry in enumerate(entries):
        if entry.index != line:
            raise LedgerError(line, f"has position {entry.index} where {line} belongs")
        if entry.previous != previous:
            raise LedgerError(line, "does not follow the entry before it (hash chain broken)")
        if line == 0:
            if entry.kind != "genesis" or entry.author != OPERATOR:
                raise LedgerError(0, "the first entry must be the operator's genesis")
            signers[OPERATOR] = str(entry.body.get("signing_key", ""))
            if operator is not None and fingerprint(signers[OPERATOR]) != operator:
                raise LedgerError(0, "the genesis key is not the expected operator's")
        if entry.author not in signers:
            raise LedgerError(line, f"its author {entry.author!r} was never enrolled")
        signature = decode_signature(entry.signature)
        if signature is None or not verify(signers[entry.author], signature, entry.signed_bytes()):
            raise LedgerError(line, f"the signature is not by {entry.author!r}")
        if entry.kind == "enrol":
            if entry.author != OPERATOR:
                raise LedgerError(line, "only the operator enrols parties")
            party = str(entry.body.get("party", ""))
            if not party or party in signers:
                raise LedgerError(line, f"enrols {party!r} twice or without a name")
            signers[party] = str(entry.body.get("signing_key", ""))
        previous = entry.digest()
    return previous


def compare(ledger: Sequence[Entry], other: Sequence[Entry]) -> None:
    """`ledger` against another valid copy: they must agree entry by entry, and `ledger`
    may be longer (the other copy lags) but not shorter (it lost entries)."""
    for line, (mine, theirs) in enumerate(zip(ledger, other, strict=False)):
        if mine.digest() != theirs.digest():
            raise LedgerError(line, "differs from the other copy of the ledger")
    if len(other) > len(ledger):
        raise LedgerError(len(ledger), "is missing here but present in the other copy")
