"""Where the engine meets the tickets: its event sink, and the recorder of citizen messages.

* :class:`TicketEventSink` is the engine's :class:`bot.core.ports.EventSink`. It holds the hand-off's
  rules for what opens a ticket: an :class:`EscalationRequested`, and a low rating of the bot; and it
  files what each turn came to (:mod:`bot.handoff.outcomes`) for the analytics and the learning inbox.
* :class:`InboundRecorder` wraps the engine's handler so a citizen's messages reach their open ticket
  as sent (the engine itself stays silent and publishes nothing while an officer has the chat).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.core.domain import TicketReason
from bot.core.events import EscalationRequested, Event, FeedbackGiven
from bot.core.messages import ConversationKey, InboundMessage, OutboundMessage
from bot.core.ports import INBOX_TAKE
from bot.core.redact import redact
from bot.handoff.outcomes import TurnOutcomes
from bot.handoff.service import TicketService

log = logging.getLogger(__name__)

Handler = Callable[[InboundMessage], Awaitable[list[OutboundMessage]]]
"""The engine as channels see it: one inbound message in, the replies out."""


class TicketEventSink:
    """The engine's :class:`bot.core.ports.EventSink`: opens tickets and files ratings.

    * :class:`EscalationRequested` opens a ticket for its reason (or finds the open one);
    * :class:`FeedbackGiven` with a rating goes to the conversation's last closed ticket; a rating of the
      bot itself at or below ``negative_rating_at_most`` opens a ``negative_rating`` ticket so an
      officer can follow up.

    The engine calls :meth:`publish` in a worker thread after the turn was saved; the database work is
    one or two short statements.

    Args:
        service: the ticket service.
        negative_rating_at_most: ``escalation.negative_rating_at_most`` of config.yml (0: never).
        outcomes: files each turn's outcome; None files nothing.
    """

    def __init__(
        self, service: TicketService, negative_rating_at_most: int, outcomes: TurnOutcomes | None = None
    ) -> None:
        self.service = service
        self.negative_rating_at_most = negative_rating_at_most
        self.outcomes = outcomes

    def publish(self, key: ConversationKey, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, EscalationRequested):
                self.service.open(
                    key, event.reason, procedure=event.procedure, dossier_code=event.dossier_code
                )
            elif isinstance(event, FeedbackGiven) and event.rating is not None:
                filed = self.service.record_rating(key, event.rating)
                if filed is None and event.rating <= self.negative_rating_at_most:
                    self.service.open(key, TicketReason.NEGATIVE_RATING, procedure=event.procedure)
        if self.outcomes is not None:
            try:  # the figures may miss a turn; the citizen's tickets above must not
                self.outcomes.record(key, events)
            except Exception:
                log.exception("could not file the outcome of a turn of %s", redact(str(key)))


class InboundRecorder:
    """The engine's handler, with citizen messages of open tickets appended to them first.

    The message is appended before the engine sees it, so the officer's screen never lags behind the
    conversation log. A database error here is logged and the engine still handles the message. A
    message of the durable inbox taken again (its first process died, perhaps after appending it) is
    appended only if the ticket does not hold it yet, so the officer sees it once.

    Args:
        service: the ticket service.
        handler: the engine's handler (``Engine.handle``).
    """

    def __init__(self, service: TicketService, handler: Handler) -> None:
        self.service = service
        self.handler = handler

    async def __call__(self, message: InboundMessage) -> list[OutboundMessage]:
        take = message.metadata.get(INBOX_TAKE)
        try:
            await asyncio.to_thread(
                self.service.append_citizen_message,
                message.key,
                message.metadata.get("display_text") or message.text,  # "[Ảnh]", not a payload
                message.received_at,
                # a row of the durable inbox taken again: the process that died may have added it
                again=isinstance(take, int) and take > 1,
            )
        except Exception:
            log.exception("could not append a message of %s to its ticket", redact(str(message.key)))
        return await self.handler(message)
