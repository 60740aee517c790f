"""Messages that are not text: photos, stickers, voice notes, files, locations.

Citizens send what they have: a photo of the dossier receipt ("Giấy tiếp nhận hồ sơ và hẹn trả kết
quả"), a sticker, a voice note. A channel's ``to_inbound`` describes such a message as an
:class:`Attachment` in the message's metadata (:func:`with_attachment`), with the platform's reference to
the file (a Telegram ``file_id``, a Zalo URL) — nothing is downloaded in the webhook, which must answer
within Zalo's two seconds. :class:`AttachmentReader` sits in front of the engine's handler and, in the
worker:

- for a photo (or an image file), fetches it through the channel (:class:`AttachmentSource`), reads every
  QR code and barcode on it offline (zxing-cpp, :func:`read_codes`) and, when one holds a dossier code,
  hands the engine the payload ``/check_dossier_status{"dossier_code": ...}``: the status look-up starts
  as if the citizen had typed the code;
- for a photo without a readable code but with a caption, hands the engine the caption as typed text;
- otherwise hands the engine ``/attachment{"kind": ...}``, answered with a short reply saying what the
  bot can read (``action_attachment``).

The engine, not this module, decides what to say, so a conversation an officer has taken stays silent
and the officer's ticket shows "[Ảnh]" (``display_text``) rather than a payload.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from bot.core.dossier import find_dossier_code as dossier_code_in
from bot.core.messages import InboundMessage, OutboundMessage

__all__ = [
    "KINDS",
    "MAX_IMAGE_BYTES",
    "Attachment",
    "AttachmentReader",
    "AttachmentSource",
    "attachment_of",
    "fetch_url",
    "find_dossier_code",
    "read_codes",
    "with_attachment",
]

log = logging.getLogger(__name__)

KINDS = ("photo", "sticker", "voice", "video", "file", "location", "contact", "other")
"""What a non-text message can be; ``action_attachment`` has a reply for each."""

DISPLAY = {
    "photo": "[Ảnh]",
    "sticker": "[Nhãn dán]",
    "voice": "[Tin nhắn thoại]",
    "video": "[Video]",
    "file": "[Tệp đính kèm]",
    "location": "[Vị trí]",
    "contact": "[Danh thiếp]",
    "other": "[Tin nhắn không phải chữ]",
}
"""How a non-text message reads in the officer's ticket and the conversation log."""

MAX_IMAGE_BYTES = 10 * 1024 * 1024
"""Larger files are not downloaded (a phone photo is 1–5 MB; Telegram's own limit for bots is 20 MB)."""

_MAX_PIXELS = 40_000_000
"""Pillow refuses images larger than this (a decompression bomb), before decoding them."""


@dataclass(frozen=True)
class Attachment:
    """A non-text message as a channel saw it.

    Attributes:
        kind: one of :data:`KINDS`.
        ref: the platform's reference to fetch the file (Telegram ``file_id``, a Zalo URL); "" when
            there is nothing to fetch (a location, a sticker).
        caption: the text sent with it, if any.
        size: the size in bytes when the platform says it (0 when unknown).
    """

    kind: str
    ref: str = ""
    caption: str = ""
    size: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            object.__setattr__(self, "kind", "other")

    @property
    def is_image(self) -> bool:
        return self.kind == "photo" and bool(self.ref)


def with_attachment(message: InboundMessage, attachment: Attachment) -> InboundMessage:
    """``message`` carrying ``attachment`` in its metadata (JSON-safe, so a durable inbox can store it)."""
    data = {
        "kind": attachment.kind,
        "ref": attachment.ref,
        "caption": attachment.caption,
        "size": attachment.size,
    }
    return replace(
        message,
        text=message.text or DISPLAY[attachment.kind],
        metadata={**message.metadata, "attachment": data, "display_text": DISPLAY[attachment.kind]},
    )


def attachment_of(message: InboundMessage) -> Attachment | None:
    """The attachment a channel put on ``message``, or None for a text message."""
    data = message.metadata.get("attachment")
    if not isinstance(data, dict):
        return None
    try:
        return Attachment(
            kind=str(data.get("kind", "other")),
            ref=str(data.get("ref", "")),
            caption=str(data.get("caption", "") or ""),
            size=int(data.get("size", 0) or 0),
        )
    except (TypeError, ValueError):
        return Attachment(kind="other")


# --- reading codes -----------------------------------------------------------------------------------


def find_dossier_code(texts: list[str]) -> str | None:
    """The first dossier code in the decoded contents of a receipt's codes, upper-cased; None if none."""
    for text in texts:
        code = dossier_code_in(text)
        if code is not None:
            return code
    return None


def read_codes(data: bytes) -> list[str]:
    """Every QR code and barcode readable on the image ``data`` (JPEG, PNG, WebP...), as text.

    A phone photo of a receipt is rarely straight or sharp: the image is tried as it is, then at smaller
    sizes (zxing finds blurred codes better there) and with its contrast stretched. Blocking (tens of
    milliseconds for a phone photo): call it off the event loop. A file that is not an image, or is too
    large, reads as no codes.
    """
    import zxingcpp  # imported here: a deployment that never receives photos does not load it
    from PIL import Image, ImageOps

    if not data or len(data) > MAX_IMAGE_BYTES:
        return []
    Image.MAX_IMAGE_PIXELS = _MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened).convert("L")
    except Exception:  # not an image, truncated, a decompression bomb: nothing to read
        log.info("an attachment is not a readable image (%d bytes)", len(data))
        return []
    for candidate in _variants(image, Image, ImageOps):
        found = [
            r.text for r in zxingcpp.read_barcodes(candidate, try_rotate=True, try_downscale=True) if r.valid
        ]
        if found:
            return found
    return []


def _variants(image: Any, image_module: Any, ops: Any) -> Any:
    """The image, then smaller copies, then contrast-stretched copies (lazily: the first that reads wins)."""
    yield image
    width, height = image.size
    for target in (1600, 1000, 640):
        if max(width, height) > target:
            scale = target / max(width, height)
            yield image.resize(
                (max(1, int(width * scale)), max(1, int(height * scale))), image_module.LANCZOS
            )
    stretched = ops.autocontrast(image, cutoff=2)
    yield stretched
    half = stretched.resize((max(1, width // 2), max(1, height // 2)), image_module.LANCZOS)
    yield half
    for angle in (15, -15, 25, -25):  # a barcode photographed askew: its bars must run nearly upright
        yield stretched.rotate(angle, expand=True, fillcolor=255, resample=image_module.BICUBIC)


# --- the handler in front of the engine -------------------------------------------------------------


@runtime_checkable
class AttachmentSource(Protocol):
    """A channel that can fetch a file its ``to_inbound`` referred to."""

    name: str

    async def fetch_attachment(self, ref: str, max_bytes: int) -> bytes:
        """The file's bytes; raises on failure or when it is larger than ``max_bytes``."""
        ...


async def fetch_url(client: Any, url: str, max_bytes: int) -> bytes:
    """Download ``url`` (a platform's file address from a verified webhook) with ``client`` (an
    ``httpx.AsyncClient``), at most ``max_bytes``; only ``https`` (and ``http`` for a local test server)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("not a web address")
    chunks: list[bytes] = []
    size = 0
    async with client.stream("GET", url, timeout=10.0) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise ValueError(f"file over {max_bytes} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


Handler = Callable[[InboundMessage], Any]


class AttachmentReader:
    """The engine's handler, with non-text messages turned into what the engine understands.

    Args:
        handler: the handler behind it (the inbound recorder, then the engine).
        source: the channel of a name (the channel registry's ``get``), to fetch files through.
        decode: reads codes from image bytes (:func:`read_codes`; replaceable in tests).
    """

    def __init__(
        self,
        handler: Handler,
        source: Callable[[str], object | None],
        decode: Callable[[bytes], list[str]] = read_codes,
    ) -> None:
        self.handler = handler
        self.source = source
        self.decode = decode

    async def __call__(self, message: InboundMessage) -> list[OutboundMessage]:
        attachment = attachment_of(message)
        if attachment is None:
            result: list[OutboundMessage] = await self.handler(message)
            return result
        code = await self._dossier_code(message, attachment) if attachment.is_image else None
        shown = DISPLAY[attachment.kind]
        caption = attachment.caption.strip()
        if code is not None:
            text = "/check_dossier_status" + json.dumps({"dossier_code": code})
            shown = f"{shown} mã hồ sơ {code}"
        elif caption:
            text = caption  # a photo with a question under it: answer the question
            shown = f"{shown} {caption}"
        else:
            text = "/attachment" + json.dumps({"kind": attachment.kind})
        metadata = {**message.metadata, "display_text": shown}
        result = await self.handler(replace(message, text=text, metadata=metadata))
        return result

    async def _dossier_code(self, message: InboundMessage, attachment: Attachment) -> str | None:
        channel = self.source(message.key.channel)
        if not isinstance(channel, AttachmentSource):
            return None
        if attachment.size > MAX_IMAGE_BYTES:
            return None
        try:
            data = await channel.fetch_attachment(attachment.ref, MAX_IMAGE_BYTES)
        except Exception as exc:  # the platform's file service is down or the file expired
            log.warning("could not fetch a photo on %s: %s", message.key.channel, type(exc).__name__)
            return None
        texts = await asyncio.to_thread(self.decode, data)
        return find_dossier_code(texts)
