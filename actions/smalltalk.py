"""Small talk: greeting (with the help menu), thanks, goodbye, yes, no, out of scope, "Hỏi lại".

Each is one catalogue response; goodbye also closes the conversation so the next message starts fresh.
An out-of-scope question is also counted as a miss (:class:`FallbackCounted`, band ``"out_of_scope"``),
so that a second miss in a row offers an officer.
"""

from __future__ import annotations

from bot.core.domain import ActionName
from bot.core.events import ContinuationSet, Event, FallbackCounted, ModeChanged, SlotSet
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import Mode


class UtterAction:
    """Says one catalogue response and returns fixed events.

    Args:
        name: the action's name.
        response: the catalogue key to say.
        events: what the action changes, the same every time.
    """

    def __init__(self, name: ActionName, response: str, events: tuple[Event, ...] = ()) -> None:
        self.name = name
        self.response = response
        self.events = events

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter(self.response)
        return list(self.events)


class OutOfScopeAction:
    """Says what the bot can answer, and counts the question as a miss."""

    name = ActionName.OUT_OF_SCOPE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter("utter_out_of_scope")
        return [FallbackCounted(tracker.state.fallback_streak + 1, "out_of_scope")]


def smalltalk_actions() -> list[UtterAction | OutOfScopeAction]:
    """The small-talk actions, one per intent (and ``action_rephrase`` for the "Hỏi lại" button)."""
    return [
        # Greeting, /start and /help: what the bot can do, and the menu of common topics.
        UtterAction(ActionName.GREET, "utter_greet", (ContinuationSet(None),)),
        UtterAction(ActionName.THANK, "utter_thank"),
        UtterAction(ActionName.GOODBYE, "utter_goodbye", (ModeChanged(Mode.CLOSED),)),
        UtterAction(ActionName.AFFIRM, "utter_affirm"),
        UtterAction(ActionName.DENY, "utter_deny", (SlotSet("pending_intent", None),)),
        OutOfScopeAction(),
        UtterAction(ActionName.REPHRASE, "utter_rephrase", (SlotSet("pending_intent", None),)),
    ]
