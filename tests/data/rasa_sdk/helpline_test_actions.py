"""Custom actions written the way a Rasa team writes them (rasa-sdk), run by a real rasa-sdk action server
in tests/integration/test_rasa_sdk_server.py. Not collected by pytest and not imported by the project:
rasa-sdk lives in its own virtual environment (see docs/rasa.md)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection


class ActionWeather(Action):
    """A new action, answered for an intent config.yml routes to it."""

    def name(self) -> str:
        return "action_weather"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Any]:
        dispatcher.utter_message(
            text=f"Trời nắng, {tracker.sender_id}.",
            buttons=[{"title": "Cảm ơn", "payload": "/thank"}],
            image="https://example.org/sun.png",
        )
        dispatcher.utter_message(json_message={"kind": "forecast", "days": 3})
        return [SlotSet("case", "hỏi thời tiết")]


class ActionDossierStatus(Action):
    """Replaces the built-in dossier action: reads the tracker and the domain, renders a catalogue
    response by name, sets a slot the project keeps and one it does not."""

    def name(self) -> str:
        return "action_dossier_status"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Any]:
        intent = tracker.latest_message["intent"]["name"]
        dispatcher.utter_message(response="utter_ask_dossier_code")
        dispatcher.utter_message(
            text=f"intent={intent} procedure={tracker.get_slot('procedure')} "
            f"domain={'utter_greet' in domain['responses']} paused={tracker.is_paused()}"
        )
        return [SlotSet("procedure", "1.000894"), SlotSet("not_kept_here", "x")]


class ActionRefuses(Action):
    """Rejects every call (Rasa's ActionExecutionRejection)."""

    def name(self) -> str:
        return "action_refuses"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Any]:
        raise ActionExecutionRejection(self.name(), "not today")
