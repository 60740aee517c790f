"""The durable inbound queue and the outbox sender (bot/channels/durable.py) over the SQL inbox and outbox
on both backends: stored before ``offer`` returns, replies only through the outbox, a refused reply
retried with backoff in order per chat, a final refusal set aside, a process's unfinished work taken
over by the next one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.channels.base import ChannelRegistry, DeliveryError, on_the_wire
from bot.channels.durable import DurableInboundQueue, InboxUnavailableError
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import INBOX_ID
from bot.handoff.retry import DeliveryRetrier
from bot.storage.inbox import SqlInbox
from knowledge.db import make_session_factory
from tests.fakes.clock import FakeClock
from tests.fakes.durable import DurablePipeline

A = ConversationKey("zalo_bot", "a")
B = ConversationKey("zalo_bot", "b")


class Channel:
    """Records what it sends; ``refuse[chat_id]`` holds the errors to raise, one per send to that chat."""

    name = "zalo_bot"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.refuse: dict[str, list[DeliveryError]] = {}

    async def send(self, message: OutboundMessage) -> None:
        await on_the_wire()
        if self.refuse.get(message.key.chat_id):
            raise self.refuse[message.key.chat_id].pop(0)
        self.sent.append((message.key.chat_id, message.text))


class Handler:
    """Answers "Đã nhận: <text>"; "hỏng" raises; records the inbox id each message carried."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    async def __call__(self, message: InboundMessage) -> list[OutboundMessage]:
        self.seen.append((message.text, message.metadata.get(INBOX_ID)))
        if message.text == "hỏng":
            raise RuntimeError("engine bug, CCCD 001203004567")
        return [OutboundMessage(message.key, f"Đã nhận: {message.text}")]


class Rig(DurablePipeline):
    """The pipeline over ``db`` with the recording channel and handler above, on a fake clock."""

    def __init__(self, db: Engine, clock: FakeClock) -> None:
        self.clock = clock
        self.channel = Channel()
        self.handler = Handler()
        super().__init__(
            self.handler,
            ChannelRegistry([self.channel]),
            db,
            error_reply=lambda key: OutboundMessage(key, "Xin lỗi, hệ thống đang gặp sự cố."),
            clock=clock,
            backoff=(10, 30),
        )


@pytest.fixture
async def rig(db_engine: Engine) -> AsyncIterator[Rig]:
    rig = Rig(db_engine, FakeClock())
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()


async def sent(rig: Rig, count: int) -> None:
    """Wait (at most 10 s) until ``count`` replies were sent: after the clock moved, the retry runs on the
    retrier's own task, which ``join`` may finish looking before it does."""
    rig.retrier.wake()
    async with asyncio.timeout(10):
        while len(rig.channel.sent) < count:
            await asyncio.sleep(0.02)
    await rig.queue.join()


def msg(key: ConversationKey, text: str, message_id: str) -> InboundMessage:
    return InboundMessage(key=key, text=text, message_id=message_id)


async def test_offer_stores_before_it_returns_and_drops_a_redelivery(db_engine: Engine) -> None:
    rig = Rig(db_engine, FakeClock())  # not started: nothing is processed
    assert await rig.queue.offer(msg(A, "lệ phí", "m1"))
    assert not await rig.queue.offer(msg(A, "lệ phí", "m1"))
    assert rig.inbox.unfinished() == 1
    assert rig.handler.seen == []


async def test_replies_go_out_through_the_outbox_in_order(rig: Rig) -> None:
    for n, text in enumerate(["một", "hai", "ba"]):
        await rig.queue.offer(msg(A, text, f"a{n}"))
    await rig.queue.offer(msg(B, "khác", "b0"))
    await rig.queue.join()
    assert [t for c, t in rig.channel.sent if c == "a"] == ["Đã nhận: một", "Đã nhận: hai", "Đã nhận: ba"]
    assert ("b", "Đã nhận: khác") in rig.channel.sent
    assert all(isinstance(inbox_id, int) for _, inbox_id in rig.handler.seen)
    assert rig.outbox.undelivered() == 0


async def test_a_handler_failure_is_answered_with_the_apology(rig: Rig) -> None:
    await rig.queue.offer(msg(A, "hỏng", "a0"))
    await rig.queue.offer(msg(A, "tiếp", "a1"))
    await rig.queue.join()
    assert rig.channel.sent == [("a", "Xin lỗi, hệ thống đang gặp sự cố."), ("a", "Đã nhận: tiếp")]


async def test_a_refused_reply_is_retried_after_the_backoff_and_holds_its_chat_back(rig: Rig) -> None:
    rig.channel.refuse = {"a": [DeliveryError("Zalo Bot error 429", retryable=True)]}
    await rig.queue.offer(msg(A, "một", "a0"))
    await rig.queue.offer(msg(A, "hai", "a1"))
    await rig.queue.offer(msg(B, "khác", "b0"))
    await rig.queue.join()
    assert rig.channel.sent == [("b", "Đã nhận: khác")]  # "một" waits 10 s; "hai" waits behind it
    assert rig.outbox.undelivered() == 2
    rig.clock.advance(timedelta(seconds=10))
    await sent(rig, 3)
    assert rig.channel.sent[1:] == [("a", "Đã nhận: một"), ("a", "Đã nhận: hai")]


async def test_a_final_refusal_sets_the_reply_aside_and_the_chat_goes_on(rig: Rig) -> None:
    rig.channel.refuse = {"a": [DeliveryError("Forbidden: bot was blocked by the user", retryable=False)]}
    await rig.queue.offer(msg(A, "một", "a0"))
    await rig.queue.offer(msg(A, "hai", "a1"))
    await rig.queue.join()
    assert rig.channel.sent == [("a", "Đã nhận: hai")]
    assert rig.outbox.undelivered() == 0


async def test_attempts_used_up_set_the_reply_aside(rig: Rig) -> None:
    rig.channel.refuse = {"a": [DeliveryError("Zalo Bot unreachable", retryable=True) for _ in range(3)]}
    await rig.queue.offer(msg(A, "một", "a0"))
    for _ in range(3):  # max_attempts
        await rig.queue.join()
        rig.clock.advance(timedelta(seconds=30))
    await rig.queue.join()
    assert rig.channel.sent == []
    assert rig.outbox.undelivered() == 0


async def test_the_next_process_finishes_what_a_dead_one_left(db_engine: Engine) -> None:
    clock = FakeClock()
    dead = Rig(db_engine, clock)
    await dead.queue.offer(msg(A, "một", "a0"))
    await dead.queue.offer(msg(A, "hai", "a1"))
    assert dead.inbox.claim() is not None  # the dead process had taken "một" and died with it

    clock.advance(timedelta(seconds=61))  # its lease runs out
    fresh = Rig(db_engine, clock)
    await fresh.start()
    try:
        await fresh.queue.join()
    finally:
        await fresh.stop()
    assert fresh.channel.sent == [("a", "Đã nhận: một"), ("a", "Đã nhận: hai")]


async def test_an_inbox_that_cannot_store_refuses_the_message(db_engine: Engine) -> None:
    class Broken(SqlInbox):
        def add(self, message: InboundMessage) -> bool:
            raise OSError("database down")

    queue = DurableInboundQueue(Handler(), Broken(make_session_factory(db_engine)))
    with pytest.raises(InboxUnavailableError):
        await queue.offer(msg(A, "một", "a0"))


async def test_a_message_without_a_platform_id_is_stored_under_one_of_its_own(rig: Rig) -> None:
    await rig.queue.offer(InboundMessage(key=A, text="không có id"))
    await rig.queue.offer(InboundMessage(key=A, text="không có id"))
    await asyncio.wait_for(rig.queue.join(), 10)
    assert rig.channel.sent == [("a", "Đã nhận: không có id")] * 2


async def test_a_notice_is_queued_behind_the_chats_replies_and_delivered(rig: Rig) -> None:
    rig.sender.on_queued = rig.retrier.wake
    rig.channel.refuse = {"a": [DeliveryError("Zalo Bot error 503", retryable=True)]}
    await rig.queue.offer(msg(A, "một", "a0"))
    await rig.queue.join()
    await rig.sender.deliver(OutboundMessage(A, "Hồ sơ của bạn đã có kết quả."))
    await rig.queue.join()
    assert rig.channel.sent == []  # the notice waits behind the reply in backoff
    rig.clock.advance(timedelta(seconds=10))
    await sent(rig, 2)
    assert rig.channel.sent == [("a", "Đã nhận: một"), ("a", "Hồ sơ của bạn đã có kết quả.")]


async def test_an_officers_reply_never_overtakes_the_bots(rig: Rig) -> None:
    rig.channel.refuse = {"a": [DeliveryError("Zalo Bot error 429", retryable=True)]}
    await rig.queue.offer(msg(A, "một", "a0"))
    await rig.queue.join()
    with pytest.raises(DeliveryError) as refused:
        await rig.sender.deliver_in_order(OutboundMessage(A, "Cán bộ: chào anh", sender="officer"))
    assert refused.value.retryable
    await rig.sender.deliver_in_order(OutboundMessage(B, "Cán bộ: chào chị", sender="officer"))
    assert rig.channel.sent == [("b", "Cán bộ: chào chị")]  # another chat is not held up
    rig.clock.advance(timedelta(seconds=10))
    await sent(rig, 2)
    await rig.sender.deliver_in_order(OutboundMessage(A, "Cán bộ: chào anh", sender="officer"))
    assert rig.channel.sent[1:] == [("a", "Đã nhận: một"), ("a", "Cán bộ: chào anh")]


async def test_a_graceful_stop_sends_what_the_last_turns_queued(db_engine: Engine) -> None:
    rig = Rig(db_engine, FakeClock())  # no retry loop running: only the flush sends
    await rig.sender.deliver(OutboundMessage(A, "một"))
    await rig.sender.deliver(OutboundMessage(B, "hai"))
    assert await rig.sender.flush(timeout=10)
    await rig.sender.stop()
    assert sorted(rig.channel.sent) == [("a", "một"), ("b", "hai")]


async def test_the_outbox_loop_looks_once_per_interval_when_nothing_wakes_it() -> None:
    passes = 0

    async def look() -> None:
        nonlocal passes
        passes += 1

    retrier = DeliveryRetrier(None, interval=0.1, outbox=look)
    await retrier.start()
    await asyncio.sleep(0.35)
    await retrier.stop()
    # the start's pass and one per interval (about 4; fewer on a loaded machine, never more); a loop
    # spinning on an expired timeout made thousands
    assert 1 <= passes <= 10, passes


async def test_a_slow_turn_holds_back_its_own_chat_only(db_engine: Engine) -> None:
    """The second message of a chat waits for the first; eight other chats are answered meanwhile."""
    release = asyncio.Event()
    others_done = asyncio.Event()
    events: list[str] = []
    others = {f"b{i}" for i in range(8)}

    async def handler(message: InboundMessage) -> list[OutboundMessage]:
        events.append(f"start {message.key.chat_id}:{message.text}")
        if message.text == "chậm":
            await release.wait()
        events.append(f"end {message.key.chat_id}:{message.text}")
        if others <= {e.split()[1].split(":")[0] for e in events if e.startswith("end b")}:
            others_done.set()
        return [OutboundMessage(message.key, message.text)]

    channel = Channel()
    pipeline = DurablePipeline(handler, ChannelRegistry([channel]), db_engine, workers=4)
    await pipeline.start()
    try:
        await pipeline.offer(msg(A, "chậm", "a0"))
        await pipeline.offer(msg(A, "sau", "a1"))
        for chat in sorted(others):
            await pipeline.offer(msg(ConversationKey("zalo_bot", chat), "nhanh", f"{chat}-0"))
        await asyncio.wait_for(others_done.wait(), 10)
        assert "start a:sau" not in events  # waits for "chậm" of the same chat
        release.set()
        await pipeline.join()
    finally:
        release.set()
        await pipeline.stop()
    assert [text for chat, text in channel.sent if chat == "a"] == ["chậm", "sau"]
    assert sum(1 for chat, _ in channel.sent if chat in others) == 8


async def test_a_failing_turn_is_logged_with_personal_numbers_masked(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await rig.queue.offer(msg(A, "hỏng", "a0"))
        await rig.queue.join()
    assert "001203004567" not in caplog.text
    assert "*********567" in caplog.text


def test_the_number_of_turns_at_once_is_a_setting(factory_settings) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes.app import factory_app

    assert factory_app(factory_settings).queue.workers == 4
    assert factory_app(factory_settings.model_copy(update={"inbox_workers": 9})).queue.workers == 9
