"""The ticket service: opens, lists, claims, answers, hands back and closes tickets (see :mod:`bot.handoff`).

It changes a conversation's mode only through the callables the composition root gives it
(``Engine.hold_for_officer`` and ``Engine.release_to_bot``), so every change goes through the engine's
per-conversation lock and a turn in progress cannot overwrite it.
"""

from __future__ import annotations

import asyncio
import builtins  # the method ``list`` below hides the builtin in the class's annotations
import logging
import threading
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, literal, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from bot.core.domain import ActionName, Intent, TicketReason
from bot.core.errors import UnavailableError, ValidationFailed
from bot.core.messages import Button, ConversationKey, OutboundMessage
from bot.core.ports import ConversationStore, MessageRecord
from bot.core.redact import redact
from bot.core.responses import ResponseCatalogue, parse_payload
from bot.core.state import Mode
from bot.core.timeutil import as_utc, utcnow
from bot.handoff.model import (
    OPEN_STATUSES,
    RATING_WINDOW,
    STATUSES,
    CannedReply,
    Ticket,
    TicketError,
    TicketMessage,
    TicketNote,
    TicketNotFound,
    check_end,
    check_lost_claim,
    check_rating,
    check_reply,
)
from bot.handoff.tables import (
    CONVERSATIONS,
    OFFICERS,
    CannedReplyRow,
    TicketMessageRow,
    TicketNoteRow,
    TicketRow,
)
from knowledge.db import one_statement_engine

log = logging.getLogger(__name__)

Deliver = Callable[[OutboundMessage], Awaitable[None]]
"""Sends a message on its channel; raises :class:`bot.core.errors.UnavailableError` when it cannot."""
ModeChange = Callable[[ConversationKey], Awaitable[None]]
"""Changes a conversation's mode under the engine's lock (``Engine.hold_for_officer`` / ``release_to_bot``)."""

NOT_FOUND = "Không tìm thấy yêu cầu này."
MESSAGE_NOT_FOUND = "Không tìm thấy tin nhắn này."


def _message(row: TicketMessageRow) -> TicketMessage:
    return TicketMessage(
        id=row.id,
        ticket_id=row.ticket_id,
        sender=row.sender,
        text=row.text,
        created_at=as_utc(row.created_at) or utcnow(),
        delivered=bool(row.delivered),
        attempts=row.attempts or 0,
        last_error=row.last_error,
        officer_id=row.officer_id,
    )


_LATEST_OPEN = (
    select(TicketRow.id)
    .where(
        TicketRow.channel == bindparam("channel"),
        TicketRow.chat_id == bindparam("chat_id"),
        TicketRow.status.in_(OPEN_STATUSES),
    )
    .order_by(TicketRow.id.desc())
    .limit(1)
)
"""The id of a conversation's open ticket (the latest, should a race have opened two)."""
_latest = _LATEST_OPEN.subquery()
_CITIZEN_MESSAGE = select(
    _latest.c.id,
    literal("citizen"),
    bindparam("text", type_=TicketMessageRow.text.type),
    bindparam("at", type_=TicketMessageRow.created_at.type),
    true(),
)
_APPEND_COLUMNS = ["ticket_id", "sender", "text", "created_at", "delivered"]
_APPEND = (
    insert(TicketMessageRow)
    .from_select(_APPEND_COLUMNS, _CITIZEN_MESSAGE)
    .returning(TicketMessageRow.ticket_id)
)
"""A citizen's message added to the conversation's open ticket, found in the same statement: one round
trip (the look-up, a ``BEGIN`` and a ``COMMIT`` were six); no row, and no id back, without one."""
_APPEND_AGAIN = (
    insert(TicketMessageRow)
    .from_select(
        _APPEND_COLUMNS,
        _CITIZEN_MESSAGE.where(
            ~exists().where(
                TicketMessageRow.ticket_id == _latest.c.id,
                TicketMessageRow.sender == "citizen",
                TicketMessageRow.created_at == bindparam("at"),
                TicketMessageRow.text == bindparam("text"),
            )
        ),
    )
    .returning(TicketMessageRow.ticket_id)
)
""":data:`_APPEND` unless the ticket holds a citizen message of that time and text already."""


async def _no_channels(message: OutboundMessage) -> None:
    raise UnavailableError("channels are not started yet", retryable=True)


class TicketService:
    """Opens, lists, claims, answers, hands back and closes tickets.

    Database methods are synchronous (call them with ``asyncio.to_thread`` from async code); methods
    that deliver messages or change the conversation's mode (claim, hand back, close) are ``async``.

    Args:
        sessions: the database session factory.
        conversations: the conversation store (history for new tickets, officer and bot messages
            logged to it).
        responses: the response catalogue (texts sent to the citizen on hand-back and close).
        release: gives a conversation back to the bot (``Engine.release_to_bot``); None: nothing to tell.
        hold: silences the bot for an officer who claimed a ticket the bot was still answering
            (``Engine.hold_for_officer``); None: nothing to tell.
        deliver: sends a message on its channel (``ChannelRegistry.deliver``); set later with
            :meth:`use_delivery` when the channels start after the service is built.
        backoff: seconds between delivery attempts; the last value repeats.
        history: at most how many earlier messages a new ticket copies from the conversation log: the
            whole conversation since the last ticket of the chat was closed (the officer must see the
            first question, which a copy of the last 20 messages could miss).
        open_keys_ttl: seconds the set of conversations with an open ticket may be reused before it is
            read again (a ticket opened by another process is seen that late).
        recover_after: seconds after which an escalation saved with its turn but without a ticket is
            taken as lost (its process stopped before writing the ticket) and
            :meth:`recover_escalations` opens the ticket; the turn's own process writes it within
            milliseconds of the turn's commit.
        clock: the current UTC time; injectable for tests.
        procedure_names: a procedure's name by its code (the knowledge base), so the inbox says
            "Đăng ký khai sinh", not "1.001193"; None shows codes only.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        conversations: ConversationStore,
        responses: ResponseCatalogue,
        *,
        release: ModeChange | None = None,
        hold: ModeChange | None = None,
        deliver: Deliver | None = None,
        backoff: Sequence[float] = (10, 30, 120, 600),
        history: int = 500,
        open_keys_ttl: float = 5.0,
        recover_after: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        procedure_names: Callable[[str], str | None] | None = None,
    ) -> None:
        if not backoff:
            raise ValueError("backoff needs at least one delay")
        self._sessions = sessions
        # Reads and writes that are one statement: in autocommit on PostgreSQL (no BEGIN, COMMIT or
        # ROLLBACK round trips around them; each statement is atomic on its own).
        self._db = one_statement_engine(sessions)
        self.conversations = conversations
        self.responses = responses
        self._release_to_bot = release
        self._hold_for_officer = hold
        self._deliver: Deliver = deliver or _no_channels
        self.backoff = tuple(float(b) for b in backoff)
        self.history = history
        self.open_keys_ttl = open_keys_ttl
        self.recover_after = timedelta(seconds=recover_after)
        self.clock = clock
        self._procedure_names = procedure_names
        # Conversations with an open ticket, re-read at most every open_keys_ttl seconds: most
        # messages belong to none, and this spares them a query on every message.
        self._open_keys: set[tuple[str, str]] | None = None
        self._open_keys_read_at = 0.0
        self._open_keys_lock = threading.Lock()

    def use_delivery(self, deliver: Deliver) -> None:
        """Send messages through ``deliver`` from now on (the server passes ``ChannelRegistry.deliver``)."""
        self._deliver = deliver

    # --- opening ------------------------------------------------------------------------------------

    def open(
        self,
        key: ConversationKey,
        reason: TicketReason | str,
        *,
        procedure: str | None = None,
        dossier_code: str | None = None,
    ) -> Ticket:
        """Open a waiting ticket for ``key`` with the conversation so far; the open ticket if one exists.

        A second escalation of a conversation that already has an open ticket adds nothing: the officer
        already sees every message.
        """
        try:
            reason = TicketReason(reason)
        except ValueError:
            raise ValueError(f"unknown ticket reason {reason!r}") from None
        existing = self._open_ticket_id(key)
        if existing is not None:
            return self._require(existing)
        history = self._since_last_ticket(key, self.conversations.recent_messages(key, self.history))
        now = self.clock()
        with self._sessions.begin() as session:
            row = TicketRow(
                channel=key.channel,
                chat_id=key.chat_id,
                status="waiting",
                reason=reason.value,
                procedure_code=procedure,
                dossier_code=dossier_code,
                created_at=now,
            )
            session.add(row)
            session.flush()
            for rec in history:
                session.add(
                    TicketMessageRow(
                        ticket_id=row.id,
                        sender="citizen" if rec.direction == "in" else (rec.sender or "bot"),
                        text=redact(rec.text),
                        created_at=rec.created_at,
                        delivered=True,
                    )
                )
            ticket_id = row.id
        self._note_open(key)
        log.info("ticket %s opened for %s (%s)", ticket_id, redact(str(key)), reason.value)
        return self._require(ticket_id)

    def recover_escalations(self, limit: int = 50) -> builtins.list[int]:
        """Open the tickets of escalations whose process stopped between the turn and the ticket; their
        ids.

        The escalation's turn saves the conversation in ``with_officer`` (its last action the
        escalation) in the turn's transaction; the ticket is written after that commit, by the event
        sink. A conversation saved so more than ``recover_after`` ago that no ticket covers (none open,
        none opened or closed since it was saved) is such a lost escalation: its ticket is opened now
        with the conversation so far. The reason is read from the turn's intent (the citizen asked for
        an officer, or accepted the offer of one after misses). Called by the retry worker
        (:class:`bot.handoff.retry.DeliveryRetrier`), one process at a time.
        """
        c = CONVERSATIONS.c
        covered = exists().where(
            TicketRow.channel == c.channel,
            TicketRow.chat_id == c.chat_id,
            or_(
                TicketRow.status.in_(OPEN_STATUSES),
                TicketRow.created_at >= c.updated_at,
                TicketRow.closed_at >= c.updated_at,
            ),
        )
        stmt = (
            select(c.channel, c.chat_id, c.state)
            .where(
                c.mode == Mode.WITH_OFFICER.value,
                c.state["last_action"].as_string() == ActionName.ESCALATE.value,
                c.updated_at < self.clock() - self.recover_after,
                ~covered,
            )
            .order_by(c.updated_at)
            .limit(limit)
        )
        with self._sessions() as session:
            lost = session.execute(stmt).all()
        opened = []
        for channel, chat_id, state in lost:
            key = ConversationKey(channel, chat_id)
            asked = state.get("last_intent") == Intent.REQUEST_HUMAN.value
            reason = TicketReason.REQUEST_HUMAN if asked else TicketReason.REPEATED_FALLBACK
            ticket = self.open(
                key, reason, procedure=state.get("procedure"), dossier_code=state.get("dossier_code")
            )
            log.warning(
                "ticket %s opened for %s: its escalation was saved without a ticket",
                ticket.id,
                redact(str(key)),
            )
            opened.append(ticket.id)
        return opened

    def _since_last_ticket(self, key: ConversationKey, history: list[MessageRecord]) -> list[MessageRecord]:
        """The messages after the chat's last closed ticket (those an officer already saw), all if none."""
        with self._db.connect() as conn:
            closed = conn.scalar(
                select(func.max(TicketRow.closed_at)).where(
                    TicketRow.channel == key.channel, TicketRow.chat_id == key.chat_id
                )
            )
        if closed is None:
            return history
        since = as_utc(closed)
        return [rec for rec in history if as_utc(rec.created_at) > since]

    def _may_have_open_ticket(self, key: ConversationKey) -> bool:
        """False only when the conversation surely has no open ticket (a set re-read every few seconds).

        Tickets opened by this service are added at once; one opened by another process is seen
        within ``open_keys_ttl`` seconds.
        """
        now = time.monotonic()
        with self._open_keys_lock:
            if self._open_keys is None or now - self._open_keys_read_at > self.open_keys_ttl:
                with self._db.connect() as conn:
                    rows = conn.execute(
                        select(TicketRow.channel, TicketRow.chat_id).where(
                            TicketRow.status.in_(OPEN_STATUSES)
                        )
                    ).all()
                self._open_keys = {(channel, chat_id) for channel, chat_id in rows}
                self._open_keys_read_at = now
            return (key.channel, key.chat_id) in self._open_keys

    def _note_open(self, key: ConversationKey) -> None:
        with self._open_keys_lock:
            if self._open_keys is not None:
                self._open_keys.add((key.channel, key.chat_id))

    def _open_ticket_id(self, key: ConversationKey) -> int | None:
        with self._db.connect() as conn:
            return conn.scalar(_LATEST_OPEN, {"channel": key.channel, "chat_id": key.chat_id})

    def open_ticket(self, key: ConversationKey) -> Ticket | None:
        """The waiting or claimed ticket of a conversation, if any."""
        ticket_id = self._open_ticket_id(key)
        return self.get(ticket_id) if ticket_id is not None else None

    def append_citizen_message(
        self, key: ConversationKey, text: str, at: datetime | None = None, *, again: bool = False
    ) -> int | None:
        """Add what the citizen wrote to the conversation's open ticket; the ticket id, or None if none.

        ``again``: the message may be on the ticket already (its inbox row was taken again after the
        process that first took it died, maybe after adding it): it is added only when the ticket has
        no citizen message of the same time ``at`` (the server's receipt time, to the microsecond) and
        text, so the officer sees it once.

        One statement finds the open ticket and adds the message (:data:`_APPEND`; in autocommit on
        PostgreSQL: one round trip, its durable commit kept: the officer reads these).
        """
        if not self._may_have_open_ticket(key):
            return None
        params = {
            "channel": key.channel,
            "chat_id": key.chat_id,
            "text": redact(text),  # masked, and without the NUL PostgreSQL refuses
            "at": at or self.clock(),
        }
        with self._db.begin() as conn:
            ticket_id: int | None = conn.scalar(_APPEND_AGAIN if again else _APPEND, params)
        if ticket_id is None and again:
            return self._open_ticket_id(key)  # the message was there already (or there is no ticket)
        return ticket_id

    # --- reading ------------------------------------------------------------------------------------

    def _views(self, session: Session, rows: Iterable[Any]) -> list[Ticket]:
        """Tickets from ``TicketRow`` objects or plain rows of the ``tickets`` table (same names)."""
        rows = list(rows)
        if not rows:
            return []
        ids = [r.id for r in rows]
        owners = {r.owner_id for r in rows if r.owner_id is not None}
        names: dict[int, str] = {}
        if owners:
            names = dict(
                session.execute(
                    select(OFFICERS.c.id, OFFICERS.c.display_name).where(OFFICERS.c.id.in_(owners))
                ).all()
            )
        last: dict[int, str] = {}
        latest = (
            select(TicketMessageRow.ticket_id, func.max(TicketMessageRow.id).label("mid"))
            .where(TicketMessageRow.ticket_id.in_(ids))
            .group_by(TicketMessageRow.ticket_id)
            .subquery()
        )
        for tid, text in session.execute(
            select(TicketMessageRow.ticket_id, TicketMessageRow.text).join(
                latest, TicketMessageRow.id == latest.c.mid
            )
        ):
            last[tid] = text
        undelivered = dict(
            session.execute(
                select(TicketMessageRow.ticket_id, func.count())
                .where(TicketMessageRow.ticket_id.in_(ids), TicketMessageRow.delivered.is_(False))
                .group_by(TicketMessageRow.ticket_id)
            ).all()
        )
        seen = {r.id: r.seen_message_id or 0 for r in rows}
        firsts: dict[int, str] = {}
        unread: dict[int, int] = {}
        last_citizen: dict[int, datetime] = {}
        for tid, mid, at, text in session.execute(
            select(
                TicketMessageRow.ticket_id,
                TicketMessageRow.id,
                TicketMessageRow.created_at,
                TicketMessageRow.text,
            )
            .where(TicketMessageRow.ticket_id.in_(ids), TicketMessageRow.sender == "citizen")
            .order_by(TicketMessageRow.ticket_id, TicketMessageRow.created_at, TicketMessageRow.id)
        ):
            # The first question in words: not a button press (``/start`` on each reload of the web
            # chat, ``/request_human``), which says nothing of what the citizen needs.
            if tid not in firsts and text.strip() and parse_payload(text) is None:
                firsts[tid] = text
            if mid > seen[tid]:
                unread[tid] = unread.get(tid, 0) + 1
            at = as_utc(at)
            if tid not in last_citizen or at > last_citizen[tid]:
                last_citizen[tid] = at
        waiting = sorted(r.id for r in rows if r.status == "waiting")
        positions: dict[int, int] = {}
        if waiting:
            # One query for the whole list, not one count per ticket: with 500 waiting tickets the
            # per-ticket counts took ~170 ms of the inbox's every poll (benchmarks/bench_console.py).
            queue = list(
                session.scalars(
                    select(TicketRow.id)
                    .where(TicketRow.status == "waiting", TicketRow.id <= waiting[-1])
                    .order_by(TicketRow.id)
                )
            )
            positions = {tid: bisect_left(queue, tid) + 1 for tid in waiting}
        return [
            Ticket(
                id=r.id,
                key=ConversationKey(r.channel, r.chat_id),
                status=r.status,
                reason=r.reason,
                owner_id=r.owner_id,
                owner_name=names.get(r.owner_id) if r.owner_id is not None else None,
                procedure=r.procedure_code,
                dossier_code=r.dossier_code,
                created_at=as_utc(r.created_at) or utcnow(),
                claimed_at=as_utc(r.claimed_at),
                first_reply_at=as_utc(r.first_reply_at),
                closed_at=as_utc(r.closed_at),
                outcome=r.outcome,
                close_note=r.close_note,
                rating=r.rating,
                position=positions.get(r.id),
                last_text=last.get(r.id, ""),
                undelivered=int(undelivered.get(r.id, 0)),
                first_question=firsts.get(r.id, ""),
                procedure_name=self._procedure_name(r.procedure_code),
                unread=unread.get(r.id, 0),
                last_citizen_at=last_citizen.get(r.id),
            )
            for r in rows
        ]

    def _procedure_name(self, code: str | None) -> str | None:
        if code is None or self._procedure_names is None:
            return None
        try:
            name = self._procedure_names(code)
        except Exception:  # a name is a nicety: the inbox still shows the code
            log.exception("could not read the name of procedure %s", code)
            return None
        if not name:
            return None
        # "Thủ tục đăng ký kết hôn" -> "Đăng ký kết hôn": every line of the inbox is a procedure
        short = name[len("thủ tục ") :] if name.casefold().startswith("thủ tục ") else name
        return short[:1].upper() + short[1:]

    def get(self, ticket_id: int) -> Ticket | None:
        """One ticket, or None."""
        with self._sessions() as session:
            row = session.get(TicketRow, ticket_id)
            return self._views(session, [row])[0] if row is not None else None

    def _require(self, ticket_id: int) -> Ticket:
        ticket = self.get(ticket_id)
        if ticket is None:
            raise TicketNotFound(NOT_FOUND)
        return ticket

    def list(self, status: str = "waiting", *, owner_id: int | None = None, limit: int = 100) -> list[Ticket]:
        """Tickets in ``status`` (optionally of one officer): waiting oldest first, others latest first."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        # Plain rows, not ORM objects: building 500 TicketRow instances was a third of a list's time.
        stmt = select(*TicketRow.__table__.c).where(TicketRow.status == status)
        if owner_id is not None:
            stmt = stmt.where(TicketRow.owner_id == owner_id)
        if status == "waiting":
            stmt = stmt.order_by(TicketRow.id.asc())
        elif status == "closed":
            stmt = stmt.order_by(TicketRow.closed_at.desc(), TicketRow.id.desc())
        else:
            stmt = stmt.order_by(TicketRow.claimed_at.desc(), TicketRow.id.desc())
        with self._sessions() as session:
            return self._views(session, session.execute(stmt.limit(max(1, min(limit, 500)))).all())

    def counts(self, officer_id: int | None = None) -> dict[str, int]:
        """Counts for the inbox tabs and the newest waiting ticket's id (0: none) for the new-ticket badge."""
        with self._sessions() as session:
            rows = dict(
                session.execute(
                    select(TicketRow.status, func.count())
                    .where(TicketRow.status.in_(OPEN_STATUSES))
                    .group_by(TicketRow.status)
                ).all()
            )
            mine: int | None = 0
            if officer_id is not None:
                mine = session.scalar(
                    select(func.count())
                    .select_from(TicketRow)
                    .where(TicketRow.status == "claimed", TicketRow.owner_id == officer_id)
                )
            newest = session.scalar(select(func.max(TicketRow.id)).where(TicketRow.status == "waiting"))
        return {
            "waiting": int(rows.get("waiting", 0)),
            "claimed": int(rows.get("claimed", 0)),
            "mine": int(mine or 0),
            "newest_waiting_id": int(newest) if newest is not None else 0,
        }

    def count_waiting(self) -> int:
        """How many tickets wait for an officer."""
        with self._sessions() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(TicketRow).where(TicketRow.status == "waiting")
                )
                or 0
            )

    async def waiting_count(self) -> int:
        """:meth:`count_waiting` off the event loop (the escalation action's :class:`TicketQueue` port)."""
        return await asyncio.to_thread(self.count_waiting)

    def messages(self, ticket_id: int) -> builtins.list[TicketMessage]:
        """The messages of a ticket, oldest first."""
        with self._sessions() as session:
            stmt = (
                select(TicketMessageRow)
                .where(TicketMessageRow.ticket_id == ticket_id)
                .order_by(TicketMessageRow.created_at.asc(), TicketMessageRow.id.asc())
            )
            return [_message(r) for r in session.scalars(stmt)]

    def mark_seen(self, ticket_id: int, up_to: int) -> None:
        """An officer's page shows the ticket's messages up to id ``up_to``: they are no longer unread."""
        with self._sessions.begin() as session:
            session.execute(
                update(TicketRow)
                .where(
                    TicketRow.id == ticket_id,
                    or_(TicketRow.seen_message_id.is_(None), TicketRow.seen_message_id < up_to),
                )
                .values(seen_message_id=up_to)
                .execution_options(synchronize_session=False)
            )

    # --- private notes ------------------------------------------------------------------------------

    def add_note(self, ticket_id: int, officer_id: int, text: str) -> TicketNote:
        """A note on the ticket for officers (a colleague taking over reads it); never sent to the citizen.

        Raises:
            TicketError: an empty note.
            TicketNotFound: no such ticket.
        """
        text = text.strip()
        if not text:
            raise TicketError("Ghi chú đang trống.")
        with self._sessions.begin() as session:
            if session.get(TicketRow, ticket_id) is None:
                raise TicketNotFound(NOT_FOUND)
            row = TicketNoteRow(ticket_id=ticket_id, officer_id=officer_id, text=redact(text[:2000]))
            row.created_at = self.clock()
            session.add(row)
            session.flush()
            note_id = row.id
        return next(n for n in self.notes(ticket_id) if n.id == note_id)

    def notes(self, ticket_id: int) -> builtins.list[TicketNote]:
        """The ticket's private notes, oldest first, with their authors' names."""
        with self._sessions() as session:
            rows = session.execute(
                select(TicketNoteRow, OFFICERS.c.display_name)
                .outerjoin(OFFICERS, OFFICERS.c.id == TicketNoteRow.officer_id)
                .where(TicketNoteRow.ticket_id == ticket_id)
                .order_by(TicketNoteRow.id)
            ).all()
            return [
                TicketNote(
                    id=n.id,
                    ticket_id=n.ticket_id,
                    officer_id=n.officer_id,
                    officer_name=name,
                    text=n.text,
                    created_at=as_utc(n.created_at) or utcnow(),
                )
                for n, name in rows
            ]

    # --- canned replies -----------------------------------------------------------------------------

    def canned_replies(self) -> builtins.list[CannedReply]:
        """The ready answers officers insert into replies, by title."""
        with self._sessions() as session:
            rows = session.scalars(select(CannedReplyRow).order_by(CannedReplyRow.title, CannedReplyRow.id))
            return [
                CannedReply(r.id, r.title, r.text, r.updated_by, as_utc(r.updated_at) or utcnow())
                for r in rows
            ]

    def save_canned_reply(self, reply_id: int | None, title: str, text: str, by: str) -> CannedReply:
        """Add (``reply_id`` None) or change a canned reply.

        Raises:
            ValidationFailed: an empty or too long title or text.
            TicketNotFound: no canned reply ``reply_id``.
        """
        title, text = " ".join(title.split()), text.strip()
        problems = {}
        if not title or len(title) > 120:
            problems["title"] = "Tiêu đề cần từ 1 đến 120 ký tự."
        if not text or len(text) > 4000:
            problems["text"] = "Nội dung cần từ 1 đến 4.000 ký tự."
        if problems:
            raise ValidationFailed(" ".join(problems.values()), problems)
        with self._sessions.begin() as session:
            row = CannedReplyRow() if reply_id is None else session.get(CannedReplyRow, reply_id)
            if row is None:
                raise TicketNotFound("Không tìm thấy câu trả lời mẫu này.")
            row.title, row.text, row.updated_by, row.updated_at = title, text, by, self.clock()
            session.add(row)
            session.flush()
            return CannedReply(
                row.id, row.title, row.text, row.updated_by, as_utc(row.updated_at) or utcnow()
            )

    def delete_canned_reply(self, reply_id: int) -> None:
        """Remove a canned reply.

        Raises:
            TicketNotFound: no canned reply ``reply_id``.
        """
        with self._sessions.begin() as session:
            row = session.get(CannedReplyRow, reply_id)
            if row is None:
                raise TicketNotFound("Không tìm thấy câu trả lời mẫu này.")
            session.delete(row)

    # --- claiming -----------------------------------------------------------------------------------

    async def claim(self, ticket_id: int, officer_id: int) -> Ticket:
        """Make ``officer_id`` the owner of a waiting ticket, and hold the conversation for them.

        The update only matches while the ticket is still waiting, so when two officers claim at once
        exactly one row is updated and the other officer gets :class:`TicketError`. The winner's
        conversation then goes to ``with_officer`` through the engine's lock (``hold``), after any turn
        the bot is still answering, so that turn cannot give the conversation back to the bot.

        Raises:
            TicketNotFound: no such ticket.
            TicketError: the ticket is no longer waiting.
        """
        ticket, won = await asyncio.to_thread(self._take, ticket_id, officer_id)
        if won:
            await self._change_mode(self._hold_for_officer, ticket.key, "could not move %s to with_officer")
            # the citizen is told who took the conversation, on the normal outbound path (retried)
            await self._say(ticket, "utter_officer_joined", officer=ticket.owner_name or "")
        return ticket

    def _take(self, ticket_id: int, officer_id: int) -> tuple[Ticket, bool]:
        """The claim's database half: the ticket, and whether this call claimed it."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id, TicketRow.status == "waiting")
                .values(status="claimed", owner_id=officer_id, claimed_at=self.clock())
                .execution_options(synchronize_session=False)
            )
            won = getattr(result, "rowcount", 0) == 1
        ticket = self._require(ticket_id)
        if not won:
            check_lost_claim(ticket, officer_id)
        return ticket, won

    async def _change_mode(self, change: ModeChange | None, key: ConversationKey, failure: str) -> None:
        """Ask the engine to change the conversation's mode; a failure is logged with ``failure`` (a
        format for the key) and the ticket stands."""
        if change is None:
            return
        try:
            await change(key)
        except Exception:
            log.exception(failure, redact(str(key)))

    # --- replying -----------------------------------------------------------------------------------

    def _owned(self, session: Session, ticket_id: int, officer_id: int, *, admin: bool = False) -> TicketRow:
        row = session.get(TicketRow, ticket_id)
        if row is None:
            raise TicketNotFound(NOT_FOUND)
        check_reply(row.status, row.owner_id, officer_id, admin=admin)
        return row

    async def reply(
        self, ticket_id: int, officer_id: int, text: str, *, admin: bool = False
    ) -> TicketMessage:
        """Store the officer's reply and try to deliver it on the citizen's channel.

        The reply is stored first (``delivered = false``), so a failed delivery loses nothing: it is
        retried by :meth:`retry_due` and shown as undelivered meanwhile.

        Raises:
            TicketError: empty text or a closed ticket.
            NotYourTicket: a ticket not claimed by this officer.
            TicketNotFound: no such ticket.
        """
        text = text.strip()
        if not text:
            raise TicketError("Nội dung trả lời đang trống.")
        message_id, key = await asyncio.to_thread(self._store_reply, ticket_id, officer_id, text, admin)
        await asyncio.to_thread(self._log_out, key, text, "officer")
        return await self.attempt(message_id)

    def _store_reply(
        self, ticket_id: int, officer_id: int, text: str, admin: bool
    ) -> tuple[int, ConversationKey]:
        now = self.clock()
        with self._sessions.begin() as session:
            row = self._owned(session, ticket_id, officer_id, admin=admin)
            msg = TicketMessageRow(
                ticket_id=ticket_id,
                sender="officer",
                officer_id=officer_id,
                text=text,
                created_at=now,
                delivered=False,
                attempts=0,
                next_attempt_at=now,
            )
            session.add(msg)
            session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id, TicketRow.first_reply_at.is_(None))
                .values(first_reply_at=now)
                .execution_options(synchronize_session=False)
            )
            session.flush()
            return msg.id, ConversationKey(row.channel, row.chat_id)

    def _log_out(self, key: ConversationKey, text: str, sender: str) -> None:
        try:
            self.conversations.log([MessageRecord(key, "out", text, sender=sender, created_at=self.clock())])
        except Exception:
            log.exception("could not log a %s message of %s", sender, redact(str(key)))

    def _queue_bot_message(self, ticket_id: int, text: str, buttons: Sequence[Button] = ()) -> int:
        now = self.clock()
        with self._sessions.begin() as session:
            msg = TicketMessageRow(
                ticket_id=ticket_id,
                sender="bot",
                text=text,
                buttons=[{"title": b.title, "payload": b.payload} for b in buttons] or None,
                created_at=now,
                delivered=False,
                attempts=0,
                next_attempt_at=now,
            )
            session.add(msg)
            session.flush()
            return msg.id

    def _backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.backoff[min(max(attempts, 1), len(self.backoff)) - 1])

    async def attempt(self, message_id: int) -> TicketMessage:
        """Try to deliver one stored message now and record the outcome."""
        outbound = await asyncio.to_thread(self._outbound, message_id)
        if outbound is None:
            return await asyncio.to_thread(self._message_by_id, message_id)
        error: str | None = None
        retryable = True
        try:
            await self._deliver(outbound)
        except UnavailableError as exc:
            error, retryable = str(exc), exc.retryable
        except Exception as exc:  # a channel bug must not lose the reply
            error = f"{type(exc).__name__}: {exc}"
            log.exception("channel raised while delivering ticket message %s", message_id)
        if error is not None:
            log.warning("ticket message %s not delivered: %s", message_id, redact(error))
        return await asyncio.to_thread(self._record_attempt, message_id, error, retryable)

    def _outbound(self, message_id: int) -> OutboundMessage | None:
        with self._sessions() as session:
            msg = session.get(TicketMessageRow, message_id)
            if msg is None or msg.delivered:
                return None
            ticket = session.get(TicketRow, msg.ticket_id)
            assert ticket is not None  # foreign key
            buttons = tuple(Button(b["title"], b["payload"]) for b in msg.buttons or ())
            return OutboundMessage(
                key=ConversationKey(ticket.channel, ticket.chat_id),
                text=msg.text,
                buttons=buttons,
                sender="officer" if msg.sender == "officer" else "bot",
            )

    def _record_attempt(self, message_id: int, error: str | None, retryable: bool) -> TicketMessage:
        now = self.clock()
        with self._sessions.begin() as session:
            msg = session.get(TicketMessageRow, message_id)
            assert msg is not None
            msg.attempts = (msg.attempts or 0) + 1
            if error is None:
                msg.delivered, msg.last_error, msg.next_attempt_at = True, None, None
                # Kept whole only until delivered (an office's phone number must reach the citizen).
                msg.text = redact(msg.text)
            else:
                msg.last_error = redact(error)[:300]
                # Retrying cannot help (user blocked the bot, reply window over): wait for an officer.
                msg.next_attempt_at = now + self._backoff(msg.attempts) if retryable else None
            session.flush()
            return _message(msg)

    def _message_by_id(self, message_id: int) -> TicketMessage:
        with self._sessions() as session:
            msg = session.get(TicketMessageRow, message_id)
            if msg is None:
                raise TicketNotFound(MESSAGE_NOT_FOUND)
            return _message(msg)

    def due_for_retry(self, limit: int = 50) -> builtins.list[int]:
        """Ids of undelivered messages whose next attempt is due."""
        with self._sessions() as session:
            stmt = (
                select(TicketMessageRow.id)
                .where(
                    TicketMessageRow.delivered.is_(False),
                    TicketMessageRow.next_attempt_at.is_not(None),
                    TicketMessageRow.next_attempt_at <= self.clock(),
                )
                .order_by(TicketMessageRow.id)
                .limit(limit)
            )
            return list(session.scalars(stmt))

    async def retry_due(self) -> int:
        """Attempt every undelivered message that is due; the number delivered now."""
        delivered = 0
        for message_id in await asyncio.to_thread(self.due_for_retry):
            if (await self.attempt(message_id)).delivered:
                delivered += 1
        return delivered

    async def retry_now(self, ticket_id: int, message_id: int) -> TicketMessage:
        """An officer asks to try an undelivered message again at once."""
        msg = await asyncio.to_thread(self._message_by_id, message_id)
        if msg.ticket_id != ticket_id:
            raise TicketNotFound(MESSAGE_NOT_FOUND)
        return await self.attempt(message_id)

    # --- ending -------------------------------------------------------------------------------------

    def _end(self, ticket_id: int, officer_id: int, outcome: str, note: str, admin: bool) -> Ticket:
        now = self.clock()
        with self._sessions.begin() as session:
            row = session.get(TicketRow, ticket_id)
            if row is None:
                raise TicketNotFound(NOT_FOUND)
            check_end(row.status, row.owner_id, officer_id, admin=admin)
            result = session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id, TicketRow.status == row.status)
                .values(
                    status="closed",
                    outcome=outcome,
                    closed_at=now,
                    close_note=redact(note.strip()) or None,
                    owner_id=row.owner_id if row.owner_id is not None else officer_id,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                raise TicketError("Yêu cầu này vừa được cán bộ khác cập nhật, vui lòng tải lại trang.")
        return self._require(ticket_id)

    async def _say(self, ticket: Ticket, response: str, **variables: str) -> None:
        rendered = self.responses.render(response, **variables)
        message_id = await asyncio.to_thread(
            self._queue_bot_message, ticket.id, rendered.text, rendered.buttons
        )
        await asyncio.to_thread(self._log_out, ticket.key, rendered.text, "bot")
        await self.attempt(message_id)

    async def hand_back(
        self, ticket_id: int, officer_id: int, note: str = "", *, admin: bool = False
    ) -> Ticket:
        """Close the ticket and let the bot answer the conversation again; the citizen is told so."""
        ticket = await asyncio.to_thread(self._end, ticket_id, officer_id, "handed_back", note, admin)
        await self._change_mode(self._release_to_bot, ticket.key, "could not give %s back to the bot")
        await self._say(ticket, "utter_officer_handed_back")
        return ticket

    async def close(self, ticket_id: int, officer_id: int, note: str, *, admin: bool = False) -> Ticket:
        """Close the ticket with a note, give the conversation back to the bot and ask for a 1-5 rating."""
        ticket = await asyncio.to_thread(self._end, ticket_id, officer_id, "closed", note, admin)
        await self._change_mode(self._release_to_bot, ticket.key, "could not give %s back to the bot")
        await self._say(ticket, "utter_officer_closed")
        return ticket

    def record_rating(self, key: ConversationKey, rating: int) -> int | None:
        """File a 1-5 rating on the conversation's latest closed, unrated ticket; its id, or None.

        Only tickets closed (not handed back) within :data:`RATING_WINDOW` are rated.
        """
        check_rating(rating)
        since = self.clock() - RATING_WINDOW
        with self._sessions.begin() as session:
            ticket_id = session.scalars(
                select(TicketRow.id)
                .where(
                    TicketRow.channel == key.channel,
                    TicketRow.chat_id == key.chat_id,
                    TicketRow.outcome == "closed",
                    TicketRow.rating.is_(None),
                    TicketRow.closed_at >= since,
                )
                .order_by(TicketRow.closed_at.desc(), TicketRow.id.desc())
                .limit(1)
            ).first()
            if ticket_id is None:
                return None
            result = session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id, TicketRow.rating.is_(None))
                .values(rating=rating)
                .execution_options(synchronize_session=False)
            )
            return ticket_id if getattr(result, "rowcount", 0) == 1 else None
