"""Feedback: thank the citizen and ask for a 1-5 rating, or thank them for the rating they gave.

The rating buttons (``/give_feedback{"rating":"4"}``) are in the catalogue; the :class:`FeedbackGiven`
event carries the comment or the rating to whoever collects them.
"""

from __future__ import annotations

from bot.core.domain import ActionName
from bot.core.events import Event, FeedbackGiven
from bot.core.sdk import CollectingDispatcher, Tracker


def _rating(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    rating = int(value.strip())
    return rating if 1 <= rating <= 5 else None


class FeedbackAction:
    """``give_feedback``: a comment gets thanks and the rating question; a rating gets thanks."""

    name = ActionName.FEEDBACK

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        rating = _rating(tracker.latest_message.entity("rating"))
        if rating is None:
            dispatcher.utter("utter_feedback_ask_rating")
            return [FeedbackGiven(None, tracker.latest_message.text, tracker.state.procedure)]
        dispatcher.utter("utter_feedback_thanks", rating=rating)
        return [FeedbackGiven(rating, "", tracker.state.procedure)]
