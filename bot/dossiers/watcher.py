""":class:`DossierWatcher`: the periodic job that tells subscribers, on their own channel, when their
dossier's status, step or completion changes.

Its wording is :mod:`bot.core.dossier`'s (shared with :class:`actions.dossier.DossierStatusAction`), so
the adapter needs no action.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.core.dossier import progress_text
from bot.core.messages import ConversationKey, OutboundMessage
from bot.core.ports import (
    DossierGateway,
    DossierLookupUnavailable,
    DossierStatus,
    DossierSubscription,
    DossierSubscriptions,
)
from bot.core.responses import ResponseCatalogue
from bot.core.timeutil import utcnow

logger = logging.getLogger(__name__)


class Outbox(Protocol):
    """Where notifications go: the server's :class:`bot.channels.base.ChannelRegistry` has this method."""

    async def deliver(self, message: OutboundMessage) -> None:
        """Send one message on its own channel."""
        ...


class DossierWatcher:
    """Tells subscribers when their dossier's status, step or completion changes.

    The first status seen for a subscription is only remembered. A change is sent as
    ``utter_dossier_changed``; a dossier that is done ends its subscriptions after the message. A
    lookup that fails skips that dossier until the next poll; a delivery that fails is retried then.

    Args:
        subscriptions: who wants to hear about what.
        responses: the response catalogue.
        clock: current time (overdue or not).
    """

    def __init__(
        self,
        subscriptions: DossierSubscriptions,
        responses: ResponseCatalogue,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.subscriptions = subscriptions
        self.responses = responses
        self.clock = clock

    async def poll_once(self, gateway: DossierGateway, outbox: Outbox) -> list[OutboundMessage]:
        """Look up every subscribed dossier once; the notifications delivered."""
        by_code: dict[str, list[DossierSubscription]] = {}
        for sub in await self.subscriptions.active():
            by_code.setdefault(sub.code, []).append(sub)
        sent: list[OutboundMessage] = []
        for code, subs in by_code.items():
            try:
                status = await gateway.lookup(code)
            except DossierLookupUnavailable as exc:
                logger.warning("dossier watcher: %s not looked up: %s", code, exc)
                continue
            if status is None:
                continue
            for sub in subs:
                if sub.last_seen == status.fingerprint:
                    continue
                if sub.last_seen is None:
                    await self.subscriptions.mark_seen(code, sub.key, status.fingerprint)
                    continue
                message = self.notification(sub.key, status)
                try:
                    await outbox.deliver(message)
                except Exception as exc:
                    logger.warning(
                        "dossier watcher: notice of %s to %s not delivered: %r", code, sub.key, exc
                    )
                    continue
                sent.append(message)
                if status.done:
                    await self.subscriptions.unsubscribe(code, sub.key)
                else:
                    await self.subscriptions.mark_seen(code, sub.key, status.fingerprint)
        return sent

    def notification(self, key: ConversationKey, status: DossierStatus) -> OutboundMessage:
        """The message telling ``key`` about the new status."""
        rendered = self.responses.render(
            "utter_dossier_changed",
            dossier_code=status.code,
            procedure_name=status.procedure_name or status.procedure_code or status.code,
            status=status.status,
            current_step=status.current_step or "-",
            progress=progress_text(self.responses.text, status, self.clock()),
        )
        return OutboundMessage(key=key, text=rendered.text, buttons=rendered.buttons)

    async def run(
        self, gateway: DossierGateway, outbox: Outbox, interval: float, stop: asyncio.Event
    ) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set (a failing poll is logged, not fatal)."""
        while not stop.is_set():
            try:
                await self.poll_once(gateway, outbox)
            except Exception:
                logger.exception("dossier watcher poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
