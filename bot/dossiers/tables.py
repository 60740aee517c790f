"""The dossier tables (migration ``0003``), portable between SQLite and PostgreSQL, and how the SQL
adapters of this package run a query without blocking the event loop.

``dossiers`` holds the local one-stop shop's dossiers (identity numbers only as salted hashes of 4
digits), ``dossier_subscriptions`` the chats to notify of changes, ``dossier_access`` the recent
successful verifications (grants; failures and waits are in the shared ``throttle`` table since
migration 0010, :mod:`bot.storage.throttle`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.ports import DossierLookupUnavailable
from bot.core.timeutil import utcnow
from knowledge.db import Base

Clock = Callable[[], datetime]
"""Current time, injected into every SQL adapter of the package (tests pass a fake)."""

T = TypeVar("T")


class DossierRow(Base):
    """One dossier of the local one-stop shop; identity numbers only as salted hashes of 4 digits."""

    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    procedure_code: Mapped[str] = mapped_column(String(32), default="")
    procedure_name: Mapped[str] = mapped_column(String(500), default="")
    applicant_name: Mapped[str] = mapped_column(String(200), default="")
    secret_salt: Mapped[str] = mapped_column(String(32))
    phone_last4_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    id_last4_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    current_step: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DossierSubscriptionRow(Base):
    """A chat to notify when a dossier changes (no foreign key: the dossier may live in another system)."""

    __tablename__ = "dossier_subscriptions"
    __table_args__ = (
        UniqueConstraint("dossier_code", "channel", "chat_id", name="uq_dossier_subscriptions"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(128))
    last_seen: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DossierAccessRow(Base):
    """The grant of one chat + dossier (``failures`` and ``locked_until`` are from before migration 0010,
    no longer written)."""

    __tablename__ = "dossier_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(255), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    granted_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


async def off_loop(table: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a thread; any failure becomes :class:`bot.core.ports.DossierLookupUnavailable`.

    A database that is down is not the citizen's mistake: the action answers "unavailable" and the
    watcher skips a round, instead of an error reaching the engine.

    Args:
        table: what was asked, for the message (``"local dossier table"``).
        fn: the blocking query.
        args: its arguments.
    """
    try:
        return await asyncio.to_thread(fn, *args)
    except Exception as exc:
        raise DossierLookupUnavailable(f"{table}: {exc!r}") from exc
