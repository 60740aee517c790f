"""The intent of a question, read from its asking clause where the classifier read the whole message.

The classifier learns from short chat messages. Given a long story or a formal portal question it is
pulled by the words around the question: "Thành phần hồ sơ đề nghị công nhận …?" reads as feedback, "Hồ
sơ đăng ký doanh nghiệp có bắt buộc phải đóng dấu không?" as a dossier look-up, "Thời hạn giải quyết
thủ tục cấp thẻ …?" as out of scope. :class:`AskedIntentResolver` runs after the procedure linker and
corrects the intent with what :class:`nlu.extractors.asking.AskingClauseExtractor` read, by a few rules
about how questions are asked (each one is named in ``diagnostics["asking"]``):

* **flow_hijack**: a flow intent (feedback, dossier look-up) for a message whose asking clause asks a
  part of a procedure, with nothing of the flow in it (no rating, no dossier code, none of the words of
  a dossier in progress: "hồ sơ của tôi", "đã nộp", "nộp … rồi", "đến đâu rồi" …), becomes that question;
* **out_of_scope_procedure**: out of scope, but the message asks a part and names a procedure (an alias
  mention, or a linker candidate scoring at least ``procedure_score``), with no sign of a question about
  no procedure (definition, penalty, amount): the question about that part;
* **not_procedure**: a question whose only part asked is a fee or a time, about a penalty or an amount
  ("tiền phạt … là bao nhiêu", "được hưởng bao nhiêu"), or that asks nothing but a definition: out of
  scope;
* **unsure**: a confidence below ``low_confidence`` and a part clearly asked (an interrogative or a field
  label): that part;
* **asked_part**: another ``ask_*`` intent than the part the asking clause names with a field label, or
  with an interrogative when nothing in the message supports the classifier's part: the part named;
* **long_small_talk**: a yes, no, greeting, thanks, goodbye or request for an officer in a message of
  more than ``small_talk_words`` words with none of the words of that flow ("gặp cán bộ", "cảm ơn" …)
  that is no yes/no reply opened as one ("phải, tôi hỏi …"), or a greeting that clearly asks a part: the
  part its asking clause names, else not understood (the closest procedures are offered). "Đồ án quy hoạch chung xây dựng xã gồm các nội dung nào?" is no "yes".

The chosen intent goes to the top of the ranking with the classifier's top confidence, or
``confidence`` when that is lower; the classifier's ranking follows. Nothing is learned.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from knowledge.text import fold_iy
from nlu.component import Component, ComponentSettings, ConfigError, register
from nlu.extractors.asking import ASKS, ASPECT_ENTITY, LABEL, NOT_PROCEDURE_ENTITY
from nlu.message import FALLBACK_INTENT, Message

DEFAULT_FLOW_EVIDENCE: dict[str, list[str]] = {
    "check_dossier_status": [
        "hồ sơ của tôi", "hồ sơ của em", "hồ sơ của mình", "hồ sơ của mẹ", "hồ sơ của bố", "hồ sơ của vợ",
        "hồ sơ của chồng", "hồ sơ của con", "hồ sơ của công ty", "đã nộp", "nộp rồi", "đến đâu rồi",
        "tới đâu rồi", "bước nào rồi", "tra cứu", "tình trạng hồ sơ", "trễ hẹn", "quá hẹn", "chưa nhận được",
        "vẫn chưa", "chưa có kết quả", "mã hồ sơ", "giấy hẹn", "biên nhận", "tình trạng", "bị trả lại",
        "trả lại hồ sơ", "chưa thấy", "mãi chưa", "sao chưa", "bao giờ mới", "đã được duyệt", "duyệt chưa",
        "nộp xong", "gửi rồi", "đến bước nào", "tới bước nào",
    ],
    "give_feedback": [
        "góp ý", "phản ánh", "chấm điểm", "cho điểm", "cảm ơn", "hài lòng", "thái độ", "sai rồi", "rườm rà",
    ],
}  # fmt: skip
"""Words that keep a flow intent: the message is about the flow, not a question about a procedure."""

DEFAULT_SMALL_TALK_EVIDENCE: dict[str, list[str]] = {
    "affirm": ["đúng rồi", "đúng vậy", "vâng", "dạ vâng", "ok", "đồng ý", "chính xác", "phải rồi", "có ạ"],
    "deny": ["không phải", "không đúng", "sai rồi", "không cần", "không ạ", "ý tôi là", "ý em là"],
    "greet": ["xin chào", "chào", "hello", "hi", "alo"],
    "thank": ["cảm ơn", "cám ơn", "thank", "thanks", "tks"],
    "goodbye": ["tạm biệt", "bye", "hẹn gặp lại", "chào nhé"],
    "request_human": [
        "gặp cán bộ", "gặp người", "gặp nhân viên", "gặp trực tiếp", "cho gặp", "muốn gặp", "người thật",
        "nói chuyện với", "chuyển máy", "tổng đài", "tư vấn viên", "nhân viên hỗ trợ", "người trực",
        "hỏi cán bộ", "nhờ cán bộ", "với cán bộ", "cán bộ hỗ trợ", "cán bộ tư vấn", "hỏi riêng",
        "nhắn riêng", "inbox", "ib riêng",
    ],
}  # fmt: skip
"""Words that keep a small-talk intent (or an officer request) in a long message."""

_REPLY_OPENERS = {
    "affirm": frozenset({"phai", "dung", "vang", "u", "uh", "ok", "chuan"}),
    "deny": frozenset({"sai", "chua", "thoi", "khoi"}),
}
"""First words of a long yes or no reply ("phải, tôi hỏi về thủ tục …", "sai rồi, …"): it stays one. Not
"có", "dạ", "không": they open questions too ("Có được làm căn cước cho con không?")."""


def _folded_phrases(table: dict[str, list[str]]) -> dict[str, list[str]]:
    """Per intent, its phrases as " folded words " (with the spaces), to look up in a folded message."""
    return {
        intent: [" " + " ".join(fold_iy(w) for w in p.lower().split()) + " " for p in phrases]
        for intent, phrases in table.items()
    }


DEFAULT_FLOW_PATTERNS: dict[str, list[str]] = {
    # a dossier already handed in ("nộp 2 tháng rồi", "đã gửi … hôm qua") or somebody's own ("hồ sơ cấp
    # căn cước của em", "hồ sơ nhà mình"), on the folded words
    "check_dossier_status": [
        r"\b(?:nop|gui)\b(?: \S+){0,6}? (?:roi|xong)\b",
        r"\bda (?:nop|gui|lam)\b",
        r"\bho so\b(?: \S+){0,6}? (?:cua (?:toi|em|minh|me|bo|vo|chong|con|cong ty|chung toi)|nha (?:minh|em|toi))\b",
    ],
    # a rating ("chấm 5", "4 sao", "được 3 điểm"): not the syllables alone, which are words of procedures
    # ("chấm dứt giám hộ", "bản sao", "điểm kinh doanh")
    "give_feedback": [r"\bcham \d", r"\b\d+ ?(?:sao|diem)\b"],
}  # fmt: skip
"""Patterns (regular expressions on the folded words) that keep a flow intent, as the words above."""


class ResolverSettings(ComponentSettings):
    """Settings of :class:`AskedIntentResolver`.

    Attributes:
        flow_intents: intents a question can be mistaken for (see ``flow_evidence``).
        flow_evidence: per flow intent, words that keep it; a rating or dossier code entity keeps it too.
        flow_patterns: per flow intent, regular expressions on the folded words that keep it.
        out_of_scope_intent: the intent of questions about no procedure.
        procedure_score: a linker candidate at least this strong names a procedure (rule
            out_of_scope_procedure).
        low_confidence: below this classifier confidence a clearly asked part decides (rule unsure).
        confidence: the least confidence reported for an intent a rule chose.
        small_talk_evidence: per small-talk intent (and ``request_human``), words that keep it in a
            long message (rule long_small_talk).
        small_talk_words: a message of more words than this is too long to be small talk without
            those words.
        rules: the rules applied (all by default; remove one to measure what it adds).
    """

    flow_intents: list[str] = Field(default_factory=lambda: ["give_feedback", "check_dossier_status"])
    flow_evidence: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_FLOW_EVIDENCE))
    flow_patterns: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_FLOW_PATTERNS))
    out_of_scope_intent: str = "out_of_scope"
    procedure_score: float = Field(0.6, ge=0.0, le=1.0)
    low_confidence: float = Field(0.3, ge=0.0, le=1.0)
    confidence: float = Field(0.7, ge=0.0, le=1.0)
    small_talk_evidence: dict[str, list[str]] = Field(
        default_factory=lambda: dict(DEFAULT_SMALL_TALK_EVIDENCE)
    )
    small_talk_words: int = Field(8, ge=1, le=1000)
    rules: list[str] = Field(
        default_factory=lambda: [
            "flow_hijack",
            "out_of_scope_procedure",
            "not_procedure",
            "unsure",
            "asked_part",
            "long_small_talk",
        ]
    )


_MONEY = frozenset({"ask_fee", "ask_processing_time"})
_EVIDENCE_ENTITIES = {"give_feedback": ("rating",), "check_dossier_status": ("dossier_code",)}


@register
class AskedIntentResolver(Component):
    """Corrects the classifier's intent with the asking clause (see the module docstring)."""

    name = "AskedIntentResolver"
    Settings = ResolverSettings
    settings: ResolverSettings

    def __init__(self, settings: Any = None, context: Any = None) -> None:
        super().__init__(settings, context)
        self._evidence = _folded_phrases(self.settings.flow_evidence)
        self._small_talk = _folded_phrases(self.settings.small_talk_evidence)
        try:
            self._patterns = {
                intent: [re.compile(p) for p in patterns]
                for intent, patterns in self.settings.flow_patterns.items()
            }
        except re.error as exc:
            raise ConfigError(f"{self.name}: flow_patterns: {exc}") from None

    def process(self, message: Message) -> None:
        """Replace the intent when a rule applies; say which in ``diagnostics["asking"]``."""
        if message.intent is None:
            return
        chosen = self._rule(message)
        if chosen is None:
            return
        rule, intent = chosen
        message.diagnostics["asking"] = rule
        # At least the classifier's top confidence, so the ranking stays in order (the fallback reads a
        # margin to the runner-up).
        confidence = round(max(float(message.intent["confidence"]), self.settings.confidence), 4)
        message.intent = {"name": intent, "confidence": confidence}
        message.intent_ranking = [dict(message.intent)] + [
            r for r in message.intent_ranking if r["name"] != intent
        ]

    def _rule(self, message: Message) -> tuple[str, str] | None:
        """The first rule that applies, and the intent it chooses."""
        s = self.settings
        rules = set(s.rules)
        intent = str(message.intent["name"]) if message.intent else ""
        confidence = float(message.intent["confidence"]) if message.intent else 0.0
        asks_about = intent.startswith("ask_") or intent == FALLBACK_INTENT
        aspects = [e for e in message.entities if e["entity"] == ASPECT_ENTITY]
        signs = {str(e["value"]) for e in message.entities if e["entity"] == NOT_PROCEDURE_ENTITY}
        clear = {str(e["value"]) for e in aspects if e.get("strength", 0) >= ASKS}
        main = max(aspects, key=lambda e: e["confidence"], default=None)
        strength = int(main.get("strength", 0)) if main else 0

        # "tiền phạt … là bao nhiêu", "được hưởng bao nhiêu": money asked about a penalty or an amount;
        # "… là gì" with no part named: a definition.
        definition = not clear and strength < LABEL
        # "chưa sang tên mà bị thổi thì có bị phạt không": a yes or no about a penalty asks no condition
        interrogated = {
            str(e["value"]) for e in aspects if e.get("strength", 0) >= ASKS and not e.get("generic")
        }
        penalty_or_amount = ("amount" in signs and clear <= _MONEY) or (
            "penalty" in signs and interrogated <= _MONEY
        )
        if "not_procedure" in rules and signs and asks_about and (definition or penalty_or_amount):
            return "not_procedure", s.out_of_scope_intent
        if "long_small_talk" in rules and intent in self._small_talk:
            # a greeting opens a question ("Chào anh chị, hồ sơ … nộp ở đâu ạ"): the question is answered
            greeting_asks = intent == "greet" and strength >= ASKS and not (main or {}).get("generic")
            # a long message with none of the flow's words that is no yes or no reply opened as one
            bare = (
                len(message.tokens) > s.small_talk_words
                and message.tokens[0].folded not in _REPLY_OPENERS.get(intent, ())
                and not any(p in f" {message.folded} " for p in self._small_talk[intent])
            )
            if greeting_asks or bare:
                return "long_small_talk", str(main["value"]) if main is not None else FALLBACK_INTENT
        if main is None:
            return None
        part = str(main["value"])
        if intent in s.flow_intents:
            if "flow_hijack" in rules and strength >= ASKS and not self._flow_evidence(message, intent):
                return "flow_hijack", part
            return None
        if intent == s.out_of_scope_intent:
            if "out_of_scope_procedure" in rules and not signs and self._names_procedure(message):
                return "out_of_scope_procedure", part
            return None
        if not intent.startswith("ask_"):
            return None
        if "unsure" in rules and confidence < s.low_confidence and strength >= ASKS and not signs:
            return "unsure", part
        named = strength >= LABEL or (strength >= ASKS and intent not in clear)
        if "asked_part" in rules and intent != part and not main.get("generic") and named:
            return "asked_part", part
        return None

    def _names_procedure(self, message: Message) -> bool:
        """An alias mention, or a linker candidate at least ``procedure_score``."""
        if any(e["entity"] == "procedure" for e in message.entities):
            return True
        ranking = message.procedure_ranking
        return bool(ranking) and float(ranking[0]["score"]) >= self.settings.procedure_score

    def _flow_evidence(self, message: Message, intent: str) -> bool:
        if any(e["entity"] in _EVIDENCE_ENTITIES.get(intent, ()) for e in message.entities):
            return True
        text = f" {message.folded} "
        if any(p in text for p in self._evidence.get(intent, ())):
            return True
        return any(p.search(message.folded) for p in self._patterns.get(intent, ()))
