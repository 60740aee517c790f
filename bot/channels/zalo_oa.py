"""Zalo Official Account channel (Open API v3) over an injected ``httpx.AsyncClient``.

Inbound: Zalo posts events to ``POST /webhooks/zalo`` and disables a webhook that does not answer 200
within 2 seconds, so the router verifies the signature, ignores an event whose ``timestamp`` is outside
the event window (a replay), stores ``user_send_text`` events in the inbox (deduplicated on
``message.msg_id``) and answers once stored. The signature header is ``X-ZEvent-Signature: mac=<hex>`` with
``<hex> = sha256(app_id + raw body + timestamp + OA secret key)``, the timestamp being the event's own
``timestamp`` field.

Outbound: consultation ("cs") messages to ``/v3.0/oa/message/cs`` with the ``access_token`` header. Zalo
has no buttons here, so choices become a numbered list (see :class:`TextOnlyChannel`) and links are
appended as text. When Zalo answers that the access token expired, the refresh token is exchanged for
new tokens (``/v4/oa/access_token``, header ``secret_key`` = the app's secret) and kept in a
:class:`TokenStore`; Zalo's refresh tokens are single-use, so the new pair must always be saved, and with
several server processes the store is the database they share (``bot.storage.zalo_tokens``): one process
refreshes at a time, and one that finds a newer access token than the one Zalo refused takes it instead
of refreshing again. A refused refresh is written down and not tried again with the same tokens.

Free replies are only allowed for a while after the citizen's last message (7 days for "cs" messages in
Zalo's current policy; older documents say 48 hours, hence :attr:`ZaloOASettings.reply_window`). The
channel remembers when each user last wrote; outside the window a send raises
``DeliveryError(retryable=False)`` without calling Zalo.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from bot.channels.base import DeliveryError, Inbound, QueueFullError, TextOnlyChannel, on_the_wire
from bot.channels.media import Attachment, fetch_url, with_attachment
from bot.core.messages import InboundMessage, OutboundMessage
from bot.core.zalo import ZaloTokens

__all__ = [
    "SIGNATURE_HEADER",
    "InMemoryTokenStore",
    "TokenStore",
    "ZaloOAChannel",
    "ZaloOASettings",
    "ZaloTokens",
    "sign_event",
    "zalo_oa_webhook_router",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"


class TokenStore(Protocol):
    """Where the current :class:`ZaloTokens` live; the server keeps them in its database, shared by
    every process (``bot.storage.zalo_tokens.SqlZaloTokenStore``)."""

    def refreshing(self) -> AbstractAsyncContextManager[None]:
        """Hold the right to refresh (one holder at a time across every process using the store)."""
        ...

    async def load(self) -> ZaloTokens:
        """The current tokens."""
        ...

    async def save(self, tokens: ZaloTokens) -> None:
        """Replace the current tokens (after a refresh, inside :meth:`refreshing`)."""
        ...

    async def refused(self, tokens: ZaloTokens) -> None:
        """Note that Zalo refused to refresh ``tokens`` (when they are still the current ones)."""
        ...


class InMemoryTokenStore:
    """A :class:`TokenStore` in memory: tokens start from configuration and are lost on restart.

    Args:
        tokens: the initial tokens.
    """

    def __init__(self, tokens: ZaloTokens) -> None:
        self.tokens = tokens
        self._lock = asyncio.Lock()

    def refreshing(self) -> AbstractAsyncContextManager[None]:
        """Hold the right to refresh (in this process only)."""
        return self._lock

    async def load(self) -> ZaloTokens:
        """The current tokens."""
        return self.tokens

    async def save(self, tokens: ZaloTokens) -> None:
        """Replace the current tokens."""
        self.tokens = tokens

    async def refused(self, tokens: ZaloTokens) -> None:
        """Note that Zalo refused to refresh ``tokens``."""
        if self.tokens.refresh_token == tokens.refresh_token:
            self.tokens = replace(self.tokens, refused_at=datetime.now(UTC))


@dataclass(frozen=True)
class ZaloOASettings:
    """Configuration of the Zalo OA channel.

    Attributes:
        app_id: the Zalo app linked to the OA.
        oa_secret_key: the OA secret key used to sign webhook events ("Khóa bí mật OA").
        app_secret_key: the app's secret key, sent as ``secret_key`` when refreshing tokens.
        reply_window: how long after the user's last message a free reply may be sent.
        message_url: the consultation message endpoint.
        oauth_url: the token endpoint.
        max_text_length: Zalo's limit for one text message.
        expired_token_errors: Zalo error codes meaning "access token expired or invalid".
        dead_refresh_errors: the token endpoint's error codes meaning "this refresh token is invalid or
            expired" (-14014 "Invalid refresh token"): only these mark the pair refused. Any other
            answer without tokens (a wrong app secret key, a wrong app id) fails the send without
            marking it, so fixed settings work at once.
        max_attempts: tries per message on network errors and 5xx answers.
        backoff: first wait in seconds between tries (doubles each time).
        event_window: how far an event's own ``timestamp`` may be from now (either way) for the event
            to be taken; an older one is a replay (or a redelivery too late to answer) and is ignored.
    """

    app_id: str
    oa_secret_key: str
    app_secret_key: str
    reply_window: timedelta = timedelta(days=7)
    message_url: str = "https://openapi.zalo.me/v3.0/oa/message/cs"
    oauth_url: str = "https://oauth.zaloapp.com/v4/oa/access_token"
    max_text_length: int = 2000
    expired_token_errors: frozenset[int] = field(default_factory=lambda: frozenset({-216, -124}))
    dead_refresh_errors: frozenset[int] = field(default_factory=lambda: frozenset({-14014}))
    max_attempts: int = 3
    backoff: float = 0.5
    event_window: timedelta = timedelta(minutes=10)


def sign_event(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The ``X-ZEvent-Signature`` value Zalo sends for ``body``: ``"mac=" + sha256 hex``."""
    material = app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()
    return "mac=" + hashlib.sha256(material).hexdigest()


class ZaloOAChannel(TextOnlyChannel):
    """The Zalo OA :class:`OutputChannel` and the converter from webhook events to messages.

    Args:
        client: the HTTP client (tests give it an ``httpx.MockTransport``).
        settings: app id, secrets, reply window, endpoints.
        tokens: the token store.
        clock: current UTC time (tests inject one).
        sleep: the sleep function used between retries.
        officer_prefix: put before officer replies (text from the response catalogue).
        remembered_users: how many users' last-message times to keep.
    """

    name = "zalo"

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: ZaloOASettings,
        tokens: TokenStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        officer_prefix: str = "",
        remembered_users: int = 100_000,
    ) -> None:
        super().__init__(max_text_length=settings.max_text_length, officer_prefix=officer_prefix)
        self._client = client
        self.settings = settings
        self._tokens = tokens
        self._clock = clock
        self._sleep = sleep
        self._remembered_users = remembered_users
        self._last_user_message: OrderedDict[str, datetime] = OrderedDict()
        self._refresh_lock = asyncio.Lock()

    # ------------------------------------------------------------------ inbound

    def verify(self, body: bytes, event: dict[str, Any], signature: str | None) -> bool:
        """True when ``signature`` is Zalo's MAC of ``body`` (compared in constant time)."""
        if not signature or "timestamp" not in event:
            return False
        expected = sign_event(
            self.settings.app_id, body, str(event["timestamp"]), self.settings.oa_secret_key
        )
        given = signature.strip()
        if not given.startswith("mac="):
            given = "mac=" + given
        return hmac.compare_digest(given.encode(), expected.encode())

    def record_user_message(self, user_id: str, at: datetime) -> None:
        """Note that ``user_id`` wrote at ``at`` (opens the reply window). The server may seed this."""
        previous = self._last_user_message.get(user_id)
        if previous is None or at > previous:
            self._last_user_message[user_id] = at
        self._last_user_message.move_to_end(user_id)
        while len(self._last_user_message) > self._remembered_users:
            self._last_user_message.popitem(last=False)

    def is_fresh(self, event: dict[str, Any]) -> bool:
        """True when the event's ``timestamp`` lies within :attr:`ZaloOASettings.event_window` of now."""
        at = _event_time(event.get("timestamp"))
        return at is not None and abs(self._clock() - at) <= self.settings.event_window

    def last_user_message(self, user_id: str) -> datetime | None:
        """When ``user_id`` last wrote, if known."""
        return self._last_user_message.get(user_id)

    def event_to_inbound(self, event: dict[str, Any]) -> InboundMessage | None:
        """The :class:`InboundMessage` for a verified event, or None for events the help line ignores.

        Every ``user_send_*`` event opens the reply window and becomes a message: ``user_send_text`` its
        text, the others (image, sticker, audio, file, location...) an :class:`Attachment`.
        """
        name = str(event.get("event_name", ""))
        sender = str((event.get("sender") or {}).get("id", ""))
        if not name.startswith("user_send_") or not sender:
            return None
        self.record_user_message(sender, _event_time(event.get("timestamp")) or self._clock())
        message = event.get("message") or {}
        msg_id = message.get("msg_id")
        inbound = self.inbound(
            sender,
            str(message.get("text", "")) if name == "user_send_text" else "",
            message_id=str(msg_id) if msg_id else None,
            metadata={"event_name": name},
        )
        if name == "user_send_text":
            return inbound
        return with_attachment(inbound, _attachment(name, message))

    async def fetch_attachment(self, ref: str, max_bytes: int) -> bytes:
        """The bytes of an attachment's URL (Zalo's file server)."""
        return await fetch_url(self._client, ref, max_bytes)

    # ------------------------------------------------------------------ outbound

    async def send(self, message: OutboundMessage) -> None:
        """Send ``message`` as text, refusing it outside the reply window.

        Raises:
            DeliveryError: outside the reply window, Zalo refused it, or Zalo could not be reached.
        """
        last = self.last_user_message(message.key.chat_id)
        if last is not None and self._clock() - last > self.settings.reply_window:
            raise DeliveryError(
                f"outside Zalo's reply window: the user last wrote more than {self.settings.reply_window} ago",
                retryable=False,
            )
        await super().send(message)

    async def send_text(self, chat_id: str, text: str) -> None:
        """Post one consultation text message to ``chat_id``, refreshing the token once if needed."""
        body = {"recipient": {"user_id": chat_id}, "message": {"text": text}}
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            tokens = await self._tokens.load()
            data = await self._post(tokens.access_token, body, attempt)
            if data is None:  # transient failure, retry after backoff
                await self._sleep(self.settings.backoff * 2 ** (attempt - 1))
                continue
            error = _int(data.get("error", 0))
            if error == 0:
                return
            if error in self.settings.expired_token_errors and not refreshed:
                await self._refresh(tokens)
                refreshed = True
                attempt -= 1  # a refresh is not a failed try
                continue
            raise DeliveryError(f"Zalo OA error {error}: {data.get('message', '')}", retryable=False)

    async def _post(self, access_token: str, body: dict[str, Any], attempt: int) -> dict[str, Any] | None:
        last = attempt >= self.settings.max_attempts
        await on_the_wire()
        try:
            response = await self._client.post(
                self.settings.message_url, json=body, headers={"access_token": access_token}
            )
        except httpx.TransportError as exc:
            if last:
                raise DeliveryError(f"Zalo OA unreachable ({type(exc).__name__})", retryable=True) from exc
            return None
        if response.status_code >= 500 or response.status_code == 429:
            if last:
                raise DeliveryError(f"Zalo OA answered HTTP {response.status_code}", retryable=True)
            return None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise DeliveryError(f"Zalo OA answered HTTP {response.status_code} without JSON", retryable=False)
        return data

    async def _refresh(self, used: ZaloTokens) -> None:
        async with self._refresh_lock, self._tokens.refreshing():
            current = await self._tokens.load()
            if current.access_token != used.access_token:
                return  # another send (or another process) refreshed meanwhile: use its tokens
            if current.refused_at is not None:
                raise DeliveryError(
                    "Zalo OA token refresh was refused earlier; new tokens are needed in the settings",
                    retryable=False,
                )
            try:
                response = await self._client.post(
                    self.settings.oauth_url,
                    data={
                        "refresh_token": current.refresh_token,
                        "app_id": self.settings.app_id,
                        "grant_type": "refresh_token",
                    },
                    headers={"secret_key": self.settings.app_secret_key},
                )
                data = response.json()
            except (httpx.TransportError, ValueError) as exc:
                raise DeliveryError(
                    f"Zalo OA token refresh failed ({type(exc).__name__})", retryable=True
                ) from exc
            if not isinstance(data, dict) or not data.get("access_token") or not data.get("refresh_token"):
                reason = data.get("error_name") or data.get("error") if isinstance(data, dict) else "no JSON"
                if isinstance(data, dict) and _int(data.get("error")) in self.settings.dead_refresh_errors:
                    log.error("Zalo OA token refresh refused: %s", reason)
                    await self._tokens.refused(current)
                    raise DeliveryError(f"Zalo OA token refresh refused ({reason})", retryable=False)
                # not a verdict on the refresh token (a wrong app secret key or app id): nothing is noted
                log.error("Zalo OA token refresh failed, check the app id and secret key: %s", reason)
                raise DeliveryError(f"Zalo OA token refresh failed ({reason})", retryable=False)
            expires_in = _int(data.get("expires_in", 0))
            await self._tokens.save(
                ZaloTokens(
                    access_token=str(data["access_token"]),
                    refresh_token=str(data["refresh_token"]),
                    expires_at=self._clock() + timedelta(seconds=expires_in) if expires_in else None,
                )
            )
            log.info("Zalo OA access token refreshed")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _event_time(value: Any) -> datetime | None:
    millis = _int(value)
    return datetime.fromtimestamp(millis / 1000, UTC) if millis > 0 else None


def zalo_oa_webhook_router(
    channel: ZaloOAChannel, queue: Inbound, *, path: str = "/webhooks/zalo"
) -> APIRouter:
    """A FastAPI router receiving Zalo OA events at ``POST path``.

    400 for a body that is not a JSON object, 403 for a missing or wrong signature, 503 when the inbox
    cannot store it, otherwise 200 once it is stored (also for events the help line ignores and for
    events whose timestamp is outside the event window — a replay — so Zalo does not retry them).

    Args:
        channel: the Zalo OA channel (it verifies signatures and converts events).
        queue: the inbound queue.
        path: where to mount the endpoint.
    """
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def zalo_oa_webhook(request: Request) -> Response:
        body = await request.body()
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            return JSONResponse({"error": "bad event"}, status_code=400)
        if not channel.verify(body, event, request.headers.get(SIGNATURE_HEADER)):
            return JSONResponse({"error": "bad signature"}, status_code=403)
        if not channel.is_fresh(event):
            # 200, not 4xx: a stale event cannot become fresh, so a refusal would only count against
            # the webhook's health at Zalo (it wants 200 within 2 s) and invite the same event again.
            log.warning("zalo event outside the %s window ignored", channel.settings.event_window)
            return JSONResponse({"ok": True, "ignored": "stale"})
        inbound = channel.event_to_inbound(event)
        if inbound is not None:
            try:
                await queue.offer(inbound)
            except QueueFullError:
                return JSONResponse({"error": "busy"}, status_code=503)
        return JSONResponse({"ok": True})

    return router


_OA_KINDS = {
    "user_send_image": "photo",
    "user_send_gif": "sticker",
    "user_send_sticker": "sticker",
    "user_send_audio": "voice",
    "user_send_video": "video",
    "user_send_file": "file",
    "user_send_location": "location",
    "user_send_business_card": "contact",
}


def _attachment(event_name: str, message: dict[str, Any]) -> Attachment:
    """The attachment of a ``user_send_*`` event other than text (its first attachment's address)."""
    kind = _OA_KINDS.get(event_name, "other")
    attachments = message.get("attachments")
    first = attachments[0] if isinstance(attachments, list) and attachments else {}
    payload = first.get("payload") if isinstance(first, dict) else None
    url = str(payload.get("url") or "") if isinstance(payload, dict) else ""
    caption = str(message.get("text") or "")
    return Attachment(kind, url if kind == "photo" else "", caption)
