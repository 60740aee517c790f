"""The policy: from the parse of a message and the conversation state, decide what the bot does next.

It is a small rule list, read top to bottom in :meth:`Policy.decide`. Intent confidence thresholds are
not applied here: the NLU's fallback already turned an unsure intent into ``nlu_fallback``. What the
policy adds is conversation sense:

* **Carry-over.** A question without a procedure ("lệ phí bao nhiêu?") answers for the procedure being
  discussed, until the citizen names another.
* **Ambiguity.** When the top procedure candidates are within :attr:`PolicyConfig.ambiguity_margin` of
  each other (new / adjusted / renewed construction permit), the bot asks with buttons
  (``/choose{"procedure": code}``) and remembers the question to answer it after the pick. A later
  mention of the same family keeps the procedure already chosen.
* **Two-band fallback.** First miss: clarify with the closest candidates; second miss in a row: offer an
  officer. An out-of-scope question counts as a miss too: the second one in a row offers an officer.
* **The citizen's case.** The words of the message that names a procedure are kept in the ``case`` slot
  (folded, no digits), so that documents published per case ("nhà ở riêng lẻ") are answered for the
  citizen's case after a choice of procedure; a case picked from buttons (``/choose_group``), or typed
  while those buttons are shown, answers the documents of that case.
* **"Xem thêm" typed.** "xem thêm", "tiếp", "còn nữa không" continue the list, whatever the NLU said.
* **Frequently asked questions.** A message close enough to an FAQ question (score from
  :class:`knowledge.faq.FaqMatcher` at least :attr:`PolicyConfig.faq_threshold`) is answered from the FAQ,
  unless the NLU understood a question about a procedure it names (that answer is more specific).
* **Waiting modes.** A dossier code, then the verification digits, are expected after
  ``check_dossier_status`` (see :func:`actions.dossier.expects_dossier_reply`); "có" after the officer
  offer means yes, please.

Button payloads that are not NLU intents: ``/start``, ``/help``, ``/more`` ("Xem thêm"), ``/rephrase``
("Hỏi lại"), ``/choose{"procedure": code}``, ``/choose_group{"procedure": code, "group": "2"}`` and
``/procedure_notes{"procedure": code}`` (the "Lưu ý" button under the documents).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actions.dossier import DOSSIER_INTENTS, expects_dossier_reply
from actions.procedure import TOPIC_BY_INTENT, action_name, case_words, match_group
from bot.core.events import Event, ModeChanged, SlotSet
from bot.core.responses import parse_payload
from bot.core.state import ConversationState, Mode
from knowledge.faq import FaqMatcher
from knowledge.text import fold

SMALLTALK_ACTIONS: dict[str, str] = {
    "greet": "action_greet",
    "start": "action_greet",
    "help": "action_greet",
    "thank": "action_thank",
    "goodbye": "action_goodbye",
    "affirm": "action_affirm",
    "deny": "action_deny",
    "give_feedback": "action_feedback",
    "rephrase": "action_rephrase",
}
"""Intents (and payload commands) answered the same way whatever the context."""

_WAITING_MODES = (Mode.AWAITING_CHOICE, Mode.AWAITING_DOSSIER_CODE, Mode.AWAITING_VERIFICATION)

MORE_WORDS = frozenset(
    {
        "xem them",
        "them",
        "xem tiep",
        "tiep",
        "tiep theo",
        "con nua",
        "con nua khong",
        "con gi nua khong",
        "con khong",
        "gui tiep",
        "gui them",
    }
)
"""Typed replies meaning "Xem thêm" (folded, lower case, "ko"/"k"/"hong" read as "khong", without the
particles of :data:`_PARTICLES` at the end)."""

_NO_WORDS = {"ko": "khong", "k": "khong", "hong": "khong", "hok": "khong", "kg": "khong", "kh": "khong"}
_PARTICLES = frozenset({"di", "nhe", "nha", "a", "ban", "voi", "nao", "giup", "minh", "em", "toi"})
_CASE_INTENTS = frozenset({"nlu_fallback", "ask_documents", "ask_procedure_overview", "out_of_scope"})


def is_more_request(text: str) -> bool:
    """True when the message asks for the rest of a list: "xem thêm", "tiếp", "còn nữa không"."""
    words = [_NO_WORDS.get(w, w) for w in fold(text.lower()).translate(str.maketrans("?.!,", "    ")).split()]
    while len(words) > 1 and words[-1] in _PARTICLES:
        words.pop()
    return " ".join(words) in MORE_WORDS


@dataclass(frozen=True)
class PolicyConfig:
    """Tunable behaviour of the policy (meant to come from config.yml).

    Attributes:
        ambiguity_margin: procedure candidates scoring within this of the top one are "close": the bot
            asks which one is meant.
        min_candidate_score: candidates below this are never offered.
        max_choices: most procedure buttons offered at once.
        officer_after_misses: misses in a row after which the officer is offered (2 = second miss).
        faq_threshold: an FAQ match scoring at least this answers the message (config key
            ``policy.faq_threshold``).
    """

    ambiguity_margin: float = 0.05
    min_candidate_score: float = 0.3
    max_choices: int = 4
    officer_after_misses: int = 2
    faq_threshold: float = 0.85

    def __post_init__(self) -> None:
        if not 0 <= self.ambiguity_margin <= 1:
            raise ValueError("ambiguity_margin must be within [0, 1]")
        if not 0 <= self.min_candidate_score <= 1:
            raise ValueError("min_candidate_score must be within [0, 1]")
        if self.max_choices < 2:
            raise ValueError("max_choices must be at least 2")
        if self.officer_after_misses < 1:
            raise ValueError("officer_after_misses must be at least 1")
        if not 0 < self.faq_threshold <= 1:
            raise ValueError("faq_threshold must be within (0, 1]")


@dataclass(frozen=True)
class Decision:
    """What to do with one message.

    Attributes:
        actions: names of the actions to run, in order.
        events: applied to the state before the actions run (so their tracker sees them).
        args: extra arguments for the actions (``candidates``, ``reason``).
        rule: which rule decided, for logs and tests.
    """

    actions: tuple[str, ...]
    events: tuple[Event, ...] = ()
    args: Mapping[str, Any] = field(default_factory=dict)
    rule: str = ""


@dataclass(frozen=True)
class ProcedureResolution:
    """Which procedure a message names.

    Attributes:
        code: the procedure meant, when clear (None: none named, or ambiguous).
        candidates: the close candidates when ambiguous (two or more), else empty.
    """

    code: str | None = None
    candidates: tuple[dict[str, Any], ...] = ()

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


def _intent(parse: Mapping[str, Any]) -> str:
    return str((parse.get("intent") or {}).get("name") or "nlu_fallback")


def _entity(parse: Mapping[str, Any], name: str) -> str | None:
    for ent in parse.get("entities") or ():
        if ent.get("entity") == name and ent.get("value") not in (None, ""):
            return str(ent["value"])
    return None


class Policy:
    """Decides the next action(s); pure: no I/O, same input, same decision.

    Args:
        config: thresholds and limits.
        faq: the FAQ entries to answer from; None answers no FAQ.
    """

    def __init__(self, config: PolicyConfig | None = None, faq: FaqMatcher | None = None) -> None:
        self.config = config or PolicyConfig()
        self.faq = faq

    # --- procedure linking ----------------------------------------------------------------------

    def resolve_procedure(self, parse: Mapping[str, Any], state: ConversationState) -> ProcedureResolution:
        """The procedure named in the message: clear, ambiguous, or none.

        Only a message whose parse has a ``procedure`` names one; the ranking then tells whether others
        are close. If the procedure already chosen is among close candidates, it is kept (the choice is
        remembered).
        """
        top = parse.get("procedure")
        if not top or not top.get("code"):
            return ProcedureResolution()
        top_score = float(top.get("score") or 0.0)
        close: dict[str, dict[str, Any]] = {str(top["code"]): dict(top)}
        for cand in parse.get("procedure_ranking") or ():
            code = str(cand.get("code") or "")
            score = float(cand.get("score") or 0.0)
            near = top_score - score <= self.config.ambiguity_margin + 1e-9  # float noise: 0.74 - 0.72 > 0.02
            if code and code not in close and score >= self.config.min_candidate_score and near:
                close[code] = dict(cand)
        if len(close) == 1:
            return ProcedureResolution(code=str(top["code"]))
        if state.procedure in close:
            return ProcedureResolution(code=state.procedure)
        return ProcedureResolution(candidates=tuple(list(close.values())[: self.config.max_choices]))

    def fallback_candidates(self, parse: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
        """Closest procedures to offer when the message was not understood."""
        ranking = [
            c
            for c in parse.get("procedure_ranking") or ()
            if float(c.get("score") or 0.0) >= self.config.min_candidate_score
        ]
        top = parse.get("procedure")
        if top and top.get("code") and all(c.get("code") != top["code"] for c in ranking):
            ranking.insert(0, dict(top))
        return tuple(ranking[: self.config.max_choices])

    # --- decisions --------------------------------------------------------------------------------

    @staticmethod
    def _settle(state: ConversationState, keep_pending: bool = False) -> list[Event]:
        """Events leaving a waiting mode (and forgetting the pending question) when a turn moves on."""
        events: list[Event] = []
        if state.mode in _WAITING_MODES:
            events.append(ModeChanged(Mode.ANSWERING))
        if state.pending_intent and not keep_pending:
            events.append(SlotSet("pending_intent", None))
        return events

    @staticmethod
    def _case(parse: Mapping[str, Any], state: ConversationState, code: str | None) -> list[Event]:
        """Remember the words of a message naming a procedure as the citizen's case; a case already
        remembered for the same procedure (such as a group picked from buttons) is kept."""
        words = case_words(str(parse.get("text") or ""))
        if not words or words == state.case:
            return []
        if code is not None and code == state.procedure and state.case is not None:
            return []
        return [SlotSet("case", words)]

    def _answer(
        self,
        topic: str,
        code: str,
        state: ConversationState,
        rule: str,
        parse: Mapping[str, Any] | None = None,
        args: Mapping[str, Any] | None = None,
    ) -> Decision:
        events = self._settle(state)
        if parse is not None:
            events = self._case(parse, state, code) + events
        if code != state.procedure:
            events.insert(0, SlotSet("procedure", code))
        return Decision((action_name(topic),), tuple(events), dict(args or {}), rule=rule)

    def _typed_case(self, intent: str, parse: Mapping[str, Any], state: ConversationState) -> Decision | None:
        """The citizen typed their case ("nhà ở riêng lẻ") instead of pressing one of the case buttons."""
        if intent not in _CASE_INTENTS:
            return None
        named = (parse.get("procedure") or {}).get("code")
        if named and named != state.procedure and _entity(parse, "procedure") is not None:
            return None  # "cấp lại giấy phép nhà ở riêng lẻ" names another procedure: not a case reply
        offered = [(b.title, parse_payload(b.payload)) for b in state.choices]
        cases = [(title, p[1]) for title, p in offered if p is not None and p[0] == "choose_group"]
        index = match_group(str(parse.get("text") or ""), [title for title, _ in cases])
        if index is None:
            return None
        entities = cases[index][1]
        code = entities.get("procedure") or state.procedure
        if not code:
            return None
        return self._answer("documents", code, state, "case_typed", args={"group": entities.get("group")})

    def _fallback(self, parse: Mapping[str, Any], state: ConversationState) -> Decision:
        events = self._settle(state, keep_pending=True)
        if state.fallback_streak + 1 >= self.config.officer_after_misses:
            return Decision(("action_offer_officer",), tuple(events), rule="fallback_officer")
        return Decision(
            ("action_clarify",),
            tuple(events),
            {"candidates": self.fallback_candidates(parse)},
            rule="fallback_clarify",
        )

    def decide(self, parse: Mapping[str, Any], state: ConversationState) -> Decision:
        """The action(s) for this message in this state.

        Args:
            parse: Rasa-shaped parse (from the NLU, or built from a button payload).
            state: the conversation state before this message.
        """
        intent = _intent(parse)
        text = str(parse.get("text") or "")

        if intent == "more" or is_more_request(text):
            return Decision(("action_more",), rule="more")

        if intent == "choose_group":
            code = _entity(parse, "procedure") or state.procedure
            if not code:
                return self._fallback(parse, state)
            return self._answer(
                "documents", code, state, "choose_group", args={"group": _entity(parse, "group")}
            )

        typed_case = self._typed_case(intent, parse, state)
        if typed_case is not None:
            return typed_case

        if intent == "procedure_notes":
            code = _entity(parse, "procedure") or state.procedure
            if not code:
                return self._fallback(parse, state)
            return self._answer("notes", code, state, "procedure_notes")

        if intent == "choose":
            code = _entity(parse, "procedure")
            if not code:
                return self._fallback(parse, state)
            topic = TOPIC_BY_INTENT.get(state.pending_intent or "", "overview")
            return self._answer(topic, code, state, rule="choose")

        if expects_dossier_reply(state.mode, parse):
            # The code or verification digits asked for while awaiting them (the NLU's intent for "5678"
            # means nothing); other questions leave the dossier dialogue below.
            return Decision(("action_dossier_status",), rule="dossier_reply")

        if intent == "request_human":
            return Decision(
                ("action_escalate",), tuple(self._settle(state)), {"reason": "requested"}, rule="escalate"
            )

        if intent in DOSSIER_INTENTS:  # check_dossier_status, or the subscribe_dossier button
            return Decision(("action_dossier_status",), tuple(self._settle(state)), rule="dossier")

        if state.last_action == "action_offer_officer" and intent in ("affirm", "deny"):
            if intent == "affirm":
                return Decision(
                    ("action_escalate",), (), {"reason": "not_understood"}, rule="officer_accepted"
                )
            return Decision(("action_rephrase",), (), rule="officer_declined")

        faq = self._faq(intent, parse, state)
        if faq is not None:
            return faq

        if intent in TOPIC_BY_INTENT or (intent == "nlu_fallback" and state.pending_intent):
            return self._question(intent, parse, state)

        if intent in SMALLTALK_ACTIONS:
            return Decision((SMALLTALK_ACTIONS[intent],), tuple(self._settle(state)), rule="smalltalk")

        if intent == "out_of_scope":
            # Counted as a miss (the action says so): asking twice for what the bot cannot answer is a
            # reason to offer an officer.
            events = tuple(self._settle(state))
            if state.fallback_streak + 1 >= self.config.officer_after_misses:
                return Decision(("action_offer_officer",), events, rule="out_of_scope_officer")
            return Decision(("action_out_of_scope",), events, rule="out_of_scope")

        return self._fallback(parse, state)

    def _faq(self, intent: str, parse: Mapping[str, Any], state: ConversationState) -> Decision | None:
        """Answer from the FAQ when the message is one of its questions and not a question about a
        procedure the NLU linked ("đăng ký kết hôn cần giấy tờ gì" is answered from the procedure)."""
        if self.faq is None or (intent in TOPIC_BY_INTENT and (parse.get("procedure") or {}).get("code")):
            return None
        found = self.faq.match(str(parse.get("text") or ""), self.config.faq_threshold)
        if found is None:
            return None
        entry, score = found
        args = {"faq": entry, "faq_score": score}
        return Decision(("action_faq_answer",), tuple(self._settle(state)), args, rule="faq")

    def _question(self, intent: str, parse: Mapping[str, Any], state: ConversationState) -> Decision:
        """A question about a procedure (or a reply naming the procedure of a pending question)."""
        resolution = self.resolve_procedure(parse, state)
        if resolution.ambiguous and state.procedure and _entity(parse, "procedure") is None:
            # "can giay to gi" about the permit being discussed: close candidates that no words of the
            # message name ("giấy tờ có giá"...) do not override the procedure being discussed.
            resolution = ProcedureResolution()
        if resolution.ambiguous:
            return Decision(
                ("action_choose_procedure",),
                tuple(self._case(parse, state, None) + self._settle(state, keep_pending=True)),
                {"candidates": resolution.candidates},
                rule="ambiguous",
            )
        if intent == "nlu_fallback":
            # A pending question, and the reply was not understood: only a clearly named procedure helps.
            if resolution.code is None:
                return self._fallback(parse, state)
            topic = TOPIC_BY_INTENT.get(state.pending_intent or "", "overview")
            return self._answer(topic, resolution.code, state, "pending_answered", parse)
        topic = TOPIC_BY_INTENT[intent]
        if intent == "ask_procedure_overview" and state.pending_intent in TOPIC_BY_INTENT and resolution.code:
            # "Bạn hỏi về thủ tục nào?" -> "đăng ký kết hôn": answer the question asked before.
            return self._answer(
                TOPIC_BY_INTENT[state.pending_intent], resolution.code, state, "pending_answered", parse
            )
        code = resolution.code or state.procedure
        if code is None:
            return Decision(
                ("action_ask_procedure",), tuple(self._settle(state, keep_pending=True)), rule="ask_procedure"
            )
        if resolution.code is None:
            return self._answer(topic, code, state, "carried_over")
        return self._answer(topic, code, state, "named", parse)
