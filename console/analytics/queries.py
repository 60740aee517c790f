"""The SQL of an analytics report: one function per statement, each over the range ``since`` to
``until`` (UTC, ``until`` excluded) of the ``messages``, ``conversations`` and ``tickets`` tables.

Only portable SQL (no date functions: they differ between SQLite and PostgreSQL). What the figures mean
is in :mod:`console.analytics.report`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, distinct, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from bot.core.timeutil import as_utc
from bot.handoff.model import RATING_WINDOW
from bot.handoff.tables import TicketRow, TurnOutcomeRow
from bot.storage.sql import ConversationRow, MessageRow
from console.analytics.report import (
    FALLBACK_INTENT,
    FEEDBACK_INTENT,
    RankedItem,
    UnansweredMessage,
    rating_of,
    text_key,
)
from knowledge.models import ProcedureRow


def day_bucket(column: Any, boundaries: Sequence[datetime], lo: int = 0, hi: int | None = None) -> Any:
    """A portable SQL expression giving the index of the day ``column`` falls in.

    ``boundaries[i]`` is the start of day ``i`` (UTC); rows are already limited to the range. A balanced
    tree of ``CASE`` expressions: each row is compared about log2(days) times, with no date function
    (they differ between SQLite and PostgreSQL).
    """
    hi = len(boundaries) if hi is None else hi
    if hi - lo <= 1:
        return literal(lo, Integer)
    mid = (lo + hi) // 2
    return case(
        (column < boundaries[mid], day_bucket(column, boundaries, lo, mid)),
        else_=day_bucket(column, boundaries, mid, hi),
    )


def count_if(condition: ColumnElement[bool]) -> Any:
    """``COUNT`` of the rows where ``condition`` holds."""
    return func.count(case((condition, 1)))


def unanswered_condition(low_confidence: float) -> ColumnElement[bool]:
    """The SQL test of an unanswered message (see :mod:`console.analytics.report`): a citizen's turn that fell
    back or whose confidence is below ``low_confidence``. The editors' inbox (:mod:`console.learning.inbox`)
    uses the same test."""
    m = MessageRow
    return and_(
        m.direction == "in",
        m.intent.is_not(None),
        or_(m.intent == FALLBACK_INTENT, m.confidence < low_confidence),
    )


def in_range(column: Any, since: datetime, until: datetime) -> ColumnElement[bool]:
    """``since <= column < until``."""
    return and_(column >= since, column < until)


def daily(
    session: Session, boundaries: Sequence[datetime], since: datetime, until: datetime
) -> dict[tuple[int, str], dict[str, int]]:
    """Message counts per (day index, channel): one pass over the range's messages."""
    m = MessageRow
    rows = (
        select(
            day_bucket(m.created_at, boundaries).label("day"),
            ConversationRow.channel.label("channel"),
            m.conversation_id.label("conversation_id"),
            m.direction.label("direction"),
            m.intent.label("intent"),
        )
        .join(ConversationRow, ConversationRow.id == m.conversation_id)
        .where(in_range(m.created_at, since, until))
        .subquery()
    )
    incoming = rows.c.direction == "in"
    turn = and_(incoming, rows.c.intent.is_not(None))
    stmt = select(
        rows.c.day,
        rows.c.channel,
        func.count(distinct(case((incoming, rows.c.conversation_id)))),
        count_if(incoming),
        count_if(rows.c.direction == "out"),
        count_if(turn),
    ).group_by(rows.c.day, rows.c.channel)
    out: dict[tuple[int, str], dict[str, int]] = {}
    # understood and fallbacks are read from what each turn came to (outcomes), not from the intent
    for day, channel, convs, m_in, m_out, turns in session.execute(stmt):
        out[(int(day), str(channel))] = {
            "conversations": int(convs),
            "messages_in": int(m_in),
            "messages_out": int(m_out),
            "turns": int(turns),
        }
    return out


def outcomes(session: Session, since: datetime, until: datetime) -> list[tuple[str, str, datetime, str]]:
    """What each turn from ``since`` to ``until`` came to, as (channel, chat id, time, kind), in order of
    conversation then time (``turn_outcomes``, :mod:`bot.handoff.outcomes`)."""
    o = TurnOutcomeRow
    stmt = (
        select(o.channel, o.chat_id, o.created_at, o.kind)
        .where(in_range(o.created_at, since, until))
        .order_by(o.channel, o.chat_id, o.created_at, o.id)
    )
    return [(str(ch), str(chat), as_utc(at), str(kind)) for ch, chat, at, kind in session.execute(stmt)]


def conversations(session: Session, since: datetime, until: datetime) -> dict[str, tuple[int, int]]:
    """Per channel: conversations in which the citizen wrote in the range, and how many were escalated."""
    active = (
        select(MessageRow.conversation_id.label("id"))
        .where(MessageRow.direction == "in", in_range(MessageRow.created_at, since, until))
        .distinct()
        .subquery()
    )
    ticket_opened = (
        exists()
        .where(
            TicketRow.channel == ConversationRow.channel,
            TicketRow.chat_id == ConversationRow.chat_id,
            in_range(TicketRow.created_at, since, until),
        )
        .correlate(ConversationRow)
    )
    stmt = (
        select(ConversationRow.channel, func.count(), count_if(ticket_opened))
        .join(active, active.c.id == ConversationRow.id)
        .group_by(ConversationRow.channel)
    )
    return {str(ch): (int(n), int(esc)) for ch, n, esc in session.execute(stmt)}


def tickets(session: Session, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Tickets opened in the range, and rated tickets closed in it or just before (their ratings
    may have been given in the range)."""
    t = TicketRow
    stmt = select(
        t.channel, t.chat_id, t.reason, t.created_at, t.first_reply_at, t.closed_at, t.rating
    ).where(
        or_(
            in_range(t.created_at, since, until),
            and_(
                t.rating.is_not(None),
                t.outcome == "closed",
                in_range(t.closed_at, since - RATING_WINDOW, until),
            ),
        )
    )
    return [
        {
            "channel": row.channel,
            "chat_id": row.chat_id,
            "reason": row.reason,
            "created_at": as_utc(row.created_at),
            "first_reply_at": as_utc(row.first_reply_at) if row.first_reply_at else None,
            "closed_at": as_utc(row.closed_at) if row.closed_at else None,
            "rating": row.rating,
        }
        for row in session.execute(stmt)
    ]


def feedback(session: Session, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Ratings of ``give_feedback`` messages from the range (and the rating window before it)."""
    m = MessageRow
    stmt = (
        select(ConversationRow.channel, ConversationRow.chat_id, m.text, m.confidence, m.created_at)
        .join(ConversationRow, ConversationRow.id == m.conversation_id)
        .where(
            m.direction == "in",
            m.intent == FEEDBACK_INTENT,
            in_range(m.created_at, since - RATING_WINDOW, until),
        )
        .order_by(m.created_at, m.id)
    )
    out = []
    for channel, chat_id, text, confidence, created_at in session.execute(stmt):
        rating = rating_of(text, confidence)
        if rating is not None:
            out.append({"channel": channel, "chat_id": chat_id, "rating": rating, "at": as_utc(created_at)})
    return out


def top_procedures(session: Session, since: datetime, until: datetime, top: int) -> list[RankedItem]:
    """The ``top`` procedures citizens asked about, by conversations then turns."""
    m = MessageRow
    turns = func.count().label("turns")
    convs = func.count(distinct(m.conversation_id)).label("convs")
    stmt = (
        select(m.procedure_code, ProcedureRow.name, turns, convs)
        .outerjoin(ProcedureRow, ProcedureRow.code == m.procedure_code)
        .where(
            m.direction == "in",
            m.procedure_code.is_not(None),
            in_range(m.created_at, since, until),
        )
        .group_by(m.procedure_code, ProcedureRow.name)
        .order_by(convs.desc(), turns.desc(), m.procedure_code)
        .limit(top)
    )
    return [
        RankedItem(key=str(code), label=name or "", turns=int(n), conversations=int(c))  # never NULL here
        for code, name, n, c in session.execute(stmt)
    ]


def top_intents(session: Session, since: datetime, until: datetime, top: int) -> list[RankedItem]:
    """The ``top`` intents of citizens' turns, by turns then conversations."""
    m = MessageRow
    turns = func.count().label("turns")
    convs = func.count(distinct(m.conversation_id)).label("convs")
    stmt = (
        select(m.intent, turns, convs)
        .where(m.direction == "in", m.intent.is_not(None), in_range(m.created_at, since, until))
        .group_by(m.intent)
        .order_by(turns.desc(), convs.desc(), m.intent)
        .limit(top)
    )
    return [
        RankedItem(key=str(intent), label="", turns=int(n), conversations=int(c))  # never NULL here
        for intent, n, c in session.execute(stmt)
    ]


def unanswered(
    session: Session, since: datetime, until: datetime, low_confidence: float, top: int
) -> list[UnansweredMessage]:
    """Fallback and low-confidence turns grouped by text in SQL, then by normalised text here."""
    m = MessageRow
    fell_back = m.intent == FALLBACK_INTENT
    stmt = (
        select(m.text, func.count(), count_if(fell_back), func.max(m.created_at))
        .where(unanswered_condition(low_confidence), in_range(m.created_at, since, until))
        .group_by(m.text)
    )
    groups: dict[str, dict[str, Any]] = {}
    for text, count, fallbacks, last in session.execute(stmt):
        key = text_key(text)
        if not key:
            continue
        group = groups.setdefault(key, {"spellings": Counter(), "count": 0, "fallbacks": 0, "last": None})
        group["spellings"][text] += int(count)
        group["count"] += int(count)
        group["fallbacks"] += int(fallbacks)
        last = as_utc(last)
        group["last"] = last if group["last"] is None else max(group["last"], last)
    items = [
        UnansweredMessage(
            # the most frequent spelling; ties go to the alphabetically first
            text=min(g["spellings"].items(), key=lambda kv: (-kv[1], kv[0]))[0],
            count=g["count"],
            fallbacks=g["fallbacks"],
            last_seen=g["last"],
        )
        for g in groups.values()
    ]
    items.sort(key=lambda u: (-u.count, -u.last_seen.timestamp(), u.text))
    return items[:top]
