"""The durable inbox and outbox (issue 12): no acknowledged message is lost, no turn is answered twice.

Two tables, portable between SQLite and PostgreSQL (generic types only, migration 0009):

* ``inbox``: one row per platform update (Telegram ``update_id``, Zalo ``msg_id``, Zalo Bot
  ``message_id``), written before the webhook answers 200. The unique ``(channel, message_id)`` is the
  deduplication: a redelivery is dropped only against a row already stored. Workers take rows in order
  per conversation (a row waits while an earlier row of its chat is unfinished), for a lease: a row
  taken by a process that died is taken again when the lease runs out. On PostgreSQL the take is
  ``SELECT ... FOR UPDATE SKIP LOCKED`` then a compare-and-set ``UPDATE``, so any number of processes
  take rows without waiting on each other; SQLite (the one-process default) serialises writers and
  the same compare-and-set decides.
* ``outbox``: one row per reply to a platform chat, written in the transaction that marks its inbox
  row done (the turn's own transaction, :meth:`bot.storage.sql.SqlConversationStore.save_turn`), so a
  turn's replies are queued exactly once; the unique ``(inbox_id, position)`` makes a second set
  impossible. A sender delivers them in order per chat, retrying what the platform refused for now.
  Right before the request that hands a reply to the platform the row is stamped ``sending_at``. A
  process that dies between that stamp and recording the platform's answer cannot know whether the
  reply arrived; the next process sends it again, logged as a possible duplicate: a lost answer is
  worse than a repeated one, and no platform API here takes an idempotency key. So a reply is sent
  twice only if it was on the wire when its process died (the fault test checks exactly that).

Personal data: a row's message (the citizen's text, the bot's reply) is cleared once the row is
finished or delivered; the row itself (ids, chat, status, times) stays for ``keep`` (7 days by default:
longer than any platform redelivers — Telegram keeps an unconfirmed update 24 hours, Zalo OA events
older than the event window are refused anyway) so a late redelivery is still recognised, then it is
pruned.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, sessionmaker

from bot.core.messages import Button, ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import InboxItem, OutboxItem
from bot.core.redact import redact
from bot.core.timeutil import as_utc, utcnow
from knowledge.db import Base, engine_of

log = logging.getLogger(__name__)

PENDING, TAKEN, DONE, FAILED, SENT = "pending", "taken", "done", "failed", "sent"
DEFAULT_KEEP = timedelta(days=7)


class InboxRow(Base):
    """One platform update, stored before the webhook answered."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "message_id", name="uq_inbox_channel_message"),
        Index("ix_inbox_status_id", "status", "id"),
        Index("ix_inbox_chat", "channel", "chat_id", "id"),
        Index("ix_inbox_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str] = mapped_column(String(128))
    message: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OutboxRow(Base):
    """One reply to a platform chat, waiting for (or past) its delivery."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("inbox_id", "position", name="uq_outbox_turn"),
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat", "channel", "chat_id", "id"),
        Index("ix_outbox_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(128))
    inbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sending_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


_INBOX = cast(Table, InboxRow.__table__)
_OUTBOX = cast(Table, OutboxRow.__table__)


# --- messages as JSON -----------------------------------------------------------------------------------


def inbound_to_json(message: InboundMessage) -> dict[str, Any]:
    """``message`` as a JSON object (metadata values that JSON cannot hold become their text)."""
    return {
        "text": message.text,
        "message_id": message.message_id,
        "sender_name": message.sender_name,
        "is_button": message.is_button,
        "received_at": message.received_at.isoformat(),
        "metadata": json.loads(json.dumps(message.metadata, default=str)),
    }


def inbound_from_json(channel: str, chat_id: str, data: dict[str, Any]) -> InboundMessage:
    """The message :func:`inbound_to_json` stored."""
    return InboundMessage(
        key=ConversationKey(channel, chat_id),
        text=str(data.get("text", "")),
        message_id=data.get("message_id"),
        sender_name=str(data.get("sender_name", "")),
        is_button=bool(data.get("is_button", False)),
        received_at=as_utc(datetime.fromisoformat(data["received_at"]))
        if data.get("received_at")
        else utcnow(),
        metadata=dict(data.get("metadata") or {}),
    )


def outbound_to_json(message: OutboundMessage) -> dict[str, Any]:
    """``message`` as a JSON object (its key is in the row's own columns)."""
    return {
        "text": message.text,
        "buttons": [[b.title, b.payload] for b in message.buttons],
        "links": [[title, url] for title, url in message.links],
        "sender": message.sender,
        "image": message.image,
        "custom": message.custom,
    }


def outbound_from_json(channel: str, chat_id: str, data: dict[str, Any]) -> OutboundMessage:
    """The reply :func:`outbound_to_json` stored."""
    return OutboundMessage(
        key=ConversationKey(channel, chat_id),
        text=str(data.get("text", "")),
        buttons=tuple(Button(str(t), str(p)) for t, p in data.get("buttons") or ()),
        links=tuple((str(t), str(u)) for t, u in data.get("links") or ()),
        sender=str(data.get("sender", "bot")),
        image=data.get("image"),
        custom=data.get("custom"),
    )


# --- finishing a turn, inside a caller's transaction ------------------------------------------------------


def finish_in(
    conn: Connection, inbox_id: int, take: int, replies: Sequence[OutboundMessage], now: datetime
) -> bool:
    """Mark inbox row ``inbox_id`` done and queue ``replies`` in the outbox, on ``conn``'s transaction.

    ``take`` is the row's ``attempts`` when this worker took it (the fencing token). Returns False (and
    writes nothing) when that take is over: the row was finished already (by the turn's own
    transaction), or another process took it after this one's lease ran out.
    """
    done = conn.execute(
        update(_INBOX)
        .where(_INBOX.c.id == inbox_id, _INBOX.c.status == TAKEN, _INBOX.c.attempts == take)
        .values(status=DONE, finished_at=now, lease_until=None, message=None)
    )
    if done.rowcount != 1:
        return False
    _queue(conn, replies, inbox_id, now)
    return True


def queue_in(conn: Connection, replies: Sequence[OutboundMessage], now: datetime) -> None:
    """Queue replies that belong to no inbox row (a notice, an officer's message) on ``conn``."""
    _queue(conn, replies, None, now)


def _queue(conn: Connection, replies: Sequence[OutboundMessage], inbox_id: int | None, now: datetime) -> None:
    if not replies:
        return
    conn.execute(
        insert(_OUTBOX),
        [
            {
                "channel": reply.key.channel,
                "chat_id": reply.key.chat_id,
                "inbox_id": inbox_id,
                "position": position if inbox_id is not None else 0,
                "message": outbound_to_json(reply),
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for position, reply in enumerate(replies)
        ],
    )


class SqlInbox:
    """The durable inbox (:class:`bot.core.ports.Inbox`) over SQLAlchemy.

    Args:
        sessions: the session factory of the database.
        lease: how long a taken row belongs to its worker; after that another process may take it
            (longer than any turn: a turn takes well under a second, a slow NLU a few).
        max_attempts: a row taken this many times without being finished (it crashed every process that
            took it) is set aside as failed, so the chat's later messages go on.
        keep: how long a finished row (the deduplication record) is kept.
        clock: the current time (UTC aware); tests move it to expire leases.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 5,
        keep: timedelta = DEFAULT_KEEP,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = engine_of(sessions)
        self.lease = lease
        self.max_attempts = max_attempts
        self.keep = keep
        self._clock = clock
        self._postgres = self._db.dialect.name == "postgresql"

    def add(self, message: InboundMessage) -> bool:
        """Store ``message`` (committed when this returns); False when it is a redelivery."""
        if message.message_id is None:
            raise ValueError("a message without a platform id cannot be stored in the inbox")
        values = {
            "channel": message.key.channel,
            "message_id": message.message_id[:128],
            "chat_id": message.key.chat_id,
            "message": inbound_to_json(message),
            "status": PENDING,
            "attempts": 0,
            "created_at": self._clock(),
        }
        dialect_insert = pg_insert if self._postgres else sqlite_insert
        stmt = (
            dialect_insert(_INBOX)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["channel", "message_id"])
            .returning(_INBOX.c.id)
        )
        with self._db.begin() as conn:
            return conn.execute(stmt).first() is not None

    @staticmethod
    def _free(now: datetime) -> Any:
        """Pending, or taken by a worker whose lease ran out."""
        return or_(_INBOX.c.status == PENDING, and_(_INBOX.c.status == TAKEN, _INBOX.c.lease_until < now))

    def _takeable(self, now: datetime) -> Any:
        earlier = aliased(_INBOX)
        blocked = exists().where(
            earlier.c.channel == _INBOX.c.channel,
            earlier.c.chat_id == _INBOX.c.chat_id,
            earlier.c.id < _INBOX.c.id,
            earlier.c.status.in_((PENDING, TAKEN)),
        )
        return and_(self._free(now), ~blocked)

    def claim(self) -> InboxItem | None:
        """Take the oldest takeable row for a lease (see the module's docstring)."""
        while True:
            now = self._clock()
            stmt = (
                select(_INBOX.c.id, _INBOX.c.channel, _INBOX.c.chat_id, _INBOX.c.message, _INBOX.c.attempts)
                .where(self._takeable(now))
                .order_by(_INBOX.c.id)
                .limit(1)
            )
            if self._postgres:
                stmt = stmt.with_for_update(skip_locked=True, of=_INBOX)
            with self._db.begin() as conn:
                row = conn.execute(stmt).first()
                if row is None:
                    return None
                if row.attempts >= self.max_attempts or row.message is None:
                    conn.execute(
                        update(_INBOX)
                        .where(_INBOX.c.id == row.id)
                        .values(status=FAILED, finished_at=now, lease_until=None, message=None)
                    )
                    log.error(
                        "inbox row %s of %s set aside after %s attempts",
                        row.id,
                        redact(f"{row.channel}:{row.chat_id}"),
                        row.attempts,
                    )
                    continue
                taken = conn.execute(
                    update(_INBOX)
                    .where(_INBOX.c.id == row.id, self._free(now))
                    .values(status=TAKEN, attempts=row.attempts + 1, lease_until=now + self.lease)
                )
                if taken.rowcount != 1:
                    continue  # another process took it between our select and update (SQLite)
                if row.attempts:
                    log.warning("inbox row %s taken again (attempt %s)", row.id, row.attempts + 1)
                message = inbound_from_json(row.channel, row.chat_id, dict(row.message))
                return InboxItem(int(row.id), message, int(row.attempts) + 1)

    def finish(self, item: InboxItem, replies: Sequence[OutboundMessage]) -> bool:
        """Mark the row done and queue ``replies``; False when this take of it is over."""
        with self._db.begin() as conn:
            return finish_in(conn, item.id, item.attempts, replies, self._clock())

    def unfinished(self) -> int:
        """Rows stored and not yet finished."""
        with self._db.connect() as conn:
            stmt = select(func.count()).select_from(_INBOX).where(_INBOX.c.status.in_((PENDING, TAKEN)))
            return int(conn.execute(stmt).scalar() or 0)

    def prune(self) -> int:
        """Delete finished rows created more than ``keep`` ago."""
        cutoff = self._clock() - self.keep
        with self._db.begin() as conn:
            result = conn.execute(
                delete(_INBOX).where(_INBOX.c.created_at < cutoff, _INBOX.c.status.in_((DONE, FAILED)))
            )
            return int(result.rowcount or 0)


class SqlOutbox:
    """The durable outbox (:class:`bot.core.ports.Outbox`) over SQLAlchemy.

    Args:
        sessions: the session factory of the database.
        lease: how long a reply being delivered belongs to its sender (a channel's own retries of one
            send take up to about half a minute under flood control).
        keep: how long a delivered or failed row is kept (its text is cleared at once).
        clock: the current time (UTC aware).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lease: timedelta = timedelta(seconds=120),
        keep: timedelta = DEFAULT_KEEP,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = engine_of(sessions)
        self.lease = lease
        self.keep = keep
        self._clock = clock

    def put(self, replies: Sequence[OutboundMessage]) -> None:
        """Queue replies that belong to no turn of the inbox."""
        with self._db.begin() as conn:
            queue_in(conn, replies, self._clock())

    def due_chats(self, limit: int = 100) -> list[ConversationKey]:
        """Chats whose oldest undelivered reply is due and not being delivered, oldest first."""
        now = self._clock()
        earlier = aliased(_OUTBOX)
        waiting = exists().where(
            earlier.c.channel == _OUTBOX.c.channel,
            earlier.c.chat_id == _OUTBOX.c.chat_id,
            earlier.c.id < _OUTBOX.c.id,
            earlier.c.status == PENDING,
        )
        stmt = (
            select(_OUTBOX.c.channel, _OUTBOX.c.chat_id)
            .where(
                _OUTBOX.c.status == PENDING,
                _OUTBOX.c.next_attempt_at <= now,
                or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < now),
                ~waiting,
            )
            .order_by(_OUTBOX.c.id)
            .limit(limit)
        )
        with self._db.connect() as conn:
            return [ConversationKey(c, k) for c, k in conn.execute(stmt)]

    def claim_next(self, key: ConversationKey) -> OutboxItem | None:
        """The chat's oldest undelivered reply, leased, when it is due and not leased by another sender."""
        now = self._clock()
        with self._db.begin() as conn:
            row = conn.execute(
                select(
                    _OUTBOX.c.id,
                    _OUTBOX.c.message,
                    _OUTBOX.c.attempts,
                    _OUTBOX.c.next_attempt_at,
                    _OUTBOX.c.lease_until,
                    _OUTBOX.c.sending_at,
                )
                .where(
                    _OUTBOX.c.channel == key.channel,
                    _OUTBOX.c.chat_id == key.chat_id,
                    _OUTBOX.c.status == PENDING,
                )
                .order_by(_OUTBOX.c.id)
                .limit(1)
            ).first()
            if row is None or as_utc(row.next_attempt_at) > now:
                return None
            if row.lease_until is not None and as_utc(row.lease_until) >= now:
                return None
            if row.sending_at is not None:
                log.warning(
                    "reply %s of %s was on the wire when its process stopped: sent again (maybe twice)",
                    row.id,
                    redact(str(key)),
                )
            taken = conn.execute(
                update(_OUTBOX)
                .where(
                    _OUTBOX.c.id == row.id,
                    _OUTBOX.c.status == PENDING,
                    or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < now),
                )
                .values(lease_until=now + self.lease, attempts=row.attempts + 1, sending_at=None)
            )
            if taken.rowcount != 1:
                return None
        message = outbound_from_json(key.channel, key.chat_id, dict(row.message or {}))
        return OutboxItem(int(row.id), message, int(row.attempts) + 1)

    def on_the_wire(self, item_id: int) -> None:
        """The reply is being handed to the platform now (a crash from here on must not resend it)."""
        with self._db.begin() as conn:
            conn.execute(update(_OUTBOX).where(_OUTBOX.c.id == item_id).values(sending_at=self._clock()))

    def _end(self, item_id: int, **values: Any) -> None:
        with self._db.begin() as conn:
            conn.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id == item_id)
                .values(lease_until=None, sending_at=None, **values)
            )

    def sent(self, item_id: int) -> None:
        """Delivered: the text is cleared, the row kept for ``keep``."""
        self._end(item_id, status=SENT, finished_at=self._clock(), message=None, last_error=None)

    def retry_at(self, item_id: int, at: datetime, reason: str) -> None:
        """Not delivered for now: due again at ``at`` (the chat's later replies wait)."""
        self._end(item_id, next_attempt_at=at, last_error=redact(reason)[:300])

    def failed(self, item_id: int, reason: str) -> None:
        """Not deliverable (blocked, outside the reply window, attempts used up)."""
        self._end(
            item_id, status=FAILED, finished_at=self._clock(), message=None, last_error=redact(reason)[:300]
        )

    def waiting_for(self, key: ConversationKey) -> int:
        """Replies to ``key`` still waiting."""
        with self._db.connect() as conn:
            stmt = (
                select(func.count())
                .select_from(_OUTBOX)
                .where(_OUTBOX.c.channel == key.channel, _OUTBOX.c.chat_id == key.chat_id)
                .where(_OUTBOX.c.status == PENDING)
            )
            return int(conn.execute(stmt).scalar() or 0)

    def undelivered(self) -> int:
        """Replies still waiting (due or not)."""
        with self._db.connect() as conn:
            stmt = select(func.count()).select_from(_OUTBOX).where(_OUTBOX.c.status == PENDING)
            return int(conn.execute(stmt).scalar() or 0)

    def prune(self) -> int:
        """Delete delivered and failed rows created more than ``keep`` ago."""
        cutoff = self._clock() - self.keep
        with self._db.begin() as conn:
            result = conn.execute(
                delete(_OUTBOX).where(_OUTBOX.c.created_at < cutoff, _OUTBOX.c.status.in_((SENT, FAILED)))
            )
            return int(result.rowcount or 0)
