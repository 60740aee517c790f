"""A real documents answer as each channel shows it (issue 11, "Done when": the channels show them well).

The documents answer numbers the papers (1-4) and offers the cases as buttons. Telegram shows the
buttons as a keyboard, so the text keeps its numbers. Zalo Bot (text only) turns the buttons into
numbered choices: there the papers are lettered (a, b, c ...) and the choices introduced by a line of
their own, so that a reply "2" can only mean the second choice.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx

from actions.procedure.answers import answer
from bot.channels.telegram import TelegramChannel, build_bot
from bot.channels.zalo_bot import ZaloBotChannel
from bot.core.messages import (
    Button,
    ConversationKey,
    OutboundMessage,
    numbered_fallback,
    resolve_numbered_reply,
)
from bot.core.sdk import CollectingDispatcher
from knowledge.domain import Procedure
from knowledge.seed import read_records
from tests import factories as f
from tests.fakes.zalo import FakeZaloBot

BIRTH = "1.001193"  # birth registration: 4 papers everyone brings, 4 cases and the full-text buttons


@functools.cache
def seed() -> dict[str, Procedure]:
    records, errors = read_records()
    assert not errors
    return {r.code: r for r in records}


def documents_answer(channel: str) -> OutboundMessage:
    """The bot's documents answer for birth registration, as the engine hands it to ``channel``."""
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, seed()[BIRTH], "documents")
    [draft] = dispatcher.messages
    return OutboundMessage(ConversationKey(channel, "c1"), draft.text, draft.buttons, draft.links)


async def test_zalo_bot_letters_the_papers_and_numbers_only_the_choices() -> None:
    fake = FakeZaloBot()
    message = documents_answer("zalo_bot")
    async with httpx.AsyncClient(transport=fake.transport) as client:
        channel = ZaloBotChannel(client, fake.token, base_url="https://bot-api.test")
        await channel.send(message)
    text = "\n".join(t for _, t in fake.sent())
    assert text.startswith(
        "Dạ, hồ sơ Đăng ký khai sinh — giấy tờ ai cũng cần (4 loại):\n"
        "a) Tờ khai đăng ký khai sinh theo mẫu (nếu nộp trực tiếp hoặc gửi qua bưu chính)\n"
        "Giấy tờ phải nộp:\n"
        "b) Giấy chứng sinh\n"
        "   – nếu không có Giấy chứng sinh: văn bản của người làm chứng xác nhận về việc sinh\n"
    )
    assert "\nc) Giấy tờ tùy thân (Hộ chiếu" in text
    assert "\nd) Giấy tờ có giá trị chứng minh thông tin về cư trú" in text
    assert (
        "Trả lời bằng số thứ tự để chọn:\n"
        "1. Trẻ em bị bỏ rơi\n"
        "2. Ủy quyền cho người khác làm thủ tục\n"
        "3. Trẻ em sinh ra do mang thai hộ\n"
        "4. Nộp hồ sơ trực tuyến\n"
        "5. Xem đầy đủ\n"
        "6. Lưu ý"
    ) in text
    numbered = [line for line in text.splitlines() if line[:1].isdigit()]
    assert len(numbered) == len(message.buttons)  # the only numbers are the choices
    # and a number picks the choice it names
    assert resolve_numbered_reply("2", channel.last_buttons("c1")) == message.buttons[1].payload


async def test_telegram_keeps_the_numbered_papers_and_the_cases_as_a_keyboard() -> None:
    channel = TelegramChannel(build_bot("123456:telegram-test-token", base_url="http://127.0.0.1:9/bot"))
    calls: list[tuple[str, str, Any]] = []

    async def record(chat_id: str, text: str, markup: Any) -> None:
        calls.append((chat_id, text, markup))

    channel._call = record  # type: ignore[method-assign]  # the wire is tested in tests/integration
    message = documents_answer("telegram")
    await channel.send(message)
    [(chat_id, text, markup)] = calls
    assert chat_id == "c1" and text == message.text
    assert "\n1. Tờ khai đăng ký khai sinh theo mẫu" in text and "\n2. Giấy chứng sinh\n" in text
    assert [row[0].text for row in markup.inline_keyboard][:6] == [b.title for b in message.buttons]


def test_a_list_that_is_the_choices_keeps_its_numbers() -> None:
    """ "Bạn thuộc trường hợp nào ạ?" lists the cases themselves: their numbers are the ones to reply."""
    dispatcher = CollectingDispatcher(f.catalogue())
    answer(dispatcher, seed()["1.004222"], "documents")  # permanent residence: the cases first
    [draft] = dispatcher.messages
    text = numbered_fallback(OutboundMessage(ConversationKey("zalo_bot", "c1"), draft.text, draft.buttons))
    assert "\n1. Chỗ ở hợp pháp thuộc quyền sở hữu của mình\n" in text
    assert (
        text.count("1. Chỗ ở hợp pháp thuộc quyền sở hữu của mình") == 1
    )  # listed once, not again as choices
    assert "a) " not in text
    assert text.endswith("Trả lời bằng số thứ tự để chọn.")


def test_a_message_without_choices_is_unchanged() -> None:
    plain = OutboundMessage(ConversationKey("zalo_bot", "c1"), "1. Luật Hộ tịch\n2. Nghị định 123")
    assert numbered_fallback(plain) == "1. Luật Hộ tịch\n2. Nghị định 123"
    menu = OutboundMessage(ConversationKey("zalo_bot", "c1"), "Bạn chọn:", (Button("Khai sinh", "/k"),))
    assert numbered_fallback(menu) == "Bạn chọn:\n\n1. Khai sinh\n\nTrả lời bằng số thứ tự để chọn."
