"""Answers to frequently asked questions (working hours, dossier look-up, VNeID, fees online ...).

The policy matched the message to an entry (:class:`knowledge.faq.FaqMatcher`) and hands it over in the
tracker (``tracker.args.faq``); this action speaks the entry's answer, with one button per
procedure the entry links (``/choose{"procedure": code}``, answered with the procedure's overview).
"""

from __future__ import annotations

import re

from actions.procedure.names import BUTTON_CHARS, display_name
from bot.core.domain import ActionName, Intent
from bot.core.events import ContinuationSet, Event
from bot.core.messages import Button
from bot.core.responses import make_payload
from bot.core.sdk import CollectingDispatcher, Tracker
from knowledge.ports import KnowledgeRepository
from knowledge.text import clip

MAX_PROCEDURE_BUTTONS = 4
"""Most procedure buttons under one answer."""

_POLITE_OPENING = re.compile(r"^\s*dạ(?!\w)[\s,.!]*", re.IGNORECASE)
"""The "Dạ," an editor may start an answer with: the catalogue's ``utter_faq_answer`` already says it."""


def without_polite_opening(answer: str) -> str:
    """The answer without a leading "Dạ," (any case, with or without the comma): "Dạ, Dạ, …" otherwise.

    "Dạy …" (to teach) is a word of its own and stays.
    """
    rest = _POLITE_OPENING.sub("", answer, count=1)
    return rest if rest.strip() else answer


class FaqAnswerAction:
    """Speaks the answer of the FAQ entry the policy matched; a list being paged is left behind.

    Args:
        knowledge: the knowledge base, to title the buttons of the linked procedures.
    """

    name = ActionName.FAQ_ANSWER

    def __init__(self, knowledge: KnowledgeRepository) -> None:
        self.knowledge = knowledge

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        entry = tracker.args.faq
        if entry is None:  # the policy always passes one; say so rather than guess
            dispatcher.utter("utter_rephrase")
            return [ContinuationSet(None)]
        buttons = []
        for code in entry.procedure_codes:
            proc = self.knowledge.get(code)
            if proc is not None:  # a code the knowledge base no longer has is skipped
                title = clip(display_name(proc.name), BUTTON_CHARS)
                buttons.append(Button(title, make_payload(Intent.CHOOSE, procedure=code)))
        dispatcher.utter(
            "utter_faq_answer",
            buttons=buttons[:MAX_PROCEDURE_BUTTONS],
            answer=without_polite_opening(entry.answer),
        )
        return [ContinuationSet(None)]
