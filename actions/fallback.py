"""The two-band fallback: what the bot says when it did not understand.

First miss: a clarifying question with the closest procedures as buttons ("Có phải bạn hỏi về...?").
Second miss in a row: an offer of an officer ("Gặp cán bộ" / "Hỏi lại"). Each branch is counted with a
:class:`FallbackCounted` event naming its band.
"""

from __future__ import annotations

from actions.procedure.actions import candidate_buttons
from bot.core.domain import ActionName
from bot.core.events import Event, FallbackCounted, ModeChanged
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import Mode

MAX_CANDIDATES = 3
"""Closest procedures offered in the clarifying question."""


class ClarifyAction:
    """First band: ask again, offering the closest procedures when the NLU had any.

    Candidates come from ``tracker.args.candidates`` when the policy chose them, else from the parse's
    ``procedure_ranking``.
    """

    name = ActionName.CLARIFY

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        streak = tracker.state.fallback_streak + 1
        candidates = (tracker.args.candidates or tracker.latest_message.procedure_ranking)[:MAX_CANDIDATES]
        if not candidates:
            dispatcher.utter("utter_clarify_no_candidates")
            return [FallbackCounted(streak, "clarify")]
        dispatcher.utter("utter_clarify", buttons=candidate_buttons(candidates))
        return [FallbackCounted(streak, "clarify"), ModeChanged(Mode.AWAITING_CHOICE)]


class OfferOfficerAction:
    """Second band: apologise and offer an officer, or to ask again."""

    name = ActionName.OFFER_OFFICER

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter("utter_offer_officer")
        return [FallbackCounted(tracker.state.fallback_streak + 1, "officer"), ModeChanged(Mode.ANSWERING)]
