"""The two-band fallback: what the bot says when it did not understand.

First miss: a clarifying question with the closest procedures as buttons ("Có phải bạn hỏi về...?").
Second miss in a row: an offer of an officer ("Gặp cán bộ" / "Hỏi lại"). Each branch is counted with a
:class:`FallbackCounted` event naming its band.

A message the NLU's :class:`nlu.domain.DomainClassifier` read as a question about no procedure (a
penalty, an amount, a definition, a legal opinion, an entitlement) or about another procedure than the
one its words name (a paper of another agency, a procedure only in a provincial catalogue) is not asked
"có phải bạn hỏi …": the bot says what kind of question it is, what it can answer, offers an officer and
the national portal, and keeps the closest procedures as buttons in case one of them was meant. A
catalogue-only procedure among them is named with the agency its record gives.
"""

from __future__ import annotations

from collections.abc import Sequence

from actions.procedure.actions import candidate_buttons
from actions.procedure.answers import PORTAL_HOME
from actions.procedure.names import display_name
from actions.procedure.places import place_of
from bot.core.domain import ActionName
from bot.core.events import Event, FallbackCounted, ModeChanged
from bot.core.parse import Candidate, Parse
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import Mode
from knowledge.ports import KnowledgeRepository

DOMAIN_ENTITY, NOT_PROCEDURE, OTHER_PROCEDURE = "domain", "not_procedure", "other_procedure"
"""The NLU's domain entity and its values outside the domain (:mod:`nlu.domain`; actions read the parse,
never the NLU's modules)."""
NOT_PROCEDURE_ENTITY = "not_procedure"
"""The NLU's signs of a question about no procedure, valued by kind (:mod:`nlu.extractors.asking`)."""

MAX_CANDIDATES = 3
"""Closest procedures offered in the clarifying question."""

KIND_PARTS = {
    "penalty": "part_not_procedure_penalty",
    "amount": "part_not_procedure_amount",
    "definition": "part_not_procedure_definition",
    "legal_opinion": "part_not_procedure_legal_opinion",
    "entitlement": "part_not_procedure_entitlement",
}
"""The words saying what a question about no procedure asks, per kind of sign (:mod:`nlu.domain`)."""


def outside_domain(parse: Parse) -> str | None:
    """``not_procedure`` or ``other_procedure`` when the NLU's domain signal says so, else None."""
    for ent in parse.entities:
        if ent.entity == DOMAIN_ENTITY and ent.value in (NOT_PROCEDURE, OTHER_PROCEDURE):
            return ent.value
    return None


class ClarifyAction:
    """First band: ask again, offering the closest procedures when the NLU had any.

    Candidates come from ``tracker.args.candidates`` when the policy chose them, else from the parse's
    ``procedure_ranking``. A question outside the domain is told so (see the module docstring).

    Args:
        knowledge: the knowledge base, to name the agency of a catalogue-only candidate; None names none.
    """

    name = ActionName.CLARIFY

    def __init__(self, knowledge: KnowledgeRepository | None = None) -> None:
        self.knowledge = knowledge

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        streak = tracker.state.fallback_streak + 1
        parse = tracker.latest_message
        candidates = (tracker.args.candidates or parse.procedure_ranking)[:MAX_CANDIDATES]
        domain = outside_domain(parse)
        if domain is not None:
            return self._outside(dispatcher, parse, domain, candidates, streak)
        if not candidates:
            dispatcher.utter("utter_clarify_no_candidates")
            return [FallbackCounted(streak, "clarify")]
        dispatcher.utter("utter_clarify", buttons=candidate_buttons(candidates))
        return [FallbackCounted(streak, "clarify"), ModeChanged(Mode.AWAITING_CHOICE)]

    def _outside(
        self,
        dispatcher: CollectingDispatcher,
        parse: Parse,
        domain: str,
        candidates: Sequence[Candidate],
        streak: int,
    ) -> list[Event]:
        """Say what kind of question it is, what the bot can do; the portal, an officer, the candidates."""
        details = self._catalogue_lines(dispatcher, candidates)
        if candidates:
            details.append(dispatcher.text("part_candidate_choices"))
        text = "".join("\n" + line for line in details)
        links = ((dispatcher.text("part_link_portal_search"), PORTAL_HOME),)
        buttons = candidate_buttons(candidates)
        if domain == NOT_PROCEDURE:
            kinds = [e.value for e in parse.entities if e.entity == NOT_PROCEDURE_ENTITY]
            part = next((KIND_PARTS[k] for k in kinds if k in KIND_PARTS), "part_not_procedure_other")
            dispatcher.utter(
                "utter_not_procedure", buttons=buttons, links=links, about=dispatcher.text(part), details=text
            )
        else:
            named = parse.procedure or next(iter(parse.procedure_ranking), None)
            dispatcher.utter(
                "utter_asked_other_procedure",
                buttons=buttons,
                links=links,
                procedure_name=display_name(named.name or named.code) if named else "",
                details=text,
            )
        events: list[Event] = [FallbackCounted(streak, "out_of_scope")]
        if candidates:
            events.append(ModeChanged(Mode.AWAITING_CHOICE))
        return events

    def _catalogue_lines(
        self, dispatcher: CollectingDispatcher, candidates: Sequence[Candidate]
    ) -> list[str]:
        """One line per catalogue-only candidate: its name and the agency its record gives."""
        if self.knowledge is None:
            return []
        lines = []
        for cand in candidates:
            proc = self.knowledge.get(cand.code)
            if proc is None or not proc.catalogue_only:
                continue
            place = place_of(proc)
            agency = place.agency or place.desk if place is not None else ""
            if agency:
                lines.append(
                    dispatcher.text(
                        "part_catalogue_candidate", procedure_name=display_name(proc.name), agency=agency
                    )
                )
        return lines


class OfferOfficerAction:
    """Second band: apologise and offer an officer, or to ask again."""

    name = ActionName.OFFER_OFFICER

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter("utter_offer_officer")
        return [FallbackCounted(tracker.state.fallback_streak + 1, "officer"), ModeChanged(Mode.ANSWERING)]
