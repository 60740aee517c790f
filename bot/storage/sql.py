"""SQL adapter of :class:`bot.core.ports.ConversationStore`: conversation states and the message log.

Two tables, portable between SQLite and PostgreSQL (generic types only):

* ``conversations``: one row per (channel, chat_id), the state as JSON, the mode copied into its own
  column (officer screens list ``with_officer`` chats), ``updated_at``.
* ``messages``: one row per message in or out, with ID and phone numbers redacted, the intent, its
  confidence and the procedure code, for officers and analytics.

A turn is written in one transaction (:meth:`SqlConversationStore.save_turn`): the state, the message
log and, for a message of the durable inbox (:mod:`bot.storage.inbox`), its row marked done and the
replies queued in the outbox. On PostgreSQL the state and the log are one statement (an upsert of the
conversation whose ``RETURNING id`` feeds the messages' insert), so a turn without an inbox row is one
round trip, in autocommit; reads are autocommit too (one ``SELECT``, no ``BEGIN`` ... ``ROLLBACK``):
``benchmarks/bench_turn_cost.py`` counts them.

The tables derive from the one :class:`knowledge.db.Base`.
"""

from __future__ import annotations

import json
import math
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
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import INBOX_ID, INBOX_TAKE, MessageRecord, TurnSuperseded
from bot.core.redact import redact
from bot.core.state import ConversationState
from bot.core.timeutil import as_utc, utcnow
from bot.storage.inbox import finish_in
from knowledge.db import Base, engine_of, one_statement_engine


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
_INSERT_MESSAGE = insert(_MESSAGES)
_SELECT_RECENT = (
    select(
        _MESSAGES.c.direction,
        _MESSAGES.c.sender,
        _MESSAGES.c.text,
        _MESSAGES.c.intent,
        _MESSAGES.c.confidence,
        _MESSAGES.c.procedure_code,
        _MESSAGES.c.created_at,
    )
    .join(_CONVERSATIONS, _MESSAGES.c.conversation_id == _CONVERSATIONS.c.id)
    .where(_BY_KEY)
    .order_by(_MESSAGES.c.created_at.desc(), _MESSAGES.c.id.desc())
    .limit(bindparam("limit"))
)
"""The last messages of a conversation by its key: one statement, no look-up of its id first."""

_sqlite_insert = sqlite.insert(_CONVERSATIONS).values(
    channel=bindparam("key_channel"),
    chat_id=bindparam("key_chat_id"),
    mode=bindparam("mode"),
    state=bindparam("state"),
    created_at=bindparam("created_at"),
    updated_at=bindparam("updated_at"),
)
_SQLITE_UPSERT = _sqlite_insert.on_conflict_do_update(
    index_elements=[_CONVERSATIONS.c.channel, _CONVERSATIONS.c.chat_id],
    set_={
        "mode": _sqlite_insert.excluded.mode,
        "state": _sqlite_insert.excluded.state,
        "updated_at": _sqlite_insert.excluded.updated_at,
    },
).returning(_CONVERSATIONS.c.id)
"""SQLite: the conversation's state saved (its row made if missing) and its id, in one statement."""

_PG_LOG_UNDER_C = """
INSERT INTO messages (conversation_id, direction, sender, "text", intent, confidence, procedure_code,
                      created_at)
SELECT c.id, m.direction, m.sender, m."text", m.intent, m.confidence, m.procedure_code, m.created_at
FROM c CROSS JOIN json_to_recordset(CAST(:rows AS json)) AS m(
    direction varchar, sender varchar, "text" text, intent varchar, confidence double precision,
    procedure_code varchar, created_at timestamptz)
"""
_PG_INSERT_ROW = """
    INSERT INTO conversations (channel, chat_id, mode, state, created_at, updated_at)
    VALUES (:key_channel, :key_chat_id, :mode, CAST(:state AS json), :created_at, :updated_at)"""
_PG_TURN = text(
    f"""
WITH c AS ({_PG_INSERT_ROW}
    ON CONFLICT (channel, chat_id) DO UPDATE
        SET mode = excluded.mode, state = excluded.state, updated_at = excluded.updated_at
    RETURNING id
)
{_PG_LOG_UNDER_C}"""
)
"""PostgreSQL: the conversation's state upserted and the turn's messages logged under its id, one
statement (a data-modifying ``WITH`` runs once and to the end, whatever the outer insert reads; with
no messages the state is still saved). The messages come as one JSON array, in order."""

_PG_LOG = text(
    f"""
WITH made AS ({_PG_INSERT_ROW}
    ON CONFLICT (channel, chat_id) DO NOTHING
    RETURNING id
), c AS (
    SELECT id FROM made
    UNION ALL
    SELECT id FROM conversations WHERE channel = :key_channel AND chat_id = :key_chat_id
)
{_PG_LOG_UNDER_C}"""
)
"""PostgreSQL: messages logged under their conversation, its row made (with a fresh state) if missing,
one statement. A row another transaction made after this statement's snapshot is neither made nor
seen: then nothing is written (the caller tries again in a transaction)."""


def _key_params(key: ConversationKey) -> dict[str, str]:
    return {"key_channel": key.channel, "key_chat_id": key.chat_id}


_NO_MESSAGE = InboundMessage(ConversationKey("", ""), "")
"""The message of a save outside a turn (no inbox row to finish)."""


class InboxRowLost(TurnSuperseded):
    """The inbox row of a turn is no longer the worker's: the turn was rolled back (written by the
    process that holds the row now)."""


class SqlConversationStore:
    """Conversation store over SQLAlchemy (SQLite or PostgreSQL).

    The per-turn paths (``load``, ``save_turn``, ``log``, ``recent_messages``) run statements built
    once, on a plain connection of the session factory's engine: one ``SELECT`` per load and per
    history read (autocommit on PostgreSQL); per save, on PostgreSQL one statement for the state and the
    log (in autocommit unless an inbox row is finished with it), on SQLite an upsert returning the id
    and one executemany. Building statements and ORM objects on every turn cost several times what
    SQLite itself does (``benchmarks/bench_engine.py``); the round trips to PostgreSQL of a turn are
    counted by ``benchmarks/bench_turn_cost.py``.

    Args:
        sessions: a session factory bound to the database (the composition root's).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._db = engine_of(sessions)
        self._postgres = self._db.dialect.name == "postgresql"
        # A read is one statement: on PostgreSQL without a transaction around it (a BEGIN and a ROLLBACK
        # are two more round trips); SQLite's driver opens none for a SELECT anyway.
        self._reads: Engine = one_statement_engine(sessions)

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
        with self._reads.connect() as conn:
            data = conn.execute(_SELECT_STATE, _key_params(key)).scalar()
        return ConversationState.from_dict(data) if data is not None else ConversationState(key=key)

    def save(self, state: ConversationState) -> None:
        self.save_turn(state, (), _NO_MESSAGE, ())

    def log(self, records: Iterable[MessageRecord]) -> None:
        records = list(records)
        if not records:
            return
        key = records[0].key
        if self._postgres and all(r.key == key for r in records):
            fresh = ConversationState(key=key)
            now = utcnow()
            params = {**self._row_params(fresh, now), "rows": self._json_rows(records)}
            with self._reads.connect() as conn:  # one statement: atomic on its own
                if conn.execute(_PG_LOG, params).rowcount == len(records):
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

        The conversation's id is never looked up apart: the upsert of its state returns it, in the
        same statement (PostgreSQL) or transaction (SQLite) as the messages written under it, so no id
        kept from earlier can be stale (a conversation purged meanwhile is simply made again). On
        PostgreSQL, a turn without an inbox row is that one statement, in autocommit.

        Raises:
            InboxRowLost: the inbox row is no longer this worker's (another process took it over after
                the lease ran out, or finished it): nothing of the turn is written.
        """
        inbox_id, take = message.metadata.get(INBOX_ID), message.metadata.get(INBOX_TAKE)
        row = (inbox_id, take) if isinstance(inbox_id, int) and isinstance(take, int) else None
        mine = [r for r in records if r.key == state.key]
        others = [r for r in records if r.key != state.key]
        for attempt in range(2):
            now = utcnow()
            try:
                if self._postgres and row is None and not others:
                    with self._reads.connect() as conn:  # one statement: atomic on its own
                        self._write_turn(conn, state, mine, now)
                    return
                with self._db.begin() as conn:
                    self._write_turn(conn, state, mine, now)
                    self._insert_records(conn, others)
                    if row is not None and not finish_in(conn, *row, replies, now):
                        raise InboxRowLost(f"inbox row {inbox_id} is no longer taken by this worker")
                return
            except IntegrityError:
                # Another worker created a conversation row of ``others`` meanwhile: the second try finds it.
                if attempt:
                    raise

    def _write_turn(
        self, conn: Connection, state: ConversationState, records: Sequence[MessageRecord], now: datetime
    ) -> None:
        """``state`` saved (its row made if missing) and ``records``, all of ``state.key``, logged."""
        params = self._row_params(state, now)
        if self._postgres:
            conn.execute(_PG_TURN, {**params, "rows": self._json_rows(records)})
            return
        conversation_id = conn.execute(_SQLITE_UPSERT, {**params, "state": state.to_dict()}).scalar_one()
        if records:
            conn.execute(
                _INSERT_MESSAGE,
                [{"conversation_id": conversation_id, **self._message_values(r)} for r in records],
            )

    @staticmethod
    def _row_params(state: ConversationState, now: datetime) -> dict[str, Any]:
        """The conversation row's values (the state as JSON text, what the PostgreSQL statements cast)."""
        return {
            **_key_params(state.key),
            "mode": state.mode.value,
            "state": json.dumps(state.to_dict()),
            "created_at": now,
            "updated_at": now,
        }

    @classmethod
    def _json_rows(cls, records: Sequence[MessageRecord]) -> str:
        """The messages as the JSON array the PostgreSQL statements read with ``json_to_recordset``."""
        rows = [cls._message_values(r) for r in records]
        for r in rows:
            r["created_at"] = r["created_at"].isoformat()
        return json.dumps(rows)

    @staticmethod
    def _message_values(rec: MessageRecord) -> dict[str, Any]:
        confidence = rec.confidence
        if confidence is not None and not math.isfinite(confidence):
            confidence = None  # JSON has no NaN; a confidence that is not a number says nothing either
        return {
            "direction": rec.direction,
            "sender": rec.sender,
            "text": redact(rec.text),
            "intent": rec.intent,
            "confidence": confidence,
            "procedure_code": rec.procedure,
            "created_at": rec.created_at,
        }

    def _insert_records(self, conn: Connection, records: Iterable[MessageRecord]) -> None:
        ids: dict[ConversationKey, int | None] = {}
        rows = []
        for rec in records:
            if rec.key not in ids:
                ids[rec.key] = self._id(conn, rec.key, create=True)
            rows.append({"conversation_id": ids[rec.key], **self._message_values(rec)})
        if rows:
            conn.execute(_INSERT_MESSAGE, rows)

    def recent_messages(self, key: ConversationKey, limit: int = 20) -> list[MessageRecord]:
        if limit <= 0:
            return []
        with self._reads.connect() as conn:
            rows = conn.execute(_SELECT_RECENT, {**_key_params(key), "limit": limit}).all()
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
        stmt = select(_CONVERSATIONS.c.channel, _CONVERSATIONS.c.chat_id).where(_CONVERSATIONS.c.mode == mode)
        with self._reads.connect() as conn:
            rows = conn.execute(stmt.order_by(_CONVERSATIONS.c.updated_at.desc())).all()
        return [ConversationKey(c, k) for c, k in rows]
