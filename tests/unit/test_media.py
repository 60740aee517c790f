"""Photos, stickers, voice notes: what each channel makes of them, and a receipt's code read offline.

Receipts are generated (``tests/fakes/receipts.py``): QR codes holding a look-up address or the bare code,
Code 128 barcodes, photographed turned, upside down and blurred.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from telegram import Bot, Update

from bot.channels.media import (
    MAX_IMAGE_BYTES,
    Attachment,
    AttachmentReader,
    attachment_of,
    find_dossier_code,
    read_codes,
    with_attachment,
)
from bot.channels.telegram import TelegramChannel, file_url
from bot.channels.zalo_bot import ZaloBotChannel
from bot.channels.zalo_oa import InMemoryTokenStore, ZaloOAChannel, ZaloOASettings, ZaloTokens
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from tests.fakes.receipts import photo, plain_photo, receipt

CODE = "000.00.24.H12-250301-0007"
LOOKUP_URL = f"https://dichvucong.example.gov.vn/tra-cuu-ho-so?ma_ho_so={CODE}&nguon=qr"


# --- reading codes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, content", [("qr", LOOKUP_URL), ("qr", CODE), ("code128", CODE)])
@pytest.mark.parametrize(
    "taken",
    [
        {},
        {"angle": 8, "blur": 1.0, "quality": 70},
        {"angle": -12, "blur": 1.0, "quality": 70},
        {"angle": 90, "blur": 1.0},
        {"angle": 180, "blur": 0.8, "quality": 60},
    ],
    ids=["straight", "turned-8", "turned-minus-12", "sideways", "upside-down"],
)
def test_a_receipt_photo_gives_its_dossier_code(fmt: str, content: str, taken: dict[str, Any]) -> None:
    assert find_dossier_code(read_codes(photo(receipt(content, fmt), **taken))) == CODE


def test_a_photo_without_a_code_and_what_is_not_an_image_read_as_nothing() -> None:
    assert read_codes(plain_photo()) == []
    assert read_codes(b"GIF89a not really") == []
    assert read_codes(b"") == []
    too_big = photo(receipt(CODE)) + b"\0" * MAX_IMAGE_BYTES
    assert read_codes(too_big) == []


def test_a_photo_too_blurred_reads_as_nothing_rather_than_a_wrong_code() -> None:
    assert find_dossier_code(read_codes(photo(receipt(CODE, "code128"), blur=4.0))) is None


@pytest.mark.parametrize(
    "texts, code",
    [
        ([LOOKUP_URL], CODE),
        (["H12.22-250315-0001"], "H12.22-250315-0001"),
        (["Mã hồ sơ: 000.00.19.h12-230101-0001\nNgày hẹn: 16/03/2025"], "000.00.19.H12-230101-0001"),
        (["https://example.vn/khong-co-ma", "1.013225"], None),  # a procedure code is not a dossier code
        (["0912345678"], None),
        ([], None),
    ],
)
def test_find_dossier_code(texts: list[str], code: str | None) -> None:
    assert find_dossier_code(texts) == code


# --- channels: what a non-text message becomes ----------------------------------------------------------

TG_MESSAGE = {
    "message_id": 77,
    "date": 1718000000,
    "chat": {"id": 5123456789, "type": "private"},
    "from": {"id": 5123456789, "is_bot": False, "first_name": "Lan"},
}


def tg_update(**fields: Any) -> Update:
    return Update.de_json({"update_id": 901, "message": {**TG_MESSAGE, **fields}}, Bot("1:x"))


def tg_channel() -> TelegramChannel:
    return TelegramChannel(Bot("1:x"))


def test_telegram_photo_refers_to_its_largest_size_under_the_limit() -> None:
    sizes = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 120, "file_size": 2_000},
        {"file_id": "large", "file_unique_id": "l", "width": 960, "height": 1280, "file_size": 180_000},
        {"file_id": "huge", "file_unique_id": "h", "width": 4000, "height": 5000, "file_size": 30_000_000},
    ]
    inbound = tg_channel().to_inbound(tg_update(photo=sizes, caption="hồ sơ của tôi"))
    assert inbound is not None
    assert attachment_of(inbound) == Attachment("photo", "large", "hồ sơ của tôi", 180_000)
    assert inbound.key == ConversationKey("telegram", "5123456789")
    assert inbound.message_id == "901"


@pytest.mark.parametrize(
    "fields, kind",
    [
        (
            {
                "sticker": {
                    "file_id": "st",
                    "file_unique_id": "u",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            "sticker",
        ),
        ({"voice": {"file_id": "v", "file_unique_id": "u", "duration": 4}}, "voice"),
        ({"location": {"latitude": 21.03, "longitude": 105.85}}, "location"),
        ({"contact": {"phone_number": "0912345678", "first_name": "An"}}, "contact"),
        ({"document": {"file_id": "d", "file_unique_id": "u", "mime_type": "application/pdf"}}, "file"),
        ({"document": {"file_id": "scan", "file_unique_id": "u", "mime_type": "image/png"}}, "photo"),
    ],
)
def test_telegram_other_messages_become_attachments(fields: dict[str, Any], kind: str) -> None:
    inbound = tg_channel().to_inbound(tg_update(**fields))
    assert inbound is not None
    found = attachment_of(inbound)
    assert found is not None and found.kind == kind


def test_telegram_service_messages_are_still_ignored() -> None:
    assert (
        tg_channel().to_inbound(tg_update(new_chat_members=[{"id": 1, "is_bot": False, "first_name": "B"}]))
        is None
    )


def test_telegram_file_address_follows_the_api_address() -> None:
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/file/bot"


def image_server(files: dict[str, bytes]) -> httpx.AsyncClient:
    def serve(request: httpx.Request) -> httpx.Response:
        data = files.get(str(request.url))
        return httpx.Response(200, content=data) if data is not None else httpx.Response(404)

    return httpx.AsyncClient(transport=httpx.MockTransport(serve))


async def test_zalo_oa_image_event_refers_to_its_url_and_fetches_it() -> None:
    url = "https://photo-zmp3.zadn.vn/receipt.jpg"
    data = photo(receipt(CODE))
    async with image_server({url: data}) as client:
        settings = ZaloOASettings(app_id="app", oa_secret_key="k" * 32, app_secret_key="s" * 32)
        channel = ZaloOAChannel(client, settings, InMemoryTokenStore(ZaloTokens("a", "r")))
        event = {
            "event_name": "user_send_image",
            "timestamp": "1718000000123",
            "sender": {"id": "614"},
            "message": {
                "msg_id": "m1",
                "text": "",
                "attachments": [{"type": "image", "payload": {"thumbnail": url, "url": url}}],
            },
        }
        inbound = channel.event_to_inbound(event)
        assert inbound is not None
        assert attachment_of(inbound) == Attachment("photo", url)
        assert await channel.fetch_attachment(url, MAX_IMAGE_BYTES) == data
        with pytest.raises(ValueError, match="over"):
            await channel.fetch_attachment(url, 1000)
        sticker = channel.event_to_inbound({**event, "event_name": "user_send_sticker"})
        assert sticker is not None and attachment_of(sticker) == Attachment("sticker")


async def test_zalo_bot_image_update() -> None:
    url = "https://zalo-bot.example/p.jpg"
    async with image_server({url: b"jpeg"}) as client:
        channel = ZaloBotChannel(client, "1:t", base_url="https://bot-api.test")
        update = {
            "event_name": "message.image.received",
            "message": {
                "chat": {"id": "c1"},
                "from": {"id": "c1"},
                "message_id": "z1",
                "photo": url,
                "caption": "ạ",
            },
        }
        inbound = channel.update_to_inbound({"ok": True, "result": update})
        assert inbound is not None and attachment_of(inbound) == Attachment("photo", url, "ạ")
        assert await channel.fetch_attachment(url, 100) == b"jpeg"
        assert channel.update_to_inbound({"event_name": "bot.added"}) is None


# --- the reader in front of the engine ------------------------------------------------------------------


class Source:
    name = "telegram"

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    async def fetch_attachment(self, ref: str, max_bytes: int) -> bytes:
        return self.files[ref]


class Recorder:
    def __init__(self) -> None:
        self.seen: list[InboundMessage] = []

    async def __call__(self, message: InboundMessage) -> list[OutboundMessage]:
        self.seen.append(message)
        return []


KEY = ConversationKey("telegram", "42")


def msg(attachment: Attachment) -> InboundMessage:
    return with_attachment(InboundMessage(KEY, "", message_id="1"), attachment)


@pytest.mark.parametrize(
    "attachment, text, shown",
    [
        (
            Attachment("photo", "receipt"),
            '/check_dossier_status{"dossier_code": "' + CODE + '"}',
            f"[Ảnh] mã hồ sơ {CODE}",
        ),
        (Attachment("photo", "plain"), '/attachment{"kind": "photo"}', "[Ảnh]"),
        (Attachment("photo", "plain", "lệ phí bao nhiêu"), "lệ phí bao nhiêu", "[Ảnh] lệ phí bao nhiêu"),
        (Attachment("photo", "gone"), '/attachment{"kind": "photo"}', "[Ảnh]"),  # the fetch failed
        (Attachment("voice"), '/attachment{"kind": "voice"}', "[Tin nhắn thoại]"),
        (Attachment("sticker"), '/attachment{"kind": "sticker"}', "[Nhãn dán]"),
    ],
)
async def test_reader_hands_the_engine_a_lookup_a_caption_or_the_kind(
    attachment: Attachment, text: str, shown: str
) -> None:
    inner = Recorder()
    files = {"receipt": photo(receipt(LOOKUP_URL), angle=7, blur=1.0), "plain": plain_photo()}
    reader = AttachmentReader(inner, lambda name: Source(files) if name == "telegram" else None)
    await reader(msg(attachment))
    assert [m.text for m in inner.seen] == [text]
    assert inner.seen[0].metadata["display_text"] == shown


async def test_reader_passes_text_messages_untouched() -> None:
    inner = Recorder()
    message = InboundMessage(KEY, "lam cccd mat bao lau")
    await AttachmentReader(inner, lambda name: None)(message)
    assert inner.seen == [message]
