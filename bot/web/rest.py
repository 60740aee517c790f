"""The Rasa REST channel protocol: ``POST /webhooks/rest/webhook``.

Request ``{"sender": "...", "message": "..."}``; response a JSON list of
``{"recipient_id", "text", "buttons": [{"title", "payload"}]}`` — the shape Rasa's ``RestInput`` returns,
so Rasa-compatible web widgets work against this server unchanged. A button's payload sent back as the
message is understood by the engine.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import defaultdict, deque

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from bot.channels.base import MessageHandler
from bot.messages import ConversationKey, InboundMessage, OutboundMessage

log = logging.getLogger(__name__)
CHANNEL = "rest"
MAX_MESSAGE_CHARS = 4000


class RestMessage(BaseModel):
    """Body of a REST channel post."""

    sender: str = Field(min_length=1, max_length=128)
    message: str = Field(default="", max_length=20_000)
    message_id: str | None = Field(default=None, max_length=128)


def to_rest(message: OutboundMessage) -> dict[str, object]:
    """One reply in Rasa's REST response shape (links are appended to the text)."""
    text = message.text
    if message.links:
        text += "\n" + "\n".join(f"{title}: {url}" for title, url in message.links)
    out: dict[str, object] = {"recipient_id": message.key.chat_id, "text": text}
    if message.buttons:
        out["buttons"] = [{"title": b.title, "payload": b.payload} for b in message.buttons]
    if message.sender != "bot":
        out["custom"] = {"sender": message.sender}
    return out


class RestOutbox:
    """Output channel for messages that reach a web-chat user outside a request (officer replies).

    The page polls ``GET /webhooks/rest/poll?sender=...&after=SEQ``; each message carries a
    sequence number in ``custom.seq`` so nothing is shown twice. Kept in memory per chat (bounded);
    officer messages are also stored with their ticket, so a restart loses none of them for the officer.
    """

    name = CHANNEL

    def __init__(self, per_chat: int = 200) -> None:
        self._seq = itertools.count(1)
        self._queues: dict[str, deque[tuple[int, OutboundMessage]]] = defaultdict(
            lambda: deque(maxlen=per_chat)
        )
        self._lock = asyncio.Lock()

    async def send(self, message: OutboundMessage) -> None:
        """Queue a message for the chat's next poll."""
        async with self._lock:
            self._queues[message.key.chat_id].append((next(self._seq), message))

    async def pending(self, chat_id: str, after: int) -> list[dict[str, object]]:
        """Messages for ``chat_id`` newer than ``after``, in REST shape with ``custom.seq``."""
        async with self._lock:
            items = [(seq, m) for seq, m in self._queues.get(chat_id, ()) if seq > after]
        out = []
        for seq, message in items:
            data = to_rest(message)
            custom = dict(data.get("custom") or {})  # type: ignore[call-overload]
            custom["seq"] = seq
            data["custom"] = custom
            out.append(data)
        return out


def rest_router(handler: MessageHandler, outbox: RestOutbox | None = None) -> APIRouter:
    """The REST channel routes, answering with the engine's replies to each message."""
    router = APIRouter()
    outbox = outbox or RestOutbox()

    @router.get("/webhooks/rest/poll")
    async def poll(sender: str, after: int = 0) -> JSONResponse:
        return JSONResponse(await outbox.pending(sender[:128], after))

    @router.get("/webhooks/rest/")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.post("/webhooks/rest/webhook")
    async def receive(request: Request) -> JSONResponse:
        try:
            body = RestMessage.model_validate(await request.json())
        except (ValueError, ValidationError):
            return JSONResponse(
                {"error": "Yêu cầu không hợp lệ: cần JSON có 'sender' và 'message'."}, status_code=400
            )
        text = body.message[:MAX_MESSAGE_CHARS]
        inbound = InboundMessage(
            key=ConversationKey(CHANNEL, body.sender),
            text=text,
            message_id=body.message_id,
            is_button=text.startswith("/"),
        )
        replies = await handler(inbound)
        return JSONResponse([to_rest(r) for r in replies])

    return router
