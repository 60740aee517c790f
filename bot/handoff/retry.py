"""The background task that retries undelivered ticket messages (officer replies, the bot's notices)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.handoff.service import TicketService

log = logging.getLogger(__name__)


class DeliveryRetrier:
    """Background task retrying undelivered ticket messages every ``interval`` seconds.

    Args:
        service: the ticket service.
        interval: seconds between two looks.
    """

    def __init__(self, service: TicketService, interval: float = 5.0) -> None:
        self.service = service
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop in the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ticket-delivery-retry")

    async def stop(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.service.retry_due()
            except Exception:  # the loop must survive a database hiccup
                log.exception("retrying undelivered ticket messages failed")
