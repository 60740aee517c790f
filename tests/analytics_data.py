"""A known week of help-line activity for the analytics tests, written through the real stores.

:func:`seed_week` logs messages with :class:`bot.storage.sql.SqlConversationStore` and works tickets with
:class:`bot.handoff.service.TicketService` (a fake channel, an injected clock), as the engine and the officer
console would. tests/integration/test_analytics.py states every figure the report should give for it;
:func:`expected_daily` lists the per-day, per-channel counts.

Days are counted in Vietnam time (UTC+7, no daylight saving). ``L`` is the last day of the week; the
report's default range is ``L - 6`` to ``L``. Eight conversations are active in it:

=====  ==========  ====  ==========================================================================
name   channel     day   what happens
=====  ==========  ====  ==========================================================================
A      telegram    L-1   greeting, a question about P1; the bot copes (contained)
B      rest        L-1   two fallbacks, asks for an officer; ticket answered in 5 min, closed, rated 5
C      zalo        L     a low-confidence question about P2; rates the bot 4 (contained)
D      telegram    L     a question about P1; rates the bot 2 by typing the button number; a
                         negative-rating ticket answered in 30 min; then types "5" as a comment
E      rest        L     two fallbacks; a repeated-fallback ticket nobody has answered yet
H      zalo        L-2   asks for an officer; ticket answered in 1 min, closed, rated 3
F      telegram    L-6   writes at 23:59 on L-7 (outside; a ticket opened then too) and at 00:00 on L-6
G      rest        L     writes at 23:59:59 on L (inside) and 00:00 on L+1 (outside)
K      zalo        L-1   a refusal (out of scope), an FAQ answer, a choice picked and answered, a
                         choice left unanswered (what each turn came to: issue 14, item 4)
=====  ==========  ====  ==========================================================================

Each answered turn also files what it came to (``turn_outcomes``, as the ticket sink does): the kind
given, else the one its intent leads to (:data:`KIND_BY_INTENT`). Questions of the week: 11 (A 1, B 2,
C 1, D 1, E 2, K 4); understood 5 (three procedure answers, K's FAQ answer, K's choice picked), not
understood 4, out of scope 1, choices left unanswered 1.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.core.messages import ConversationKey, OutboundMessage
from bot.core.ports import MessageRecord
from bot.handoff.service import TicketService
from bot.handoff.tables import TurnOutcomeRow
from bot.storage.sql import SqlConversationStore
from console.auth.users import UserService
from tests import factories as f
from tests.fakes.clock import FakeClock

VN = ZoneInfo("Asia/Ho_Chi_Minh")


class Recorder:
    """A channel that accepts every message."""

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def deliver(self, message: OutboundMessage) -> None:
        self.sent.append(message)


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """That wall-clock time in Vietnam, as UTC."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=VN).astimezone(UTC)


KIND_BY_INTENT = {"nlu_fallback": "fallback", "ask_documents": "answer", "ask_procedure_overview": "answer"}
"""What a turn of this intent came to, unless ``say`` is told (greetings, ratings ...: ``other``)."""


class Week:
    """Writes the week: ``say``/``reply`` log messages, ticket helpers drive the ticket service."""

    def __init__(self, sessions: sessionmaker[Session], officer_id: int) -> None:
        self.store = SqlConversationStore(sessions)
        self.clock = FakeClock()  # moved by hand: each step sets clock.now
        self.channel = Recorder()
        self.tickets = TicketService(
            sessions, self.store, f.catalogue(), deliver=self.channel.deliver, clock=self.clock
        )
        self.officer = officer_id
        self.sessions = sessions

    def say(
        self,
        key: ConversationKey,
        at: datetime,
        text: str,
        intent: str | None,
        confidence: float | None = None,
        procedure: str | None = None,
        *,
        answer: bool = True,
        kind: str | None = None,
    ) -> None:
        """A citizen's turn as the engine logs it: the message, and the bot's reply the same second; an
        answered turn files what it came to (``kind``, else :data:`KIND_BY_INTENT`, else ``other``)."""
        records = [MessageRecord(key, "in", text, "citizen", intent, confidence, procedure, at)]
        if answer:
            records.append(MessageRecord(key, "out", "Dạ, …", "bot", intent, None, procedure, at))
        self.store.log(records)
        if answer and intent is not None:
            with self.sessions.begin() as session:
                session.add(
                    TurnOutcomeRow(
                        channel=key.channel,
                        chat_id=key.chat_id,
                        created_at=at,
                        kind=kind or KIND_BY_INTENT.get(intent, "other"),
                        intent=intent,
                        confidence=confidence,
                        procedure_code=procedure,
                        question=text,
                        reply="Dạ, …",
                    )
                )

    def open(self, key: ConversationKey, at: datetime, reason: str) -> int:
        self.clock.now = at
        return self.tickets.open(key, reason).id

    def answer(self, ticket_id: int, claimed: datetime, replied: datetime) -> None:
        self.clock.now = claimed
        asyncio.run(self.tickets.claim(ticket_id, self.officer))
        self.clock.now = replied
        asyncio.run(self.tickets.reply(ticket_id, self.officer, "Chào bạn, tôi là cán bộ tiếp nhận."))

    def close_and_rate(self, ticket_id: int, key: ConversationKey, closed: datetime, rating: int) -> None:
        self.clock.now = closed
        asyncio.run(self.tickets.close(ticket_id, self.officer, "Đã hướng dẫn"))
        rated = closed + timedelta(minutes=1)
        self.say(key, rated, f'/give_feedback{{"rating":"{rating}"}}', "give_feedback", 1.0)
        self.clock.now = rated
        assert self.tickets.record_rating(key, rating) == ticket_id


def seed_week(sessions: sessionmaker[Session], last: date, p1: str, p2: str) -> None:
    """Write the week ending on ``last`` (see the module docstring); ``p1``, ``p2`` are procedure codes."""
    try:
        officer = UserService(sessions).add("tk-lan", "sen-hong-2026", "officer", "Trần Thị Lan")
    except ValueError:  # already there
        officer = None
    week = Week(sessions, officer.id if officer else 1)
    d = lambda n: last - timedelta(days=n)  # noqa: E731

    a = ConversationKey("telegram", "tg-a")
    week.say(a, local(d(1), 8, 0), "xin chào", "greet", 0.95)
    week.say(a, local(d(1), 8, 1), "xin cấp giấy phép xây dựng", "ask_documents", 0.82, p1)

    b = ConversationKey("rest", "web-b")
    week.say(b, local(d(1), 9, 0), "abc xyz", "nlu_fallback", 0.2)
    week.say(b, local(d(1), 9, 1), "ABC   xyz", "nlu_fallback", 0.25)
    week.say(b, local(d(1), 9, 2), "/request_human", "request_human", 1.0)
    ticket_b = week.open(b, local(d(1), 9, 2), "request_human")
    # while the officer handles the chat the engine logs the citizen's message without an intent
    week.say(b, local(d(1), 9, 4), "số CCCD của tôi là 001203004567", None, answer=False)
    week.answer(ticket_b, local(d(1), 9, 5), local(d(1), 9, 7))
    week.close_and_rate(ticket_b, b, local(d(1), 9, 20), 5)

    c = ConversationKey("zalo", "zl-c")
    week.say(c, local(d(0), 7, 0), "thủ tục khai sinh cho con", "ask_procedure_overview", 0.45, p2)
    week.say(c, local(d(0), 7, 5), '/give_feedback{"rating":"4"}', "give_feedback", 1.0, p2)

    dd = ConversationKey("telegram", "tg-d")
    week.say(dd, local(d(0), 8, 0), "hỏi về cấp đổi giấy phép", "ask_documents", 0.9, p1)
    week.say(dd, local(d(0), 8, 2), "2", "give_feedback", 1.0, p1)  # the number of the "2" button
    ticket_d = week.open(dd, local(d(0), 8, 2), "negative_rating")
    week.say(dd, local(d(0), 8, 3), "5", "give_feedback", 0.7, p1)  # typed, read by the NLU: a comment
    week.answer(ticket_d, local(d(0), 8, 10), local(d(0), 8, 32))

    e = ConversationKey("rest", "web-e")
    week.say(e, local(d(0), 8, 58), "abc xyz", "nlu_fallback", 0.1)
    week.say(e, local(d(0), 8, 59), "alo???", "nlu_fallback", 0.1)
    week.open(e, local(d(0), 9, 0), "repeated_fallback")

    h = ConversationKey("zalo", "zl-h")
    week.say(h, local(d(2), 10, 0), "cho tôi gặp cán bộ", "request_human", 0.97)
    ticket_h = week.open(h, local(d(2), 10, 0), "request_human")
    week.answer(ticket_h, local(d(2), 10, 0), local(d(2), 10, 1))
    week.close_and_rate(ticket_h, h, local(d(2), 10, 5), 3)

    f = ConversationKey("telegram", "tg-f")
    week.say(f, local(d(7), 23, 59), "tin cũ", "greet", 0.9)
    week.open(f, local(d(7), 23, 59, 30), "request_human")
    week.say(f, local(d(6), 0, 0), "tin đầu kỳ", "greet", 0.9)

    k = ConversationKey("zalo", "zl-k")
    week.say(k, local(d(1), 11, 0), "lương tối thiểu vùng năm nay", "out_of_scope", 0.99, kind="out_of_scope")
    week.say(k, local(d(1), 11, 1), "giờ làm việc bộ phận một cửa", "out_of_scope", 0.9, kind="faq")
    week.say(k, local(d(1), 11, 2), "giấy phép xây dựng", "ask_procedure_overview", 0.8, kind="choice")
    week.say(k, local(d(1), 11, 3), f'/choose{{"procedure":"{p1}"}}', "choose", 1.0, p1, kind="answer")
    week.say(k, local(d(1), 11, 4), "giấy phép lái xe cần gì", "ask_documents", 0.85, kind="choice")

    g = ConversationKey("rest", "web-g")
    week.say(g, local(d(0), 23, 59, 59), "cảm ơn", "thank", 0.99)
    week.say(g, local(d(-1), 0, 0), "tin ngày mai", "greet", 0.9)


def expected_daily(last: date) -> list[tuple[date, str, dict[str, int]]]:
    """Per day and channel of the week: conversations, messages in/out, turns, understood, fallbacks,
    escalations, questions, FAQ answers, refusals (out of scope), choices left unanswered."""
    d = lambda n: last - timedelta(days=n)  # noqa: E731
    keys = (
        "conversations", "messages_in", "messages_out", "turns", "understood", "fallbacks", "escalations",
        "questions", "faq", "out_of_scope", "choices_unanswered",
    )  # fmt: skip
    rows = [
        (d(6), "telegram", (1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)),  # F at 00:00 (a greeting: no question)
        (d(2), "zalo", (1, 2, 5, 2, 0, 0, 1, 0, 0, 0, 0)),  # H: reply, claim notice, officer, closing, thanks
        (d(1), "rest", (1, 5, 7, 4, 0, 2, 1, 2, 0, 0, 0)),  # B (the claim notice is one more out)
        (d(1), "telegram", (1, 2, 2, 2, 1, 0, 0, 1, 0, 0, 0)),  # A
        (d(1), "zalo", (1, 5, 5, 5, 2, 0, 0, 4, 1, 1, 1)),  # K: the pick is not a question of its own
        (d(0), "rest", (2, 3, 3, 3, 0, 2, 1, 2, 0, 0, 0)),  # E and G
        (d(0), "telegram", (1, 3, 5, 3, 1, 0, 1, 1, 0, 0, 0)),  # D (the claim notice is one more out)
        (d(0), "zalo", (1, 2, 2, 2, 1, 0, 0, 1, 0, 0, 0)),  # C
    ]
    return [(day, channel, dict(zip(keys, values, strict=True))) for day, channel, values in rows]
