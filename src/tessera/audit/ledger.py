"""The audit ledger: an append-only file of entries, each signed by its author and chained
to the one before by its hash, so that any change, deletion, insertion or reordering shows.

An entry is one line of JSON: its position, time, author, kind and body, the SHA-256 of the
previous entry, and the author's Ed25519 signature over all of that. Who may author entries
is itself in the ledger:

- entry 0, `genesis`, holds the operator's public keys and is signed with them;
- an `enrol` entry by the operator adds a party (a station, a user) with its public keys;
  or the operator's `invite` names a party and the hash of a one-time token, and the
  party's own `join` entry, signed with its new keys, spends the token;
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
from tessera.errors import TesseraError

START = "0" * 64  # the "previous hash" of entry 0
OPERATOR = "operator"


class LedgerError(TesseraError, ValueError):
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

    @classmethod
    def from_line(cls, text: str) -> Entry:
        """An entry from its line; ValueError naming the problem, not the content."""
        try:
            fields = json.loads(text)
            entry = cls(**fields)
        except (json.JSONDecodeError, TypeError) as error:
            raise ValueError(f"not a ledger entry ({type(error).__name__})") from None
        if not isinstance(entry.body, dict) or not isinstance(entry.index, int):
            raise ValueError("not a ledger entry (malformed fields)")
        return entry


def canonical(value: object) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 (floats are not allowed)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _signed(author: Identity, entry: Entry) -> Entry:
    signature = encode_signature(author.sign(entry.signed_bytes()))
    return Entry(**{**asdict(entry), "signature": signature})


def genesis_entry(operator: Identity) -> Entry:
    """Entry 0: the operator's public keys, signed with them."""
    return _signed(operator, Entry(0, _now(), OPERATOR, "genesis", _keys(operator.public), START))


def sign_entry(
    author: Identity, index: int, previous: str, kind: str, body: Mapping[str, object]
) -> Entry:
    """A new entry at `index` after the entry whose hash is `previous`, signed by `author`:
    how a party writes to a ledger kept elsewhere (the hub's)."""
    return _signed(author, Entry(index, _now(), author.name, kind, dict(body), previous))


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
        ledger._write(genesis_entry(operator))
        return ledger

    def entries(self) -> list[Entry]:
        return read(self.path)

    def append(self, author: Identity, kind: str, body: Mapping[str, object]) -> Entry:
        """Sign and add an entry after the last one; the author must be allowed to write."""
        entries = self.entries()
        entry = sign_entry(author, len(entries), entries[-1].digest(), kind, body)
        verify_ledger([*entries, entry])  # refuse to write what a verifier would reject
        self._write(entry)
        return entry

    def add_checked(self, entry: Entry) -> None:
        """Add an entry written elsewhere (a station copying the hub's ledger) that the
        caller has checked continues this copy (e.g. with a `Federation` replaying it)."""
        self._write(entry)

    def enrol(self, operator: Identity, party: PublicIdentity, role: str) -> Entry:
        return self.append(operator, "enrol", {**_keys(party), "party": party.name, "role": role})

    def _write(self, entry: Entry) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(entry.line() + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _keys(identity: PublicIdentity) -> dict[str, str]:
    """A party's public keys as an `enrol`, `join` or `genesis` body names them."""
    return {"signing_key": identity.signing, "encryption_key": identity.encryption}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def read(path: Path) -> list[Entry]:
    """The entries of a ledger file; a line that is not an entry is an error naming it."""
    entries = []
    for number, text in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        try:
            entries.append(Entry.from_line(text))
        except ValueError as error:
            raise LedgerError(number, str(error)) from None
    if not entries:
        raise LedgerError(0, "the ledger is empty")
    return entries


@dataclass(frozen=True)
class Member:
    """A party the ledger admits as an author: its role, organisation and public keys."""

    name: str
    role: str
    organisation: str
    signing_key: str
    encryption_key: str
    tls_ca: str = ""  # a station's TLS trust anchor (PEM), for the MPC links between stations

    @property
    def public(self) -> PublicIdentity:
        return PublicIdentity(self.name, self.signing_key, self.encryption_key)


def token_hash(token: str) -> str:
    """What an invitation records of its one-time token: the token itself stays secret until
    the invited party spends it in its `join` entry."""
    return hashlib.sha256(b"tessera-enrolment-token\n" + token.encode()).hexdigest()


class Chain:
    """The ledger's rules, checked one entry at a time: the hash chain, the positions, the
    signatures, and who may author. `members` is who is enrolled, by name.

    Parties come in two ways: an `enrol` entry by the operator, or an `invite` by the
    operator (naming the party, its role and the hash of a one-time token) followed by the
    party's own `join` entry, signed with the keys it created and carrying that token."""

    def __init__(self, operator: str | None = None):
        self.operator = operator  # the fingerprint the genesis key must have, if known
        self.members: dict[str, Member] = {}
        self.invites: dict[str, dict] = {}  # token hash -> invitation body
        self.head = START
        self.length = 0

    def check(self, entry: Entry) -> Member:
        """Check `entry` as the next one without recording it; its author. `LedgerError`."""
        line = self.length
        if entry.index != line:
            raise LedgerError(line, f"has position {entry.index} where {line} belongs")
        if entry.previous != self.head:
            raise LedgerError(line, "does not follow the entry before it (hash chain broken)")
        author = self._joining(line, entry) or self._author(line, entry)
        signature = decode_signature(entry.signature)
        if signature is None or not verify(author.signing_key, signature, entry.signed_bytes()):
            raise LedgerError(line, f"the signature is not by {entry.author!r}")
        if entry.kind in ("enrol", "invite") and entry.author != OPERATOR:
            raise LedgerError(line, f"only the operator may {entry.kind} parties")
        if entry.kind == "enrol":
            self._new(line, _member(entry.body))
        return author

    def admit(self, entry: Entry) -> None:
        """Check `entry` as the next one, then record what it changes."""
        author = self.check(entry)
        if entry.index == 0:
            self.members[OPERATOR] = author
        elif entry.kind == "enrol":
            member = _member(entry.body)
            self.members[member.name] = member
        elif entry.kind == "invite":
            self.invites[str(entry.body.get("token_hash", ""))] = dict(entry.body)
        elif entry.kind == "join":
            self.members[author.name] = author
            del self.invites[token_hash(str(entry.body["token"]))]
        self.head = entry.digest()
        self.length += 1

    def _author(self, line: int, entry: Entry) -> Member:
        if line == 0:
            if entry.kind != "genesis" or entry.author != OPERATOR:
                raise LedgerError(0, "the first entry must be the operator's genesis")
            operator = _member({**entry.body, "party": OPERATOR, "role": OPERATOR})
            if self.operator is not None and fingerprint(operator.signing_key) != self.operator:
                raise LedgerError(0, "the genesis key is not the expected operator's")
            return operator
        if entry.author not in self.members:
            raise LedgerError(line, f"its author {entry.author!r} was never enrolled")
        return self.members[entry.author]

    def _joining(self, line: int, entry: Entry) -> Member | None:
        """The new member a `join` entry brings, if its token answers an open invitation."""
        if entry.kind != "join":
            return None
        invite = self.invites.get(token_hash(str(entry.body.get("token", ""))))
        if invite is None:
            raise LedgerError(line, "joins without a valid, unused invitation token")
        joining = _member(entry.body)
        invited = (invite.get("party"), invite.get("role"), invite.get("organisation"))
        if (joining.name, joining.role, joining.organisation) != invited or (
            joining.name != entry.author
        ):
            raise LedgerError(line, "joins under another name, role or organisation than invited")
        return self._new(line, joining)

    def _new(self, line: int, member: Member) -> Member:
        if not member.name or member.name in self.members:
            raise LedgerError(line, f"enrols {member.name!r} twice or without a name")
        return member


def _member(body: Mapping[str, object]) -> Member:
    return Member(
        str(body.get("party", "")),
        str(body.get("role", "")),
        str(body.get("organisation", "")),
        str(body.get("signing_key", "")),
        str(body.get("encryption_key", "")),
        str(body.get("tls_ca", "")),
    )


def verify_ledger(entries: Sequence[Entry], operator: str | None = None) -> str:
    """Check every rule; return the head hash. `operator`, if given, is the fingerprint the
    genesis key must have (else the genesis entry is trusted as found)."""
    chain = Chain(operator)
    for entry in entries:
        chain.admit(entry)
    return chain.head


def compare(ledger: Sequence[Entry], other: Sequence[Entry]) -> None:
    """`ledger` against another valid copy: they must agree entry by entry, and `ledger`
    may be longer (the other copy lags) but not shorter (it lost entries)."""
    for line, (mine, theirs) in enumerate(zip(ledger, other, strict=False)):
        if mine.digest() != theirs.digest():
            raise LedgerError(line, "differs from the other copy of the ledger")
    if len(other) > len(ledger):
        raise LedgerError(len(ledger), "is missing here but present in the other copy")
