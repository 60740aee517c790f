"""The Rasa REST channel protocol: ``POST /webhooks/rest/webhook``.

Request ``{"sender": "...", "message": "..."}``; response a JSON list of
``{"recipient_id", "text", "buttons": [{"title", "payload"}]}`` — the shape Rasa's ``RestInput`` returns,
so Rasa-compatible web widgets work against this server unchanged. A button's payload sent back as the
message is understood by the engine.

As lenient as Rasa 3.6: no sender (or an empty one) is Rasa's ``"default"``, a number as sender or
message is read as its text, ``metadata`` is kept with the message. ``?stream=true`` answers as Rasa
does, ``text/event-stream`` with one JSON message per line. A reply with an image or custom JSON (an
external action server's) gets them as separate messages after its text, as Rasa's output channels
send them (``{"recipient_id", "image"}``, ``{"recipient_id", "custom"}``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import numbers
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import JSON, DateTime, Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.channels.base import DeliveryError, MessageHandler
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.rasa import DEFAULT_SENDER_ID
from knowledge.db import Base

log = logging.getLogger(__name__)
CHANNEL = "rest"
MAX_MESSAGE_CHARS = 4000


class RestMessage(BaseModel):
    """Body of a REST channel post (read as leniently as Rasa reads it)."""

    sender: str = Field(default=DEFAULT_SENDER_ID, min_length=1, max_length=128)
    message: str = Field(default="", max_length=20_000)
    message_id: str | None = Field(default=None, max_length=128)
    metadata: dict[str, Any] | None = None

    @field_validator("sender", mode="before")
    @classmethod
    def _sender(cls, value: Any) -> Any:
        # Rasa: a missing sender is "default", anything else is str(sender)
        if value is None or value == "":
            return DEFAULT_SENDER_ID
        return _number_as_text(value)

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> Any:
        return "" if value is None else _number_as_text(value)

    @field_validator("message_id", mode="before")
    @classmethod
    def _message_id(cls, value: Any) -> Any:
        return _number_as_text(value)


def _number_as_text(value: Any) -> Any:
    """A number (not a bool) as its text; anything else as it is, for the model to check."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return str(value)
    return value


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


def rest_messages(message: OutboundMessage) -> list[dict[str, object]]:
    """A reply as Rasa's REST channel sends it: the text (with buttons), then its image and its custom
    JSON each as a message of its own."""
    out: list[dict[str, object]] = []
    if message.text or message.buttons or message.links or not (message.image or message.custom):
        out.append(to_rest(message))
    if message.image:
        out.append({"recipient_id": message.key.chat_id, "image": message.image})
    if message.custom:
        out.append({"recipient_id": message.key.chat_id, "custom": dict(message.custom)})
    return out


class RestOutbox:
    """Output channel for messages that reach a web-chat user outside a request (officer replies).

    The page polls ``GET /webhooks/rest/poll?sender=...&after=SEQ``; each message carries a
    sequence number in ``custom.seq`` so nothing is shown twice. This one keeps them in memory per chat
    (bounded), for tests and fakes; the server uses :class:`SqlRestOutbox`, which survives restarts.
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


class WebOutboxRow(Base):
    """A message waiting for (or already fetched by) a web-chat page's poll."""

    __tablename__ = "web_outbox"
    __table_args__ = (Index("ix_web_outbox_chat_id_id", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(String(128))
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SqlRestOutbox(RestOutbox):
    """The web chat's outbox in the database, so an officer's reply survives a server restart.

    Same protocol as :class:`RestOutbox`; the sequence number is the row id. Rows older than ``keep``
    are pruned now and then.
    """

    def __init__(self, sessions: sessionmaker[Session], keep: timedelta = timedelta(days=7)) -> None:
        super().__init__()
        self._sessions = sessions
        self._keep = keep
        self._sent = 0

    def _insert(self, message: OutboundMessage) -> None:
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            session.add(WebOutboxRow(chat_id=message.key.chat_id, message=to_rest(message), created_at=now))
            self._sent += 1
            if self._sent % 500 == 0:
                session.execute(delete(WebOutboxRow).where(WebOutboxRow.created_at < now - self._keep))

    def _select(self, chat_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        with self._sessions() as session:
            rows = session.execute(
                select(WebOutboxRow.id, WebOutboxRow.message)
                .where(WebOutboxRow.chat_id == chat_id, WebOutboxRow.id > after)
                .order_by(WebOutboxRow.id)
                .limit(200)
            ).all()
        return [(int(r.id), dict(r.message)) for r in rows]

    async def send(self, message: OutboundMessage) -> None:
        """Store a message for the chat's next poll (a database error is a failed delivery)."""
        try:
            await asyncio.to_thread(self._insert, message)
        except Exception as exc:
            raise DeliveryError(f"web chat outbox unavailable: {type(exc).__name__}", retryable=True) from exc

    async def pending(self, chat_id: str, after: int) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for seq, data in await asyncio.to_thread(self._select, chat_id, after):
            data["custom"] = {**(data.get("custom") or {}), "seq": seq}
            out.append(data)
        return out


def rest_router(handler: MessageHandler, outbox: RestOutbox | None = None) -> APIRouter:
    """The REST channel routes, answering with the engine's replies to each message."""
    router = APIRouter()
    outbox = outbox or RestOutbox()

    @router.get("/webhooks/rest/poll")
    async def poll(sender: str, after: int = Query(0, ge=0, le=2**63 - 1)) -> JSONResponse:
        return JSONResponse(await outbox.pending(sender[:128], after))

    @router.get("/webhooks/rest/")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.post("/webhooks/rest/webhook", response_model=None)
    async def receive(request: Request, stream: str = "false") -> JSONResponse | StreamingResponse:
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
            metadata=dict(body.metadata or {}),
        )
        if stream.lower() == "true":  # Rasa's bool_arg: only "true" streams
            return StreamingResponse(_stream(handler, inbound), media_type="text/event-stream")
        replies = await handler(inbound)
        return JSONResponse([m for r in replies for m in rest_messages(r)])

    return router


async def _stream(handler: MessageHandler, inbound: InboundMessage) -> AsyncIterator[str]:
    """Rasa's streamed answer: each message as one line of JSON (its ``stream_response``)."""
    for reply in await handler(inbound):
        for message in rest_messages(reply):
            yield json.dumps(message, ensure_ascii=False) + "\n"
