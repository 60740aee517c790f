"""What every channel shares: the output port, channel errors, deduplication and the inbound queue.

A webhook (or the Telegram poller) turns a platform event into an :class:`InboundMessage` and hands it
to an :class:`Inbound`: in the server the durable inbox (:mod:`bot.channels.durable`), which stores it
before the HTTP request is answered; in the channels' tests :meth:`InboundQueue.offer`, which drops
duplicates and queues it in memory (no production path uses it). Worker tasks take messages off the
queue, call the engine (a :data:`MessageHandler`) and send each reply through the :class:`OutputChannel`
named in the reply's key. Messages of one conversation go to the same worker, so a citizen's messages
are handled, and answered, in the order they were sent.

Channels without buttons derive from :class:`TextOnlyChannel`: it renders buttons as a numbered list,
remembers them per chat and maps a reply such as ``"2"`` back to the payload of the second button.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
import zlib
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
    "ChannelError",
    "ChannelRegistry",
    "Deduplicator",
    "DeliveryError",
    "InMemoryDeduplicator",
    "Inbound",
    "InboundQueue",
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
    """Where a webhook or poller hands a message: :class:`InboundQueue` in memory (the channels' tests),
    :class:`bot.channels.durable.DurableInboundQueue` on the database (the server)."""

    async def offer(self, message: InboundMessage) -> bool:
        """Accept ``message`` for processing; False for a redelivery already accepted.

        Raises:
            QueueFullError: it cannot be accepted now (the webhook answers 503, the platform retries).
        """
        ...


class Deduplicator(Protocol):
    """Remembers which platform message ids were already accepted."""

    async def first_time(self, channel: str, message_id: str) -> bool:
        """Return True the first time ``(channel, message_id)`` is seen, False afterwards."""
        ...


class InMemoryDeduplicator:
    """A :class:`Deduplicator` that keeps the most recent ``max_size`` ids in memory.

    Platforms redeliver within minutes (Telegram after a crash, Zalo when the 2-second acknowledgement
    was missed), so a bounded window is enough. Ids are forgotten on restart; the server's database
    implementation covers that.

    Args:
        max_size: how many ids to remember; the oldest is forgotten first.
    """

    def __init__(self, max_size: int = 10_000) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._max_size = max_size
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def first_time(self, channel: str, message_id: str) -> bool:
        """Return True the first time ``(channel, message_id)`` is seen, False afterwards."""
        key = (channel, message_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._max_size:
            self._seen.popitem(last=False)
        return True


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


_STOP = object()


class InboundQueue:
    """Queues inbound messages and answers them from worker tasks, in order per conversation.

    Messages are spread over ``workers`` queues by a stable hash of their conversation key, so two
    messages of one conversation are never handled at the same time or out of order, while different
    conversations proceed in parallel. A failure in the handler or in a send is logged (with personal
    numbers masked) and never stops a worker.

    Args:
        handler: the engine.
        channels: where replies are sent.
        deduplicator: drops redelivered platform events; None disables deduplication.
        workers: number of worker tasks.
        maxsize: capacity of each worker's queue; :meth:`offer` raises :class:`QueueFullError` beyond.
        error_reply: builds the apology sent when the handler raised (the text comes from the
            response catalogue); None sends nothing.
    """

    def __init__(
        self,
        handler: MessageHandler,
        channels: ChannelRegistry,
        *,
        deduplicator: Deduplicator | None = None,
        workers: int = 4,
        maxsize: int = 1000,
        error_reply: Callable[[ConversationKey], OutboundMessage] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._handler = handler
        self._channels = channels
        self._dedup = deduplicator
        self._error_reply = error_reply
        self._queues: list[asyncio.Queue[object]] = [asyncio.Queue(maxsize) for _ in range(workers)]
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return bool(self._tasks)

    def start(self) -> None:
        """Start the worker tasks in the running event loop."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._work(queue), name=f"inbound-worker-{i}")
            for i, queue in enumerate(self._queues)
        ]

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Finish the queued messages (up to ``timeout`` seconds), then stop the workers."""
        if not self._tasks:
            return
        for queue in self._queues:
            await queue.put(_STOP)
        await finish_tasks(self._tasks, timeout)
        self._tasks = []

    async def join(self) -> None:
        """Wait until every queued message (and reply) has been processed; used by tests."""
        for queue in self._queues:
            await queue.join()

    async def offer(self, message: InboundMessage) -> bool:
        """Queue ``message`` unless it is a duplicate; never waits for processing.

        Returns:
            True when queued, False when the platform id was seen before.

        Raises:
            QueueFullError: the conversation's queue is full.
        """
        if (
            self._dedup is not None
            and message.message_id is not None
            and not await self._dedup.first_time(message.key.channel, message.message_id)
        ):
            log.info("duplicate %s message %s dropped", message.key.channel, message.message_id)
            return False
        self._put(message.key, message)
        return True

    def submit_reply(self, message: OutboundMessage) -> None:
        """Queue an outbound message (an officer's reply) behind the conversation's pending work.

        Use :meth:`ChannelRegistry.deliver` instead when the caller must know whether it was
        delivered; here failures are only logged.

        Raises:
            QueueFullError: the conversation's queue is full.
        """
        self._put(message.key, message)

    def _put(self, key: ConversationKey, item: InboundMessage | OutboundMessage) -> None:
        queue = self._queues[zlib.crc32(str(key).encode()) % len(self._queues)]
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            raise QueueFullError("inbound queue is full") from None

    async def _work(self, queue: asyncio.Queue[object]) -> None:
        while True:
            item = await queue.get()
            try:
                if item is _STOP:
                    return
                if isinstance(item, InboundMessage):
                    await self._handle(item)
                elif isinstance(item, OutboundMessage):
                    await self._send(item)
            except Exception as exc:  # the worker must survive anything
                log.error("unexpected error in inbound worker\n%s", _masked_traceback(exc))
            finally:
                queue.task_done()

    async def _handle(self, message: InboundMessage) -> None:
        try:
            replies = await self._handler(message)
        except Exception as exc:
            # The traceback is formatted and masked here: exception messages often quote user text.
            log.error(
                "handler failed for %s (text %r)\n%s",
                _masked_key(message.key),
                redact(message.text[:200]),
                _masked_traceback(exc),
            )
            if self._error_reply is None:
                return
            replies = [self._error_reply(message.key)]
        for reply in replies:
            await self._send(reply)

    async def _send(self, reply: OutboundMessage) -> None:
        try:
            await self._channels.deliver(reply)
        except DeliveryError as exc:
            log.warning(
                "reply to %s not delivered (%s, retryable=%s)",
                _masked_key(reply.key),
                redact(exc.reason),
                exc.retryable,
            )
        except Exception as exc:
            log.error(
                "channel %s raised while sending to %s\n%s",
                reply.key.channel,
                _masked_key(reply.key),
                _masked_traceback(exc),
            )


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


class TextOnlyChannel:
    """Base for channels that can only send text (both Zalo channels).

    :meth:`send` renders the message with :func:`numbered_fallback` (choices numbered, links appended
    as text), remembers the buttons per chat, splits the text at the platform's length limit and hands
    each chunk to :meth:`send_text`. :meth:`inbound` builds the :class:`InboundMessage` for a typed
    text, mapping a numbered reply back to the payload of the button last offered in that chat.

    Args:
        max_text_length: the platform's limit per message.
        officer_prefix: put before officer replies (e.g. "Cán bộ: " from the response catalogue).
        remembered_chats: how many chats' last buttons to keep.
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
        self._remembered_chats = remembered_chats
        self._last_buttons: OrderedDict[str, tuple[Button, ...]] = OrderedDict()

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
        if message.buttons:
            self._last_buttons[chat_id] = message.buttons
            self._last_buttons.move_to_end(chat_id)
            while len(self._last_buttons) > self._remembered_chats:
                self._last_buttons.popitem(last=False)
        else:
            # Old numbers must not select choices that are no longer on screen.
            self._last_buttons.pop(chat_id, None)
        for chunk in split_text(text, self._max_text_length):
            await self.send_text(chat_id, chunk)

    def last_buttons(self, chat_id: str) -> tuple[Button, ...]:
        """The buttons last sent to ``chat_id`` (empty when none or forgotten)."""
        return self._last_buttons.get(chat_id, ())

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
        payload = resolve_numbered_reply(text, self.last_buttons(chat_id))
        if payload is None:
            return message
        return replace(message, text=payload, is_button=True, metadata={**message.metadata, "typed": text})
