"""Hand the conversation to an officer.

First step: no ticket is opened here. The action tells the citizen an officer will be asked, moves the
conversation to ``with_officer`` (the bot then stays silent and only records messages) and emits
:class:`EscalationRequested`, which the engine publishes to its event sink; the ticket queue will
consume it.
"""

from __future__ import annotations

from actions.base import (
    CollectingDispatcher,
    ContinuationSet,
    EscalationRequested,
    Event,
    ModeChanged,
    Tracker,
)
from bot.responses import parse_payload
from bot.state import Mode


class EscalateAction:
    """``request_human`` (or "yes" to the officer offer): promise an officer and hand over.

    ``tracker.args["reason"]`` names why (default ``"requested"``).
    """

    name = "action_escalate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter("utter_escalate")
        # A button payload tells the officer nothing; the citizen's own words do.
        text = "" if parse_payload(tracker.text) else tracker.text
        return [
            ModeChanged(Mode.WITH_OFFICER),
            ContinuationSet(None),
            EscalationRequested(
                reason=str(tracker.args.get("reason") or "requested"),
                procedure=tracker.state.procedure,
                text=text,
                dossier_code=tracker.state.dossier_code,
            ),
        ]
