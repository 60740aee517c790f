"""Issue 12, several processes: what a channel remembers between a message and the citizen's answer lives
in the shared database (bot.storage.button_memory), so the answer may reach any process.

Two channel instances on one database stand for two server processes: one sends, the other receives the
Telegram button press (a 65-byte payload, over the 64 bytes of ``callback_data``) or the Zalo "2".
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from telegram import Bot, Update

from bot.app.retention import Retention
from bot.channels.base import InMemoryButtonMemory, TextOnlyChannel
from bot.channels.telegram import MAX_CALLBACK_DATA_BYTES, TelegramChannel
from bot.core.config import PrivacyConfig
from bot.core.messages import Button, ConversationKey, OutboundMessage
from bot.core.timeutil import utcnow
from bot.storage.button_memory import ButtonMemoryRow, SqlButtonMemory
from knowledge.db import make_session_factory

LONG = '/choose{"procedure":"1.001471","aspect":"ask_procedure_overview"}'
PRESS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "channels" / "telegram_callback_query.json").read_text()
)


def press(channel: TelegramChannel, data: str) -> Update:
    raw = copy.deepcopy(PRESS)
    raw["callback_query"]["data"] = data
    return Update.de_json(raw, channel.bot)


def sent_callback_data(channel: TelegramChannel, payload: str) -> str:
    message = OutboundMessage(
        ConversationKey("telegram", "42"), "Chọn:", buttons=(Button("Tổng quan", payload),)
    )
    markup, _ = channel._keyboard(message)
    assert markup is not None
    return markup.inline_keyboard[0][0].callback_data


def test_a_long_payload_sent_by_one_process_is_resolved_by_another(db_engine: Engine) -> None:
    assert len(LONG.encode()) == MAX_CALLBACK_DATA_BYTES + 1
    sender = TelegramChannel(Bot("1:x"), memory=SqlButtonMemory(make_session_factory(db_engine)))
    receiver = TelegramChannel(Bot("1:x"), memory=SqlButtonMemory(make_session_factory(db_engine)))
    data = sent_callback_data(sender, LONG)
    assert data != LONG and len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
    assert sent_callback_data(receiver, LONG) == data  # one payload, one token, on every process
    inbound = receiver.to_inbound(press(receiver, data))
    assert inbound is not None
    assert (inbound.text, inbound.is_button) == (LONG, True)
    assert "expired_button" not in inbound.metadata
    short = receiver.to_inbound(press(receiver, "/start"))  # short payloads travel as they are
    assert short is not None and short.text == "/start"


def test_in_process_memory_alone_loses_the_press_on_another_process() -> None:
    """The old behaviour, still the default of one process: the other instance does not know the token."""
    sender, receiver = TelegramChannel(Bot("1:x")), TelegramChannel(Bot("1:x"))
    inbound = receiver.to_inbound(press(receiver, sent_callback_data(sender, LONG)))
    assert inbound is None  # the pressed message (not in the update) carries no keyboard to fall back on


class RecordingTextChannel(TextOnlyChannel):
    name = "zalo"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    async def send_text(self, chat_id: str, text: str) -> None:
        self.sent.append((chat_id, text))


async def test_a_numbered_reply_reaching_another_process_selects_the_choice(db_engine: Engine) -> None:
    sender, receiver = RecordingTextChannel(), RecordingTextChannel()
    sender.share_buttons(SqlButtonMemory(make_session_factory(db_engine)))
    receiver.share_buttons(SqlButtonMemory(make_session_factory(db_engine)))
    key = ConversationKey("zalo", "u1")
    choices = (Button("Đăng ký khai sinh", "proc:khai-sinh"), Button("Cấp căn cước", "proc:can-cuoc"))
    await sender.send(OutboundMessage(key, "Bạn cần gì?", buttons=choices))
    assert "2. Cấp căn cước" in sender.sent[0][1]
    chosen = receiver.inbound("u1", "2")
    assert (chosen.text, chosen.is_button, chosen.metadata["typed"]) == ("proc:can-cuoc", True, "2")
    assert receiver.inbound("u2", "2").is_button is False  # another chat has no choices
    await receiver.send(OutboundMessage(key, "Không còn lựa chọn."))  # the other process clears them
    assert sender.inbound("u1", "2").text == "2"


def test_rows_untouched_for_a_week_are_purged(db_engine: Engine) -> None:
    sessions = make_session_factory(db_engine)
    now = utcnow()
    SqlButtonMemory(sessions, clock=lambda: now - timedelta(days=8)).put("telegram:~old", "a")
    SqlButtonMemory(sessions, clock=lambda: now - timedelta(days=8)).put("telegram:~again", "b")
    SqlButtonMemory(sessions, clock=lambda: now).put("telegram:~again", "b")  # written again: kept
    report = Retention(sessions, PrivacyConfig(), clock=lambda: now).purge()
    assert report.counts["button_memory"] == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ButtonMemoryRow)) == 1
    assert SqlButtonMemory(sessions).get("telegram:~again") == "b"


async def test_the_shared_memory_is_written_off_the_event_loop() -> None:
    """The shared memory is the database: its writes run on a worker thread, never on the loop every
    chat shares."""
    threads: list[str] = []

    class Watched(InMemoryButtonMemory):
        def put(self, key: str, value: str) -> None:
            threads.append(threading.current_thread().name)
            super().put(key, value)

        def forget(self, key: str) -> None:
            threads.append(threading.current_thread().name)
            super().forget(key)

    channel = RecordingTextChannel()
    channel.share_buttons(Watched(10))
    key = ConversationKey("zalo", "u1")
    await channel.send(OutboundMessage(key, "Bạn cần gì?", buttons=(Button("Một", "/mot"),)))
    await channel.send(OutboundMessage(key, "Xong."))
    assert len(threads) == 2 and threading.main_thread().name not in threads
