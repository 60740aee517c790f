"""The inbox of the learning loop: citizen messages the bot did not answer well, grouped by text, with
the editors' decisions on each group (see :mod:`console.learning`).

The groups are read with SQL over the bot's message log (:mod:`bot.storage.sql`) and the officers'
tickets (:mod:`bot.handoff.tables`): a rating filed on a ticket rates the officer, not the bot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.responses import parse_payload
from bot.core.timeutil import as_utc
from bot.handoff.model import RATING_WINDOW
from bot.handoff.outcomes import FAQ, OUT_OF_SCOPE
from bot.handoff.tables import TicketRow, TurnOutcomeRow
from bot.storage.sql import ConversationRow, MessageRow
from console.analytics.queries import unanswered_condition
from console.analytics.report import FALLBACK_INTENT, FEEDBACK_INTENT, rating_of, text_key
from console.learning.errors import LearningRefused
from console.learning.tables import ReviewItemRow, key_of

Status = Literal["open", "assigned", "dismissed", "all"]
STATUS_LABELS = {"open": "Chưa xử lý", "assigned": "Đã gán", "dismissed": "Đã bỏ qua", "all": "Tất cả"}


@dataclass(frozen=True)
class InboxItem:
    """One group of the inbox.

    Attributes:
        key: the group's key (:func:`key_of`), used to assign or dismiss it.
        text: the most frequent spelling as logged.
        count: messages in the group (unanswered plus negatively rated).
        fallbacks: of them, how many fell back.
        low_confidence: how many were understood with a low confidence.
        negative_ratings: how many answers the citizen then rated 1 or 2.
        out_of_scope: how many the bot refused as out of its scope.
        faq_answered: how many it answered from the FAQ.
        bot_reply: what the bot replied to the latest refused or FAQ-answered one.
        last_seen: the latest of them (UTC).
        guessed_intent: what the NLU thought most often (not a fallback), to pre-fill the form.
        guessed_procedure: the procedure it linked most often.
        status: ``open``, ``assigned`` or ``dismissed``.
        intent, procedure_code, faq_id: what it was assigned to.
        resolved_by, resolved_at: who decided, when.
    """

    key: str
    text: str
    count: int
    fallbacks: int
    low_confidence: int
    negative_ratings: int
    last_seen: datetime
    out_of_scope: int = 0
    faq_answered: int = 0
    bot_reply: str | None = None
    guessed_intent: str | None = None
    guessed_procedure: str | None = None
    status: str = "open"
    intent: str | None = None
    procedure_code: str | None = None
    faq_id: int | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None


@dataclass
class _Group:
    spellings: Counter[str] = field(default_factory=Counter)
    fallbacks: int = 0
    low: int = 0
    negative: int = 0
    out_of_scope: int = 0
    faq: int = 0
    reply: str | None = None
    reply_at: datetime | None = None
    last: datetime | None = None
    intents: Counter[str] = field(default_factory=Counter)
    procedures: Counter[str] = field(default_factory=Counter)

    def add(self, text: str, n: int, at: datetime, intent: str | None, code: str | None) -> None:
        self.spellings[text] += n
        self.last = at if self.last is None else max(self.last, at)
        if intent and intent not in (FALLBACK_INTENT, FEEDBACK_INTENT):
            self.intents[intent] += n
        if code:
            self.procedures[code] += n


class Inbox:
    """Reads the inbox: the groups of unanswered and negatively rated messages and what editors decided.

    Args:
        sessions: the database.
        low_confidence: below this confidence an understood message counts as unanswered.
        negative_rating_at_most: a rating of the bot at or below this marks the answer before it as
            badly answered.
    """

    def __init__(
        self, sessions: sessionmaker[Session], *, low_confidence: float, negative_rating_at_most: int
    ) -> None:
        self._sessions = sessions
        self.low_confidence = low_confidence
        self.negative_rating_at_most = negative_rating_at_most

    def items(self, status: Status = "open", limit: int = 200) -> list[InboxItem]:
        """Groups of unanswered and negatively rated messages, most frequent first (then latest).

        ``status``: ``open`` (not decided yet), ``assigned``, ``dismissed`` or ``all``.

        Raises:
            LearningRefused: an unknown ``status``.
        """
        if status not in STATUS_LABELS:
            raise LearningRefused(
                f"Bộ lọc «{status}» không có; hãy chọn một trong: {', '.join(STATUS_LABELS)}."
            )
        with self._sessions() as session:
            groups = self._groups(session)
            decided = {r.text_key: r for r in session.scalars(select(ReviewItemRow))}
        items = []
        for key, g in groups.items():
            row = decided.get(key)
            item_status = row.status if row is not None else "open"
            if status != "all" and item_status != status:
                continue
            assert g.last is not None
            items.append(
                InboxItem(
                    key=key,
                    text=min(g.spellings.items(), key=lambda kv: (-kv[1], kv[0]))[0],
                    count=g.fallbacks + g.low + g.negative + g.out_of_scope + g.faq,
                    fallbacks=g.fallbacks,
                    low_confidence=g.low,
                    negative_ratings=g.negative,
                    last_seen=g.last,
                    out_of_scope=g.out_of_scope,
                    faq_answered=g.faq,
                    bot_reply=g.reply,
                    guessed_intent=g.intents.most_common(1)[0][0] if g.intents else None,
                    guessed_procedure=g.procedures.most_common(1)[0][0] if g.procedures else None,
                    status=item_status,
                    intent=row.intent if row else None,
                    procedure_code=row.procedure_code if row else None,
                    faq_id=row.faq_id if row else None,
                    resolved_by=row.resolved_by if row else None,
                    resolved_at=as_utc(row.resolved_at) if row else None,
                )
            )
        items.sort(key=lambda i: (-i.count, -i.last_seen.timestamp(), i.text))
        return items[: max(1, limit)]

    def _groups(self, session: Session) -> dict[str, _Group]:
        m = MessageRow
        groups: dict[str, _Group] = {}
        stmt = (
            select(m.text, m.intent, m.procedure_code, func.count(), func.max(m.created_at))
            .where(unanswered_condition(self.low_confidence))
            .group_by(m.text, m.intent, m.procedure_code)
        )
        for text, intent, code, n, last in session.execute(stmt):
            if not text_key(text) or parse_payload(text) is not None:
                continue
            g = groups.setdefault(key_of(text), _Group())
            g.add(text, int(n), as_utc(last), intent, code)
            if intent == FALLBACK_INTENT:
                g.fallbacks += int(n)
            else:
                g.low += int(n)
        self._answered_apart(session, groups)
        for text, intent, code, at in self._negatively_rated(session):
            g = groups.setdefault(key_of(text), _Group())
            g.add(text, 1, at, intent, code)
            g.negative += 1
        return groups

    def _answered_apart(self, session: Session, groups: dict[str, _Group]) -> None:
        """Add the refused and the FAQ-answered questions, each group keeping the bot's latest reply; one
        already counted as low-confidence or fallen back is not counted again."""
        o = TurnOutcomeRow
        stmt = select(
            o.question, o.kind, o.intent, o.confidence, o.procedure_code, o.reply, o.created_at
        ).where(o.kind.in_((OUT_OF_SCOPE, FAQ)))
        for text, kind, intent, confidence, code, reply, created in session.execute(stmt):
            if not text_key(text) or parse_payload(text) is not None:
                continue
            at = as_utc(created)
            counted = intent == FALLBACK_INTENT or (
                confidence is not None and confidence < self.low_confidence
            )
            g = groups.get(key_of(text)) if counted else groups.setdefault(key_of(text), _Group())
            if g is None:
                continue
            if not counted:
                g.add(text, 1, at, intent, code)
                if kind == OUT_OF_SCOPE:
                    g.out_of_scope += 1
                else:
                    g.faq += 1
            if g.reply_at is None or at >= g.reply_at:
                g.reply, g.reply_at = reply, at

    def _negatively_rated(self, session: Session) -> list[tuple[str, str | None, str | None, datetime]]:
        """The question before each low rating of the bot (at or below ``negative_rating_at_most``):
        (text, intent, procedure, time of the rating)."""
        m = MessageRow
        ratings = session.execute(
            select(
                m.id, m.conversation_id, m.text, m.confidence, m.created_at,
                ConversationRow.channel, ConversationRow.chat_id,
            )
            .join(ConversationRow, ConversationRow.id == m.conversation_id)
            .where(m.direction == "in", m.intent == FEEDBACK_INTENT)
        ).all()  # fmt: skip
        negative = [
            r for r in ratings if (rating_of(r.text, r.confidence) or 99) <= self.negative_rating_at_most
        ]
        if not negative:
            return []
        chats = {(r.channel, r.chat_id) for r in negative}
        tickets = session.execute(
            select(TicketRow.channel, TicketRow.chat_id, TicketRow.rating, TicketRow.closed_at).where(
                TicketRow.rating.is_not(None),
                TicketRow.outcome == "closed",
                TicketRow.closed_at.is_not(None),
                TicketRow.rating <= self.negative_rating_at_most,
            )
        ).all()
        filed = [t for t in tickets if (t.channel, t.chat_id) in chats]
        out = []
        for r in negative:
            at, value = as_utc(r.created_at), rating_of(r.text, r.confidence)
            # A rating the ticket service filed on an officer's ticket rates the officer, not the bot.
            if any(
                (t.channel, t.chat_id) == (r.channel, r.chat_id)
                and t.rating == value
                and as_utc(t.closed_at) <= at <= as_utc(t.closed_at) + RATING_WINDOW
                for t in filed
            ):
                continue
            before = session.execute(
                select(m.text, m.intent, m.procedure_code)
                .where(
                    m.conversation_id == r.conversation_id,
                    m.direction == "in",
                    m.intent.is_not(None),
                    m.intent != FEEDBACK_INTENT,
                    m.id < r.id,
                )
                .order_by(m.id.desc())
                .limit(5)
            ).all()
            for text, intent, code in before:
                if parse_payload(text) is None and text_key(text):
                    out.append((text, intent, code, at))
                    break
        return out


def inbox_counts(items: Iterable[InboxItem]) -> dict[str, int]:
    """How many groups per status (for the filter tabs)."""
    counts = Counter(i.status for i in items)
    return {s: counts.get(s, 0) for s in ("open", "assigned", "dismissed")}
