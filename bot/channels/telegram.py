"""Telegram channel (python-telegram-bot 22): updates in, ``sendMessage`` with inline keyboards out.

Inbound: a text message becomes an :class:`InboundMessage` (``/start`` and ``/help`` arrive as the texts
``"/start"`` and ``"/help"``, a ``@botname`` suffix removed); pressing an inline button becomes its
payload with ``is_button=True`` and the callback query is answered so the client stops its spinner.
Updates are deduplicated on ``update_id`` by the inbox (a redelivery of a stored update is dropped).

Outbound: buttons become an inline keyboard, one button per row; ``callback_data`` is limited to 64
bytes, so a longer payload travels as a short token (a digest of the payload) kept in a
:class:`~bot.channels.base.ButtonMemory`: the shared database in a deployment, since the press may
reach another server process than the one that sent the button. Links become URL buttons.
Texts longer than 4096 characters are split at paragraph or line boundaries, the keyboard riding on
the last part. Sends go through a :class:`RateLimiter`; flood control (``RetryAfter``) and network
errors are retried; what still fails raises :class:`DeliveryError`.

Two ways to receive updates:

* polling: :class:`TelegramPolling` calls ``getUpdates`` inside the server's event loop and confirms an
  update (moves the offset past it) only once it is stored;
* webhook: :func:`telegram_webhook_router` returns a FastAPI router for ``POST /webhooks/telegram``
  that checks the secret token header, parses the update, stores it and answers 200 once it is stored.

Note: python-telegram-bot 22 warns when code reads integer time periods such as
``RetryAfter.retry_after``; set ``PTB_TIMEDELTA=true`` in the environment to opt in to ``timedelta``
values (this module handles both).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import hashlib
import hmac
import json
import logging
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import JSONResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import (
    ButtonMemory,
    ChannelError,
    DeliveryError,
    Inbound,
    InMemoryButtonMemory,
    QueueFullError,
    on_the_wire,
    split_text,
)
from bot.channels.media import MAX_IMAGE_BYTES, Attachment, with_attachment
from bot.channels.ratelimit import RateLimiter
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.redact import redact

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_TEXT_LENGTH",
    "SECRET_HEADER",
    "TelegramChannel",
    "TelegramPolling",
    "build_application",
    "build_bot",
    "telegram_webhook_router",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_TOKEN_PREFIX = "~"


def build_bot(
    token: str,
    *,
    base_url: str = DEFAULT_BASE_URL,
    connect_timeout: float = 5.0,
    read_timeout: float = 10.0,
) -> Bot:
    """A :class:`telegram.Bot` for webhook mode (polling uses :func:`build_application`).

    Args:
        token: the bot token from BotFather.
        base_url: Bot API address; PTB appends the token. Tests point it at a fake server.
        connect_timeout: seconds to connect.
        read_timeout: seconds to wait for an answer.
    """
    request = HTTPXRequest(connect_timeout=connect_timeout, read_timeout=read_timeout)
    return Bot(token, base_url=base_url, base_file_url=file_url(base_url), request=request)


def file_url(base_url: str) -> str:
    """Where files are downloaded from, beside ``base_url``: ``.../bot`` -> ``.../file/bot`` (Telegram's
    own servers and a self-hosted Bot API server alike)."""
    root, _, last = base_url.rstrip("/").rpartition("/")
    return f"{root}/file/{last}"


def build_application(
    token: str,
    *,
    base_url: str = DEFAULT_BASE_URL,
    connect_timeout: float = 5.0,
    read_timeout: float = 10.0,
    poll_timeout: float = 10.0,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """An ``Application`` for polling; its ``bot`` is the one to give :class:`TelegramChannel`.

    Args:
        token: the bot token from BotFather.
        base_url: Bot API address; PTB appends the token.
        connect_timeout: seconds to connect.
        read_timeout: seconds to wait for an answer to ordinary calls.
        poll_timeout: long-polling timeout of getUpdates; its HTTP read timeout is set above it.
    """
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_url(base_url))
        .request(HTTPXRequest(connect_timeout=connect_timeout, read_timeout=read_timeout))
        .get_updates_request(HTTPXRequest(connect_timeout=connect_timeout, read_timeout=poll_timeout + 5))
        .build()
    )


class _CallbackPayloads:
    """Maps payloads too long for ``callback_data`` to short tokens and back, through ``memory``.

    The token is a digest of the payload, so every process gives one payload the same token; a token
    this process wrote recently is not written again (one database write per payload and day).
    """

    _REWRITE_AFTER = 86_400.0  # seconds: the row's age is refreshed so that pruning spares live buttons

    def __init__(self, memory: ButtonMemory, clock: Callable[[], float] = time.monotonic) -> None:
        self._memory = memory
        self._clock = clock
        self._written: OrderedDict[str, float] = OrderedDict()

    def encode(self, payload: str) -> str:
        if len(payload.encode()) <= MAX_CALLBACK_DATA_BYTES and not payload.startswith(_TOKEN_PREFIX):
            return payload
        token = _TOKEN_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:20]
        now = self._clock()
        written = self._written.get(token)
        if written is None or now - written > self._REWRITE_AFTER:
            self._memory.put(f"telegram:{token}", payload)
            self._written[token] = now
            self._written.move_to_end(token)
            while len(self._written) > 10_000:
                self._written.popitem(last=False)
        return token

    def decode(self, data: str) -> str | None:
        if not data.startswith(_TOKEN_PREFIX):
            return data
        return self._memory.get(f"telegram:{data}")


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _command_text(text: str) -> str:
    """``"/start@thutuc_bot abc"`` → ``"/start abc"``; other texts unchanged."""
    if not text.startswith("/"):
        return text
    command, _, rest = text.partition(" ")
    command = command.split("@", 1)[0]
    return f"{command} {rest.strip()}".strip()


class TelegramChannel:
    """The Telegram :class:`OutputChannel` and the converter from ``Update`` to :class:`InboundMessage`.

    Args:
        bot: an initialised (or about to be) ``Bot``; in polling mode ``application.bot``.
        limiter: paces sends; defaults to 30 messages/s overall and 1 message/s per chat.
        max_attempts: tries per API call before giving up.
        backoff: first wait in seconds after a network error (doubles each try).
        max_retry_after: a flood-control wait longer than this is not waited for; the send fails
            with a retryable :class:`DeliveryError` instead.
        sleep: the sleep function (tests inject one that does not wait).
        officer_prefix: put before officer replies (text from the response catalogue).
        remembered_payloads: how many long callback payloads to remember when ``memory`` is not given.
        memory: where long callback payloads are kept; the deployment passes the shared database's,
            as a button press may reach another process. Default: this process's memory.
    """

    name = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        limiter: RateLimiter | None = None,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        officer_prefix: str = "",
        remembered_payloads: int = 50_000,
        memory: ButtonMemory | None = None,
    ) -> None:
        self.bot = bot
        self._limiter = limiter if limiter is not None else RateLimiter()
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._officer_prefix = officer_prefix
        self._payloads = _CallbackPayloads(
            memory if memory is not None else InMemoryButtonMemory(remembered_payloads)
        )

    # ------------------------------------------------------------------ lifecycle (webhook mode)

    async def initialize(self) -> None:
        """Initialise the bot (calls getMe). Polling mode does this through the Application."""
        await self.bot.initialize()

    async def set_webhook(self, url: str, secret_token: str, *, drop_pending_updates: bool = False) -> None:
        """Register ``url`` with Telegram; every update will carry ``secret_token`` in a header."""
        await self.bot.set_webhook(
            url,
            secret_token=secret_token,
            allowed_updates=["message", "callback_query"],
            drop_pending_updates=drop_pending_updates,
        )

    async def shutdown(self) -> None:
        """Release the bot's HTTP connections."""
        await self.bot.shutdown()

    # ------------------------------------------------------------------ inbound

    def to_inbound(self, update: Update) -> InboundMessage | None:
        """The :class:`InboundMessage` for ``update``, or None for updates the help line ignores.

        Ignored: edited messages, channel posts, service messages. Photos, stickers, voice notes, files
        and locations carry an :class:`~bot.channels.media.Attachment` (read by the attachment reader).
        """
        message_id = str(update.update_id)
        query = update.callback_query
        if query is not None:
            chat_id = query.message.chat.id if query.message is not None else query.from_user.id
            key = ConversationKey(self.name, str(chat_id))
            metadata: dict[str, Any] = {"callback_query_id": query.id}
            payload = self._payloads.decode(query.data or "")
            if payload is not None:
                return InboundMessage(
                    key=key,
                    text=payload,
                    message_id=message_id,
                    sender_name=query.from_user.full_name,
                    is_button=True,
                    metadata=metadata,
                )
            # The token was forgotten (restart): fall back to the button's title as typed text.
            title = self._button_title(query.message, query.data or "")
            if title is None:
                return None
            return InboundMessage(
                key=key,
                text=title,
                message_id=message_id,
                sender_name=query.from_user.full_name,
                metadata={**metadata, "expired_button": True},
            )
        message = update.message
        if message is None:
            return None
        inbound = InboundMessage(
            key=ConversationKey(self.name, str(message.chat.id)),
            text=_command_text(message.text) if message.text is not None else "",
            message_id=message_id,
            sender_name=message.from_user.full_name if message.from_user else "",
            metadata={"telegram_message_id": message.message_id},
        )
        if message.text is not None:
            return inbound
        attachment = _attachment(message)
        return with_attachment(inbound, attachment) if attachment is not None else None

    async def fetch_attachment(self, ref: str, max_bytes: int) -> bytes:
        """The bytes of the file ``ref`` (a ``file_id``) through the Bot API's ``getFile``."""
        file = await self.bot.get_file(ref)
        if file.file_size and file.file_size > max_bytes:
            raise ChannelError(f"file of {file.file_size} bytes is over the limit")
        data = bytes(await file.download_as_bytearray())
        if len(data) > max_bytes:
            raise ChannelError(f"file of {len(data)} bytes is over the limit")
        return data

    @staticmethod
    def _button_title(message: object, data: str) -> str | None:
        if not isinstance(message, Message) or message.reply_markup is None:
            return None
        for row in message.reply_markup.inline_keyboard:
            for button in row:
                if button.callback_data == data:
                    return button.text
        return None

    async def accept(self, update: Update, queue: Inbound) -> bool:
        """Convert ``update`` and offer it to ``queue``.

        Returns:
            True when queued; False when ignored or a duplicate.

        Raises:
            QueueFullError: the queue is full.
        """
        inbound = self.to_inbound(update)
        if inbound is None:
            log.debug("telegram update %s ignored", update.update_id)
            return False
        return await queue.offer(inbound)

    async def answer_callback(self, update: Update) -> None:
        """Answer the callback query of ``update`` (if any) so the client stops showing progress."""
        if update.callback_query is None:
            return
        try:
            await update.callback_query.answer()
        except TelegramError as exc:  # a query older than ~15 s can no longer be answered
            log.info("callback query not answered: %s", exc)

    # ------------------------------------------------------------------ outbound

    async def send(self, message: OutboundMessage) -> None:
        """Send ``message``: split text, inline keyboard on the last part.

        Raises:
            DeliveryError: when Telegram refused it or could not be reached after retries.
        """
        text = message.text
        if message.sender == "officer" and self._officer_prefix:
            text = self._officer_prefix + text
        markup, extra_lines = self._keyboard(message)
        if extra_lines:
            text = "\n\n".join(p for p in (text, "\n".join(extra_lines)) if p)
        chunks = split_text(text, MAX_TEXT_LENGTH)
        if chunks == [""]:
            if markup is None:
                return
            chunks = ["…"]
        chat_id = message.key.chat_id
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            try:
                await self._call(chat_id, chunk, markup if last else None)
            except DeliveryError as exc:
                if i:
                    exc.reason = f"{exc.reason} (after {i} of {len(chunks)} parts were delivered)"
                raise

    def _keyboard(self, message: OutboundMessage) -> tuple[InlineKeyboardMarkup | None, list[str]]:
        rows = [
            [InlineKeyboardButton(b.title, callback_data=self._payloads.encode(b.payload))]
            for b in message.buttons
        ]
        extra: list[str] = []
        for title, url in message.links:
            if url.startswith(("https://", "http://")):
                rows.append([InlineKeyboardButton(title, url=url)])
            else:  # Telegram rejects the whole message for a bad URL button; keep it as text
                extra.append(f"- {title}: {url}")
        return (InlineKeyboardMarkup(rows) if rows else None), extra

    async def _call(self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None) -> None:
        for attempt in range(1, self._max_attempts + 1):
            await self._limiter.acquire(chat_id)
            await on_the_wire()
            try:
                await self.bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
                return
            except RetryAfter as exc:
                wait = _seconds(exc)
                if wait > self._max_retry_after or attempt == self._max_attempts:
                    raise DeliveryError(
                        f"Telegram flood control: retry after {wait:g} s", retryable=True
                    ) from exc
                log.warning("Telegram flood control, waiting %g s", wait)
                await self._sleep(wait)
            except BadRequest as exc:  # before NetworkError: BadRequest subclasses it
                raise DeliveryError(f"Telegram refused the message: {exc.message}", retryable=False) from exc
            except NetworkError as exc:
                if attempt == self._max_attempts:
                    raise DeliveryError(f"Telegram unreachable: {exc.message}", retryable=True) from exc
                await self._sleep(self._backoff * 2 ** (attempt - 1))
            except TelegramError as exc:  # Forbidden (blocked by the user), InvalidToken, ChatMigrated...
                raise DeliveryError(
                    f"Telegram refused the message: {type(exc).__name__}: {exc.message}", retryable=False
                ) from exc


class TelegramPolling:
    """Long polling inside the server's event loop, storing each update before confirming it.

    Telegram forgets the updates below the ``offset`` of the next ``getUpdates``, so the offset moves past
    an update only once :meth:`Inbound.offer` returned for it (the durable inbox has committed it). If the
    store fails, polling pauses and asks again from the same offset: the update comes back, nothing is
    confirmed that was not stored. (python-telegram-bot's own ``Updater`` moves the offset as soon as it
    fetched a batch, before its handlers run, which loses the batch when the process dies.)

    Args:
        application: from :func:`build_application` (its bot, with the long-poll request).
        channel: a :class:`TelegramChannel` built on ``application.bot``.
        queue: where accepted messages go.
        retry_pause: seconds to wait after a failed ``getUpdates`` or a failed store.
    """

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        channel: TelegramChannel,
        queue: Inbound,
        *,
        retry_pause: float = 1.0,
    ) -> None:
        self.application = application
        self._channel = channel
        self._queue = queue
        self._retry_pause = retry_pause
        self._offset: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, drop_pending_updates: bool = False, poll_timeout: float = 10.0) -> None:
        """Initialise the bot, remove any webhook and begin polling."""
        await self.application.bot.initialize()
        await self.application.bot.delete_webhook(drop_pending_updates=drop_pending_updates)
        self._task = asyncio.create_task(self._poll(poll_timeout), name="telegram-polling")

    async def stop(self) -> None:
        """Stop polling (an update being stored is stored; one not stored comes back next time) and
        release the bot's connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.application.bot.shutdown()

    async def _poll(self, poll_timeout: float) -> None:
        bot = self.application.bot
        while True:
            try:
                updates = await bot.get_updates(
                    offset=self._offset,
                    timeout=dtm.timedelta(seconds=poll_timeout),
                    allowed_updates=["message", "callback_query"],
                )
            except TelegramError as exc:
                log.warning("telegram getUpdates failed: %s", redact(str(exc)))
                await asyncio.sleep(self._retry_pause)
                continue
            for update in updates:
                if not await self._store(update):
                    await asyncio.sleep(self._retry_pause)
                    break  # ask again from this update: it was not stored
                self._offset = update.update_id + 1
                await self._channel.answer_callback(update)

    async def _store(self, update: Update) -> bool:
        """True when ``update`` is stored (or ignored, or a duplicate): the offset may move past it."""
        try:
            await self._channel.accept(update, self._queue)
        except QueueFullError:
            log.error(
                "inbound queue full or inbox unavailable; telegram update %s not confirmed", update.update_id
            )
            return False
        except Exception as exc:
            log.error(
                "telegram update %s not accepted: %s", update.update_id, redact(repr(exc)), exc_info=exc
            )
            return False
        return True


def telegram_webhook_router(
    channel: TelegramChannel,
    queue: Inbound,
    *,
    secret_token: str,
    path: str = "/webhooks/telegram",
) -> APIRouter:
    """A FastAPI router receiving Telegram updates at ``POST path``.

    The secret token header is compared in constant time (403 when wrong), the body parsed with
    ``Update.de_json`` (400 when it is not an update, without a stack trace), the update stored (a
    redelivery of a stored one dropped) and 200 returned once it is stored. Callback queries are answered
    after the response is sent. An inbox that cannot store it answers 503, so Telegram delivers it again.

    Args:
        channel: the Telegram channel (its ``bot`` must be initialised before updates arrive).
        queue: the inbound queue.
        secret_token: the ``secret_token`` given to ``setWebhook``; must not be empty.
        path: where to mount the endpoint.
    """
    if not secret_token:
        raise ValueError("a Telegram webhook needs a secret token")
    expected = secret_token.encode()
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def telegram_webhook(request: Request, background: BackgroundTasks) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        try:
            data = json.loads(await request.body())
            update = Update.de_json(data, channel.bot) if isinstance(data, dict) else None
        except Exception as exc:  # malformed JSON or not an update: PTB raises several kinds
            log.warning("telegram webhook: bad update body (%s)", type(exc).__name__)
            update = None
        if update is None:
            return JSONResponse({"ok": False, "error": "bad update"}, status_code=400)
        try:
            await channel.accept(update, queue)
        except QueueFullError:
            return JSONResponse({"ok": False, "error": "busy"}, status_code=503)
        if update.callback_query is not None:
            background.add_task(channel.answer_callback, update)
        return JSONResponse({"ok": True})

    return router


def _attachment(message: Message) -> Attachment | None:
    """What a message without text carries (a photo, a sticker, a voice note...), or None (a service
    message such as a member joining)."""
    caption = message.caption or ""
    if message.photo:
        fitting = [p for p in message.photo if not p.file_size or p.file_size <= MAX_IMAGE_BYTES]
        best = max(fitting or message.photo, key=lambda p: p.width * p.height)
        return Attachment("photo", best.file_id, caption, best.file_size or 0)
    document = message.document
    if document is not None:
        image = (document.mime_type or "").startswith("image/")
        return Attachment("photo" if image else "file", document.file_id, caption, document.file_size or 0)
    kinds: tuple[tuple[object, str], ...] = (
        (message.sticker, "sticker"),
        (message.voice or message.audio, "voice"),
        (message.video or message.video_note or message.animation, "video"),
        (message.location or message.venue, "location"),
        (message.contact, "contact"),
    )
    for present, kind in kinds:
        if present is not None:
            return Attachment(kind, caption=caption)
    return None
