"""Hand the conversation to an officer, telling the citizen when to expect an answer.

The action tells the citizen an officer will answer here, moves the conversation to ``with_officer`` (the
bot then stays silent and only records messages) and emits :class:`EscalationRequested`, which the
engine publishes to its event sink after the turn; the hand-off (:mod:`bot.handoff`) opens the ticket
from it.

What the citizen is told depends on two read-only ports (:mod:`bot.core.ports`) the composition root
fills:

* a :class:`bot.core.ports.TicketQueue` (how many citizens are waiting) gives the place in the queue;
* :class:`bot.core.ports.OfficeHours` (the working hours of the ``escalation:`` section of
  ``config.yml``) says whether officers are at work now and, when not, when they will be.

Without them (unit tests, a bot without a console) the action says the plain ``utter_escalate``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.core.domain import ActionName, TicketReason
from bot.core.events import ContinuationSet, EscalationRequested, Event, ModeChanged
from bot.core.ports import OfficeHours, TicketQueue
from bot.core.responses import parse_payload
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import Mode

log = logging.getLogger(__name__)


class EscalateAction:
    """``request_human`` (or "yes" to the officer offer): promise an officer and hand over.

    ``tracker.args.reason`` names why (default :attr:`TicketReason.REQUEST_HUMAN`).

    Args:
        queue: read for the citizen's place in the queue; None leaves the place out.
        hours: officers' working hours; None means "always at work".
        clock: the current time (UTC aware); injectable for tests.
    """

    name = ActionName.ESCALATE

    def __init__(
        self,
        queue: TicketQueue | None = None,
        hours: OfficeHours | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.queue = queue
        self.hours = hours
        self.clock = clock or (lambda: datetime.now(UTC))

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        position = await self._position()
        now = self.clock()
        opening = None
        if self.hours is not None and not self.hours.is_open(now):
            opening = self.hours.next_opening(now)
        if opening is not None:
            queue = dispatcher.text("part_queue_position", position=position) if position else ""
            dispatcher.utter(
                "utter_escalate_after_hours", opens_at=self._when(dispatcher, opening), queue=queue
            )
        elif position:
            dispatcher.utter("utter_escalate_queued", position=position)
        else:
            dispatcher.utter("utter_escalate")
        # A button payload tells the officer nothing; the citizen's own words do.
        said = tracker.latest_message.text
        text = "" if parse_payload(said) else said
        return [
            ModeChanged(Mode.WITH_OFFICER),
            ContinuationSet(None),
            EscalationRequested(
                reason=tracker.args.reason or TicketReason.REQUEST_HUMAN,
                procedure=tracker.state.procedure,
                text=text,
                dossier_code=tracker.state.dossier_code,
            ),
        ]

    async def _position(self) -> int | None:
        """The citizen's place once their ticket is opened (after the ones already waiting)."""
        if self.queue is None:
            return None
        try:
            return int(await self.queue.waiting_count()) + 1
        except Exception:  # the promise of an officer matters more than the number
            log.exception("could not count the waiting tickets")
            return None

    @staticmethod
    def _when(dispatcher: CollectingDispatcher, opening: datetime) -> str:
        weekdays = dispatcher.text("part_weekdays").split("|")
        weekday = weekdays[opening.weekday()] if len(weekdays) == 7 else ""
        return dispatcher.text(
            "part_opens_at",
            time=f"{opening.hour}:{opening.minute:02d}",
            weekday=weekday,
            date=opening.strftime("%d/%m/%Y"),
        )
