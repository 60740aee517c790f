"""The domain of a message: a question about a procedure, or a question about no procedure at all.

A citizen asks the help line two kinds of thing that share their words. "Đăng ký tạm trú cần giấy tờ
gì?" asks for the parts of a procedure the knowledge base holds. "Không đăng ký tạm trú thì bị phạt bao
nhiêu?", "Những đối tượng nào được ngân sách hỗ trợ mức đóng bảo hiểm y tế?", "Chủ nhà giữ giấy tờ của
tôi như vậy có vi phạm không?" name the same procedures but ask about the law around them: a penalty, a
benefit or contribution amount, a definition, a legal opinion on a situation, a rule of entitlement. No
part of any procedure answers them; answering the linked procedure is a confident wrong answer.

:class:`DomainClassifier` reads how the question is asked, by kind, never which procedure it names:

* **signs of no procedure**, by kind: the asking clause's ``not_procedure`` entities
  (:mod:`nlu.extractors.asking`: definition, penalty, amount) and two kinds read here, a **legal
  opinion** asked about a situation ("có vi phạm không", "có trái pháp luật không", "có đúng quy định
  không", "ai chịu trách nhiệm", "có phải bồi thường không") and a **rule of entitlement** ("được hoàn
  trả", "ngân sách nhà nước hỗ trợ", "chế độ chính sách"). Each kind has a weight;
* **signs of a procedure**: a practical part of a procedure asked by an interrogative or a field label
  (documents, forms, where, channels, steps: "cần giấy tờ gì", "nộp ở đâu", "làm thế nào") lowers the
  confidence by ``practical_discount``; a fee or a time asked beside a penalty or an amount does not
  (that is the amount asked again), nor do conditions (an entitlement is asked as one).

The confidence that the message asks no procedure is the heaviest kind's weight, plus ``extra_kind`` per
further kind, minus the discounts, in [0, 1].

It also reads one sign that the message asks about **another procedure than the one linked**: the
linked procedure is named only inside a clause of purpose, time or comparison ("xin giấy khám sức
khỏe *để thi bằng lái* ở đâu", "mất giấy chứng sinh *trước khi làm khai sinh*", "bằng tốt nghiệp ghi
sai *so với giấy khai sinh*"), while the rest of the sentence has words of its own (``main_words``):
what is asked is that other thing, a paper of another agency or a procedure the detailed catalogue
lacks, and the named procedure is only its context. Its confidence is ``side_mention``.

The output is one ``domain`` entity spanning the message (value ``not_procedure``, ``other_procedure``
or ``procedure``, its confidence, the kinds read) and ``diagnostics["domain"]``. When the confidence is at least ``threshold`` and the intent asks about a
part (``ask_*`` or ``nlu_fallback``), the intent becomes ``out_of_scope`` (``override_intent``): the
policy then abstains with the fallback's "this is not a procedure question" reply
(:mod:`actions.fallback`) instead of answering a procedure. Nothing is learned; the cue phrases are
settings (replaced, not merged, when set in ``config.yml``).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from knowledge.text import fold_iy
from nlu.component import Component, ComponentSettings, register
from nlu.extractors.asking import ASKS, ASPECT_ENTITY, NOT_PROCEDURE_ENTITY
from nlu.message import FALLBACK_INTENT, Message

DOMAIN_ENTITY = "domain"
NOT_PROCEDURE = "not_procedure"
OTHER_PROCEDURE = "other_procedure"
PROCEDURE = "procedure"
SIDE_MENTION = "side_mention"
_SENTENCE_END = re.compile(r"[?!;\n]|\.(?=\s|$)")
_CLAUSE_END = frozenset({"thì", ",", "mà", "nhưng"})

DEFAULT_CUES: dict[str, list[str]] = {
    # whether a situation is lawful, who answers for it: an opinion, not a part of a procedure
    "legal_opinion": [
        "có vi phạm", "vi phạm pháp luật không", "vi phạm quy định không", "có trái pháp luật",
        "trái pháp luật không", "trái luật không", "có trái quy định", "có đúng luật", "đúng luật không",
        "có đúng quy định", "đúng quy định không", "có hợp pháp", "hợp pháp không", "có phạm luật",
        "đúng hay sai", "ai chịu trách nhiệm", "phải chịu trách nhiệm", "có phải bồi thường",
        "bồi thường bao nhiêu", "có quyền khởi kiện", "khởi kiện", "kiện ra tòa", "có bị truy cứu",
    ],
    # a rule of who gets what (refunds, state support, policies), not how to file for it
    "entitlement": [
        "được hoàn trả", "hoàn trả lại", "được hoàn lại", "được trả lại tiền", "ngân sách nhà nước hỗ trợ",
        "nhà nước hỗ trợ bao nhiêu", "chế độ chính sách", "chính sách ưu đãi", "quyền lợi gì",
        "quyền lợi như thế nào", "được hưởng quyền lợi",
    ],
}  # fmt: skip
"""Per kind read here, phrases (matched on folded words) saying a message asks about the law around a
procedure, not a part of it."""

DEFAULT_WEIGHTS: dict[str, float] = {
    "penalty": 0.85,
    "legal_opinion": 0.8,
    "amount": 0.75,
    "definition": 0.7,
    "entitlement": 0.7,
}
"""Confidence that a message asks no procedure when it shows one sign of the kind and nothing else."""

DEFAULT_SUBORDINATORS = ["để", "để làm", "để xin", "trước khi", "sau khi", "so với"]
"""Words opening a clause of purpose, time or comparison: a procedure named inside one is context."""

DEFAULT_MAIN_FILLERS = [
    "tôi", "em", "mình", "anh", "chị", "cháu", "con", "bạn", "ad", "admin", "cho", "hỏi", "muốn", "xin hỏi",
    "cần", "thì", "là", "có", "được", "không", "ạ", "à", "ơi", "vậy", "nhé", "nha", "ở", "đâu", "gì", "nào",
    "sao", "làm", "thế", "như", "bao", "lâu", "nhiêu", "phải", "những", "các", "và", "với", "của", "thủ",
    "tục", "hồ", "sơ", "giấy", "tờ", "mang", "theo", "nộp", "mất", "tiền", "ngày", "kính", "gửi",
]  # fmt: skip
"""Words of the rest of a sentence that name nothing of their own (pronouns, particles, question words,
the words of any procedure's parts)."""

DEFAULT_PRACTICAL = ["ask_documents", "ask_forms", "ask_where", "ask_channels", "ask_steps"]
"""Parts of a procedure whose being asked says the citizen means to do the procedure."""


class DomainSettings(ComponentSettings):
    """Settings of :class:`DomainClassifier`.

    Attributes:
        enabled: off, the component adds nothing (to measure what it adds).
        cues: per kind read here, its phrases (see :data:`DEFAULT_CUES`).
        weights: per kind (those of the asking clause's ``not_procedure`` entities too), the confidence
            one sign of it gives.
        extra_kind: added per further kind shown.
        practical_parts: ``ask_*`` intents whose being asked (an interrogative or a field label) is a
            sign of a procedure question.
        practical_discount: subtracted once when a practical part is asked.
        subordinators: words opening a clause of purpose, time or comparison.
        main_fillers: words of the rest of the sentence that do not count as its own.
        main_words: the rest of the sentence needs at least this many own words.
        side_mention: the confidence of a procedure named only as context (0: off).
        threshold: at this confidence or above, ``not_procedure`` / ``other_procedure`` (and the intent
            override).
        override_intent: a ``not_procedure`` message asking about a part becomes ``out_of_scope_intent``.
        out_of_scope_intent: the intent of questions about no procedure.
    """

    enabled: bool = True
    cues: dict[str, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_CUES.items()})
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    extra_kind: float = Field(0.1, ge=0.0, le=1.0)
    practical_parts: list[str] = Field(default_factory=lambda: list(DEFAULT_PRACTICAL))
    practical_discount: float = Field(0.35, ge=0.0, le=1.0)
    subordinators: list[str] = Field(default_factory=lambda: list(DEFAULT_SUBORDINATORS))
    main_fillers: list[str] = Field(default_factory=lambda: list(DEFAULT_MAIN_FILLERS))
    main_words: int = Field(2, ge=1, le=20)
    side_mention: float = Field(0.7, ge=0.0, le=1.0)
    threshold: float = Field(0.6, ge=0.0, le=1.0)
    override_intent: bool = True
    out_of_scope_intent: str = "out_of_scope"


def _folded_phrase(phrase: str) -> str:
    return " ".join(fold_iy(w) for w in re.findall(r"[^\W_]+", phrase.lower()))


@register
class DomainClassifier(Component):
    """Says whether a message asks about a procedure or about no procedure (see the module docstring)."""

    name = "DomainClassifier"
    Settings = DomainSettings
    settings: DomainSettings

    def __init__(self, settings: Any = None, context: Any = None) -> None:
        super().__init__(settings, context)
        self._subordinators = [
            (p.lower().split(), [fold_iy(w) for w in _folded_phrase(p).split()])
            for p in self.settings.subordinators
            if p.strip()
        ]
        self._fillers = {fold_iy(w) for p in self.settings.main_fillers for w in _folded_phrase(p).split()}
        self._cues: dict[str, str] = {}
        for kind, phrases in self.settings.cues.items():
            for phrase in phrases:
                folded = " ".join(fold_iy(w) for w in _folded_phrase(phrase).split())
                if folded:
                    self._cues.setdefault(folded, kind)
        self._cue_max = max((len(k.split()) for k in self._cues), default=1)

    def side_mention(self, message: Message) -> bool:
        """The linked procedure is named only inside clauses of purpose, time or comparison, and the
        rest of their sentences has words of its own (see the module docstring)."""
        top = message.procedure
        if not top:
            return False
        code = top.get("code")
        mentions = [
            e for e in message.entities if e["entity"] == "procedure" and code in (e.get("codes") or ())
        ]
        return bool(mentions) and all(self._inside_clause(message, m) for m in mentions)

    def _inside_clause(self, message: Message, mention: dict[str, Any]) -> bool:
        tokens = message.tokens
        first = next((i for i, t in enumerate(tokens) if t.start >= mention["start"]), None)
        if first is None:
            return False
        last = max((i for i, t in enumerate(tokens) if t.start < mention["end"]), default=first)
        ends = [m.start() for m in _SENTENCE_END.finditer(message.text)]
        begin = max((e for e in ends if e < tokens[first].start), default=-1)
        finish = min((e for e in ends if e >= tokens[last].end), default=len(message.text))
        sentence = [i for i, t in enumerate(tokens) if begin < t.start and t.end <= finish + 1]
        opener = self._opener(tokens, first, sentence)
        if opener is None:
            return False
        # the clause runs from its opener to "thì", a comma or the sentence end
        clause_end = sentence[-1] + 1
        for i in range(last + 1, sentence[-1] + 1):
            if (
                tokens[i].norm in _CLAUSE_END
                or message.text[tokens[i - 1].end : tokens[i].start].strip() == ","
            ):
                clause_end = i
                break
        rest = [i for i in sentence if i < opener or i >= clause_end]
        own = {tokens[i].folded for i in rest} - self._fillers
        return len(own) >= self.settings.main_words

    def _opener(self, tokens: list[Any], first: int, sentence: list[int]) -> int | None:
        """Index of the subordinator at most 3 words before the mention, in its sentence."""
        lo = max(sentence[0], first - 4)
        for j in range(first - 1, lo - 1, -1):
            for words, folded in self._subordinators:
                n = len(words)
                span = tokens[j : j + n]
                if j + n > first or len(span) < n:
                    continue
                typed_plain = all(t.norm == t.folded for t in span)
                if [t.norm for t in span] == words or (typed_plain and [t.folded for t in span] == folded):
                    if (
                        folded == ["de"]
                        and typed_plain
                        and j + 1 < len(tokens)
                        and tokens[j + 1].folded == "nghi"
                    ):
                        continue  # "de nghi": đề nghị
                    return j
        return None

    def cue_hits(self, message: Message) -> list[tuple[str, int, int]]:
        """The cues of the kinds read here: (kind, first token, end token), longest first at a word."""
        words = [fold_iy(t.folded) for t in message.tokens]
        hits: list[tuple[str, int, int]] = []
        i = 0
        while i < len(words):
            for size in range(min(self._cue_max, len(words) - i), 0, -1):
                kind = self._cues.get(" ".join(words[i : i + size]))
                if kind is not None:
                    hits.append((kind, i, i + size))
                    i += size
                    break
            else:
                i += 1
        return hits

    def kinds(self, message: Message, hits: list[tuple[str, int, int]] | None = None) -> list[str]:
        """The kinds of sign of no procedure in the message, in the order of :data:`DEFAULT_WEIGHTS`."""
        found = {str(e["value"]) for e in message.entities if e["entity"] == NOT_PROCEDURE_ENTITY}
        found.update(kind for kind, _, _ in (self.cue_hits(message) if hits is None else hits))
        order = list(self.settings.weights)
        return sorted(found, key=lambda k: (order.index(k) if k in order else len(order), k))

    def confidence(self, message: Message, kinds: list[str]) -> float:
        """Confidence in [0, 1] that the message asks about no procedure."""
        s = self.settings
        if not kinds:
            return 0.0
        score = max(s.weights.get(k, 0.0) for k in kinds) + s.extra_kind * (len(kinds) - 1)
        practical = any(
            e["entity"] == ASPECT_ENTITY and e["value"] in s.practical_parts and e.get("strength", 0) >= ASKS
            for e in message.entities
        )
        if practical:
            score -= s.practical_discount
        return round(min(max(score, 0.0), 1.0), 4)

    def process(self, message: Message) -> None:
        """Add the ``domain`` entity; make a confident question about no (or another) procedure
        ``out_of_scope``."""
        s = self.settings
        if not s.enabled or not message.tokens:
            return
        hits = self.cue_hits(message)
        kinds = self.kinds(message, hits)
        confidence = self.confidence(message, kinds)
        outside = confidence >= s.threshold
        value = NOT_PROCEDURE if outside else PROCEDURE
        if not outside and s.side_mention > 0 and self.side_mention(message):
            kinds = [*kinds, SIDE_MENTION]
            confidence = max(confidence, s.side_mention)
            outside = confidence >= s.threshold
            value = OTHER_PROCEDURE if outside else PROCEDURE
        message.entities.append(
            {
                "entity": DOMAIN_ENTITY,
                "value": value,
                "start": 0,
                "end": len(message.text),
                "confidence": confidence if outside else round(1.0 - confidence, 4),
                "extractor": self.name,
                "kinds": kinds,
            }
        )
        tokens = message.tokens
        message.entities.extend(
            {
                "entity": NOT_PROCEDURE_ENTITY,
                "value": kind,
                "start": tokens[first].start,
                "end": tokens[end - 1].end,
                "confidence": 1.0,
                "extractor": self.name,
            }
            for kind, first, end in hits
        )
        message.entities.sort(key=lambda ent: (ent["start"], ent["entity"]))
        message.diagnostics["domain"] = {"not_procedure": confidence, "kinds": kinds}
        intent = str((message.intent or {}).get("name", ""))
        asks_about = intent.startswith("ask_") or intent == FALLBACK_INTENT
        if outside and s.override_intent and asks_about:
            top = float((message.intent or {}).get("confidence", 0.0))
            chosen = {"name": s.out_of_scope_intent, "confidence": round(max(top, confidence), 4)}
            message.intent = chosen
            message.intent_ranking = [dict(chosen)] + [
                r for r in message.intent_ranking if r["name"] != s.out_of_scope_intent
            ]
            message.diagnostics["domain"]["overrode"] = intent
