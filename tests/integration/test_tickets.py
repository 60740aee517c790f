"""The hand-off on SQLite and PostgreSQL: open, queue, atomic claim, replies and retries, hand back,
close and rating.

Citizens talk to the app production wires (:func:`bot.app.bootstrap.bootstrap` through
``tests/fakes/app.py``: the rule-based NLU, the factory procedures, every SQL adapter on the test's
database): the engine's event sink is the ticket sink, its handler is wrapped by the inbound recorder,
and the ticket service changes a conversation's mode through the engine. Only delivery (a fake that
records what was sent) and the clock are fakes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import event

from bot.channels.base import DeliveryError
from bot.core.domain import TicketReason
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import Interpreter
from bot.core.responses import make_payload
from bot.core.state import Mode
from bot.handoff.model import NotYourTicket, TicketError
from bot.handoff.service import TicketService
from tests import factories as f
from tests.fakes.app import factory_app, settings_for
from tests.fakes.clock import FakeClock
from tests.fakes.interpreter import FakeInterpreter


class FakeChannels:
    """Records delivered messages; fails the next ``fail`` deliveries."""

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self.fail = 0
        self.retryable = True

    async def deliver(self, message: OutboundMessage) -> None:
        if self.fail:
            self.fail -= 1
            raise DeliveryError("platform unreachable", retryable=self.retryable)
        self.sent.append(message)


class PausingInterpreter:
    """The fake NLU, held inside ``parse`` until the test lets it go: a turn caught half-way, after it
    loaded the conversation and before it saved it."""

    def __init__(self, inner: Interpreter) -> None:
        self.inner = inner
        self.parsing = threading.Event()
        self.resume = threading.Event()

    def parse(self, text: str) -> Any:
        self.parsing.set()
        assert self.resume.wait(timeout=10), "the test never let the turn go on"
        return self.inner.parse(text)


class World:
    """The app as the composition root builds it, on the test's database, with its officers."""

    def __init__(self, db_engine: DbEngine, interpreter: Interpreter | None = None) -> None:
        self.db_engine = db_engine
        self.clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # a Monday, 9:00 in Vietnam
        self.app = factory_app(
            settings_for(db_engine.url.render_as_string(hide_password=False)),
            db=db_engine,
            interpreter=interpreter,
            clock=self.clock,
        )
        self.sessions = self.app.adapters.sessions
        self.store = self.app.adapters.conversations
        self.service = self.app.tickets
        self.channels = FakeChannels()
        self.service.use_delivery(self.channels.deliver)  # the server passes the channel registry's
        self.handle = self.app.handler
        self.lan = self.app.users.add("lan", "sen-hong-2026", display_name="Trần Thị Lan")
        self.minh = self.app.users.add("minh", "tre-xanh-2026", display_name="Lê Văn Minh")

    async def say(self, key: ConversationKey, text: str) -> list[OutboundMessage]:
        """A citizen's message, through the server's handler."""
        return await self.handle(InboundMessage(key, text))

    async def escalate(self, chat_id: str, text: str = "cho tôi gặp cán bộ") -> ConversationKey:
        """A citizen asks about marriage registration, then for an officer."""
        key = ConversationKey("rest", chat_id)
        await self.say(key, "đăng ký kết hôn cần giấy tờ gì")
        await self.say(key, text)
        self.clock.advance(5)
        return key

    def mode(self, key: ConversationKey) -> Mode:
        return self.store.load(key).mode


@pytest.fixture
def world(db_engine) -> World:
    return World(db_engine)


@contextmanager
def statements(db_engine: DbEngine) -> Iterator[list[str]]:
    """The SQL statements run on ``db_engine`` inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db_engine, "before_cursor_execute", record)


def rating(n: int) -> str:
    return make_payload("give_feedback", rating=str(n))


async def test_an_escalation_opens_a_waiting_ticket_with_the_conversation_so_far(world: World) -> None:
    key = await world.escalate("a")
    [ticket] = world.service.list("waiting")
    assert ticket.key == key and ticket.reason == "request_human" and ticket.procedure == f.MARRIAGE
    assert ticket.position == 1 and ticket.owner_id is None
    assert world.mode(key) == Mode.WITH_OFFICER
    messages = world.service.messages(ticket.id)
    assert [m.text for m in messages if m.sender == "citizen"] == [
        "đăng ký kết hôn cần giấy tờ gì",
        "cho tôi gặp cán bộ",
    ]
    assert messages[0].sender == "citizen" and messages[-1].sender == "bot"
    assert "vị trí số 1" in messages[-1].text and all(m.delivered for m in messages)
    # while the officer has the chat the bot is silent, and a second escalation adds no ticket
    assert await world.say(key, "cho tôi gặp cán bộ") == []
    assert len(world.service.list("waiting")) == 1


async def test_queue_positions_follow_arrival(world: World) -> None:
    await world.escalate("a")
    await world.escalate("b")
    c = await world.escalate("c")
    assert [t.position for t in world.service.list("waiting")] == [1, 2, 3]
    assert world.service.count_waiting() == 3
    assert await world.service.waiting_count() == 3
    first = world.service.list("waiting")[0]
    await world.service.claim(first.id, world.lan.id)
    assert [t.position for t in world.service.list("waiting")] == [1, 2]
    # the escalation action told the third citizen their place from the same queue
    log = world.store.recent_messages(c)
    assert any("vị trí số 3" in r.text for r in log if r.direction == "out")


async def test_an_accepted_offer_after_misses_opens_a_repeated_fallback_ticket(world: World) -> None:
    key = ConversationKey("telegram", "9")
    await world.say(key, "abc xyz")
    await world.say(key, "thì cái kia đó")
    await world.say(key, "có")
    assert world.service.open_ticket(key).reason == "repeated_fallback"


async def test_two_officers_claiming_at_once_one_wins(world: World) -> None:
    await world.escalate("race")
    ticket_id = world.service.list("waiting")[0].id
    officers = [world.lan.id, world.minh.id] * 4
    results = await asyncio.gather(
        *(world.service.claim(ticket_id, o) for o in officers), return_exceptions=True
    )
    wins = [o for o, r in zip(officers, results, strict=True) if not isinstance(r, BaseException)]
    losses = [str(r) for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, TicketError) for r in results if isinstance(r, BaseException))
    ticket = world.service.get(ticket_id)
    # The winner may be asked again by its own second claim: that is not a second owner.
    assert len(set(wins)) == 1 and ticket.owner_id == wins[0] and ticket.status == "claimed"
    assert len(wins) + len(losses) == len(officers) and all("đã được nhận xử lý" in m for m in losses)


JOINED = "Dạ, cán bộ Trần Thị Lan đang hỗ trợ bạn. Bạn cứ nhắn tiếp, cán bộ sẽ trả lời ngay tại đây."


async def test_a_reply_reaches_the_citizen_on_their_channel(world: World) -> None:
    key = await world.escalate("a")
    ticket = world.service.list("waiting")[0]
    with pytest.raises(NotYourTicket):
        await world.service.reply(ticket.id, world.lan.id, "Chào anh")
    await world.service.claim(ticket.id, world.lan.id)
    with pytest.raises(NotYourTicket):
        await world.service.reply(ticket.id, world.minh.id, "Chào anh")
    sent = await world.service.reply(ticket.id, world.lan.id, "Chào anh, anh cần CCCD 001203004567.")
    assert sent.delivered and sent.attempts == 1
    assert world.channels.sent == [
        # the claim told the citizen who has taken the conversation (issue 14), on the same path
        OutboundMessage(key, JOINED, sender="bot"),
        OutboundMessage(key, "Chào anh, anh cần CCCD 001203004567.", sender="officer"),
    ]
    # delivered whole; once delivered the ticket, like the conversation log, keeps it masked (issue 13)
    [officer] = [m for m in world.service.messages(ticket.id) if m.sender == "officer"]
    assert officer.text.endswith("*********567.")
    [logged] = [r for r in world.store.recent_messages(key) if r.sender == "officer"]
    assert logged.text.endswith("*********567.")
    assert world.service.get(ticket.id).first_reply_at is not None


async def test_an_undelivered_reply_is_kept_and_retried_with_backoff(world: World) -> None:
    await world.escalate("a")
    ticket = world.service.list("waiting")[0]
    await world.service.claim(ticket.id, world.lan.id)
    world.channels.fail = 2
    sent = await world.service.reply(ticket.id, world.lan.id, "Anh chờ em kiểm tra nhé")
    assert not sent.delivered and sent.attempts == 1 and sent.last_error == "platform unreachable"
    assert world.service.get(ticket.id).undelivered == 1
    first, second = world.app.config.escalation.retry_backoff_seconds[:2]  # config.yml's waits
    assert await world.service.retry_due() == 0  # not due yet
    world.clock.advance(first + 1)
    assert await world.service.retry_due() == 0  # second failure, next wait the second one
    world.clock.advance(second / 2)
    assert world.service.due_for_retry() == []
    world.clock.advance(second / 2 + 1)
    assert await world.service.retry_due() == 1
    [message] = [m for m in world.service.messages(ticket.id) if m.sender == "officer"]
    assert message.delivered and message.attempts == 3 and message.last_error is None
    assert [m.text for m in world.channels.sent] == [JOINED, "Anh chờ em kiểm tra nhé"]
    assert world.service.get(ticket.id).undelivered == 0


async def test_a_reply_that_cannot_be_retried_waits_for_the_officer(world: World) -> None:
    await world.escalate("a")
    ticket = world.service.list("waiting")[0]
    await world.service.claim(ticket.id, world.lan.id)
    world.channels.fail, world.channels.retryable = 1, False
    sent = await world.service.reply(ticket.id, world.lan.id, "Xin chào")
    world.clock.advance(timedelta(hours=1))
    assert not sent.delivered and world.service.due_for_retry() == []
    again = await world.service.retry_now(ticket.id, sent.id)
    assert again.delivered and again.attempts == 2


async def test_citizen_messages_of_an_open_ticket_are_appended_masked(world: World) -> None:
    key = await world.escalate("a")
    assert await world.say(key, "số CCCD của tôi là 0012 0300 4567") == []
    ticket = world.service.open_ticket(key)
    assert world.service.messages(ticket.id)[-1].text == "số CCCD của tôi là **** **** *567"
    other = ConversationKey("rest", "other")
    assert await world.say(other, "xin chào")  # the bot answers a conversation without a ticket
    assert world.service.open_ticket(other) is None


async def test_hand_back_gives_the_conversation_to_the_bot(world: World) -> None:
    key = await world.escalate("a")
    ticket = world.service.list("waiting")[0]
    await world.service.claim(ticket.id, world.lan.id)
    with pytest.raises(NotYourTicket):
        await world.service.hand_back(ticket.id, world.minh.id)
    done = await world.service.hand_back(ticket.id, world.lan.id, "câu hỏi thông thường")
    assert (
        done.status == "closed"
        and done.outcome == "handed_back"
        and done.close_note == "câu hỏi thông thường"
    )
    assert world.mode(key) == Mode.ANSWERING
    assert world.channels.sent[-1].text == f.catalogue().text("utter_officer_handed_back")
    assert world.service.open_ticket(key) is None
    assert await world.say(key, "xin chào")  # the bot answers again
    with pytest.raises(TicketError):
        await world.service.reply(ticket.id, world.lan.id, "còn gì nữa không")


async def test_close_asks_for_a_rating_and_the_rating_is_filed(world: World) -> None:
    key = await world.escalate("a")
    ticket = world.service.list("waiting")[0]
    await world.service.claim(ticket.id, world.lan.id)
    await world.service.reply(ticket.id, world.lan.id, "Anh nộp tại UBND xã nhé")
    closed = await world.service.close(ticket.id, world.lan.id, "đã hướng dẫn nơi nộp")
    assert closed.status == "closed" and closed.outcome == "closed" and closed.closed_at is not None
    ask = world.channels.sent[-1]
    assert ask.text == f.catalogue().text("utter_officer_closed")
    assert [b.payload for b in ask.buttons] == [rating(n) for n in range(1, 6)]
    assert world.mode(key) == Mode.ANSWERING
    # the citizen presses "4": the feedback action's event reaches the sink
    await world.say(key, rating(4))
    assert world.service.get(ticket.id).rating == 4
    assert world.service.list("closed")[0].id == ticket.id
    # a later low rating is about the bot, not the ticket: it opens a follow-up ticket
    await world.say(key, rating(1))
    assert world.service.get(ticket.id).rating == 4
    assert world.service.open_ticket(key).reason == "negative_rating"


async def test_claiming_a_negative_rating_ticket_silences_the_bot(world: World) -> None:
    key = ConversationKey("zalo", "42")
    await world.say(key, "xin chào")
    await world.say(key, rating(2))
    ticket = world.service.open_ticket(key)
    assert ticket.reason == "negative_rating" and world.mode(key) == Mode.ANSWERING
    await world.service.claim(ticket.id, world.minh.id)
    assert world.mode(key) == Mode.WITH_OFFICER
    assert await world.say(key, "xin chào") == []


async def test_a_turn_in_progress_cannot_undo_a_claim(db_engine) -> None:
    """Regression: the claim used to save ``with_officer`` outside the engine's lock, so a citizen
    message being answered at that moment saved its own (``answering``) state over it."""
    nlu = PausingInterpreter(FakeInterpreter())
    world = World(db_engine, nlu)
    key = ConversationKey("zalo", "43")
    nlu.resume.set()
    await world.say(key, rating(1))  # a button: read without the NLU; opens a negative_rating ticket
    ticket = world.service.open_ticket(key)
    assert ticket.reason == "negative_rating" and world.mode(key) == Mode.ANSWERING

    nlu.resume.clear()
    turn = asyncio.create_task(world.say(key, "lệ phí đăng ký kết hôn bao nhiêu"))
    assert await asyncio.to_thread(nlu.parsing.wait, 10)  # the turn has loaded the state: answering
    claim = asyncio.create_task(world.service.claim(ticket.id, world.lan.id))
    await asyncio.wait({claim}, timeout=0.3)  # the claim's own work is done, or it waits for the turn
    nlu.resume.set()
    assert await turn  # the bot answers the message it was already answering
    await claim
    assert world.mode(key) == Mode.WITH_OFFICER
    assert await world.say(key, "còn phí nào khác không") == []


async def test_lists_and_counts(world: World) -> None:
    await world.escalate("a")
    await world.escalate("b")
    a, b = world.service.list("waiting")
    await world.service.claim(b.id, world.minh.id)
    assert world.service.counts(world.minh.id) == {
        "waiting": 1,
        "claimed": 1,
        "mine": 1,
        "newest_waiting_id": a.id,
    }
    assert world.service.counts(world.lan.id)["mine"] == 0
    [mine] = world.service.list("claimed", owner_id=world.minh.id)
    assert mine.id == b.id and mine.owner_name == "Lê Văn Minh" and mine.last_text
    with pytest.raises(ValueError):
        world.service.list("nope")


async def test_messages_of_conversations_without_a_ticket_skip_the_ticket_query(world: World) -> None:
    key = await world.escalate("a")
    cached = TicketService(world.sessions, world.store, f.catalogue(), open_keys_ttl=3600, clock=world.clock)
    assert cached.append_citizen_message(key, "còn đó không ạ") is not None
    other = ConversationKey("rest", "b")
    with statements(world.db_engine) as run:
        assert cached.append_citizen_message(other, "xin chào") is None
    assert run == []  # no ticket for "b": answered from the set of open conversations

    # a ticket opened by another process is seen once the set is read again
    fresh = TicketService(world.sessions, world.store, f.catalogue(), open_keys_ttl=0.0, clock=world.clock)
    assert fresh.append_citizen_message(other, "xin chào") is None
    world.service.open(other, TicketReason.REQUEST_HUMAN)
    assert fresh.append_citizen_message(other, "tôi vẫn chờ") is not None


def test_an_unknown_reason_is_refused(world: World) -> None:
    with pytest.raises(ValueError, match="unknown ticket reason"):
        world.service.open(ConversationKey("rest", "x"), "requested")
