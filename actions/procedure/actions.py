"""The procedure actions: answer a topic, continue a list, ask which procedure, offer close candidates.

Each action that reads procedures gets the knowledge base in its constructor; the tracker it runs on is
pure data (the state, the parse, the policy's arguments).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from actions.procedure.answers import ANSWERED_TOPICS, add_follow_ups, answer, answer_many
from actions.procedure.lists import PAGE_SIZE, send_list_page
from actions.procedure.names import BUTTON_CHARS, display_name, distinct_titles
from actions.procedure.variants import variants_line
from bot.core.domain import LIST_TOPICS, TOPIC_BY_INTENT, ActionName, Intent, action_name
from bot.core.events import ContinuationSet, Event, ModeChanged, SlotSet
from bot.core.messages import Button
from bot.core.parse import Candidate
from bot.core.responses import make_payload
from bot.core.sdk import CollectingDispatcher, Tracker
from bot.core.state import Mode
from knowledge.ports import KnowledgeRepository

INTENT_BY_TOPIC: Mapping[str, str] = {topic: intent for intent, topic in TOPIC_BY_INTENT.items()}
"""``Topic.FEE`` -> ``"ask_fee"``: the question a button under an answer asks again."""


def _unknown_procedure(dispatcher: CollectingDispatcher) -> list[Event]:
    dispatcher.utter("utter_procedure_unknown")
    return [SlotSet("procedure", None), ContinuationSet(None)]


class ProcedureAnswerAction:
    """Answers one ``ask_*`` intent for the conversation's current procedure.

    The policy has already set ``state.procedure`` (named now, chosen from buttons, or carried over
    from an earlier question). ``tracker.args.group`` is a case picked from the buttons that
    :func:`actions.procedure.answers.answer` offers when the documents differ per case;
    ``tracker.args.topics`` are other parts the same message asks, answered in the same reply
    (:func:`actions.procedure.answers.answer_many`). ``tracker.args.variants`` are close candidates that
    answer the part alike: one line names them (:func:`actions.procedure.variants.variants_line`);
    ``tracker.args.candidates`` are procedures the citizen may have meant instead, offered as buttons
    under the answer.

    Args:
        topic: the :class:`bot.core.domain.Topic` answered.
        knowledge: the knowledge base the procedure is read from.
    """

    def __init__(self, topic: str, knowledge: KnowledgeRepository) -> None:
        if topic not in ANSWERED_TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        self.topic = topic
        self.name = action_name(topic)
        self.knowledge = knowledge

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        code = tracker.state.procedure
        proc = self.knowledge.get(code) if code else None
        if proc is None:
            return _unknown_procedure(dispatcher)
        parse = tracker.latest_message
        args = tracker.args
        if args.topics:  # the other parts the message asks, in the same reply
            topics = (self.topic, *args.topics)
            events = answer_many(dispatcher, proc, topics, parse.text, tracker.state.case, args.group)
        else:
            events = answer(dispatcher, proc, self.topic, parse.text, tracker.state.case, args.group)
        if args.variants:
            # Named from the records: after an answer given alike the policy knows them by their buttons.
            variants = [replace(c, name=self._name(c)) for c in args.variants]
            kept = candidate_buttons(variants, INTENT_BY_TOPIC.get(self.topic))
            variants_line(dispatcher, variants, kept)
        others = [c for c in args.candidates if c.code != code]
        if others:  # an unsure link: the procedures the citizen may have meant instead
            buttons = candidate_buttons(others, INTENT_BY_TOPIC.get(self.topic))
            dispatcher.utter("utter_other_procedure", buttons=buttons)
        return events

    def _name(self, candidate: Candidate) -> str:
        proc = self.knowledge.get(candidate.code)
        return proc.name if proc is not None else candidate.name


class MoreAction:
    """ "Xem thêm": the next page of the list the conversation stopped in (of the same case); the last
    page gets the "you may also ask" row the first page had.

    Args:
        knowledge: the knowledge base the procedure is read from.
        page_size: items per page.
    """

    name = ActionName.MORE

    def __init__(self, knowledge: KnowledgeRepository, page_size: int = PAGE_SIZE) -> None:
        self.knowledge = knowledge
        self.page_size = page_size

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        cont = tracker.state.continuation
        proc = self.knowledge.get(cont.procedure) if cont else None
        if cont is None or proc is None or cont.topic not in LIST_TOPICS:
            dispatcher.utter("utter_no_more")
            return [ContinuationSet(None)]
        events = send_list_page(dispatcher, proc, cont.topic, cont.offset, self.page_size, cont.group)
        if events == [ContinuationSet(None)]:
            add_follow_ups(dispatcher, proc, (cont.topic,))
        return events


def _question_asked(tracker: Tracker) -> str | None:
    """The question to answer once the procedure is known: this message's, else the one pending."""
    intent = tracker.latest_message.intent_name
    return intent if intent in TOPIC_BY_INTENT else tracker.state.pending_intent


class AskProcedureAction:
    """A question came without a procedure and none is being discussed: ask which one.

    The question is remembered (``pending_intent``) and answered once the citizen names the procedure.
    """

    name = ActionName.ASK_PROCEDURE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter("utter_ask_procedure")
        return [SlotSet("pending_intent", _question_asked(tracker))]


def candidate_buttons(candidates: Sequence[Candidate], aspect: str | None = None) -> tuple[Button, ...]:
    """One ``/choose{"procedure": code}`` button per candidate, titled with a short name that differs
    visibly from the others' ("Cấp giấy phép xây dựng mới" / "Gia hạn giấy phép xây dựng"); with
    ``aspect`` (an ``ask_*`` intent) the payload names the part to answer after the pick."""
    codes = [c.code for c in candidates]
    names = [display_name(c.name or c.code, 10 * BUTTON_CHARS) for c in candidates]
    # The overview is what a pick answers anyway; its intent would take the payload past Telegram's
    # 64 bytes of callback data.
    extra = {"aspect": aspect} if aspect and aspect != Intent.ASK_PROCEDURE_OVERVIEW else {}
    return tuple(
        Button(title, make_payload(Intent.CHOOSE, procedure=code, **extra))  # whole phrases, never cut
        for title, code in zip(distinct_titles(names, codes), codes, strict=True)
    )


class ChooseProcedureAction:
    """Several procedures fit what the citizen named (new / adjusted / renewed permit...): ask which.

    Reads ``tracker.args.candidates``. The question asked is kept as ``pending_intent`` and answered
    after the pick.
    """

    name = ActionName.CHOOSE_PROCEDURE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        dispatcher.utter("utter_choose_procedure", buttons=candidate_buttons(tracker.args.candidates))
        return [
            SlotSet("pending_intent", _question_asked(tracker)),
            ModeChanged(Mode.AWAITING_CHOICE),
            ContinuationSet(None),
        ]
