"""The hub's database: what it relays and indexes, never anything it could read.

Ledger entries (public to members, signed by their authors), the stations' published
schemas and addresses, tasks with their *sealed* parameters and results, the nonces of
signed requests, and one-time sign-in codes (hashed). SQLite by default, PostgreSQL in
production; the schema is created and upgraded by Alembic (`tessera/hub/migrations`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class LedgerRow(Base):
    """The hub's copy of the ledger, one signed entry per row, in order."""

    __tablename__ = "ledger"
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    line: Mapped[str] = mapped_column(Text)


class StationRow(Base):
    """What a station publishes: where its MPC port is and its datasets' column names."""

    __tablename__ = "stations"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(255))
    datasets: Mapped[dict] = mapped_column(JSON)  # dataset -> [column names]
    seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TaskRow(Base):
    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    study: Mapped[str] = mapped_column(String(64), index=True)
    researcher: Mapped[str] = mapped_column(String(64))
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ready: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    session: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # id, peer addresses
    failed: Mapped[str | None] = mapped_column(Text, nullable=True)  # the hub's own reason


class PartRow(Base):
    """One station's share of a task: its sealed parameters, and later its sealed output
    (one ciphertext per recipient), which the hub deletes if the task fails."""

    __tablename__ = "task_parts"
    task: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    station: Mapped[str] = mapped_column(String(64), primary_key=True)
    parameters: Mapped[bytes] = mapped_column(LargeBinary)
    output: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # recipient -> base64


class MessageRow(Base):
    """A message of a registry-spanning task's protocol (`tessera.protocol.pooled`), from a
    station (or the hub's own sum of the contributions): ciphertexts, commitments, shares
    sealed to one station. Public to the task's parties; none of it opens without keys."""

    __tablename__ = "task_messages"
    __table_args__ = (UniqueConstraint("task", "sender", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    sender: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict] = mapped_column(JSON)


class NonceRow(Base):
    """Signed requests seen within the replay window; each (party, nonce) is accepted once."""

    __tablename__ = "nonces"
    __table_args__ = (UniqueConstraint("party", "nonce"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    seen: Mapped[float] = mapped_column(index=True)


class SignInRow(Base):
    """A one-time browser sign-in code, stored as its hash only."""

    __tablename__ = "sign_in_codes"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    party: Mapped[str] = mapped_column(String(64))
    expires: Mapped[float]


def engine_for(url: str) -> Engine:
    """An engine; SQLite files are opened for use from the server's threads."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"check_same_thread": False})
    return create_engine(url, pool_pre_ping=True)


def migrate(url: str) -> None:
    """Create or upgrade the schema to the newest migration (Alembic)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
