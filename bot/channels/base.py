"""What every channel shares: the output port, the registry of channels, channel errors.

A webhook (or the Telegram poller) turns a platform event into an :class:`InboundMessage` and hands it
to an :class:`Inbound`: the durable inbox (:mod:`bot.channels.durable`), which stores it before the HTTP
request is answered and drops a redelivery only against a stored row. Its workers call the engine (a
:data:`MessageHandler`) in order per conversation, and the replies go out through the outbox and the
:class:`OutputChannel` named in each reply's key.

Channels without buttons derive from :class:`TextOnlyChannel`: it renders buttons as a numbered list,
remembers them per chat and maps a reply such as ``"2"`` back to the payload of the second button.

What a channel must remember between sending a message and the citizen's answer to it (Telegram's long
button payloads, the text channels' last buttons per chat) goes into a :class:`ButtonMemory`: the reply
may reach another server process than the one that sent the message, so the deployment passes the
shared database's (``bot.storage.button_memory.SqlButtonMemory``); :class:`InMemoryButtonMemory` is
the default of tests and of a single process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from typing import Protocol, runtime_checkable

from bot.core.errors import UnavailableError
from bot.core.messages import (
    Button,
    ConversationKey,
    InboundMessage,
    OutboundMessage,
    numbered_fallback,
    resolve_numbered_reply,
)
from bot.core.redact import redact

__all__ = [
    "ButtonMemory",
    "ChannelError",
    "ChannelRegistry",
    "DeliveryError",
    "InMemoryButtonMemory",
    "Inbound",
    "MessageHandler",
    "OutputChannel",
    "QueueFullError",
    "TextOnlyChannel",
    "on_the_wire",
    "split_text",
]

log = logging.getLogger(__name__)

MessageHandler = Callable[[InboundMessage], Awaitable[list[OutboundMessage]]]
"""The engine as channels see it: one inbound message in, the replies out."""


_ON_THE_WIRE: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("on_the_wire", default=None)


async def on_the_wire() -> None:
    """Channels call this right before the request that hands a message to the platform (after any rate
    limiter's wait): the outbox then knows that, should the process die now, the message may have
    arrived (:class:`bot.channels.durable.OutboxSender`; a reply is sent twice only in that case)."""
    hook = _ON_THE_WIRE.get()
    if hook is not None:
        await hook()


class ChannelError(Exception):
    """Base class of every error a channel raises."""


class DeliveryError(ChannelError, UnavailableError):
    """A message could not be delivered.

    An :class:`bot.core.errors.UnavailableError`, so the hand-off (which knows no channel) can tell a
    failure worth retrying from a final one; ``str(error)`` is the reason.

    Attributes:
        reason: a short English explanation for logs and the officer console (no personal data).
        retryable: True when the same message may succeed later (network trouble, flood control,
            platform outage); False when retrying cannot help (blocked by the user, outside the
            reply window, invalid chat).
    """

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason, retryable=retryable)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason  # a channel may add detail to the reason after raising


class QueueFullError(ChannelError):
    """The inbound queue is full; the webhook should answer 503 so the platform retries later."""


@runtime_checkable
class OutputChannel(Protocol):
    """A platform that can deliver an :class:`OutboundMessage`.

    Attributes:
        name: the channel name used in :class:`ConversationKey` (``"telegram"``, ``"zalo"``...).
    """

    name: str

    async def send(self, message: OutboundMessage) -> None:
        """Deliver ``message`` to ``message.key.chat_id``.

        Raises:
            DeliveryError: when the platform refused or could not be reached.
        """
        ...


class Inbound(Protocol):
    """Where a webhook or poller hands a message: :class:`bot.channels.durable.DurableInboundQueue`."""

    async def offer(self, message: InboundMessage) -> bool:
        """Accept ``message`` for processing; False for a redelivery already accepted.

        Raises:
            QueueFullError: it cannot be accepted now (the webhook answers 503, the platform retries).
        """
        ...


class ChannelRegistry:
    """The output channels by name; sends a message through the channel named in its key.

    The server uses :meth:`deliver` for officer replies: a :class:`DeliveryError` tells the console
    that the citizen did not get the message (for instance outside Zalo's reply window).

    Args:
        channels: the channels to register.
    """

    def __init__(self, channels: Iterable[OutputChannel] = ()) -> None:
        self._channels: dict[str, OutputChannel] = {}
        for channel in channels:
            self.register(channel)

    def register(self, channel: OutputChannel) -> None:
        """Add ``channel``; a second channel with the same name is a configuration error."""
        if channel.name in self._channels:
            raise ValueError(f"channel {channel.name!r} registered twice")
        self._channels[channel.name] = channel

    def get(self, name: str) -> OutputChannel | None:
        """The channel called ``name``, or None."""
        return self._channels.get(name)

    def names(self) -> list[str]:
        """Names of the registered channels."""
        return sorted(self._channels)

    async def deliver(self, message: OutboundMessage) -> None:
        """Send ``message`` through the channel named in ``message.key.channel``.

        Raises:
            DeliveryError: unknown channel (not retryable) or the channel's own delivery failure.
        """
        channel = self._channels.get(message.key.channel)
        if channel is None:
            raise DeliveryError(f"no channel named {message.key.channel!r}", retryable=False)
        if channel.name != "rest":  # only the web chat shows images and custom JSON
            plain = as_plain_text(message)
            if plain is None:
                return
            message = plain
        await channel.send(message)


def as_plain_text(message: OutboundMessage) -> OutboundMessage | None:
    """``message`` for a channel that shows text, buttons and links only: an image (an external action
    server's) becomes its URL on a line of its own, custom JSON is left out; None when nothing is left to
    show."""
    if message.image is None and message.custom is None:
        return message
    text = "\n".join(part for part in (message.text, message.image or "") if part)
    if not (text or message.buttons or message.links):
        return None
    return replace(message, text=text, image=None, custom=None)


async def finish_tasks(tasks: Iterable[asyncio.Task[None]], timeout: float) -> None:
    """Let ``tasks`` finish for up to ``timeout`` seconds, then cancel what is still running."""
    tasks = [t for t in tasks if not t.done()]
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _masked_key(key: ConversationKey) -> str:
    return redact(str(key))


def _masked_traceback(exc: BaseException) -> str:
    return redact("".join(traceback.format_exception(exc)).rstrip())


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters for platforms with a length cap.

    Cuts at a paragraph break if one falls in the second half of the chunk, else at a line break,
    else at a space, else hard at the limit. Leading and trailing whitespace of chunks is trimmed.

    Args:
        text: the text to split.
        limit: the maximum length of a chunk (at least 1).

    Returns:
        The chunks; one empty string when ``text`` is empty.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            pos = window.rfind(sep)
            if pos >= limit // 2:
                cut = pos
                break
        if cut <= 0:
            chunk, rest = rest[:limit], rest[limit:]
        else:
            chunk, rest = rest[:cut], rest[cut:]
        chunks.append(chunk.rstrip())
        rest = rest.lstrip()
    chunks.append(rest)
    return [c for c in chunks if c] or [""]


class ButtonMemory(Protocol):
    """Short values a channel keeps between a message and the citizen's answer, shared by every server
    process of the deployment. Calls are short blocking look-ups by key (no I/O but the database)."""

    def put(self, key: str, value: str) -> None:
        """Remember ``value`` under ``key`` (replacing what was there)."""
        ...

    def get(self, key: str) -> str | None:
        """The value under ``key``, or None when there is none (never stored, forgotten or pruned)."""
        ...

    def forget(self, key: str) -> None:
        """Drop ``key`` (nothing happens when it is not there)."""
        ...


class InMemoryButtonMemory:
    """A :class:`ButtonMemory` in this process's memory, bounded (the oldest key goes first).

    Only for tests and a single server process: another process does not see it.
    """

    def __init__(self, max_size: int = 50_000) -> None:
        self._max_size = max_size
        self._values: OrderedDict[str, str] = OrderedDict()

    def put(self, key: str, value: str) -> None:
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self._max_size:
            self._values.popitem(last=False)

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def forget(self, key: str) -> None:
        self._values.pop(key, None)


def _encode_buttons(buttons: tuple[Button, ...]) -> str:
    return json.dumps([[b.title, b.payload] for b in buttons], ensure_ascii=False)


def _decode_buttons(value: str | None) -> tuple[Button, ...]:
    if not value:
        return ()
    try:
        return tuple(Button(str(title), str(payload)) for title, payload in json.loads(value))
    except (ValueError, TypeError):  # written by another version: no buttons rather than a crash
        return ()


class TextOnlyChannel:
    """Base for channels that can only send text (both Zalo channels).

    :meth:`send` renders the message with :func:`numbered_fallback` (choices numbered, links appended
    as text), remembers the buttons per chat, splits the text at the platform's length limit and hands
    each chunk to :meth:`send_text`. :meth:`inbound` builds the :class:`InboundMessage` for a typed
    text, mapping a numbered reply back to the payload of the button last offered in that chat.

    Args:
        max_text_length: the platform's limit per message.
        officer_prefix: put before officer replies (e.g. "Cán bộ: " from the response catalogue).
        remembered_chats: how many chats' last buttons to keep (in this process's memory, until
            :meth:`share_buttons` gives the deployment's :class:`ButtonMemory`).
    """

    name: str = "text"

    def __init__(
        self,
        *,
        max_text_length: int = 2000,
        officer_prefix: str = "",
        remembered_chats: int = 10_000,
    ) -> None:
        self._max_text_length = max_text_length
        self._officer_prefix = officer_prefix
        self._buttons: ButtonMemory = InMemoryButtonMemory(remembered_chats)
        self._shared = False

    def share_buttons(self, memory: ButtonMemory) -> None:
        """Keep the last buttons per chat in ``memory`` (the shared database: a numbered reply may reach
        another server process than the one that sent the choices); its writes then run off the event
        loop."""
        self._buttons = memory
        self._shared = True

    def _buttons_key(self, chat_id: str) -> str:
        return f"{self.name}:buttons:{chat_id}"

    async def send_text(self, chat_id: str, text: str) -> None:
        """Send one chunk of plain text to ``chat_id``; implemented by each channel.

        Raises:
            DeliveryError: when the platform refused or could not be reached.
        """
        raise NotImplementedError

    async def send(self, message: OutboundMessage) -> None:
        """Render ``message`` as text and send it, remembering its buttons for numbered replies.

        Raises:
            DeliveryError: when a chunk could not be delivered.
        """
        text = numbered_fallback(message)
        if message.sender == "officer" and self._officer_prefix:
            text = self._officer_prefix + text
        chat_id = message.key.chat_id
        key = self._buttons_key(chat_id)
        if message.buttons:
            remember = functools.partial(self._buttons.put, key, _encode_buttons(message.buttons))
        else:  # old numbers must not select choices that are no longer on screen
            remember = functools.partial(self._buttons.forget, key)
        if self._shared:  # a database write: not on the event loop every chat shares
            await asyncio.to_thread(remember)
        else:
            remember()
        for chunk in split_text(text, self._max_text_length):
            await self.send_text(chat_id, chunk)

    def last_buttons(self, chat_id: str) -> tuple[Button, ...]:
        """The buttons last sent to ``chat_id`` (empty when none or forgotten)."""
        return _decode_buttons(self._buttons.get(self._buttons_key(chat_id)))

    def inbound(
        self,
        chat_id: str,
        text: str,
        *,
        message_id: str | None = None,
        sender_name: str = "",
        metadata: Mapping[str, object] | None = None,
    ) -> InboundMessage:
        """The :class:`InboundMessage` for ``text`` typed in ``chat_id``.

        A reply such as ``"2"`` to a message that offered choices becomes the second choice's payload
        with ``is_button=True``; the typed text is kept in ``metadata["typed"]``.
        """
        message = InboundMessage(
            key=ConversationKey(self.name, chat_id),
            text=text,
            message_id=message_id,
            sender_name=sender_name,
            metadata=dict(metadata or {}),
        )
        if not any(ch.isdigit() for ch in text):  # not a numbered reply: no look-up
            return message
        payload = resolve_numbered_reply(text, self.last_buttons(chat_id))
        if payload is None:
            return message
        return replace(message, text=payload, is_button=True, metadata={**message.metadata, "typed": text})
