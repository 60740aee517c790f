"""SQL adapter of :class:`bot.core.ports.ConversationStore`: conversation states and the message log.

Two tables, portable between SQLite and PostgreSQL (generic types only):

* ``conversations``: one row per (channel, chat_id), the state as JSON, the mode copied into its own
  column (officer screens list ``with_officer`` chats), ``updated_at``.
* ``messages``: one row per message in or out, with ID and phone numbers redacted, the intent, its
  confidence and the procedure code, for officers and analytics.

A turn is written in one transaction (:meth:`SqlConversationStore.save_turn`): the state, the message
log and, for a message of the durable inbox (:mod:`bot.storage.inbox`), its row marked done and the
replies queued in the outbox.

The tables derive from the one :class:`knowledge.db.Base`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import INBOX_ID, INBOX_TAKE, MessageRecord, TurnSuperseded
from bot.core.redact import redact
from bot.core.state import ConversationState
from bot.core.timeutil import as_utc, utcnow
from bot.storage.inbox import engine_of, finish_in
from knowledge.db import Base


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# A declarative class's ``__table__`` is a Table (SQLAlchemy types it as any FromClause, since a mapping
# may be over a select); update() and insert() need a Table.
_CONVERSATIONS = cast(Table, ConversationRow.__table__)
_MESSAGES = cast(Table, MessageRow.__table__)
_BY_KEY = (_CONVERSATIONS.c.channel == bindparam("key_channel")) & (
    _CONVERSATIONS.c.chat_id == bindparam("key_chat_id")
)
_SELECT_STATE = select(_CONVERSATIONS.c.state).where(_BY_KEY)
_SELECT_ID = select(_CONVERSATIONS.c.id).where(_BY_KEY)
_UPDATE_STATE = (
    update(_CONVERSATIONS)
    .where(_BY_KEY)
    .values(state=bindparam("state"), mode=bindparam("mode"), updated_at=bindparam("updated_at"))
)
_INSERT_MESSAGE = insert(_MESSAGES)


def _key_params(key: ConversationKey) -> dict[str, str]:
    return {"key_channel": key.channel, "key_chat_id": key.chat_id}


_NO_MESSAGE = InboundMessage(ConversationKey("", ""), "")
"""The message of a save outside a turn (no inbox row to finish)."""


class InboxRowLost(TurnSuperseded):
    """The inbox row of a turn is no longer the worker's: the turn was rolled back (written by the
    process that holds the row now)."""


class SqlConversationStore:
    """Conversation store over SQLAlchemy (SQLite or PostgreSQL).

    The per-turn paths (``load``, ``save``, ``log``) run statements built once, on a plain connection
    of the session factory's engine: one ``SELECT`` per load, one ``UPDATE`` per save (plus an
    ``INSERT`` for a new chat), one ``SELECT`` and one executemany per log. Building statements and ORM
    objects on every turn cost several times what SQLite itself does (``benchmarks/bench_engine.py``).

    Args:
        sessions: a session factory bound to the database (the composition root's).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._db = engine_of(sessions)

    def _id(self, conn: Connection, key: ConversationKey, create: bool) -> int | None:
        """The id of ``key``'s row; with ``create``, a row with a fresh state is inserted if missing."""
        found = conn.execute(_SELECT_ID, _key_params(key)).scalar()
        if found is not None or not create:
            return found
        now = utcnow()
        fresh = ConversationState(key=key)
        result = conn.execute(
            insert(_CONVERSATIONS).values(
                channel=key.channel,
                chat_id=key.chat_id,
                mode=fresh.mode.value,
                state=fresh.to_dict(),
                created_at=now,
                updated_at=now,
            )
        )
        # A single-row insert() without returning() always has its primary key row (None: it made no row).
        return int(cast(Row[Any], result.inserted_primary_key)[0])

    def load(self, key: ConversationKey) -> ConversationState:
        with self._db.connect() as conn:
            data = conn.execute(_SELECT_STATE, _key_params(key)).scalar()
        return ConversationState.from_dict(data) if data is not None else ConversationState(key=key)

    def save(self, state: ConversationState) -> None:
        self.save_turn(state, (), _NO_MESSAGE, ())

    @staticmethod
    def _upsert_state(conn: Connection, state: ConversationState, now: datetime) -> None:
        key = state.key
        values = {"state": state.to_dict(), "mode": state.mode.value, "updated_at": now}
        if not conn.execute(_UPDATE_STATE, {**_key_params(key), **values}).rowcount:
            conn.execute(
                insert(_CONVERSATIONS).values(
                    channel=key.channel, chat_id=key.chat_id, created_at=now, **values
                )
            )

    def log(self, records: Iterable[MessageRecord]) -> None:
        records = list(records)
        if not records:
            return
        for attempt in range(2):
            try:
                with self._db.begin() as conn:
                    self._insert_records(conn, records)
                return
            except IntegrityError:
                # The conversation row was created concurrently: its id is there on the second try.
                if attempt:
                    raise

    def save_turn(
        self,
        state: ConversationState,
        records: Sequence[MessageRecord],
        message: InboundMessage,
        replies: Sequence[OutboundMessage],
    ) -> None:
        """The turn in one transaction: the state, the message log and, for a message taken from the
        durable inbox, its row marked done with the replies queued in the outbox (:func:`finish_in`).

        Raises:
            InboxRowLost: the inbox row is no longer this worker's (another process took it over after
                the lease ran out, or finished it): nothing of the turn is written.
        """
        inbox_id, take = message.metadata.get(INBOX_ID), message.metadata.get(INBOX_TAKE)
        row = (inbox_id, take) if isinstance(inbox_id, int) and isinstance(take, int) else None
        for attempt in range(2):
            now = utcnow()
            try:
                with self._db.begin() as conn:
                    self._upsert_state(conn, state, now)
                    self._insert_records(conn, records)
                    if row is not None and not finish_in(conn, *row, replies, now):
                        raise InboxRowLost(f"inbox row {inbox_id} is no longer taken by this worker")
                return
            except IntegrityError:
                # Another worker created the conversation row meanwhile: the second try updates it.
                if attempt:
                    raise

    def _insert_records(self, conn: Connection, records: Iterable[MessageRecord]) -> None:
        ids: dict[ConversationKey, int | None] = {}
        rows = []
        for rec in records:
            if rec.key not in ids:
                ids[rec.key] = self._id(conn, rec.key, create=True)
            rows.append(
                {
                    "conversation_id": ids[rec.key],
                    "direction": rec.direction,
                    "sender": rec.sender,
                    "text": redact(rec.text),
                    "intent": rec.intent,
                    "confidence": rec.confidence,
                    "procedure_code": rec.procedure,
                    "created_at": rec.created_at,
                }
            )
        if rows:
            conn.execute(_INSERT_MESSAGE, rows)

    def recent_messages(self, key: ConversationKey, limit: int = 20) -> list[MessageRecord]:
        if limit <= 0:
            return []
        with self._sessions() as session:
            conversation_id = self._id(session.connection(), key, create=False)
            if conversation_id is None:
                return []
            stmt = (
                select(MessageRow)
                .where(MessageRow.conversation_id == conversation_id)
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
                created_at=as_utc(m.created_at),
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
