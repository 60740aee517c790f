"""The ticket queue on SQLite and PostgreSQL: open, queue, atomic claim, replies and retries, hand back,
close and rating. Delivery and the engine's release are fakes that record what happened."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.base import DeliveryError
from bot.core.events import EscalationRequested, FeedbackGiven
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import MessageRecord
from bot.core.responses import ResponseCatalogue
from bot.core.state import ConversationState, Mode
from bot.storage.sql import SqlConversationStore
from console.auth.users import UserService
from console.tickets import NotYourTicket, TicketError, TicketEventSink, TicketService
from knowledge.db import make_session_factory

CATALOGUE = ResponseCatalogue.load()


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


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class World:
    def __init__(self, db_engine) -> None:
        self.sessions = make_session_factory(db_engine)
        self.store = SqlConversationStore(self.sessions)
        self.channels = FakeChannels()
        self.released: list[ConversationKey] = []
        self.clock = Clock()
        self.service = TicketService(
            self.sessions,
            self.store,
            CATALOGUE,
            release=self._release,
            deliver=self.channels.deliver,
            backoff=(10, 60),
            clock=self.clock,
        )
        users = UserService(self.sessions)
        self.lan = users.add("lan", "matkhau-lan", display_name="Trần Thị Lan")
        self.minh = users.add("minh", "matkhau-minh", display_name="Lê Văn Minh")
        self.sink = TicketEventSink(self.service)

    async def _release(self, key: ConversationKey) -> None:
        self.released.append(key)
        state = self.store.load(key)
        self.store.save(state.evolve(mode=Mode.ANSWERING))

    def escalate(self, chat_id: str, text: str = "cho tôi gặp cán bộ") -> ConversationKey:
        """What the engine does for an escalation turn: save the state, log the turn, publish."""
        key = ConversationKey("rest", chat_id)
        self.store.save(ConversationState(key=key, mode=Mode.WITH_OFFICER))
        self.store.log(
            [
                MessageRecord(key, "in", "đăng ký kết hôn cần gì", created_at=self.clock.now),
                MessageRecord(key, "out", "Dạ, hồ sơ gồm...", sender="bot", created_at=self.clock.now),
                MessageRecord(key, "in", text, created_at=self.clock.now + timedelta(seconds=1)),
            ]
        )
        self.sink.publish(key, [EscalationRequested("requested", "1.000894", text, None)])
        self.clock.now += timedelta(seconds=5)
        return key


@pytest.fixture
def world(db_engine) -> World:
    return World(db_engine)


def test_an_escalation_opens_a_waiting_ticket_with_the_conversation_so_far(world: World) -> None:
    key = world.escalate("a")
    [ticket] = world.service.list("waiting")
    assert ticket.key == key and ticket.reason == "request_human" and ticket.procedure == "1.000894"
    assert ticket.position == 1 and ticket.owner_id is None
    messages = world.service.messages(ticket.id)
    assert [m.sender for m in messages] == ["citizen", "bot", "citizen"]
    assert messages[-1].text == "cho tôi gặp cán bộ" and all(m.delivered for m in messages)
    # a second escalation of the same conversation adds no ticket
    world.sink.publish(key, [EscalationRequested("not_understood")])
    assert len(world.service.list("waiting")) == 1


def test_queue_positions_follow_arrival(world: World) -> None:
    world.escalate("a")
    world.escalate("b")
    world.escalate("c")
    assert [t.position for t in world.service.list("waiting")] == [1, 2, 3]
    assert world.service.count_waiting() == 3
    assert asyncio.run(world.service.waiting_count()) == 3
    first = world.service.list("waiting")[0]
    world.service.claim(first.id, world.lan.id)
    assert [t.position for t in world.service.list("waiting")] == [1, 2]


def test_reasons_are_mapped_from_the_event(world: World) -> None:
    key = ConversationKey("telegram", "9")
    world.sink.publish(key, [EscalationRequested("not_understood")])
    assert world.service.open_ticket(key).reason == "repeated_fallback"


def test_two_officers_claiming_at_once_one_wins(world: World) -> None:
    ticket_id = world.service.list("waiting")[0].id if world.service.list("waiting") else None
    if ticket_id is None:
        world.escalate("race")
        ticket_id = world.service.list("waiting")[0].id
    officers = [world.lan.id, world.minh.id] * 4
    barrier = threading.Barrier(len(officers))
    wins: list[int] = []
    losses: list[str] = []

    def claim(officer_id: int) -> None:
        barrier.wait()
        try:
            world.service.claim(ticket_id, officer_id)
            wins.append(officer_id)
        except TicketError as exc:
            losses.append(str(exc))

    threads = [threading.Thread(target=claim, args=(o,)) for o in officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ticket = world.service.get(ticket_id)
    # The winner may be asked again by its own second thread: that is not a second owner.
    assert len(set(wins)) == 1 and ticket.owner_id == wins[0] and ticket.status == "claimed"
    assert len(wins) + len(losses) == len(officers) and all("đã được nhận xử lý" in m for m in losses)


async def test_a_reply_reaches_the_citizen_on_their_channel(world: World) -> None:
    key = world.escalate("a")
    ticket = world.service.list("waiting")[0]
    with pytest.raises(NotYourTicket):
        await world.service.reply(ticket.id, world.lan.id, "Chào anh")
    world.service.claim(ticket.id, world.lan.id)
    with pytest.raises(NotYourTicket):
        await world.service.reply(ticket.id, world.minh.id, "Chào anh")
    sent = await world.service.reply(ticket.id, world.lan.id, "Chào anh, anh cần CCCD 001203004567.")
    assert sent.delivered and sent.attempts == 1
    assert world.channels.sent == [
        OutboundMessage(key, "Chào anh, anh cần CCCD 001203004567.", sender="officer")
    ]
    # the ticket keeps the text as sent; the conversation log keeps it redacted
    assert world.service.messages(ticket.id)[-1].text.endswith("001203004567.")
    assert world.store.recent_messages(key)[-1].text.endswith("*********567.")
    assert world.service.get(ticket.id).first_reply_at is not None


async def test_an_undelivered_reply_is_kept_and_retried_with_backoff(world: World) -> None:
    world.escalate("a")
    ticket = world.service.list("waiting")[0]
    world.service.claim(ticket.id, world.lan.id)
    world.channels.fail = 2
    sent = await world.service.reply(ticket.id, world.lan.id, "Anh chờ em kiểm tra nhé")
    assert not sent.delivered and sent.attempts == 1 and sent.last_error == "platform unreachable"
    assert world.service.get(ticket.id).undelivered == 1
    assert await world.service.retry_due() == 0  # not due yet (10 s backoff)
    world.clock.now += timedelta(seconds=11)
    assert await world.service.retry_due() == 0  # second failure, next wait 60 s
    world.clock.now += timedelta(seconds=30)
    assert world.service.due_for_retry() == []
    world.clock.now += timedelta(seconds=31)
    assert await world.service.retry_due() == 1
    [message] = [m for m in world.service.messages(ticket.id) if m.sender == "officer"]
    assert message.delivered and message.attempts == 3 and message.last_error is None
    assert [m.text for m in world.channels.sent] == ["Anh chờ em kiểm tra nhé"]
    assert world.service.get(ticket.id).undelivered == 0


async def test_a_reply_that_cannot_be_retried_waits_for_the_officer(world: World) -> None:
    world.escalate("a")
    ticket = world.service.list("waiting")[0]
    world.service.claim(ticket.id, world.lan.id)
    world.channels.fail, world.channels.retryable = 1, False
    sent = await world.service.reply(ticket.id, world.lan.id, "Xin chào")
    world.clock.now += timedelta(hours=1)
    assert not sent.delivered and world.service.due_for_retry() == []
    again = await world.service.retry_now(ticket.id, sent.id)
    assert again.delivered and again.attempts == 2


async def test_citizen_messages_of_an_open_ticket_are_appended(world: World) -> None:
    key = world.escalate("a")
    seen: list[str] = []

    async def engine(message: InboundMessage) -> list[OutboundMessage]:
        seen.append(message.text)
        return []

    handle = world.service.inbound_handler(engine)
    await handle(InboundMessage(key, "số CCCD của tôi là 001203004567"))
    ticket = world.service.open_ticket(key)
    assert world.service.messages(ticket.id)[-1].text == "số CCCD của tôi là 001203004567"
    await handle(InboundMessage(ConversationKey("rest", "other"), "xin chào"))
    assert seen == ["số CCCD của tôi là 001203004567", "xin chào"]
    assert world.service.open_ticket(ConversationKey("rest", "other")) is None


async def test_hand_back_gives_the_conversation_to_the_bot(world: World) -> None:
    key = world.escalate("a")
    ticket = world.service.list("waiting")[0]
    world.service.claim(ticket.id, world.lan.id)
    with pytest.raises(NotYourTicket):
        await world.service.hand_back(ticket.id, world.minh.id)
    done = await world.service.hand_back(ticket.id, world.lan.id, "câu hỏi thông thường")
    assert (
        done.status == "closed"
        and done.outcome == "handed_back"
        and done.close_note == "câu hỏi thông thường"
    )
    assert world.released == [key] and world.store.load(key).mode == Mode.ANSWERING
    assert world.channels.sent[-1].text == CATALOGUE.text("utter_officer_handed_back")
    assert world.service.open_ticket(key) is None
    with pytest.raises(TicketError):
        await world.service.reply(ticket.id, world.lan.id, "còn gì nữa không")


async def test_close_asks_for_a_rating_and_the_rating_is_filed(world: World) -> None:
    key = world.escalate("a")
    ticket = world.service.list("waiting")[0]
    world.service.claim(ticket.id, world.lan.id)
    await world.service.reply(ticket.id, world.lan.id, "Anh nộp tại UBND xã nhé")
    closed = await world.service.close(ticket.id, world.lan.id, "đã hướng dẫn nơi nộp")
    assert closed.status == "closed" and closed.outcome == "closed" and closed.closed_at is not None
    ask = world.channels.sent[-1]
    assert ask.text == CATALOGUE.text("utter_officer_closed")
    assert [b.payload for b in ask.buttons] == [f'/give_feedback{{"rating":"{n}"}}' for n in range(1, 6)]
    assert world.released == [key]
    # the citizen presses "4": the feedback action's event reaches the sink
    world.sink.publish(key, [FeedbackGiven(4)])
    assert world.service.get(ticket.id).rating == 4
    assert world.service.list("closed")[0].id == ticket.id
    # a later low rating is about the bot, not the ticket: it opens a follow-up ticket
    world.sink.publish(key, [FeedbackGiven(1)])
    assert world.service.get(ticket.id).rating == 4
    assert world.service.open_ticket(key).reason == "negative_rating"


async def test_claiming_a_negative_rating_ticket_silences_the_bot(world: World) -> None:
    key = ConversationKey("zalo", "42")
    world.store.save(ConversationState(key=key))
    world.sink.publish(key, [FeedbackGiven(2, "", None)])
    ticket = world.service.open_ticket(key)
    assert ticket.reason == "negative_rating" and world.store.load(key).mode == Mode.ANSWERING
    world.service.claim(ticket.id, world.minh.id)
    assert world.store.load(key).mode == Mode.WITH_OFFICER


def test_lists_and_counts(world: World) -> None:
    world.escalate("a")
    world.escalate("b")
    a, b = world.service.list("waiting")
    world.service.claim(b.id, world.minh.id)
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


def test_messages_of_conversations_without_a_ticket_skip_the_ticket_query(world: World, monkeypatch) -> None:
    import console.tickets as tickets_module

    key = world.escalate("a")
    assert world.service.append_citizen_message(key, "còn đó không ạ") is not None
    other = ConversationKey("rest", "b")
    queries: list[ConversationKey] = []
    real = world.service._open_ticket_id
    monkeypatch.setattr(world.service, "_open_ticket_id", lambda k: queries.append(k) or real(k))
    assert world.service.append_citizen_message(other, "xin chào") is None
    assert queries == []  # no ticket for "b": answered from the set of open conversations

    # a ticket opened by another process is seen once the set is re-read
    second = TicketService(world.sessions, world.store, CATALOGUE, clock=world.clock)
    second.open(other, "request_human")
    monkeypatch.setattr(tickets_module, "OPEN_KEYS_TTL", 0.0)
    assert world.service.append_citizen_message(other, "tôi vẫn chờ") is not None
