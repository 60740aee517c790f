"""A receipt photo sent on Telegram starts the dossier look-up; other non-text messages get a short reply.

Production's wiring (``factory_app``: the attachment reader, the ticket recorder, the engine, the dossier
action with its SQL guard); the Telegram channel talks to the fake Bot API server, which serves the
photo through ``getFile`` and the file address exactly as Telegram does. Only the dossier system (one
dossier in memory) and the clock are fakes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Update

from bot.app.bootstrap import App
from bot.channels.telegram import TelegramChannel, build_bot
from bot.core.messages import ConversationKey
from bot.core.ports import DossierStatus, InMemoryDossierGateway
from bot.core.settings import Settings
from bot.core.state import Mode
from tests import factories as f
from tests.fakes.app import factory_app
from tests.fakes.clock import FakeClock
from tests.fakes.receipts import photo, plain_photo, receipt
from tests.fakes.telegram_server import FakeTelegramServer

NOW = datetime(2025, 3, 20, 3, 0, tzinfo=UTC)
CODE = "000.00.24.H12-250301-0007"
CHAT = 5123456789


@pytest.fixture
def app(factory_settings: Settings) -> App:
    dossier = DossierStatus(
        CODE,
        "Đang giải quyết",
        procedure_name="Cấp giấy phép xây dựng mới",
        procedure_code=f.GPXD_NEW,
        current_step="Thẩm định hồ sơ",
        received_at=datetime(2025, 3, 1, 1, 30, tzinfo=UTC),
        due_at=datetime(2025, 3, 16, 1, 30, tzinfo=UTC),
    )
    gateway = InMemoryDossierGateway([dossier], secrets={CODE: {"5678"}})
    return factory_app(factory_settings, dossiers=gateway, clock=FakeClock(NOW))


def update(update_id: int, **fields: Any) -> dict[str, Any]:
    message = {
        "message_id": update_id,
        "date": 1742439600,
        "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "Lan"},
        **fields,
    }
    return {"update_id": update_id, "message": message}


def photo_sizes(file_id: str, size: int) -> list[dict[str, Any]]:
    thumb = {"file_id": "thumb", "file_unique_id": "t", "width": 90, "height": 120, "file_size": 1000}
    return [
        thumb,
        {"file_id": file_id, "file_unique_id": file_id, "width": 1240, "height": 1754, "file_size": size},
    ]


async def send(app: App, channel: TelegramChannel, raw: dict[str, Any]) -> str:
    inbound = channel.to_inbound(Update.de_json(raw, channel.bot))
    assert inbound is not None
    replies = await app.handler(inbound)
    return "\n---\n".join(r.text for r in replies)


async def test_receipt_photo_on_telegram_starts_the_lookup_and_the_digits_finish_it(app: App) -> None:
    async with FakeTelegramServer() as fake:
        channel = TelegramChannel(build_bot(fake.token, base_url=fake.base_url))
        app.registry.register(channel)
        await channel.initialize()
        data = photo(receipt(f"https://dichvucong.example.gov.vn/tra-cuu?ma={CODE}"), angle=9, blur=1.0)
        fake.add_file("receipt-1", data)

        asked = await send(app, channel, update(1, photo=photo_sizes("receipt-1", len(data))))
        assert fake.calls_to("getFile")[0]["file_id"] == "receipt-1"
        key = ConversationKey("telegram", str(CHAT))
        state = app.adapters.conversations.load(key)
        assert state.mode == Mode.AWAITING_VERIFICATION and state.dossier_code == CODE
        assert "4 số cuối" in asked

        answer = await send(app, channel, update(2, text="5678"))
        assert "Thẩm định hồ sơ" in answer and "Đang giải quyết" in answer
        await channel.shutdown()


async def test_unreadable_photo_sticker_and_voice_get_told_what_the_bot_reads(app: App) -> None:
    async with FakeTelegramServer() as fake:
        channel = TelegramChannel(build_bot(fake.token, base_url=fake.base_url))
        app.registry.register(channel)
        await channel.initialize()
        fake.add_file("plain", plain_photo())
        unread = await send(app, channel, update(1, photo=photo_sizes("plain", 5000)))
        assert "chưa đọc được mã QR" in unread and "gõ mã hồ sơ" in unread
        sticker = {"file_id": "s", "file_unique_id": "s", "width": 512, "height": 512}
        said = await send(
            app,
            channel,
            update(2, sticker={**sticker, "is_animated": False, "is_video": False, "type": "regular"}),
        )
        assert "gõ câu hỏi" in said
        voice = await send(
            app, channel, update(3, voice={"file_id": "v", "file_unique_id": "v", "duration": 3})
        )
        assert "chưa nghe được tin nhắn thoại" in voice
        caption = await send(
            app,
            channel,
            update(4, photo=photo_sizes("plain", 5000), caption="đăng ký kết hôn cần giấy tờ gì"),
        )
        assert "chưa đọc được" not in caption  # the question under the photo is answered
        await channel.shutdown()


async def test_while_an_officer_helps_a_photo_reaches_the_ticket_and_the_bot_stays_silent(app: App) -> None:
    key = ConversationKey("telegram", str(CHAT))
    async with FakeTelegramServer() as fake:
        channel = TelegramChannel(build_bot(fake.token, base_url=fake.base_url))
        app.registry.register(channel)
        await channel.initialize()
        await send(app, channel, update(1, text="cho tôi gặp cán bộ"))
        ticket = app.tickets.open_ticket(key)
        assert ticket is not None
        await app.engine.hold_for_officer(key)
        fake.add_file("plain", plain_photo())
        assert await send(app, channel, update(2, photo=photo_sizes("plain", 5000))) == ""
        texts = [m.text for m in app.tickets.messages(ticket.id)]
        assert texts[-1] == "[Ảnh]"
        await channel.shutdown()
