"""The hand-off's tables: ``tickets`` and ``ticket_messages`` (migration 0004); ``ticket_notes``,
``canned_replies`` and ``turn_outcomes`` (migration 0009).

Both derive from the one :class:`knowledge.db.Base`. A ticket's owner and a reply's author are console
accounts (the ``users`` table of :mod:`console.auth.tables`); the hand-off sits below the console, so it
names that table only as the foreign keys do, by name (:data:`OFFICERS`), and never imports it; so for the
conversation store's table (:data:`CONVERSATIONS`). The ORM still needs ``users`` on the metadata to write
these rows (to order the inserts by foreign key): the composition root imports the console's accounts,
and ``bot.app.migrations.all_tables`` every table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, column, table
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.timeutil import utcnow
from knowledge.db import Base

OFFICERS = table("users", column("id", Integer), column("display_name", String))
"""The two columns of the console's ``users`` table the hand-off reads (an officer's name in the inbox)."""
CONVERSATIONS = table(
    "conversations",
    column("channel", String),
    column("chat_id", String),
    column("mode", String),
    column("state", JSON),
    column("updated_at", DateTime(timezone=True)),
)
"""The columns of the conversation store's ``conversations`` table (:mod:`bot.storage.sql`) the hand-off
reads to find an escalation whose ticket was never written (:meth:`TicketService.recover_escalations`)."""


class TicketRow(Base):
    """One escalated conversation."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_conversation", "channel", "chat_id", "status"),
        Index("ix_tickets_owner_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reason: Mapped[str] = mapped_column(String(32))
    procedure_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    dossier_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    first_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    close_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seen_message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The last message an officer has seen on the ticket's page (citizen messages after it are unread)."""


class TicketMessageRow(Base):
    """One message of a ticket: from the citizen, the officer or the bot (texts kept as sent)."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        Index("ix_ticket_messages_ticket_created", "ticket_id", "created_at"),
        Index("ix_ticket_messages_undelivered", "delivered", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(16))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered: Mapped[bool] = mapped_column(Boolean, default=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TicketNoteRow(Base):
    """A private note an officer wrote on a ticket: for colleagues, never sent to the citizen."""

    __tablename__ = "ticket_notes"
    __table_args__ = (Index("ix_ticket_notes_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CannedReplyRow(Base):
    """A ready answer officers insert into a reply ("Giờ làm việc của bộ phận một cửa ..."); editors keep them."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TurnOutcomeRow(Base):
    """What one turn of the bot came to (:mod:`bot.handoff.outcomes`): its kind, the question, the reply."""

    __tablename__ = "turn_outcomes"
    __table_args__ = (
        Index("ix_turn_outcomes_created", "created_at"),
        Index("ix_turn_outcomes_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), default="")
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    procedure_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    question: Mapped[str] = mapped_column(Text, default="")
    reply: Mapped[str] = mapped_column(Text, default="")
