"""The server's inbound queue on the durable inbox, and the sender of the durable outbox (issue 12).

:class:`DurableInboundQueue` has the interface of :class:`bot.channels.base.InboundQueue` (``offer``,
``start``, ``stop``, ``join``), so channels do not know which one they feed; the server uses this one.

* ``offer`` stores the message in the inbox (:class:`bot.core.ports.Inbox`) and returns once the row is
  committed: the webhook answers 200 only then. A redelivery of a stored update is dropped; a database
  that cannot be written raises :class:`InboxUnavailableError`, and the webhook answers 503 so the
  platform delivers again later.
* Worker tasks take rows (in order per conversation, any number of processes), call the handler with the
  row's id in ``metadata[INBOX_ID]`` and finish the row. For a normal turn the engine's store finishes it
  in the turn's own transaction (state, message log, inbox row, replies in the outbox); for the other
  paths (an officer owns the chat, the engine apologised, the handler raised) the worker finishes it,
  queuing the replies it got. Replies are never sent from here: they go through the outbox.
* :class:`OutboxSender` delivers the outbox: chats in parallel, one chat's replies in order; a refusal
  worth retrying (network, 429, 5xx) is tried again after the backoff, also after a restart; a final
  refusal (blocked, invalid chat) or exhausted attempts sets the reply aside and the chat's next reply
  goes on. The retry loop of :mod:`bot.handoff.retry` runs it, with the officers' undelivered replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import (
    _ON_THE_WIRE,
    ChannelError,
    DeliveryError,
    MessageHandler,
    QueueFullError,
    _masked_key,
    _masked_traceback,
    finish_tasks,
)
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import INBOX_ID, INBOX_TAKE, Inbox, InboxItem, Outbox, OutboxItem
from bot.core.redact import redact
from bot.core.timeutil import utcnow

__all__ = ["DurableInboundQueue", "InboxUnavailableError", "OutboxSender"]

log = logging.getLogger(__name__)

Offload = Callable[..., Awaitable[Any]]


class Threads:
    """An offload onto threads of its own: the inbox's writes that a webhook waits for, and the outbox's
    marks, never queue behind the turns' NLU and database work in the default pool (on a busy server
    that queue is where an acknowledgement's time, and a crash's doubt, would go).

    Args:
        count: how many threads (started when first needed).
        name: their name prefix.
    """

    def __init__(self, count: int, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix=name)

    async def __call__(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args))


class InboxUnavailableError(QueueFullError):
    """The inbox could not store the message (database down); the webhook answers 503 so the platform
    delivers it again later, and nothing is acknowledged that was not stored."""


class DurableInboundQueue:
    """Inbound messages through the durable inbox (see the module's docstring).

    Args:
        handler: the engine (with the hand-off's recorder before it).
        inbox: where messages are stored and taken from.
        workers: how many messages this process handles at once (each of another conversation).
        error_reply: builds the apology queued when the handler raised; None queues nothing.
        on_reply: called when replies were queued (wakes the outbox sender).
        poll_interval: seconds between two looks at the inbox when nothing woke the workers (rows
            stored by another process, rows whose lease ran out).
        prune_interval: seconds between two prunes of finished rows.
        housekeeping: more prunes to run with the inbox's (the outbox's).
        outbox_idle: tells :meth:`join` whether the replies queued were delivered.
        offload: runs the workers' blocking calls off the event loop.
        accept: runs the webhook's write of a message (threads of its own by default).
    """

    def __init__(
        self,
        handler: MessageHandler,
        inbox: Inbox,
        *,
        workers: int = 4,
        error_reply: Callable[[ConversationKey], OutboundMessage] | None = None,
        on_reply: Callable[[], None] | None = None,
        poll_interval: float = 1.0,
        prune_interval: float = 3600.0,
        housekeeping: Sequence[Callable[[], int]] = (),
        outbox_idle: Callable[[], Awaitable[bool]] | None = None,
        offload: Offload = asyncio.to_thread,
        accept: Offload | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._handler = handler
        self._inbox = inbox
        self._workers = workers
        self._error_reply = error_reply
        self._on_reply = on_reply or (lambda: None)
        self._poll_interval = poll_interval
        self._prune_interval = prune_interval
        self._offload = offload
        self._accept: Offload = accept if accept is not None else Threads(4, "inbox-accept")
        self._prunes = (inbox.prune, *housekeeping)
        self._outbox_idle = outbox_idle
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._busy = 0
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return bool(self._tasks)

    @property
    def workers(self) -> int:
        """How many messages this process handles at once."""
        return self._workers

    def start(self) -> None:
        """Start the workers (they first take what an earlier run left unfinished)."""
        if self._tasks:
            return
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._work(), name=f"inbox-worker-{i}") for i in range(self._workers)
        ]
        self._tasks.append(asyncio.create_task(self._prune(), name="inbox-prune"))
        self._wake.set()

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Let the turns in progress finish (up to ``timeout`` seconds), then stop; rows not taken stay
        in the inbox for the next start or another process."""
        if not self._tasks:
            return
        self._stop.set()
        self._wake.set()
        await finish_tasks(self._tasks, timeout)
        self._tasks = []

    async def join(self, *, timeout: float = 30.0) -> None:
        """Wait until the inbox holds nothing unfinished, no turn is running here and the replies due
        were delivered (tests)."""
        async with asyncio.timeout(timeout):
            while self._busy or await self._offload(self._inbox.unfinished):
                self._wake.set()
                await asyncio.sleep(0.02)
            self._on_reply()
            while self._outbox_idle is not None and not await self._outbox_idle():
                await asyncio.sleep(0.02)

    async def offer(self, message: InboundMessage) -> bool:
        """Store ``message`` in the inbox; returns once it is committed.

        Returns:
            True when stored, False when the same platform id is stored already (a redelivery).

        Raises:
            InboxUnavailableError: the database could not be written.
        """
        if message.message_id is None:
            # A platform event without an id cannot be deduplicated; it is still stored, under an id of
            # its own, so it is not lost.
            message = replace(message, message_id=f"local:{uuid.uuid4().hex}")
        try:
            stored = await self._accept(self._inbox.add, message)
        except Exception as exc:
            log.error(
                "inbox unavailable: %s message not stored (%s)", message.key.channel, type(exc).__name__
            )
            raise InboxUnavailableError("inbox unavailable") from exc
        if not stored:
            log.info("duplicate %s message %s dropped", message.key.channel, message.message_id)
            return False
        self._wake.set()
        return True

    async def _work(self) -> None:
        while not self._stop.is_set():
            try:
                item = await self._offload(self._inbox.claim)
            except Exception:
                log.exception("could not take a message from the inbox")
                item = None
            if item is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                continue
            self._wake.set()  # there may be more: let an idle worker look
            self._busy += 1
            try:
                await self._process(item)
            except Exception as exc:  # the worker must survive anything
                log.error("unexpected error in inbox worker\n%s", _masked_traceback(exc))
            finally:
                self._busy -= 1

    async def _process(self, item: InboxItem) -> None:
        metadata = {**item.message.metadata, INBOX_ID: item.id, INBOX_TAKE: item.attempts}
        message = replace(item.message, metadata=metadata)
        try:
            replies = await self._handler(message)
        except Exception as exc:
            log.error(
                "handler failed for %s (text %r)\n%s",
                _masked_key(message.key),
                redact(message.text[:200]),
                _masked_traceback(exc),
            )
            replies = [self._error_reply(message.key)] if self._error_reply is not None else []
        # A turn the engine saved is finished already (this is then a no-op); the other paths are not.
        await self._offload(self._inbox.finish, item, replies)
        self._on_reply()

    async def _prune(self) -> None:
        while not self._stop.is_set():
            for prune in self._prunes:
                try:
                    pruned = await self._offload(prune)
                    if pruned:
                        log.info("pruned %s finished rows", pruned)
                except Exception:  # housekeeping: try again next round
                    log.exception("could not prune the inbox or outbox")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._prune_interval)


Deliver = Callable[[OutboundMessage], Awaitable[None]]


class OutboxSender:
    """Delivers the outbox (see the module's docstring).

    Args:
        outbox: the replies waiting.
        deliver: sends one reply on its channel (``ChannelRegistry.deliver``).
        backoff: seconds to wait after the 1st, 2nd ... failed attempt; the last value repeats.
        max_attempts: attempts before a reply is set aside for good.
        clock: the current time (UTC aware).
        parallel: how many replies this process hands to platforms at once (more chats wait their turn:
            the fewer replies in flight, the fewer a crash leaves in doubt; Telegram takes 30/s anyway).
        offload: runs blocking calls off the event loop (threads of its own by default).
    """

    def __init__(
        self,
        outbox: Outbox,
        deliver: Deliver,
        *,
        backoff: Sequence[float] = (10, 30, 120, 600),
        max_attempts: int = 10,
        clock: Callable[[], datetime] = utcnow,
        parallel: int = 8,
        offload: Offload | None = None,
    ) -> None:
        if not backoff:
            raise ValueError("backoff needs at least one delay")
        self._outbox = outbox
        self._deliver = deliver
        self._backoff = tuple(float(b) for b in backoff)
        self._max_attempts = max_attempts
        self._clock = clock
        self._offload: Offload = offload if offload is not None else Threads(2, "outbox")
        self._limit = parallel
        self._parallel: asyncio.Semaphore | None = None
        self.on_queued: Callable[[], None] = lambda: None
        """Called when :meth:`deliver` queued a message (the composition root wakes the retry loop)."""
        self._chats: dict[ConversationKey, asyncio.Task[None]] = {}

    async def deliver(self, message: OutboundMessage) -> None:
        """Queue ``message`` (a dossier notice) in the outbox: delivered behind the chat's earlier
        replies, retried like them; returns once it is stored.

        Raises:
            DeliveryError: the outbox could not store it (retryable).
        """
        try:
            await self._offload(self._outbox.put, [message])
        except Exception as exc:
            raise DeliveryError(f"outbox unavailable: {type(exc).__name__}", retryable=True) from exc
        self.on_queued()

    async def deliver_in_order(self, message: OutboundMessage) -> None:
        """Send ``message`` now (an officer's reply, whose sender wants to know at once), unless the chat
        has bot replies still waiting: then it is refused for now, so it cannot overtake them, and its own
        retry sends it after them.

        Raises:
            DeliveryError: waiting behind earlier replies (retryable), or the channel's own failure.
        """
        if await self._offload(self._outbox.waiting_for, message.key):
            self.on_queued()
            raise DeliveryError("waiting for the bot's earlier replies to this chat", retryable=True)
        await self._deliver(message)

    def _delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=self._backoff[min(max(attempts, 1), len(self._backoff)) - 1])

    async def send_due(self) -> int:
        """Start delivering every chat with a reply due (each chat in a task of its own, so one slow
        chat never holds the others up); the number of chats started."""
        started = 0
        if self._parallel is None:  # made in the running loop (the server's, or a test's)
            self._parallel = asyncio.Semaphore(self._limit)
        for key in await self._offload(self._outbox.due_chats):
            task = self._chats.get(key)
            if task is not None and not task.done():
                continue
            self._chats[key] = asyncio.create_task(self._drain(key), name=f"outbox-{key.channel}")
            started += 1
        return started

    async def idle(self) -> bool:
        """True when nothing is being delivered here and no reply is due (tests wait on it)."""
        if any(not t.done() for t in self._chats.values()):
            return False
        return not await self._offload(self._outbox.due_chats, 1)

    async def flush(self, timeout: float = 10.0) -> bool:
        """Deliver what is due now, up to ``timeout`` seconds (a graceful shutdown sends the replies of
        the turns it let finish); True when nothing due is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await self.send_due()
            if await self.idle():
                return True
            await asyncio.sleep(0.05)
        return False

    async def stop(self, timeout: float = 10.0) -> None:
        """Let deliveries in progress finish (up to ``timeout``); the rest stays in the outbox."""
        await finish_tasks(self._chats.values(), timeout)
        self._chats.clear()
        self._parallel = None

    def _stamper(self, item_id: int) -> Callable[[], Awaitable[None]]:
        """The :func:`bot.channels.base.on_the_wire` hook of one delivery: stamps the row once."""
        stamped = False

        async def stamp() -> None:
            nonlocal stamped
            if not stamped:
                stamped = True
                await self._offload(self._outbox.on_the_wire, item_id)

        return stamp

    async def _take(self, key: ConversationKey) -> tuple[OutboxItem, tuple[str, bool] | None] | None:
        """Once a slot is free, lease the chat's next reply and hand it to its channel: the reply and
        why it was not delivered (reason, worth retrying), None as the reason when it was; None when
        nothing of the chat is due. The lease is taken inside the slot: a reply leased while it waited
        for one could see its lease run out in the queue and be sent by another process as well."""
        assert self._parallel is not None  # made by send_due, which started this task
        async with self._parallel:
            item = await self._offload(self._outbox.claim_next, key)
            if item is None:
                return None
            token = _ON_THE_WIRE.set(self._stamper(item.id))
            try:
                await self._deliver(item.message)
            except DeliveryError as exc:
                return item, (exc.reason, exc.retryable)
            except ChannelError as exc:
                return item, (f"{type(exc).__name__}: {exc}", False)
            except Exception as exc:  # a channel bug must not lose the reply: retry it later
                log.error("channel %s raised\n%s", key.channel, _masked_traceback(exc))
                return item, (f"{type(exc).__name__}", True)
            finally:
                _ON_THE_WIRE.reset(token)
        return item, None

    async def _drain(self, key: ConversationKey) -> None:
        try:
            while (taken := await self._take(key)) is not None:
                item, failure = taken
                if failure is None:
                    await self._offload(self._outbox.sent, item.id)
                    continue
                reason, retryable = failure
                if retryable and item.attempts < self._max_attempts:
                    at = self._clock() + self._delay(item.attempts)
                    log.warning(
                        "reply to %s not delivered (%s): attempt %s, next at %s",
                        _masked_key(key),
                        redact(reason),
                        item.attempts,
                        at.isoformat(timespec="seconds"),
                    )
                    await self._offload(self._outbox.retry_at, item.id, at, reason)
                    return  # the chat's later replies wait behind this one
                log.warning("reply to %s set aside (%s)", _masked_key(key), redact(reason))
                await self._offload(self._outbox.failed, item.id, reason)
        except Exception:
            log.exception("delivering the outbox of %s failed", _masked_key(key))
