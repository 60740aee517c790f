"""Answer-level evaluation: what the real engine's first reply does with each labelled question.

Intent accuracy says little about what a citizen gets back: a right intent with the wrong procedure, a
question read as a rating, a choice list whose buttons all give the same fee. Here every labelled message
of a set goes through the real engine, built by the composition root (:mod:`bot.app.bootstrap`) with the
trained NLU and the seeded knowledge base on a private temporary SQLite database, as a NEW conversation.
The first reply is then classified from what the engine decided (:func:`classify`), never by re-running
the policy's formula:

* **answer** (procedure, aspect): a topic action (``action_fee`` ...) ran; the procedure is the state's
  ``procedure`` after the turn. Its ``detail`` says whether the knowledge base had the part (``full``),
  the reply says the part is not in the data (``missing``), or it asks which case (``asks_case``);
* **choices**: the bot asked which procedure, with ``/choose`` buttons (the codes they name);
* **abstain**: fallback ("có phải bạn hỏi …"), out of scope, the officer offer, the portal pointer of a
  catalogue-only procedure, "which procedure?", or "procedure not found";
* **faq**: an answer from the FAQ; **flow**: dossier look-up, officer, feedback, small talk;
* **error**: the engine's apology.

What the engine decided is read from what it keeps: the conversation state after the turn
(``last_action``, ``last_intent``, ``procedure``), the buttons of the replies and their payloads
(:func:`bot.core.responses.parse_payload`), and, for the few outcomes one action can end in (the part
missing, catalogue-only, which case), the response texts of ``data/responses.yml`` matched against the
reply (:class:`ReplyTemplates`; the private database has no editors' texts, so the file is what the
engine says).

Each question is also sent as a copy without diacritics (:func:`knowledge.text.fold`) to measure what
the tone marks are worth; a question without them is its own copy, so it is not sent twice.

Sets are JSON Lines as ``../shared/data/real-questions/README.md`` describes: ``text``, ``intent``,
``intents`` (every acceptable intent), ``procedures`` (every acceptable national code, empty when the
catalogue has none or the question is not about a procedure), optional ``catalogue_procedures`` (codes
only in provincial catalogues) and ``note`` (``DOUBTFUL`` marks a debatable label). A conversation's
set adds ``before``: the citizen's earlier messages, sent first in the same conversation; the labels and
the verdicts are those of the reply to ``text`` (``tests/data/blind/README.md``). A sealed set
(``--sealed``, ``--aggregate-only``, or any file whose name contains ``sealed``) is scored without any
per-item output: no item file, no examples in the report, no item named in an error, and logging is
silenced while it runs, because a log line can quote a message.

Run it with ``helpline evaluate answers`` (see :func:`add_parser`); ``benchmarks/bench_answers.py``
records the project's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import string
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.core.domain import TOPIC_BY_INTENT, ActionName, Intent, Topic, action_name
from bot.core.messages import Button, ConversationKey, InboundMessage, OutboundMessage
from bot.core.responses import parse_payload
from bot.core.state import ConversationState
from knowledge.text import fold, has_diacritics

if TYPE_CHECKING:
    from bot.app.bootstrap import App
    from bot.core.ports import Interpreter
    from bot.core.settings import Settings
    from bot.engine.engine import Engine

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = PROJECT_ROOT / "var" / "reports" / "answers"
REPORT_STEM = "answers"
SHARED_DEV_SET = PROJECT_ROOT.parent / "shared" / "data" / "real-questions" / "dev.jsonl"
DEFAULT_SETS: tuple[tuple[Path, bool], ...] = (
    (SHARED_DEV_SET, False),
    (PROJECT_ROOT / "tests" / "data" / "real" / "egov_portal.jsonl", False),
    (PROJECT_ROOT / "tests" / "data" / "blind" / "citizen_dev.jsonl", False),
    (PROJECT_ROOT / "tests" / "data" / "blind" / "citizen_sealed.jsonl", True),
    (PROJECT_ROOT / "tests" / "data" / "blind" / "conversations_v1_dev.jsonl", False),
)
"""The sets measured when none is named: (path, aggregate only). The real-questions set lives beside the
repository (``../shared``) and is skipped when absent."""

CHANNEL = "eval"
"""Channel name of the evaluation's conversations (one new chat id per question and copy)."""


# --- what the engine decided ------------------------------------------------------------------------


class Kind(StrEnum):
    """What the first reply did."""

    ANSWER = "answer"
    CHOICES = "choices"
    ABSTAIN = "abstain"
    FAQ = "faq"
    FLOW = "flow"
    ERROR = "error"
    OTHER = "other"
    """An action this evaluation does not know yet (a new one: teach :func:`classify`)."""


class Detail(StrEnum):
    """The finer outcome within a kind."""

    # answer
    FULL = "full"
    """The part asked, from the knowledge base."""
    MISSING = "missing"
    """"Phần … chưa có trong dữ liệu": the right kind of reply, but no content."""
    ASKS_CASE = "asks_case"
    """The documents differ per case and the bot asks which (``/choose_group`` buttons)."""
    # choices
    PROCEDURES = "procedures"
    # abstain
    FALLBACK = "fallback"
    OUT_OF_SCOPE = "out_of_scope"
    OFFICER_OFFER = "officer_offer"
    PORTAL_POINTER = "portal_pointer"
    """A procedure known only from a catalogue: what is known, the portal search and an officer."""
    ASK_PROCEDURE = "ask_procedure"
    UNKNOWN_PROCEDURE = "unknown_procedure"
    # faq
    FAQ = "faq"
    # flow
    DOSSIER = "dossier"
    OFFICER = "officer"
    FEEDBACK = "feedback"
    GREET = "greet"
    THANK = "thank"
    GOODBYE = "goodbye"
    AFFIRM = "affirm"
    DENY = "deny"
    REPHRASE = "rephrase"
    MORE = "more"
    # error, other
    APOLOGY = "apology"
    SILENT = "silent"
    UNKNOWN = "unknown"


TOPIC_BY_ACTION: Mapping[str, Topic] = {action_name(t): t for t in Topic}
"""``"action_fee"`` -> ``Topic.FEE``: the actions that answer a part of a procedure."""

_BY_ACTION: Mapping[str, tuple[Kind, Detail]] = {
    ActionName.CHOOSE_PROCEDURE: (Kind.CHOICES, Detail.PROCEDURES),
    ActionName.CLARIFY: (Kind.ABSTAIN, Detail.FALLBACK),
    ActionName.OUT_OF_SCOPE: (Kind.ABSTAIN, Detail.OUT_OF_SCOPE),
    ActionName.OFFER_OFFICER: (Kind.ABSTAIN, Detail.OFFICER_OFFER),
    ActionName.ASK_PROCEDURE: (Kind.ABSTAIN, Detail.ASK_PROCEDURE),
    ActionName.FAQ_ANSWER: (Kind.FAQ, Detail.FAQ),
    ActionName.DOSSIER_STATUS: (Kind.FLOW, Detail.DOSSIER),
    ActionName.ESCALATE: (Kind.FLOW, Detail.OFFICER),
    ActionName.FEEDBACK: (Kind.FLOW, Detail.FEEDBACK),
    ActionName.GREET: (Kind.FLOW, Detail.GREET),
    ActionName.THANK: (Kind.FLOW, Detail.THANK),
    ActionName.GOODBYE: (Kind.FLOW, Detail.GOODBYE),
    ActionName.AFFIRM: (Kind.FLOW, Detail.AFFIRM),
    ActionName.DENY: (Kind.FLOW, Detail.DENY),
    ActionName.REPHRASE: (Kind.FLOW, Detail.REPHRASE),
    ActionName.MORE: (Kind.FLOW, Detail.MORE),
}
"""Every other action the policy can decide, and what its reply is."""

FLOW_BY_INTENT: Mapping[str, Detail] = {
    Intent.CHECK_DOSSIER_STATUS: Detail.DOSSIER,
    Intent.REQUEST_HUMAN: Detail.OFFICER,
    Intent.GIVE_FEEDBACK: Detail.FEEDBACK,
    Intent.GREET: Detail.GREET,
    Intent.THANK: Detail.THANK,
    Intent.GOODBYE: Detail.GOODBYE,
    Intent.AFFIRM: Detail.AFFIRM,
    Intent.DENY: Detail.DENY,
}
"""The flow intents and the flow that is right for each."""

_PROCEDURE_BUTTONS = frozenset({Intent.CHOOSE, Intent.CHOOSE_GROUP})

# Response keys whose text tells outcomes of one action apart.
MISSING_KEYS = ("utter_missing_detail", "utter_missing_detail_no_link")
CATALOGUE_ONLY_KEYS = ("utter_catalogue_only", "utter_catalogue_where")
"""A catalogue-only procedure's reply: what the catalogue holds (for "where": its agency and levels), the
portal search and an officer; the portal pointer, whichever part was asked."""
UNKNOWN_PROCEDURE_KEY = "utter_procedure_unknown"
ASK_CASE_KEY = "utter_ask_document_case"
APOLOGY_KEY = "utter_error"
TEMPLATE_KEYS = (*MISSING_KEYS, *CATALOGUE_ONLY_KEYS, UNKNOWN_PROCEDURE_KEY, ASK_CASE_KEY, APOLOGY_KEY)


class ReplyTemplates:
    """Tells which catalogue response a reply text is, by matching the response's texts.

    Each text becomes a pattern: its literal parts as written (runs of spaces and line breaks loosely,
    since a rendered text loses its trailing blank lines), each ``{variable}`` as any text.

    Args:
        texts: response key -> its text variants (as in ``data/responses.yml``).
    """

    def __init__(self, texts: Mapping[str, Sequence[str]]) -> None:
        self._patterns = {key: [_template_pattern(t) for t in variants] for key, variants in texts.items()}

    @classmethod
    def load(cls, path: str | Path, keys: Iterable[str] = TEMPLATE_KEYS) -> ReplyTemplates:
        """The texts of ``keys`` from a responses file (a key the file lacks matches nothing)."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        responses = data.get("responses") or {}
        return cls(
            {
                key: [str(v["text"]) for v in responses.get(key) or () if isinstance(v, dict) and "text" in v]
                for key in keys
            }
        )

    def said(self, replies: Sequence[OutboundMessage], *keys: str) -> bool:
        """True when one of the replies is one of the responses ``keys``."""
        return any(p.fullmatch(r.text) for r in replies for key in keys for p in self._patterns.get(key, ()))


def _template_pattern(text: str) -> re.Pattern[str]:
    parts: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(text):
        parts.append(r"\s*".join(re.escape(piece) for piece in re.split(r"\s+", literal)))
        if name is not None:
            parts.append(".*?")
    return re.compile("".join(parts), re.DOTALL)


@dataclass(frozen=True)
class Outcome:
    """What one reply did, as :func:`classify` read it from the engine.

    Attributes:
        kind: see :class:`Kind`.
        detail: see :class:`Detail`.
        procedure: the procedure answered about (answers, portal pointers), else None.
        aspect: the topic answered (answers, portal pointers), else None.
        offered: procedure codes named by the reply's buttons (``/choose``, ``/choose_group``), in order.
        buttons: every button payload of the reply, in order.
        intent: the NLU's intent for the message (the state's ``last_intent``).
        action: the action that answered (the state's ``last_action``).
    """

    kind: Kind
    detail: Detail
    procedure: str | None = None
    aspect: str | None = None
    offered: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()
    intent: str | None = None
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (enums as their values)."""
        data = asdict(self)
        data["offered"], data["buttons"] = list(self.offered), list(self.buttons)
        return data


def offered_procedures(buttons: Iterable[Button]) -> tuple[str, ...]:
    """Codes named by ``/choose{"procedure": …}`` and ``/choose_group{"procedure": …}`` buttons."""
    codes: list[str] = []
    for button in buttons:
        parsed = parse_payload(button.payload)
        if parsed is not None and parsed[0] in _PROCEDURE_BUTTONS:
            code = parsed[1].get("procedure")
            if code and code not in codes:
                codes.append(code)
    return tuple(codes)


def classify(
    state: ConversationState, replies: Sequence[OutboundMessage], templates: ReplyTemplates
) -> Outcome:
    """What the engine's reply to one message did.

    Args:
        state: the conversation state saved after the turn.
        replies: what :meth:`bot.engine.engine.Engine.handle` returned for it.
        templates: the response texts that tell outcomes of one action apart.
    """
    buttons = tuple(b for r in replies for b in r.buttons)
    common: dict[str, Any] = {
        "offered": offered_procedures(buttons),
        "buttons": tuple(b.payload for b in buttons),
        "intent": state.last_intent,
        "action": state.last_action,
    }
    if not replies:
        return Outcome(Kind.OTHER, Detail.SILENT, **common)
    # Checked first: a failed turn leaves the state's last_action as it was.
    if templates.said(replies, APOLOGY_KEY):
        return Outcome(Kind.ERROR, Detail.APOLOGY, **common)
    action = state.last_action or ""
    topic = TOPIC_BY_ACTION.get(action)
    if topic is not None:
        common["aspect"] = str(topic)
        if templates.said(replies, UNKNOWN_PROCEDURE_KEY):
            return Outcome(Kind.ABSTAIN, Detail.UNKNOWN_PROCEDURE, **common)
        common["procedure"] = state.procedure
        if templates.said(replies, *CATALOGUE_ONLY_KEYS):
            return Outcome(Kind.ABSTAIN, Detail.PORTAL_POINTER, **common)
        if templates.said(replies, *MISSING_KEYS):
            return Outcome(Kind.ANSWER, Detail.MISSING, **common)
        if templates.said(replies, ASK_CASE_KEY):
            return Outcome(Kind.ANSWER, Detail.ASKS_CASE, **common)
        return Outcome(Kind.ANSWER, Detail.FULL, **common)
    kind, detail = _BY_ACTION.get(action, (Kind.OTHER, Detail.UNKNOWN))
    return Outcome(kind, detail, **common)


# --- labelled questions ---------------------------------------------------------------------------


class Category(StrEnum):
    """Which figures a question counts in."""

    ANSWERABLE = "answerable"
    """An acceptable national procedure, and the main intent asks about a part of it (``ask_*``)."""
    UNANSWERABLE = "unanswerable"
    """No acceptable national procedure, and not a flow: out-of-scope look-alikes, procedures only in
    provincial catalogues, procedure-like questions in no catalogue."""
    FLOW = "flow"
    """The main intent is a flow (:data:`FLOW_BY_INTENT`)."""
    OTHER = "other"
    """Anything else (an ``out_of_scope`` label that keeps a doubtful procedure): counted, not scored."""


_CATALOGUE_SUFFIX = re.compile(r"\.000\.00\.00\.H\d+$")


def base_code(code: str) -> str:
    """A provincial catalogue code (``1.001029.000.00.00.H36``) as the knowledge base keys it
    (``1.001029``); a national code unchanged."""
    return _CATALOGUE_SUFFIX.sub("", code.strip())


@dataclass(frozen=True)
class Question:
    """One labelled message of a set (see the module docstring for the format)."""

    id: str
    text: str
    intent: str
    intents: tuple[str, ...]
    procedures: tuple[str, ...] = ()
    catalogue_procedures: tuple[str, ...] = ()
    doubtful: bool = False
    before: tuple[str, ...] = ()

    @property
    def category(self) -> Category:
        if self.intent in FLOW_BY_INTENT:
            return Category.FLOW
        if not self.procedures:
            return Category.UNANSWERABLE
        if self.intent in TOPIC_BY_INTENT:
            return Category.ANSWERABLE
        return Category.OTHER

    @property
    def aspects(self) -> frozenset[str]:
        """The topics asked: those of every acceptable intent."""
        return frozenset(str(TOPIC_BY_INTENT[i]) for i in self.intents if i in TOPIC_BY_INTENT)

    @property
    def flows(self) -> frozenset[Detail]:
        """The flows that are right: those of every acceptable intent."""
        return frozenset(FLOW_BY_INTENT[i] for i in self.intents if i in FLOW_BY_INTENT)

    @property
    def with_diacritics(self) -> bool:
        """Whether the text, or an earlier message of its conversation, carries diacritics (đ included):
        its folded copy differs from it."""
        return any(has_diacritics(t) for t in (self.text, *self.before))

    def acceptable(self, code: str | None) -> bool:
        return code is not None and code in self.procedures

    def catalogue_acceptable(self, code: str | None) -> bool:
        return code is not None and code in {base_code(c) for c in self.catalogue_procedures}


class SetError(ValueError):
    """A set file cannot be read; the message names no item when the set is sealed."""


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SetError(f"{where}: expected a list of strings")
    return tuple(value)


def load_questions(path: str | Path, sealed: bool = False) -> list[Question]:
    """Read a JSON Lines set.

    Raises:
        SetError: unreadable file or a bad line; for a ``sealed`` set only the count of bad lines is
            said, never which line or what it holds.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SetError(f"{path}: cannot read ({type(exc).__name__})") from None
    questions: list[Question] = []
    problems: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            questions.append(_question(json.loads(line), where, number))
        except (json.JSONDecodeError, SetError) as exc:
            problems.append(f"{where}: not valid JSON" if isinstance(exc, json.JSONDecodeError) else str(exc))
    if problems:
        if sealed:
            raise SetError(f"{path.name}: {len(problems)} unreadable line(s) (sealed set: not shown)")
        raise SetError("\n".join(problems))
    return questions


def _question(data: Any, where: str, number: int) -> Question:
    if not isinstance(data, dict):
        raise SetError(f"{where}: expected a JSON object")
    text, intent = data.get("text"), data.get("intent")
    if not isinstance(text, str) or not isinstance(intent, str) or not intent:
        raise SetError(f"{where}: needs a string 'text' and a non-empty 'intent'")
    intents = _strings(data.get("intents"), f"{where}: intents")
    note = data.get("note")
    return Question(
        id=str(data.get("id") or f"line-{number}"),
        text=text,
        intent=intent,
        intents=(intent, *(i for i in intents if i != intent)),
        procedures=_strings(data.get("procedures"), f"{where}: procedures"),
        catalogue_procedures=_strings(data.get("catalogue_procedures"), f"{where}: catalogue_procedures"),
        doubtful=isinstance(note, str) and "DOUBTFUL" in note,
        before=_strings(data.get("before"), f"{where}: before"),
    )


# --- verdicts ---------------------------------------------------------------------------------------


def right_answer(question: Question, outcome: Outcome | None) -> bool:
    """An answer from the knowledge base about an acceptable procedure and an asked part."""
    return (
        outcome is not None
        and outcome.kind == Kind.ANSWER
        and outcome.detail == Detail.FULL
        and question.acceptable(outcome.procedure)
        and outcome.aspect in question.aspects
    )


def button_to_press(question: Question, outcome: Outcome) -> str | None:
    """The payload of the first button of the reply that names an acceptable procedure, if any."""
    for payload in outcome.buttons:
        parsed = parse_payload(payload)
        if parsed and parsed[0] in _PROCEDURE_BUTTONS and question.acceptable(parsed[1].get("procedure")):
            return payload
    return None


def judge(question: Question, first: Outcome, second: Outcome | None = None) -> dict[str, bool]:
    """The verdicts of one question: which figures of its category it counts in.

    Args:
        first: the first reply.
        second: the reply to the button :func:`button_to_press` chose, when it was pressed.
    """
    verdicts = {"intent_right": first.intent in question.intents, "error": first.kind == Kind.ERROR}
    answered = first.kind == Kind.ANSWER
    category = question.category
    if category == Category.ANSWERABLE:
        right = right_answer(question, first)
        verdicts.update(
            right_first_turn=right,
            right_procedure=answered and question.acceptable(first.procedure),
            within_two_turns=right or right_answer(question, second),
            wrong_answer=answered and not question.acceptable(first.procedure),
            abstained=first.kind == Kind.ABSTAIN,
            flow_hijack=first.kind == Kind.FLOW,
        )
    elif category == Category.UNANSWERABLE:
        verdicts.update(confident_wrong=answered, abstained_unanswerable=first.kind == Kind.ABSTAIN)
        if question.catalogue_procedures:
            verdicts["catalogue_pointer_right"] = (
                first.detail == Detail.PORTAL_POINTER and question.catalogue_acceptable(first.procedure)
            )
    elif category == Category.FLOW:
        verdicts["flows_right"] = first.kind == Kind.FLOW and first.detail in question.flows
    return verdicts


@dataclass(frozen=True)
class Figure:
    """One reported figure: its key, label, the questions it is counted over, and its definition."""

    key: str
    label: str
    over: str
    definition: str


FIGURES: tuple[Figure, ...] = (
    Figure(
        "right_first_turn",
        "right first turn",
        "answerable",
        "the first reply is an answer from the knowledge base about an acceptable procedure and about a "
        "part that was asked (the topic of one of the acceptable intents: ask_fee → fee …). The sentence "
        "'phần … chưa có trong dữ liệu', the question 'which case?' and an overview when the fee was asked "
        "do not count.",
    ),
    Figure(
        "right_procedure",
        "right procedure",
        "answerable",
        "the first reply is an answer about an acceptable procedure, whatever the part (the 'not in my "
        "data' sentence and the 'which case?' question included).",
    ),
    Figure(
        "within_two_turns",
        "within two turns",
        "answerable",
        "right first turn, or the first reply has a button naming an acceptable procedure (a choice list, "
        "the fallback's candidates, the case buttons, an FAQ's procedure buttons) and pressing the first "
        "such button gives a reply that is right as in 'right first turn'.",
    ),
    Figure(
        "wrong_answer",
        "wrong answer",
        "answerable",
        "the first reply is an answer about a procedure that is not acceptable (any part; the 'not in my "
        "data' sentence included).",
    ),
    Figure(
        "abstained",
        "abstained",
        "answerable",
        "the first reply abstains: the fallback ('có phải bạn hỏi …', with or without buttons), the "
        "out-of-scope sentence, the officer offer, the portal pointer of a catalogue-only procedure, "
        "'bạn hỏi thủ tục nào?', or 'procedure not found'.",
    ),
    Figure(
        "flow_hijack",
        "flow hijack",
        "answerable",
        "the first reply starts a flow instead of answering: dossier look-up, officer hand-over, feedback, "
        "small talk.",
    ),
    Figure(
        "confident_wrong",
        "confident wrong",
        "unanswerable",
        "the first reply is an answer about some procedure (any procedure, any part, the 'not in my data' "
        "sentence included). Abstaining, a choice list, an FAQ answer and the catalogue-only portal "
        "pointer do not count.",
    ),
    Figure(
        "abstained_unanswerable",
        "abstained (unanswerable)",
        "unanswerable",
        "the first reply abstains, as in 'abstained'.",
    ),
    Figure(
        "catalogue_pointer_right",
        "catalogue pointer right",
        "catalogue-only",
        "over unanswerable questions whose procedure is only in provincial catalogues: the first reply is "
        "the catalogue-only portal pointer for one of those procedures.",
    ),
    Figure(
        "flows_right",
        "flows right",
        "flow",
        "the first reply starts the flow of an acceptable intent: check_dossier_status → dossier look-up, "
        "request_human → officer, give_feedback → feedback, greet/thank/goodbye/affirm/deny → the same "
        "small talk.",
    ),
    Figure(
        "intent_right",
        "intent right (NLU)",
        "all",
        "the NLU's intent for the first message (the state's last_intent) is one of the acceptable "
        "intents; for comparison with `helpline nlu evaluate`.",
    ),
    Figure("error", "engine errors", "all", "the engine apologised (utter_error): something broke."),
)
"""Every figure of the report, in the order shown; the Markdown prints these definitions."""

CATEGORY_DEFINITIONS: Mapping[str, str] = {
    "answerable": "at least one acceptable national procedure code, and the main intent asks about a "
    "part of a procedure (ask_*).",
    "unanswerable": "no acceptable national procedure code and the main intent is not a flow: "
    "out-of-scope look-alikes (penalties, definitions, benefit amounts …), procedures only in provincial "
    "catalogues (catalogue_procedures), procedure-like questions in no catalogue.",
    "catalogue-only": "unanswerable questions with catalogue_procedures.",
    "flow": "the main intent is check_dossier_status, request_human, give_feedback, greet, thank, "
    "goodbye, affirm or deny.",
    "other": "anything else (an out_of_scope label keeping a doubtful procedure): counted, not scored.",
    "all": "every question of the set.",
}


# --- running the engine -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One question (or its copy without diacritics) through the engine."""

    question: Question
    variant: str
    """``"original"`` or ``"folded"``."""
    text: str
    first: Outcome
    second: Outcome | None
    verdicts: Mapping[str, bool]

    def to_dict(self) -> dict[str, Any]:
        q = self.question
        return {
            "id": q.id,
            "variant": self.variant,
            "text": self.text,
            "category": str(q.category),
            "intent": q.intent,
            "intents": list(q.intents),
            "procedures": list(q.procedures),
            "catalogue_procedures": list(q.catalogue_procedures),
            "doubtful": q.doubtful,
            "first": self.first.to_dict(),
            "second": self.second.to_dict() if self.second else None,
            "verdicts": dict(self.verdicts),
        }


async def _turn(
    engine: Engine, key: ConversationKey, text: str, button: bool = False
) -> tuple[ConversationState, list[OutboundMessage]]:
    replies = await engine.handle(InboundMessage(key=key, text=text, is_button=button))
    return engine.store.load(key), replies


async def ask(
    engine: Engine,
    templates: ReplyTemplates,
    question: Question,
    text: str,
    key: ConversationKey,
    before: Sequence[str] | None = None,
) -> tuple[Outcome, Outcome | None]:
    """Send ``text`` as a new conversation, after the question's earlier messages (``before``) when it
    has some (``before`` replaces them: the copy without diacritics sends theirs folded); press the button
    naming an acceptable procedure when the reply to ``text`` is not right and has one. Returns the
    outcomes of the reply to ``text`` and of the press."""
    for earlier in question.before if before is None else before:
        await _turn(engine, key, earlier)
    state, replies = await _turn(engine, key, text)
    first = classify(state, replies, templates)
    if question.category != Category.ANSWERABLE or right_answer(question, first):
        return first, None
    payload = button_to_press(question, first)
    if payload is None:
        return first, None
    state, replies = await _turn(engine, key, payload, button=True)
    return first, classify(state, replies, templates)


async def run_set(
    engine: Engine,
    templates: ReplyTemplates,
    name: str,
    questions: Sequence[Question],
    folded: bool = True,
    sealed: bool = False,
) -> list[Result]:
    """Every question of a set, and its copy without diacritics, each as a new conversation.

    A question without diacritics is its own copy: its result is reused. For a ``sealed`` set a failure
    names neither the item nor its text.
    """
    results: list[Result] = []
    for index, question in enumerate(questions):
        variants = [("original", question.text, question.before)]
        if folded and question.with_diacritics:
            variants.append(("folded", fold(question.text), tuple(fold(t) for t in question.before)))
        for variant, text, before in variants:
            # unique even when two sets share a file name: each question is a new conversation
            key = ConversationKey(CHANNEL, f"{name}:{index}:{variant}:{uuid.uuid4().hex[:12]}")
            try:
                first, second = await ask(engine, templates, question, text, key, before)
            except Exception as exc:
                if sealed:
                    raise RuntimeError(f"{name}: an item failed ({type(exc).__name__})") from None
                raise
            results.append(Result(question, variant, text, first, second, judge(question, first, second)))
            if folded and variant == "original" and not question.with_diacritics:
                results.append(Result(question, "folded", text, first, second, results[-1].verdicts))
    return results


# --- figures ------------------------------------------------------------------------------------------


def _ratio(count: int, n: int) -> dict[str, Any]:
    return {"count": count, "n": n, "rate": round(count / n, 4) if n else None}


def _members(results: Sequence[Result], over: str) -> list[Result]:
    if over == "all":
        return list(results)
    if over == "catalogue-only":
        return [
            r
            for r in results
            if r.question.category == Category.UNANSWERABLE and r.question.catalogue_procedures
        ]
    return [r for r in results if r.question.category == over]


def summarise(results: Sequence[Result]) -> dict[str, Any]:
    """The figures of :data:`FIGURES` and the outcome counts per category, over ``results``."""
    figures = {
        fig.key: _ratio(sum(bool(r.verdicts.get(fig.key)) for r in members), len(members))
        for fig in FIGURES
        for members in [_members(results, fig.over)]
    }
    categories = Counter(str(r.question.category) for r in results)
    outcomes: dict[str, dict[str, int]] = {}
    for category in Category:
        counted = Counter(
            f"{r.first.kind}:{r.first.detail}" for r in results if r.question.category == category
        )
        if counted:
            outcomes[str(category)] = dict(counted.most_common())
    return {
        "questions": len(results),
        "categories": {str(c): categories.get(str(c), 0) for c in Category},
        "figures": figures,
        "outcomes": outcomes,
    }


GROUPS: Mapping[str, Callable[[Result], bool]] = {
    "all": lambda r: True,
    "strict": lambda r: not r.question.doubtful,
    "with_diacritics": lambda r: r.question.with_diacritics,
    "without_diacritics": lambda r: not r.question.with_diacritics,
}
"""Groups of a set's questions reported apart (``strict`` leaves out the DOUBTFUL labels); the
diacritics split is by the original text."""

GAP_FIGURES = ("right_first_turn", "right_procedure", "within_two_turns", "wrong_answer", "confident_wrong")


def set_report(name: str, path: Path, results: Sequence[Result], sealed: bool) -> dict[str, Any]:
    """Figures of one set: per variant and group, and the diacritics gap.

    The gap is measured on the questions written with diacritics: the figure on the originals minus the
    figure on their copies without (positive: the copy does worse).
    """
    variants: dict[str, dict[str, Any]] = {}
    for variant in ("original", "folded"):
        mine = [r for r in results if r.variant == variant]
        if mine:
            variants[variant] = {g: summarise([r for r in mine if keep(r)]) for g, keep in GROUPS.items()}
    gap: dict[str, float | None] = {}
    if "folded" in variants:
        for key in GAP_FIGURES:
            a = variants["original"]["with_diacritics"]["figures"][key]["rate"]
            b = variants["folded"]["with_diacritics"]["figures"][key]["rate"]
            gap[key] = None if a is None or b is None else round(a - b, 4)
    return {
        "name": name,
        "path": _shown_path(path),
        "aggregate_only": sealed,
        "questions": len({id(r.question) for r in results}),
        "variants": variants,
        "diacritics_gap": gap,
    }


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        try:
            return "../" + str(path.resolve().relative_to(PROJECT_ROOT.parent))
        except ValueError:
            return str(path)


# --- the private engine ----------------------------------------------------------------------------


def parse_overrides(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``COMPONENT.SETTING=VALUE`` strings (``--nlu``) as ``{component: {setting: value}}``; the value
    is read as YAML (``false``, ``0.2``, ``[a, b]``).

    Raises:
        SetError: a string not of that shape.
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, value = item.partition("=")
        component, dot, key = target.partition(".")
        if not sep or not dot or not component or not key:
            raise SetError(f"--nlu {item!r}: expected COMPONENT.SETTING=VALUE")
        out.setdefault(component.strip(), {})[key.strip()] = yaml.safe_load(value)
    return out


def config_with_overrides(
    config_path: Path, overrides: Mapping[str, Mapping[str, Any]], workdir: Path
) -> Path:
    """A copy of ``config_path`` in ``workdir`` with ``overrides`` merged into its pipeline components
    (the ablations of ``--nlu``); relative paths of the original are made absolute so they still resolve.

    Raises:
        SetError: an override names a component the pipeline does not list.
    """
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    pipeline = config.get("pipeline") or []
    names = {str(spec.get("name")) for spec in pipeline}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise SetError(f"--nlu: no component {', '.join(unknown)} in {config_path.name}")
    base = config_path.resolve().parent
    for spec in pipeline:
        for key, value in list(spec.items()):
            relative = isinstance(value, str) and not Path(value).is_absolute()
            if relative and (key.endswith("_path") or key.endswith("_dir")):
                spec[key] = str(base / value)
        spec.update(overrides.get(str(spec.get("name")), {}))
    target = workdir / "config.yml"
    target.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def private_container(
    settings: Settings,
    workdir: Path,
    *,
    model_dir: Path | None = None,
    interpreter: Interpreter | None = None,
    nlu_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[App, str]:
    """A container on a private SQLite file in ``workdir``, migrated and seeded, ready to answer.

    The NLU is ``interpreter`` when given (tests), else the model in ``model_dir``, else one trained now
    from the settings' config and ``data/nlu.yml`` into ``workdir``. Dossier look-ups use the local demo
    table, never a configured provincial system. Returns the container and a description of its NLU.
    """
    from dataclasses import replace

    from bot.app.bootstrap import FixedModels, bootstrap, real_adapters
    from bot.core.config import load_config

    if interpreter is not None:
        described = f"{type(interpreter).__name__} (given)"
    elif model_dir is not None:
        described = f"model in {model_dir}"
    else:
        from nlu.models import train_model

        model_dir = workdir / "models"
        config_path = settings.config_path
        if nlu_overrides:
            config_path = config_with_overrides(config_path, nlu_overrides, workdir)
        start = time.perf_counter()
        train_model(config_path, (settings.data_dir / "nlu.yml",), model_dir)
        described = (
            f"trained now from {_shown_path(settings.data_dir / 'nlu.yml')} "
            f"({time.perf_counter() - start:.1f} s)"
        )
        if nlu_overrides:
            described += "; NLU settings changed: " + ", ".join(
                f"{c}.{k}={v}" for c, kv in nlu_overrides.items() for k, v in kv.items()
            )
    private = settings.model_copy(
        update={
            "database_url": f"sqlite:///{workdir / 'evaluation.sqlite3'}",
            "model_dir": model_dir or workdir / "models",
            "dossier_api_url": "",
        }
    )
    config = load_config(private.config_path)
    adapters = real_adapters(private, config)
    if interpreter is not None:
        adapters = replace(adapters, nlu=FixedModels(interpreter))
    container = bootstrap(private, config, adapters)
    container.prepare()
    return container, described


@contextmanager
def _quiet(enabled: bool) -> Iterator[None]:
    """No logging at all while a sealed set runs (a log line may quote a message)."""
    if not enabled:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


@dataclass(frozen=True)
class SetSpec:
    """A set to measure: its file, and whether only aggregate figures may be shown."""

    path: Path
    sealed: bool = False

    @property
    def name(self) -> str:
        return self.path.stem


def is_sealed(path: Path) -> bool:
    """A file named ``*sealed*`` is always scored aggregate-only, whatever the options say."""
    return "sealed" in path.name.lower()


@dataclass
class Evaluation:
    """The report and the per-item results of a run (none for sealed sets)."""

    report: dict[str, Any]
    items: dict[str, list[Result]] = field(default_factory=dict)


def evaluate(
    specs: Sequence[SetSpec],
    settings: Settings,
    *,
    model_dir: Path | None = None,
    interpreter: Interpreter | None = None,
    folded: bool = True,
    progress: Callable[[str], None] = lambda _: None,
    nlu_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Evaluation:
    """Measure every set on one private engine; sets whose file is absent are skipped (and listed).

    Raises:
        SetError: a set file is unreadable or has a bad line.
    """
    present = [s for s in specs if s.path.exists()]
    skipped = [_shown_path(s.path) for s in specs if not s.path.exists()]
    loaded = [(s, load_questions(s.path, sealed=s.sealed)) for s in present]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="helpline-eval-") as tmp:
        container, nlu = private_container(
            settings, Path(tmp), model_dir=model_dir, interpreter=interpreter, nlu_overrides=nlu_overrides
        )
        prepared = time.perf_counter()
        try:
            templates = ReplyTemplates.load(container.settings.data_dir / "responses.yml")
            procedures = container.knowledge.count()
            evaluation = Evaluation(report={})
            sets, turns_before = [], time.perf_counter()
            for spec, questions in loaded:
                progress(f"{spec.name}: {len(questions)} câu")
                with _quiet(spec.sealed):
                    results = asyncio.run(
                        run_set(container.engine, templates, spec.name, questions, folded, spec.sealed)
                    )
                sets.append(set_report(spec.name, spec.path, results, spec.sealed))
                if not spec.sealed:
                    evaluation.items[spec.name] = results
            finished = time.perf_counter()
        finally:
            container.adapters.db.dispose()
    evaluation.report = {
        "kind": "answer-level evaluation (issue 10)",
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "nlu": nlu,
        "knowledge_base": f"shipped seed, {procedures} procedures, on a private temporary SQLite file",
        "folded_copies": folded,
        "skipped_sets": skipped,
        "seconds": {
            "prepare": round(prepared - started, 1),
            "evaluate": round(finished - turns_before, 1),
        },
        "sets": sets,
        "definitions": {
            "categories": dict(CATEGORY_DEFINITIONS),
            "figures": {
                f.key: {"label": f.label, "over": f.over, "definition": f.definition} for f in FIGURES
            },
        },
    }
    return evaluation


# --- writing ----------------------------------------------------------------------------------------


def _pct(ratio: Mapping[str, Any]) -> str:
    rate = ratio.get("rate")
    return "–" if rate is None else f"{100 * rate:.1f}% ({ratio['count']}/{ratio['n']})"


def _points(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.1f}"


_COLUMNS = (
    ("original", "all", "all"),
    ("original", "strict", "strict (no DOUBTFUL)"),
    ("original", "with_diacritics", "with diacritics"),
    ("original", "without_diacritics", "without diacritics"),
    ("folded", "all", "no-diacritics copy, all"),
    ("folded", "with_diacritics", "no-diacritics copy of the with-diacritics ones"),
)


def markdown_report(report: Mapping[str, Any], misses: Mapping[str, Sequence[Result]] | None = None) -> str:
    """A readable version of the report, with the definition of every figure.

    Args:
        misses: per set, results to list as examples (never given for sealed sets).
    """
    lines = [
        "# Answer-level evaluation",
        "",
        "Every labelled message went through the real engine (composition root `bot.app.bootstrap`) as a "
        "new conversation; the first reply is classified from what the engine decided (the state after "
        "the turn and the reply's buttons). See `bot/app/evaluation.py`.",
        "",
        f"- measured at: {report['measured_at']}",
        f"- NLU: {report['nlu']}",
        f"- knowledge base: {report['knowledge_base']}",
        f"- copies without diacritics: {'yes' if report['folded_copies'] else 'no'}",
        f"- time: {report['seconds']['prepare']} s to prepare, {report['seconds']['evaluate']} s to evaluate",
    ]
    if report["skipped_sets"]:
        lines.append(f"- skipped (file absent): {', '.join(report['skipped_sets'])}")
    lines += ["", "## Definitions", "", "Questions are counted in one category each:", ""]
    lines += [f"- **{name}**: {text}" for name, text in report["definitions"]["categories"].items()]
    lines += ["", "Figures (each over the questions of its category, shown as n):", ""]
    lines += [
        f"- **{f['label']}** (over {f['over']}): {f['definition']}"
        for f in report["definitions"]["figures"].values()
    ]
    lines += [
        "",
        "Columns: **all** questions; **strict** leaves out labels marked DOUBTFUL; **with / without "
        "diacritics** splits by the original text (đ counts as a diacritic); the **no-diacritics copy** is "
        "each question folded by `knowledge.text.fold` (a question without diacritics is its own copy). "
        "**Gap** = figure on the with-diacritics originals minus the figure on their copies, in points.",
    ]
    for s in report["sets"]:
        lines += ["", f"## {s['name']}", "", f"`{s['path']}`: {s['questions']} questions"]
        if s["aggregate_only"]:
            lines[-1] += " (sealed: aggregate figures only)"
        cats = s["variants"]["original"]["all"]["categories"]
        lines[-1] += " — " + ", ".join(f"{k} {v}" for k, v in cats.items() if v) + "."
        shown = [(v, g, title) for v, g, title in _COLUMNS if v in s["variants"]]
        lines += ["", "| figure | " + " | ".join(t for _, _, t in shown) + " | gap |"]
        lines.append("|---|" + "---:|" * (len(shown) + 1))
        for f in FIGURES:
            cells = [_pct(s["variants"][v][g]["figures"][f.key]) for v, g, _ in shown]
            gap = s["diacritics_gap"].get(f.key)
            lines.append(
                f"| {f.label} | " + " | ".join(cells) + f" | {_points(gap) if f.key in GAP_FIGURES else ''} |"
            )
        outcomes = s["variants"]["original"]["all"]["outcomes"]
        if outcomes:
            lines += ["", "First replies (originals, all), by category:", ""]
            lines += ["| category | first reply | count |", "|---|---|---:|"]
            for category, counted in outcomes.items():
                lines += [f"| {category} | {kind} | {n} |" for kind, n in counted.items()]
        examples = (misses or {}).get(s["name"])
        if examples:
            lines += ["", f"Answerable questions not right in the first turn (first {len(examples)}):", ""]
            lines += ["| id | question | asked | acceptable | first reply |", "|---|---|---|---|---|"]
            for r in examples:
                lines.append(
                    f"| {r.question.id} | {_cell(r.text, 110)} | {', '.join(sorted(r.question.aspects))} | "
                    f"{', '.join(r.question.procedures)} | {_described(r.first)} |"
                )
    return "\n".join(lines) + "\n"


def _cell(text: str, limit: int) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _described(o: Outcome) -> str:
    what = f"{o.kind}:{o.detail}"
    if o.procedure:
        what += f" {o.procedure}/{o.aspect}"
    elif o.offered:
        what += " [" + ", ".join(o.offered) + "]"
    return f"{what} (intent {o.intent})"


MISSES_SHOWN = 40


def write_report(evaluation: Evaluation, out_dir: Path) -> list[Path]:
    """``answers.json``, ``answers.md`` and, per set that is not sealed, ``<set>.items.jsonl``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / f"{REPORT_STEM}.json", out_dir / f"{REPORT_STEM}.md"]
    written[0].write_text(
        json.dumps(evaluation.report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    misses = {
        name: [
            r
            for r in results
            if r.variant == "original"
            and r.question.category == Category.ANSWERABLE
            and not r.verdicts.get("right_first_turn")
        ][:MISSES_SHOWN]
        for name, results in evaluation.items.items()
    }
    written[1].write_text(markdown_report(evaluation.report, misses), encoding="utf-8")
    for name, results in evaluation.items.items():
        path = out_dir / f"{name}.items.jsonl"
        path.write_text(
            "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in results), encoding="utf-8"
        )
        written.append(path)
    return written


def summary_line(s: Mapping[str, Any]) -> str:
    """One line of aggregate figures for the terminal."""
    f = s["variants"]["original"]["all"]["figures"]

    def pct(key: str) -> str:
        rate = f[key]["rate"]
        return "–" if rate is None else f"{100 * rate:.1f}%"

    gap = s["diacritics_gap"].get("right_first_turn")
    return (
        f"{s['name']}: {s['questions']} câu; trả lời đúng ngay {pct('right_first_turn')}, "
        f"trong hai lượt {pct('within_two_turns')}, sai thủ tục {pct('wrong_answer')}, "
        f"sai tự tin {pct('confident_wrong')}, luồng đúng {pct('flows_right')}, "
        f"chênh lệch không dấu {_points(gap)} điểm"
    )


# --- the command --------------------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``helpline evaluate answers``."""
    group = subparsers.add_parser("evaluate", help="đánh giá chất lượng câu trả lời của trợ lý")
    sub = group.add_subparsers(dest="evaluate_command", required=True)
    p = sub.add_parser(
        "answers",
        help="mỗi câu hỏi có nhãn qua engine thật như một cuộc trò chuyện mới; chấm câu trả lời đầu tiên",
    )
    p.add_argument("--set", dest="sets", action="append", type=Path, default=[], metavar="FILE",
                   help="tập JSONL có nhãn (lặp lại được); bỏ trống = các tập mặc định")  # fmt: skip
    p.add_argument("--sealed", action="append", type=Path, default=[], metavar="FILE",
                   help="tập niêm phong: chỉ in số liệu tổng hợp, không in từng câu")  # fmt: skip
    p.add_argument("--aggregate-only", action="store_true", help="mọi tập: chỉ số liệu tổng hợp")
    p.add_argument("--model", type=Path, default=None, help="thư mục mô hình NLU (mặc định: huấn luyện mới)")
    p.add_argument("--no-folded", action="store_true", help="không chạy bản sao không dấu")
    p.add_argument("--nlu", action="append", default=[], metavar="COMPONENT.SETTING=VALUE",
                   help="đổi một thiết lập NLU khi huấn luyện (đo từng thành phần), "
                        "vd. SemanticProcedureRanker.enabled=true")  # fmt: skip
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="thư mục báo cáo (mặc định var/reports/answers)"
    )
    p.set_defaults(func=cmd_answers)


def specs_from_args(args: argparse.Namespace) -> list[SetSpec]:
    """The sets named on the command line, or :data:`DEFAULT_SETS`; sealed as the options and the file
    names say."""
    named = [(p, False) for p in args.sets] + [(p, True) for p in args.sealed]
    chosen = named or list(DEFAULT_SETS)
    return [SetSpec(p, sealed or args.aggregate_only or is_sealed(p)) for p, sealed in chosen]


def cmd_answers(args: argparse.Namespace, container: App) -> int:
    """``helpline evaluate answers``: only the settings of ``container`` are used; the engine measured
    is a private one (:func:`private_container`)."""
    specs = specs_from_args(args)
    try:
        evaluation = evaluate(
            specs,
            container.settings,
            model_dir=args.model,
            folded=not args.no_folded,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
            nlu_overrides=parse_overrides(args.nlu),
        )
    except SetError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for path in evaluation.report["skipped_sets"]:
        print(f"bỏ qua (không có tệp): {path}", file=sys.stderr)
    for s in evaluation.report["sets"]:
        print(summary_line(s))
    written = write_report(evaluation, args.out)
    print("Báo cáo: " + ", ".join(str(p) for p in written))
    return 0
