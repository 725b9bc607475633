"""The hub's work, apart from HTTP: keep the ledger, queue tasks, relay sealed messages.

Everything the hub stores is either signed public governance (the ledger), public schema
(the stations' column names and addresses), or ciphertext sealed to someone else (task
parameters to stations, outputs to recipients). It holds no key that opens any of it.
Ledger entries are checked with the same rules every station and auditor applies
(`tessera.governance.studies.Federation`) before they are stored.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tessera.audit.ledger import Entry, LedgerError
from tessera.errors import TesseraError
from tessera.governance.studies import Federation, TaskState, output_digest
from tessera.hub.database import (
    LedgerRow,
    MessageRow,
    NonceRow,
    PartRow,
    SignInRow,
    StationRow,
    TaskRow,
    engine_for,
    migrate,
)
from tessera.protocol import messages
from tessera.protocol.board import add_up, decode, encode

SESSION_DEADLINE = 900.0  # seconds a ready task may take before the hub declares it failed
SIGN_IN_SECONDS = 300
T = TypeVar("T")


class Conflict(TesseraError, ValueError):
    """The ledger moved on since the entry was signed: fetch the head and sign again."""


class Forbidden(TesseraError, PermissionError):
    """The caller may not do this (the message says why, never quoting data)."""


class NotFound(TesseraError, LookupError):
    pass


class Malformed(TesseraError, ValueError):
    """A request the hub could not parse; the message names the error's kind, never the
    request's content."""


def untrusted(call: Callable[..., T]) -> Callable[..., T]:
    """Mark a method that reads what a request brought: an error from parsing it (a bad
    key, bad base64, a wrong type) is the request's fault, `Malformed`; the hub's own
    refusals pass as they are, and anything else is a bug (a 500, not a 422)."""

    @functools.wraps(call)
    def checked(*args, **kwargs):
        try:
            return call(*args, **kwargs)
        except TesseraError:
            raise
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise Malformed(f"malformed request ({type(error).__name__})") from None

    return checked


@untrusted
def parse_entry(line: str) -> Entry:
    """A submitted ledger entry's line, parsed."""
    return Entry.from_line(line)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes for the UTC ones it was given."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass
class DatabaseNonces:
    """`tessera.crypto.requests.NonceStore` kept in the database, so a replay is refused
    across restarts and by every worker."""

    hub: Hub
    window: int = 300

    def first_use(self, party: str, nonce: str, now: float) -> bool:
        with self.hub.session() as db:
            db.execute(delete(NonceRow).where(NonceRow.seen < now - 2 * self.window))
            db.add(NonceRow(party=party, nonce=nonce[:64], seen=now))
            try:
                db.commit()
            except IntegrityError:
                return False
        return True


class Hub:
    """One hub: its database and the federation state replayed from its ledger."""

    def __init__(self, url: str, deadline: float = SESSION_DEADLINE):
        migrate(url)
        self.engine = engine_for(url)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        self.deadline = deadline
        self.lock = threading.RLock()  # one writer of the ledger at a time
        self.changed = threading.Condition(self.lock)  # notified on every new entry
        self.nonces = DatabaseNonces(self)
        with self.session() as db:
            lines = db.scalars(select(LedgerRow.line).order_by(LedgerRow.position)).all()
        self.federation = Federation.replay(Entry.from_line(line) for line in lines)

    # -- the ledger --

    def start(self, genesis: str) -> None:
        """Store the operator's genesis entry in an empty ledger (once)."""
        with self.lock:
            if self.federation.entries:
                if self.federation.entries[0].line() != Entry.from_line(genesis).line():
                    raise ValueError("this hub already holds a ledger with another genesis")
                return
            self.append(Entry.from_line(genesis), None)

    def lines(self, since: int = 0) -> list[str]:
        return [entry.line() for entry in self.federation.entries[since:]]

    @untrusted
    def append(self, entry: Entry, attachment: Mapping | None) -> Entry:
        """Check and store a signed entry, with what the entry's kind brings along:
        a task's sealed parameters per station, a release's sealed output per recipient."""
        with self.lock:
            if entry.index != self.federation.chain.length:
                raise Conflict(
                    f"the ledger has {self.federation.chain.length} entries; entry "
                    f"{entry.index} was signed against an older head: sign it again"
                )
            self.federation.check(entry)
            with self.session() as db:
                db.add(LedgerRow(position=entry.index, line=entry.line()))
                self._attach(db, entry, attachment or {})
                db.commit()
            self.federation.record(entry)
            self._after(entry)
            self.changed.notify_all()
        return entry

    def wait(self, ready, seconds: float) -> None:
        """Block until `ready()` holds, re-checking on every new ledger entry, for at most
        `seconds`: long polling, so a station picks up work at once without hammering."""
        deadline = time.monotonic() + min(seconds, 60.0)
        with self.changed:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.changed.wait(min(left, 1.0))  # also re-check deadlines now and then

    def _attach(self, db: Session, entry: Entry, attachment: Mapping) -> None:
        body = entry.body
        if entry.kind == "task":
            sealed = attachment.get("parameters", {})
            if set(sealed) != set(body["stations"]):
                raise Forbidden("a task carries sealed parameters for each of its stations")
            db.add(
                TaskRow(
                    id=str(body["task"]),
                    study=str(body["study"]),
                    researcher=entry.author,
                    created=_now(),
                )
            )
            db.flush()
            for station, text in sealed.items():
                db.add(
                    PartRow(
                        task=str(body["task"]), station=station, parameters=base64.b64decode(text)
                    )
                )
        elif entry.kind == "release":
            task = self.federation.tasks[str(body["task"])]
            output = dict(attachment.get("output", {}))
            if set(output) != set(task.recipients):
                raise Forbidden("a release carries one sealed output per recipient of the task")
            if output_digest(output) != body.get("digest"):
                raise Forbidden("the release's digest does not match its sealed output")
            part = db.get(PartRow, (task.task, entry.author))
            part.output = output

    def _after(self, entry: Entry) -> None:
        """Start a task's session once every station has accepted it; drop the outputs
        of a task that failed, so no partial result is ever handed out."""
        if entry.kind not in ("decision", "failure"):
            return
        task = self.federation.tasks[str(entry.body["task"])]
        with self.session() as db:
            row = db.get(TaskRow, task.task)
            if task.status == "ready" and row.session is None:
                stations = {s.name: s.address for s in db.scalars(select(StationRow))}
                row.session = {
                    "id": secrets.token_hex(8),
                    "peers": {name: stations.get(name, "") for name in task.stations},
                }
                row.ready = _now()
            elif task.status == "failed":
                self._drop_outputs(db, task.task)
            db.commit()

    @staticmethod
    def _drop_outputs(db: Session, task: str) -> None:
        for part in db.scalars(select(PartRow).where(PartRow.task == task)):
            part.output = None

    # -- stations and tasks --

    @untrusted
    def publish(self, station: str, address: str, datasets: Mapping[str, list[str]]) -> None:
        if self.federation.role(station) != "station":
            raise Forbidden(f"{station!r} is not a station")
        with self.session() as db:
            db.merge(
                StationRow(
                    name=station,
                    address=address,
                    seen=_now(),
                    datasets={k: list(map(str, v)) for k, v in datasets.items()},
                )
            )
            db.commit()

    def stations(self) -> list[dict]:
        with self.session() as db:
            rows = {row.name: row for row in db.scalars(select(StationRow))}
        return [
            {
                "name": name,
                "organisation": member.organisation,
                "datasets": rows[name].datasets if name in rows else {},
                "seen": _aware(rows[name].seen).isoformat() if name in rows else None,
            }
            for name, member in self.federation.members.items()
            if member.role == "station"
        ]

    def work(self, station: str) -> dict:
        """A station's queue: tasks awaiting its decision, and sessions it should join."""
        self.expire_overdue()
        decide, run = [], []
        with self.session() as db:
            parts = db.scalars(select(PartRow).where(PartRow.station == station)).all()
            for part in parts:
                task = self.federation.tasks[part.task]
                item = {
                    "task": part.task,
                    "study": task.study,
                    "parameters": base64.b64encode(part.parameters).decode(),
                }
                if station not in task.decisions and task.status == "pending":
                    decide.append(item)
                elif task.status == "ready" and station not in task.released:
                    row = db.get(TaskRow, part.task)
                    if row.failed is None and row.session is not None:
                        run.append({**item, "session": row.session})
        return {"decide": decide, "run": run}

    @untrusted
    def task(self, task_id: str, party: str) -> dict:
        """A task's status for its researcher, its recipients and its stations; the sealed
        outputs only to a recipient, only once every station has released."""
        self.expire_overdue()
        state = self.federation.tasks.get(task_id)
        if state is None:
            raise NotFound(f"no task {task_id!r}")
        if party not in (state.researcher, *state.recipients, *state.stations):
            raise Forbidden(f"{party!r} has no part in task {task_id!r}")
        with self.session() as db:
            row = db.get(TaskRow, task_id)
            parts = db.scalars(select(PartRow).where(PartRow.task == task_id)).all()
            status, reason = self._status(state, row)
            answer = {
                "task": task_id,
                "study": state.study,
                "status": status,
                "reason": reason,
                "retryable": status == "failed" and state.retryable,
                "stations": list(state.stations),
                "recipients": list(state.recipients),
                "created": _aware(row.created).isoformat(),
            }
            if status == "done" and party in state.recipients:
                answer["output"] = {p.station: p.output[party] for p in parts}
        return answer

    def tasks(self) -> list[dict]:
        self.expire_overdue()
        with self.session() as db:
            rows = db.scalars(select(TaskRow).order_by(TaskRow.created)).all()
        return [
            {
                "id": row.id,
                "study": row.study,
                "created": _aware(row.created).isoformat(),
                **dict(
                    zip(
                        ("status", "reason"),
                        self._status(self.federation.tasks[row.id], row),
                        strict=True,
                    )
                ),
            }
            for row in rows
        ]

    @staticmethod
    def _status(state: TaskState, row: TaskRow) -> tuple[str, str | None]:
        if row.failed is not None:
            return "failed", row.failed
        return state.status, state.reason

    def expire_overdue(self) -> None:
        """Fail tasks whose session outlived the deadline (a station went away mid-task)."""
        limit = _now() - dt.timedelta(seconds=self.deadline)
        with self.lock, self.session() as db:
            rows = db.scalars(
                select(TaskRow).where(TaskRow.failed.is_(None), TaskRow.ready.is_not(None))
            ).all()
            for row in rows:
                state = self.federation.tasks[row.id]
                if state.status == "ready" and _aware(row.ready) < limit:
                    silent = [s for s in state.stations if s not in state.released]
                    row.failed = f"{', '.join(silent)} did not finish within {self.deadline:.0f} s"
                    self._drop_outputs(db, row.id)
            db.commit()

    # -- registry-spanning tasks: the protocol's messages --

    @untrusted
    def post_message(self, task_id: str, sender: str, kind: str, body: Mapping) -> None:
        """Store a station's message of a running registry-spanning task (or a recipient's
        ask of a model's next round), once per kind; when every station has contributed,
        add the contributions up (ciphertexts: the hub can add them, not read them) as the
        hub's own `sum` (`sum:r`) message."""
        state = self._state(task_id)
        if messages.RECIPIENT_KINDS.fullmatch(kind):
            if sender not in state.recipients:
                raise Forbidden(f"only the recipient of task {task_id!r} asks for its rounds")
        elif sender not in state.stations:
            raise Forbidden(f"{sender!r} is not a station of task {task_id!r}")
        elif not messages.STATION_KINDS.fullmatch(kind):
            raise Forbidden(f"{kind!r} is not a message of the protocol")
        with self.lock:
            if self._status(state, self._row(task_id))[0] != "ready":
                raise Conflict(f"task {task_id!r} is not running: no messages")
            with self.session() as db:
                db.add(MessageRow(task=task_id, sender=sender, kind=kind, body=dict(body)))
                try:
                    db.flush()
                except IntegrityError:
                    raise Conflict(f"{sender} has already sent its {kind}") from None
                if kind.startswith(messages.CONTRIBUTION):
                    self._add_up(db, state, kind)
                db.commit()
            self.changed.notify_all()

    def _add_up(self, db: Session, state: TaskState, kind: str) -> None:
        rows = db.scalars(
            select(MessageRow).where(MessageRow.task == state.task, MessageRow.kind == kind)
        ).all()
        if {row.sender for row in rows} != set(state.stations):
            return
        try:
            total = add_up([decode(row.body)["ciphertexts"] for row in rows])
        except (KeyError, ValueError) as error:
            raise Forbidden(f"the contributions do not add up ({error})") from None
        body = encode({"ciphertexts": total})
        db.add(MessageRow(task=state.task, sender=messages.HUB, kind=messages.sum_of(kind),
                          body=body))  # fmt: skip

    @untrusted
    def messages(self, task_id: str, party: str, kind: str) -> list[dict]:
        """A task's messages of one kind, for its stations and recipients."""
        state = self._state(task_id)
        if party not in (*state.stations, *state.recipients):
            raise Forbidden(f"{party!r} has no part in task {task_id!r}")
        with self.session() as db:
            rows = db.scalars(
                select(MessageRow)
                .where(MessageRow.task == task_id, MessageRow.kind == kind)
                .order_by(MessageRow.id)
            ).all()
        return [{"sender": row.sender, "kind": row.kind, "body": row.body} for row in rows]

    def _state(self, task_id: str) -> TaskState:
        state = self.federation.tasks.get(task_id)
        if state is None:
            raise NotFound(f"no task {task_id!r}")
        return state

    def _row(self, task_id: str) -> TaskRow:
        with self.session() as db:
            return db.get(TaskRow, task_id)

    # -- browser sign-in --

    def sign_in_code(self, party: str) -> str:
        code = secrets.token_urlsafe(24)
        with self.session() as db:
            db.add(
                SignInRow(digest=_hash(code), party=party, expires=time.time() + SIGN_IN_SECONDS)
            )
            db.commit()
        return code

    def redeem(self, code: str) -> str | None:
        """The party a one-time code signs in, if it is fresh; it is spent either way."""
        with self.session() as db:
            row = db.get(SignInRow, _hash(code))
            if row is None:
                return None
            db.delete(row)
            db.commit()
            return row.party if row.expires > time.time() else None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


__all__ = ["Conflict", "Forbidden", "Hub", "LedgerError", "Malformed", "NotFound", "parse_entry"]
