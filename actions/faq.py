"""Answers to frequently asked questions (working hours, dossier look-up, VNeID, fees online ...).

The policy matched the message to an entry (:class:`knowledge.faq.FaqMatcher`) and hands it over in the
tracker (:meth:`bot.core.sdk.Tracker.faq`); this action speaks the entry's answer, with one button per
procedure the entry links (``/choose{"procedure": code}``, answered with the procedure's overview).
"""

from __future__ import annotations

from actions.procedure import BUTTON_CHARS, clip, display_name
from bot.core.events import ContinuationSet, Event
from bot.core.messages import Button
from bot.core.responses import make_payload
from bot.core.sdk import CollectingDispatcher, Tracker

MAX_PROCEDURE_BUTTONS = 4
"""Most procedure buttons under one answer."""


class FaqAnswerAction:
    """Speaks the answer of the FAQ entry the policy matched; a list being paged is left behind."""

    name = "action_faq_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        entry = tracker.faq()
        if entry is None:  # the policy always passes one; say so rather than guess
            dispatcher.utter("utter_rephrase")
            return [ContinuationSet(None)]
        buttons = []
        for code in entry.procedure_codes:
            proc = tracker.knowledge.get(code)
            if proc is not None:  # a code the knowledge base no longer has is skipped
                title = clip(display_name(proc.name), BUTTON_CHARS)
                buttons.append(Button(title, make_payload("choose", procedure=code)))
        dispatcher.utter("utter_faq_answer", buttons=buttons[:MAX_PROCEDURE_BUTTONS], answer=entry.answer)
        return [ContinuationSet(None)]
