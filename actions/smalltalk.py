"""Small talk: greeting (with the help menu), thanks, goodbye, yes, no, out of scope, "Hỏi lại".

Each is one catalogue response; goodbye also closes the conversation so the next message starts fresh.
"""

from __future__ import annotations

from actions.base import CollectingDispatcher, ContinuationSet, Event, ModeChanged, SlotSet, Tracker
from bot.state import Mode


class UtterAction:
    """Says one catalogue response and returns fixed events.

    Args:
        name: the action's name.
        response: the catalogue key to say.
        events: what the action changes, the same every time.
    """

    def __init__(self, name: str, response: str, events: tuple[Event, ...] = ()) -> None:
        self.name = name
        self.response = response
        self.events = events

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter(self.response)
        return list(self.events)


def smalltalk_actions() -> list[UtterAction]:
    """The small-talk actions, one per intent (and ``action_rephrase`` for the "Hỏi lại" button)."""
    return [
        # Greeting, /start and /help: what the bot can do, and the menu of common topics.
        UtterAction("action_greet", "utter_greet", (ContinuationSet(None),)),
        UtterAction("action_thank", "utter_thank"),
        UtterAction("action_goodbye", "utter_goodbye", (ModeChanged(Mode.CLOSED),)),
        UtterAction("action_affirm", "utter_affirm"),
        UtterAction("action_deny", "utter_deny", (SlotSet("pending_intent", None),)),
        UtterAction("action_out_of_scope", "utter_out_of_scope"),
        UtterAction("action_rephrase", "utter_rephrase", (SlotSet("pending_intent", None),)),
    ]
