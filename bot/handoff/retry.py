"""The delivery retry loop: the bot's replies waiting in the durable outbox, and the ticket messages
(officer replies, the bot's notices) a channel refused — the same loop and backoff for both. The ticket
service's loop also opens the tickets of escalations whose process stopped before writing them
(:meth:`bot.handoff.service.TicketService.recover_escalations`).

Both are stored before they are sent and tried again with the same backoff (``escalation:
retry_backoff_seconds``), after a restart too. Replies of a turn are sent as soon as the turn is saved
(:meth:`DeliveryRetrier.wake`); the loop also looks every ``interval`` seconds for what has become due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.handoff.service import TicketService

log = logging.getLogger(__name__)


class DeliveryRetrier:
    """Background task delivering what waits: the outbox at once when woken and every ``interval``
    seconds, the ticket messages (and the escalations left without a ticket) every ``interval`` seconds.

    Args:
        service: the ticket service (its undelivered ticket messages); None for an outbox-only loop.
        interval: seconds between two looks.
        outbox: starts delivering the outbox's due replies (``OutboxSender.send_due``); None when the
            process has no outbox (tests of the ticket service alone).
    """

    def __init__(
        self,
        service: TicketService | None,
        interval: float = 5.0,
        outbox: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.service = service
        self.interval = interval
        self._outbox = outbox
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Replies were queued: deliver them now rather than at the next look."""
        self._wake.set()

    async def start(self) -> None:
        """Start the loop in the running event loop (the outbox left by an earlier run goes first)."""
        if self._task is None:
            self._stopping = False
            self._wake.set()
            self._task = asyncio.create_task(self._run(), name="delivery-retry")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop once its pass in progress is done (cut after ``timeout`` seconds)."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            with contextlib.suppress(TimeoutError):  # past the timeout, wait_for cancelled it
                await asyncio.wait_for(self._task, timeout)
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_look = loop.time() + self.interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_look - loop.time()))
            self._wake.clear()  # cleared before the pass: a wake during it makes another pass
            if self._stopping:
                return
            looked = loop.time() >= next_look
            if looked:
                next_look = loop.time() + self.interval
            if self._outbox is not None:
                try:
                    await self._outbox()
                except Exception:  # the loop must survive a database hiccup
                    log.exception("delivering the outbox failed")
            if self.service is not None and looked:
                try:
                    await self.service.retry_due()
                except Exception:  # the loop must survive a database hiccup
                    log.exception("retrying undelivered ticket messages failed")
                try:
                    await asyncio.to_thread(self.service.recover_escalations)
                except Exception:  # likewise
                    log.exception("looking for escalations without a ticket failed")
