"""The Telegram channel end to end against the local fake Bot API server.

Polling runs a real python-telegram-bot Application over HTTP to the fake; the webhook router is called
through httpx's ASGI transport. The engine is a trivial echo handler that records what it received.
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pytest_socket import SocketConnectBlockedError

from bot.channels.base import ChannelRegistry, DeliveryError
from bot.channels.durable import InboxUnavailableError
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram import (
    MAX_CALLBACK_DATA_BYTES,
    MAX_TEXT_LENGTH,
    SECRET_HEADER,
    TelegramChannel,
    TelegramPolling,
    build_application,
    build_bot,
    telegram_webhook_router,
)
from bot.core.messages import Button, ConversationKey, InboundMessage, OutboundMessage
from tests.fakes.clock import FakeClock
from tests.fakes.durable import DurablePipeline, migrated_sqlite
from tests.fakes.telegram_server import FakeTelegramServer

DATA = Path(__file__).parents[1] / "data" / "channels"
CHAT_ID = 5123456789
LONG_PAYLOAD = "procedure:cap-can-cuoc-cho-nguoi-duoi-14-tuoi-tai-co-quan-cong-an-cap-xa-muc-do-4"
SECRET = "s3cret-webhook-token_0123456789"


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def text_update(update_id: int, text: str) -> dict[str, Any]:
    update = load("telegram_text_message.json")
    update["update_id"] = update_id
    update["message"]["text"] = text
    return update


class EchoEngine:
    """Echoes text; 'menu' offers buttons (one with a payload over 64 bytes); 'dài' answers 9000 chars."""

    def __init__(self) -> None:
        self.received: list[InboundMessage] = []

    async def __call__(self, message: InboundMessage) -> list[OutboundMessage]:
        self.received.append(message)
        if message.text == "menu":
            return [
                OutboundMessage(
                    message.key,
                    "Bạn muốn hỏi về thủ tục nào?",
                    buttons=(Button("Khai sinh", "proc:1.001193"), Button("Căn cước cho trẻ", LONG_PAYLOAD)),
                    links=(("Mẫu tờ khai", "https://dichvucong.gov.vn/mau-to-khai.docx"),),
                )
            ]
        if message.text == "dài":
            paragraph = ("Hướng dẫn chi tiết thủ tục. " * 30).strip()
            return [OutboundMessage(message.key, "\n\n".join([paragraph] * 11))]
        return [OutboundMessage(message.key, f"Bạn nói: {message.text}")]


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns when integer time periods are read (RetryAfter); opt in to timedelta as production does.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as server:
        yield server


def fast_limiter() -> RateLimiter:
    return RateLimiter(overall=1000, per_chat=1000)


class Rig:
    """What a test needs to drive and observe one channel setup."""

    def __init__(
        self,
        engine: EchoEngine,
        channel: TelegramChannel,
        queue: DurablePipeline,
        fake: FakeTelegramServer,
        clock: FakeClock,
    ) -> None:
        self.engine, self.channel, self.queue, self.fake, self.clock = engine, channel, queue, fake, clock


@pytest.fixture
async def polling(fake: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Rig]:
    engine = EchoEngine()
    app = build_application(fake.token, base_url=fake.base_url, poll_timeout=1)
    clock = FakeClock()
    channel = TelegramChannel(app.bot, limiter=fast_limiter(), sleep=clock.sleep)
    queue = DurablePipeline(engine, ChannelRegistry([channel]), migrated_sqlite(tmp_path))
    poller = TelegramPolling(app, channel, queue)
    await queue.start()
    await poller.start()
    rig = Rig(engine, channel, queue, fake, clock)
    try:
        yield rig
    finally:
        await poller.stop()
        await queue.stop()


# ---------------------------------------------------------------------------------------- polling


async def test_polling_text_message_gets_a_reply(polling: Rig) -> None:
    polling.fake.push_update(load("telegram_text_message.json"))
    sent = await polling.fake.wait_for("sendMessage")
    assert sent[0]["chat_id"] == str(CHAT_ID)
    assert sent[0]["text"] == "Bạn nói: Làm căn cước cho con cần giấy tờ gì?"
    received = polling.engine.received[0]
    assert received.key == ConversationKey("telegram", str(CHAT_ID))
    assert received.message_id == "815234101"
    assert received.sender_name == "Lan Nguyễn"
    assert not received.is_button
    # PTB speaks form-encoded to the Bot API, not JSON
    send_call = next(c for c in polling.fake.calls if c.method == "sendMessage")
    assert "application/x-www-form-urlencoded" in send_call.content_type


async def test_polling_start_command_arrives_as_slash_start(polling: Rig) -> None:
    polling.fake.push_update(load("telegram_start_command.json"))
    await polling.fake.wait_for("sendMessage")
    assert polling.engine.received[0].text == "/start"


async def test_polling_command_with_bot_name_and_help(polling: Rig) -> None:
    polling.fake.push_update(text_update(1, "/help@thutuc_test_bot"))
    await polling.fake.wait_for("sendMessage")
    assert polling.engine.received[0].text == "/help"


async def test_polling_inline_keyboard_one_button_per_row_with_url_button(polling: Rig) -> None:
    polling.fake.push_update(text_update(2, "menu"))
    sent = await polling.fake.wait_for("sendMessage")
    keyboard = sent[0]["reply_markup"]["inline_keyboard"]
    assert [len(row) for row in keyboard] == [1, 1, 1]
    assert keyboard[0][0] == {"text": "Khai sinh", "callback_data": "proc:1.001193"}
    long_data = keyboard[1][0]["callback_data"]
    assert long_data != LONG_PAYLOAD and len(long_data.encode()) <= MAX_CALLBACK_DATA_BYTES
    assert keyboard[2][0] == {"text": "Mẫu tờ khai", "url": "https://dichvucong.gov.vn/mau-to-khai.docx"}


async def test_polling_callback_query_is_answered_and_handled(polling: Rig) -> None:
    polling.fake.push_update(load("telegram_callback_query.json"))
    answered = await polling.fake.wait_for("answerCallbackQuery")
    assert answered[0]["callback_query_id"] == "4382910293847561234"
    await polling.fake.wait_for("sendMessage")
    received = polling.engine.received[0]
    assert received.text == "proc:1.010123"
    assert received.is_button


async def test_polling_long_payload_token_maps_back_to_the_payload(polling: Rig) -> None:
    polling.fake.push_update(text_update(3, "menu"))
    sent = await polling.fake.wait_for("sendMessage")
    token = sent[0]["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    press = load("telegram_callback_query.json")
    press["update_id"] = 4
    press["callback_query"]["data"] = token
    polling.fake.push_update(press)
    await polling.fake.wait_for("sendMessage", 2)
    assert polling.engine.received[1].text == LONG_PAYLOAD
    assert polling.engine.received[1].is_button


async def test_polling_long_reply_is_split_under_the_limit(polling: Rig) -> None:
    polling.fake.push_update(text_update(5, "dài"))
    await polling.fake.wait_for("sendMessage", 3)
    await polling.queue.join()
    parts = [c["text"] for c in polling.fake.calls_to("sendMessage")]
    assert len(parts) == 3
    assert all(len(p) <= MAX_TEXT_LENGTH for p in parts)
    assert all(p.endswith("thủ tục.") for p in parts)  # cut at paragraph boundaries
    original = polling.engine.received[0]
    assert original.text == "dài"


async def test_polling_duplicate_update_is_processed_once(polling: Rig) -> None:
    update = text_update(6, "một lần thôi")
    polling.fake.push_update(update)
    polling.fake.push_update(copy.deepcopy(update))  # redelivered with the same update_id
    polling.fake.push_update(text_update(7, "tiếp theo"))
    await polling.fake.wait_for("sendMessage", 2)
    await polling.queue.join()
    assert [m.text for m in polling.engine.received] == ["một lần thôi", "tiếp theo"]
    assert len(polling.fake.calls_to("sendMessage")) == 2


async def test_polling_confirms_an_update_only_once_it_is_stored(
    fake: FakeTelegramServer, tmp_path: Path
) -> None:
    """Issue 12: the offset moves past an update only after the inbox stored it; a failed store asks
    Telegram again from the same update, so an update is never confirmed and lost."""

    class FlakyInbox:
        def __init__(self, inner: DurablePipeline) -> None:
            self.inner, self.failures = inner, 1

        async def offer(self, message: InboundMessage) -> bool:
            if self.failures:
                self.failures -= 1
                raise InboxUnavailableError("inbox unavailable")
            return await self.inner.offer(message)

    engine = EchoEngine()
    app = build_application(fake.token, base_url=fake.base_url, poll_timeout=1)
    channel = TelegramChannel(app.bot, limiter=fast_limiter())
    queue = DurablePipeline(engine, ChannelRegistry([channel]), migrated_sqlite(tmp_path))
    poller = TelegramPolling(app, channel, FlakyInbox(queue), retry_pause=0.05)
    await queue.start()
    await poller.start()
    try:
        fake.push_update(text_update(40, "lần đầu lỗi"))
        fake.push_update(text_update(41, "sau đó"))
        await fake.wait_for("sendMessage", 2)
        await queue.join()
    finally:
        await poller.stop()
        await queue.stop()
    assert [m.text for m in engine.received] == ["lần đầu lỗi", "sau đó"]
    offsets = [int(c.get("offset") or 0) for c in fake.calls_to("getUpdates")]
    # asked again without confirming update 40 after the failed store, then past both
    assert offsets[:2] == [0, 0]
    assert offsets[-1] == 42


async def test_polling_flood_control_is_waited_out_and_retried(polling: Rig) -> None:
    polling.fake.fail_next("sendMessage", retry_after=3)
    polling.fake.push_update(text_update(8, "xin chào"))
    calls = await polling.fake.wait_for("sendMessage", 2)
    assert calls[0]["text"] == calls[1]["text"] == "Bạn nói: xin chào"
    assert polling.clock.sleeps == [3.0]


# ---------------------------------------------------------------------------------------- send errors


@pytest.fixture
async def channel(fake: FakeTelegramServer) -> AsyncIterator[tuple[TelegramChannel, FakeClock]]:
    clock = FakeClock()
    chan = TelegramChannel(
        build_bot(fake.token, base_url=fake.base_url),
        limiter=fast_limiter(),
        sleep=clock.sleep,
        max_retry_after=10,
    )
    await chan.initialize()
    try:
        yield chan, clock
    finally:
        await chan.shutdown()


def reply(text: str = "Chào bạn") -> OutboundMessage:
    return OutboundMessage(ConversationKey("telegram", str(CHAT_ID)), text)


async def test_send_blocked_by_user_is_not_retryable(
    fake: FakeTelegramServer, channel: tuple[TelegramChannel, FakeClock]
) -> None:
    fake.fail_next("sendMessage", error_code=403, description="Forbidden: bot was blocked by the user")
    with pytest.raises(DeliveryError) as info:
        await channel[0].send(reply())
    assert not info.value.retryable
    assert len(fake.calls_to("sendMessage")) == 1


async def test_send_flood_wait_too_long_fails_retryable_without_waiting(
    fake: FakeTelegramServer, channel: tuple[TelegramChannel, FakeClock]
) -> None:
    fake.fail_next("sendMessage", retry_after=60)
    with pytest.raises(DeliveryError) as info:
        await channel[0].send(reply())
    assert info.value.retryable
    assert channel[1].sleeps == []


async def test_send_gives_up_after_repeated_flood_control(
    fake: FakeTelegramServer, channel: tuple[TelegramChannel, FakeClock]
) -> None:
    fake.fail_next("sendMessage", retry_after=1, times=5)
    with pytest.raises(DeliveryError) as info:
        await channel[0].send(reply())
    assert info.value.retryable
    assert len(fake.calls_to("sendMessage")) == 3


async def test_send_unreachable_server_is_retryable(
    fake: FakeTelegramServer, channel: tuple[TelegramChannel, FakeClock]
) -> None:
    await fake.stop()  # connection refused from now on
    with pytest.raises(DeliveryError) as info:
        await channel[0].send(reply())
    assert info.value.retryable
    assert channel[1].sleeps == [0.5, 1.0]


# ---------------------------------------------------------------------------------------- webhook


@pytest.fixture
async def webhook(
    fake: FakeTelegramServer, channel: tuple[TelegramChannel, FakeClock], tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Rig]]:
    engine = EchoEngine()
    chan = channel[0]
    queue = DurablePipeline(engine, ChannelRegistry([chan]), migrated_sqlite(tmp_path))
    app = FastAPI()
    app.include_router(telegram_webhook_router(chan, queue, secret_token=SECRET))
    await queue.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://helpline.test") as client:
        try:
            yield client, Rig(engine, chan, queue, fake, channel[1])
        finally:
            await queue.stop()


async def test_webhook_good_secret_is_acknowledged_and_processed(
    fake: FakeTelegramServer, webhook: tuple[httpx.AsyncClient, Rig]
) -> None:
    client, rig = webhook
    response = await client.post(
        "/webhooks/telegram", json=load("telegram_text_message.json"), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200
    await rig.queue.join()
    assert fake.calls_to("sendMessage")[0]["text"] == "Bạn nói: Làm căn cước cho con cần giấy tờ gì?"


async def test_webhook_callback_query_is_answered(
    fake: FakeTelegramServer, webhook: tuple[httpx.AsyncClient, Rig]
) -> None:
    client, rig = webhook
    response = await client.post(
        "/webhooks/telegram", json=load("telegram_callback_query.json"), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200
    await rig.queue.join()
    assert fake.calls_to("answerCallbackQuery")[0]["callback_query_id"] == "4382910293847561234"
    assert rig.engine.received[0].is_button


async def test_webhook_duplicate_is_processed_once(
    fake: FakeTelegramServer, webhook: tuple[httpx.AsyncClient, Rig]
) -> None:
    client, rig = webhook
    for _ in range(2):
        response = await client.post(
            "/webhooks/telegram", json=load("telegram_text_message.json"), headers={SECRET_HEADER: SECRET}
        )
        assert response.status_code == 200
    await rig.queue.join()
    assert len(rig.engine.received) == 1
    assert len(fake.calls_to("sendMessage")) == 1


@pytest.mark.parametrize("headers", [{SECRET_HEADER: "wrong"}, {}])
async def test_webhook_bad_secret_is_forbidden(
    headers: dict[str, str], webhook: tuple[httpx.AsyncClient, Rig]
) -> None:
    client, rig = webhook
    response = await client.post(
        "/webhooks/telegram", json=load("telegram_text_message.json"), headers=headers
    )
    assert response.status_code == 403
    await rig.queue.join()
    assert rig.engine.received == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"no_update_id": true}'])
async def test_webhook_bad_body_is_400_without_a_stack_trace(
    body: bytes, webhook: tuple[httpx.AsyncClient, Rig]
) -> None:
    client, rig = webhook
    response = await client.post(
        "/webhooks/telegram",
        content=body,
        headers={SECRET_HEADER: SECRET, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "Traceback" not in response.text
    assert rig.engine.received == []


async def test_webhook_router_refuses_an_empty_secret(
    channel: tuple[TelegramChannel, FakeClock], tmp_path: Path
) -> None:
    queue = DurablePipeline(EchoEngine(), ChannelRegistry(), migrated_sqlite(tmp_path))
    with pytest.raises(ValueError):
        telegram_webhook_router(channel[0], queue, secret_token="")


async def test_set_webhook_registers_the_secret(
    fake: FakeTelegramServer, channel: tuple[TelegramChannel, FakeClock]
) -> None:
    await channel[0].set_webhook("https://helpline.example/webhooks/telegram", SECRET)
    call = fake.calls_to("setWebhook")[0]
    assert call["url"] == "https://helpline.example/webhooks/telegram"
    assert call["secret_token"] == SECRET
    assert call["allowed_updates"] == ["message", "callback_query"]


async def test_officer_prefix_and_non_http_links_fall_back_to_text(fake: FakeTelegramServer) -> None:
    chan = TelegramChannel(
        build_bot(fake.token, base_url=fake.base_url), limiter=fast_limiter(), officer_prefix="Cán bộ: "
    )
    await chan.initialize()
    try:
        await chan.send(
            OutboundMessage(
                ConversationKey("telegram", str(CHAT_ID)),
                "Hồ sơ của bạn đã được tiếp nhận.",
                links=(("Biểu mẫu", "/forms/to-khai.docx"),),
                sender="officer",
            )
        )
    finally:
        await chan.shutdown()
    sent = fake.calls_to("sendMessage")[0]
    assert sent["text"] == "Cán bộ: Hồ sơ của bạn đã được tiếp nhận.\n\n- Biểu mẫu: /forms/to-khai.docx"
    assert "reply_markup" not in sent


# ---------------------------------------------------------------------------------------- offline


def test_tests_can_reach_only_this_machine() -> None:
    # pytest-socket (configured in pyproject.toml) lets tests connect only to loopback, so a channel
    # built without the fake's base_url fails here instead of calling api.telegram.org. 192.0.2.1 is a
    # documentation address (TEST-NET-1): without the guard this would time out with an OSError instead.
    with (
        pytest.warns(UserWarning, match="192.0.2.1"),
        pytest.raises(SocketConnectBlockedError),
    ):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
