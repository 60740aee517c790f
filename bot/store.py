"""SQL adapter of :class:`bot.ports.ConversationStore`: conversation states and the message log.

Two tables, portable between SQLite and PostgreSQL (generic types only):

* ``conversations``: one row per (channel, chat_id), the state as JSON, the mode copied into its own
  column (officer screens list ``with_officer`` chats), ``updated_at``.
* ``messages``: one row per message in or out, with ID and phone numbers redacted, the intent, its
  confidence and the procedure code, for officers and analytics.

:class:`Base` is exported so the migrations author can add ``Base.metadata`` to Alembic's targets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from bot.messages import ConversationKey
from bot.ports import MessageRecord
from bot.redact import redact
from bot.state import ConversationState


class Base(DeclarativeBase):
    """Declarative base of the conversation tables; Alembic reads ``Base.metadata``."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ConversationRow(Base):
    """One conversation and its current state."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("channel", "chat_id", name="uq_conversations_channel_chat"),
        Index("ix_conversations_mode", "mode"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(32))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class MessageRow(Base):
    """One logged message (text redacted)."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        Index("ix_messages_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    sender: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    procedure_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


def _aware(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything written here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SqlConversationStore:
    """Conversation store over SQLAlchemy sessions (SQLite or PostgreSQL).

    Args:
        sessions: a session factory bound to the database (the composition root's).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @staticmethod
    def _row(session: Session, key: ConversationKey) -> ConversationRow | None:
        stmt = select(ConversationRow).where(
            ConversationRow.channel == key.channel, ConversationRow.chat_id == key.chat_id
        )
        return session.scalars(stmt).one_or_none()

    def _ensure_row(self, session: Session, key: ConversationKey) -> ConversationRow:
        """The row of ``key``, created (with a fresh state) if missing; flushed so it has an id."""
        row = self._row(session, key)
        if row is None:
            row = ConversationRow(
                channel=key.channel,
                chat_id=key.chat_id,
                mode="answering",
                state=ConversationState(key=key).to_dict(),
            )
            session.add(row)
            session.flush()
        return row

    def load(self, key: ConversationKey) -> ConversationState:
        with self._sessions() as session:
            row = self._row(session, key)
            return ConversationState.from_dict(row.state) if row is not None else ConversationState(key=key)

    def save(self, state: ConversationState) -> None:
        for attempt in range(2):
            try:
                with self._sessions.begin() as session:
                    row = self._ensure_row(session, state.key)
                    row.state = state.to_dict()
                    row.mode = state.mode.value
                    row.updated_at = _utcnow()
                return
            except IntegrityError:
                # Another worker created the row between our select and insert: update it instead.
                if attempt:
                    raise

    def log(self, records: Iterable[MessageRecord]) -> None:
        records = list(records)
        if not records:
            return
        with self._sessions.begin() as session:
            ids: dict[ConversationKey, int] = {}
            for rec in records:
                if rec.key not in ids:
                    ids[rec.key] = self._ensure_row(session, rec.key).id
                session.add(
                    MessageRow(
                        conversation_id=ids[rec.key],
                        direction=rec.direction,
                        sender=rec.sender,
                        text=redact(rec.text),
                        intent=rec.intent,
                        confidence=rec.confidence,
                        procedure_code=rec.procedure,
                        created_at=rec.created_at,
                    )
                )

    def recent_messages(self, key: ConversationKey, limit: int = 20) -> list[MessageRecord]:
        if limit <= 0:
            return []
        with self._sessions() as session:
            row = self._row(session, key)
            if row is None:
                return []
            stmt = (
                select(MessageRow)
                .where(MessageRow.conversation_id == row.id)
                .order_by(MessageRow.created_at.desc(), MessageRow.id.desc())
                .limit(limit)
            )
            rows = list(session.scalars(stmt))
        return [
            MessageRecord(
                key=key,
                direction="in" if m.direction == "in" else "out",
                text=m.text,
                sender=m.sender,
                intent=m.intent,
                confidence=m.confidence,
                procedure=m.procedure_code,
                created_at=_aware(m.created_at),
            )
            for m in reversed(rows)
        ]

    def conversations_in_mode(self, mode: str) -> list[ConversationKey]:
        """Keys of the conversations currently in ``mode`` (e.g. ``with_officer``), latest first."""
        with self._sessions() as session:
            stmt = select(ConversationRow.channel, ConversationRow.chat_id).where(
                ConversationRow.mode == mode
            )
            stmt = stmt.order_by(ConversationRow.updated_at.desc())
            return [ConversationKey(c, k) for c, k in session.execute(stmt)]


class ProcessedUpdateRow(Base):
    """A platform update or message id already accepted, so a redelivery is processed once."""

    __tablename__ = "processed_updates"
    __table_args__ = (UniqueConstraint("channel", "message_id", name="uq_processed_updates"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow, index=True)


class SqlDeduplicator:
    """Deduplicator that survives restarts: the unique constraint decides, so it is safe across workers.

    Implements ``bot.channels.base.Deduplicator``. Rows older than ``keep`` are pruned now and then
    (platforms redeliver within minutes, not days).
    """

    def __init__(self, sessions: sessionmaker[Session], keep: timedelta = timedelta(days=3)) -> None:
        self._sessions = sessions
        self._keep = keep
        self._inserts = 0

    def _insert(self, channel: str, message_id: str) -> bool:
        with self._sessions() as session:
            try:
                with session.begin():
                    session.add(ProcessedUpdateRow(channel=channel, message_id=message_id[:128]))
            except IntegrityError:
                return False
            self._inserts += 1
            if self._inserts % 1000 == 0:
                with session.begin():
                    cutoff = _utcnow() - self._keep
                    session.execute(delete(ProcessedUpdateRow).where(ProcessedUpdateRow.created_at < cutoff))
        return True

    async def first_time(self, channel: str, message_id: str) -> bool:
        """True the first time (channel, message_id) is seen, False for every redelivery."""
        return await asyncio.to_thread(self._insert, channel, message_id)
