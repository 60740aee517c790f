"""Zalo Bot Platform channel: a Telegram-like Bot API, text only, over an injected ``httpx.AsyncClient``.

Inbound: Zalo posts updates to ``POST /webhooks/zalo-bot`` with the secret given to ``setWebhook`` in the
``X-Bot-Api-Secret-Token`` header. Text updates (``event_name`` ``message.text.received``) are queued,
deduplicated on ``message.message_id``; the body may come wrapped as ``{"ok": true, "result": {...}}`` or
bare, both are accepted.

Outbound: ``POST {base_url}/bot{token}/sendMessage`` with ``chat_id`` and ``text`` (at most 2000
characters). There are no buttons or documents: choices become a numbered list and links text (see
:class:`TextOnlyChannel`).

The token is part of every URL: never log request URLs (set the ``httpx`` logger to WARNING).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from bot.channels.base import DeliveryError, Inbound, QueueFullError, TextOnlyChannel, on_the_wire
from bot.channels.media import Attachment, fetch_url, with_attachment
from bot.core.messages import InboundMessage

__all__ = ["DEFAULT_BASE_URL", "SECRET_HEADER", "TEXT_EVENT", "ZaloBotChannel", "zalo_bot_webhook_router"]

log = logging.getLogger(__name__)

# Zalo's documentation (updated December 2025) names this host; older guides use bot-api.zapps.me.
DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"


class ZaloBotChannel(TextOnlyChannel):
    """The Zalo Bot :class:`OutputChannel` and the converter from webhook updates to messages.

    Args:
        client: the HTTP client (tests give it an ``httpx.MockTransport``).
        token: the bot token ``<bot_id>:<secret>`` from Zalo Bot Creator.
        base_url: API host, without the ``/bot<token>`` part.
        max_text_length: Zalo's limit for one message.
        max_attempts: tries per message on network errors, 429 and 5xx answers.
        backoff: first wait in seconds between tries (doubles each time).
        sleep: the sleep function used between retries.
        officer_prefix: put before officer replies (text from the response catalogue).
    """

    name = "zalo_bot"

    def __init__(
        self,
        client: httpx.AsyncClient,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        max_text_length: int = 2000,
        max_attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        officer_prefix: str = "",
    ) -> None:
        super().__init__(max_text_length=max_text_length, officer_prefix=officer_prefix)
        self._client = client
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._sleep = sleep

    def update_to_inbound(self, payload: dict[str, Any]) -> InboundMessage | None:
        """The :class:`InboundMessage` for a webhook update (a photo or sticker carries an
        :class:`Attachment`), or None for updates that are not a user's message."""
        result = payload.get("result")
        update: dict[str, Any] = result if isinstance(result, dict) else payload
        event = str(update.get("event_name") or "")
        if not event.startswith("message."):
            return None
        message = update.get("message") or {}
        chat_id = (message.get("chat") or {}).get("id")
        text = message.get("text") if event == TEXT_EVENT else ""
        if chat_id is None or text is None:
            return None
        sender = message.get("from") or {}
        message_id = message.get("message_id")
        inbound = self.inbound(
            str(chat_id),
            str(text),
            message_id=str(message_id) if message_id is not None else None,
            sender_name=str(sender.get("display_name") or sender.get("first_name") or ""),
            metadata={"event_name": event},
        )
        if event == TEXT_EVENT:
            return inbound
        return with_attachment(inbound, _attachment(event, message))

    async def fetch_attachment(self, ref: str, max_bytes: int) -> bytes:
        """The bytes of a photo's URL (Zalo's file server)."""
        return await fetch_url(self._client, ref, max_bytes)

    async def send_text(self, chat_id: str, text: str) -> None:
        """Send one text message to ``chat_id``.

        Raises:
            DeliveryError: Zalo refused it, or could not be reached after retries.
        """
        url = f"{self._base_url}/bot{self._token}/sendMessage"
        for attempt in range(1, self._max_attempts + 1):
            last = attempt == self._max_attempts
            await on_the_wire()
            try:
                response = await self._client.post(url, json={"chat_id": chat_id, "text": text})
            except httpx.TransportError as exc:
                # The exception text may contain the URL, hence the token: name the type only.
                if last:
                    raise DeliveryError(
                        f"Zalo Bot unreachable ({type(exc).__name__})", retryable=True
                    ) from exc
                await self._sleep(self._backoff * 2 ** (attempt - 1))
                continue
            try:
                data = response.json()
            except ValueError:
                data = {}
            if not isinstance(data, dict):
                data = {}
            if response.status_code == 200 and data.get("ok"):
                return
            code = data.get("error_code", response.status_code)
            transient = response.status_code >= 500 or response.status_code == 429 or code == 429
            if transient and not last:
                await self._sleep(self._backoff * 2 ** (attempt - 1))
                continue
            raise DeliveryError(f"Zalo Bot error {code}: {data.get('description', '')}", retryable=transient)


def zalo_bot_webhook_router(
    channel: ZaloBotChannel,
    queue: Inbound,
    *,
    secret_token: str,
    path: str = "/webhooks/zalo-bot",
) -> APIRouter:
    """A FastAPI router receiving Zalo Bot updates at ``POST path``.

    403 for a missing or wrong secret header (constant-time comparison), 400 for a body that is not a
    JSON object, 503 when the queue is full, otherwise 200 at once.

    Args:
        channel: the Zalo Bot channel.
        queue: the inbound queue.
        secret_token: the ``secret_token`` given to ``setWebhook`` (8 to 256 characters).
        path: where to mount the endpoint.
    """
    if not secret_token:
        raise ValueError("a Zalo Bot webhook needs a secret token")
    expected = secret_token.encode()
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def zalo_bot_webhook(request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), expected):
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return JSONResponse({"ok": False, "error": "bad update"}, status_code=400)
        inbound = channel.update_to_inbound(payload)
        if inbound is not None:
            try:
                await queue.offer(inbound)
            except QueueFullError:
                return JSONResponse({"ok": False, "error": "busy"}, status_code=503)
        return JSONResponse({"ok": True})

    return router


def _attachment(event_name: str, message: dict[str, Any]) -> Attachment:
    """The attachment of a ``message.*.received`` update other than text."""
    caption = str(message.get("caption") or "")
    if event_name == "message.image.received":
        return Attachment("photo", str(message.get("photo") or message.get("photo_url") or ""), caption)
    if event_name == "message.sticker.received":
        return Attachment("sticker", caption=caption)
    return Attachment("other", caption=caption)
